import { relative, resolve, sep } from 'node:path';
import { runGit } from './git.js';

/** A file as it sits in the index: what `git commit` is about to record. */
export interface StagedEntry {
  /** Path relative to the repository root, `/`-separated, exactly as git stores it. */
  path: string;
  /** Git file mode, e.g. `100644`. */
  mode: string;
  /** Blob object id in the index (hex), or an index spec such as `:.brine.json` for an optional read. */
  oid: string;
  /** The blob may not exist (a `:path` spec for a file that is not in the index): skip it silently. */
  optional?: boolean;
}

// Only regular files carry content a loader would read; symlinks (120000) hold a target path and
// gitlinks (160000) point into another repository.
const REGULAR = new Set(['100644', '100755']);

/**
 * Files added or modified in the index relative to HEAD (an unborn branch counts everything staged).
 * Renames are turned off so a renamed-and-edited model shows up as an addition instead of slipping
 * past the `A`/`M` filter as `R`; `T` catches a symlink replaced by a real file.
 */
export async function listStagedChanges(root: string): Promise<StagedEntry[]> {
  const { stdout } = await runGit(
    ['diff', '--cached', '--raw', '-z', '--no-renames', '--no-abbrev', '--diff-filter=AMT', '--no-ext-diff'],
    { cwd: root },
  );
  // Records: ":<old mode> <new mode> <old oid> <new oid> <status>\0<path>\0"
  const parts = stdout.toString('utf8').split('\0');
  const entries: StagedEntry[] = [];
  for (let i = 0; i + 1 < parts.length; i += 2) {
    const meta = (parts[i] as string).replace(/^:/, '').split(' ');
    const path = parts[i + 1] as string;
    const mode = meta[1];
    const oid = meta[3];
    if (!mode || !oid || !REGULAR.has(mode)) continue;
    entries.push({ path, mode, oid });
  }
  return entries;
}

/**
 * Index entries for the given paths (as pre-commit passes them, including `--all-files` runs where
 * nothing is staged: the index still holds every tracked file). Paths are relative to `cwd` (the
 * repository root for hooks; a subdirectory when someone runs `brine hook run x.pkl` there); the
 * entries carry root-relative paths. Paths not in the index are returned in `missing`.
 */
export async function listIndexEntries(
  root: string,
  paths: string[],
  cwd: string = root,
): Promise<{ entries: StagedEntry[]; missing: string[] }> {
  if (paths.length === 0) return { entries: [], missing: [] };
  const { stdout } = await runGit(['ls-files', '--stage', '-z', '--full-name', '--', ...paths], { cwd });
  // Records: "<mode> <oid> <stage>\t<path>\0"
  const entries: StagedEntry[] = [];
  const seen = new Set<string>();
  for (const rec of stdout.toString('utf8').split('\0')) {
    if (!rec) continue;
    const tab = rec.indexOf('\t');
    const [mode, oid, stage] = rec.slice(0, tab).split(' ');
    const path = rec.slice(tab + 1);
    seen.add(path);
    // Stage 0 is the resolved entry; conflicted stages cannot be committed anyway.
    if (!mode || !oid || stage !== '0' || !REGULAR.has(mode)) continue;
    entries.push({ path, mode, oid });
  }
  const missing = paths.filter((p) => !seen.has(relative(root, resolve(cwd, p)).split(sep).join('/')));
  return { entries, missing };
}
