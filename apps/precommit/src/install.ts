import { chmod, lstat, mkdir, readFile, realpath, rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, relative } from 'node:path';
import { BrineError } from '@brine/core';
import { repoInfo, runGit } from './git.js';

/** Marks a hook file as written by brine, so re-installing updates it instead of chaining it to itself. */
export const HOOK_MARKER = '# brine-hook: installed by `brine hook install`';

/** The name an existing pre-commit hook is moved to; brine's hook runs it first. */
export const CHAINED_NAME = 'pre-commit.brine-chained';

/** What {@link installHook} did. */
export interface InstallResult {
  /** The hook file written. */
  hookPath: string;
  /** `created`: no hook before; `updated`: brine's own hook rewritten; `chained`: a foreign hook kept and run first. */
  action: 'created' | 'updated' | 'chained';
  /** Where the previous hook now lives, when one was chained (this run or an earlier one). */
  chainedPath?: string;
}

/** Options for {@link installHook}. */
export interface InstallOptions {
  /** Any directory inside the repository. */
  cwd: string;
  /** Shell command line that runs brine's hook from the repository root (see {@link defaultHookCommand}). */
  command: string;
  /**
   * Files the command executes (node, brine's script). Installing refuses when one of them is
   * committed in the repository itself (see {@link assertNotFromRepository}).
   */
  executables?: string[];
}

/** Quotes a string for POSIX sh. */
export function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/**
 * The command a hook runs: the brine that installed it, by absolute paths recorded now (this node,
 * this script). Never `./node_modules/.bin/brine` or `brine` looked up on PATH: git runs the hook
 * inside the repository being judged, so either lookup would let a repository that commits its own
 * `node_modules/.bin/brine` (or a PATH entry such as `.` or `bin/`) run its code on every commit
 * and switch the check off. When the pinned brine is gone the hook blocks and says to reinstall.
 */
export function defaultHookCommand(
  node: string = process.execPath,
  script: string | undefined = process.argv[1],
): string {
  if (!script || !isAbsolute(node) || !isAbsolute(script)) {
    throw new BrineError(
      'hook-unpinned',
      'cannot tell which brine is running (no absolute path to node and its script); run `brine hook install` from an installed brine',
      script ?? node,
    );
  }
  const missing = `echo ${shellQuote(`brine: ${script} is gone; run brine hook install again`)} >&2; exit 2`;
  return [
    `if [ ! -f ${shellQuote(script)} ]; then ${missing}; fi`,
    `exec ${shellQuote(node)} ${shellQuote(script)} hook run "$@"`,
  ].join('\n');
}

/**
 * Refuses to pin a brine that the repository itself supplies: a script tracked by git in the
 * work tree would be replaced by whatever the next checkout or pull brings.
 *
 * @throws BrineError `hook-untrusted` naming the tracked file.
 */
export async function assertNotFromRepository(root: string, executables: string[]): Promise<void> {
  const top = await realpath(root);
  for (const exe of executables) {
    let real: string;
    try {
      real = await realpath(exe);
    } catch {
      continue;
    }
    const rel = relative(top, real);
    if (rel === '' || rel.startsWith('..') || isAbsolute(rel)) continue;
    const tracked = await runGit(['ls-files', '--error-unmatch', '--', rel], { cwd: top, okCodes: [1] });
    if (tracked.code === 0) {
      throw new BrineError(
        'hook-untrusted',
        `${rel} is committed in this repository: a hook running it would run the repository's own code; run brine hook install from a brine installed outside it (npm install -g, or another directory)`,
        real,
      );
    }
  }
}

function hookScript(command: string): string {
  return `#!/bin/sh
${HOOK_MARKER}
# Blocks commits that stage ML model files which would run code when loaded.
# An earlier pre-commit hook, if there was one, was moved to ${CHAINED_NAME} and runs first.
# Remove with \`brine hook uninstall\` (which puts that hook back).
chained="$(dirname "$0")/${CHAINED_NAME}"
if [ -x "$chained" ]; then
  "$chained" "$@" || exit $?
fi
${command}
`;
}

async function exists(path: string): Promise<boolean> {
  try {
    await lstat(path);
    return true;
  } catch {
    return false;
  }
}

async function isOurs(path: string): Promise<boolean> {
  try {
    return (await readFile(path, 'utf8')).includes(HOOK_MARKER);
  } catch {
    return false;
  }
}

/**
 * Hook managers that regenerate the hook file: chaining under them would be undone silently.
 * husky 9 points core.hooksPath at `.husky/_`; lefthook writes a hook that calls `lefthook run`.
 */
async function hookManager(hooksDir: string, hookPath: string): Promise<string | undefined> {
  if (basename(hooksDir) === '_' && basename(dirname(hooksDir)) === '.husky') return 'husky';
  try {
    const text = await readFile(hookPath, 'utf8');
    if (text.includes(HOOK_MARKER)) return undefined;
    if (/\blefthook\b/.test(text)) return 'lefthook';
    if (/\bhusky\b/.test(text)) return 'husky';
  } catch {
    // no hook yet
  }
  return undefined;
}

/**
 * Writes brine's `pre-commit` hook into the directory git runs hooks from (`core.hooksPath`
 * honoured). An existing foreign hook is never overwritten: it is moved aside and chained, so it
 * still runs (first) and its failure still blocks the commit.
 *
 * @throws BrineError `hook-conflict` when both a foreign hook and a chained hook already exist.
 */
export async function installHook(options: InstallOptions): Promise<InstallResult> {
  const repo = await repoInfo(options.cwd);
  const hookPath = join(repo.hooksDir, 'pre-commit');
  const chainedPath = join(repo.hooksDir, CHAINED_NAME);
  if (options.executables) await assertNotFromRepository(repo.root, options.executables);
  const manager = await hookManager(repo.hooksDir, hookPath);
  if (manager) {
    throw new BrineError(
      'hook-managed',
      `${manager} manages this repository's hooks and would overwrite brine's on its next install; add \`npx --no-install brine hook run\` to its pre-commit configuration instead (see the husky and lefthook recipes)`,
      hookPath,
    );
  }
  await mkdir(repo.hooksDir, { recursive: true });
  let action: InstallResult['action'] = 'created';
  if (await exists(hookPath)) {
    if (await isOurs(hookPath)) action = 'updated';
    else {
      if (await exists(chainedPath)) {
        throw new BrineError(
          'hook-conflict',
          `both a pre-commit hook and ${CHAINED_NAME} exist; move one of them away and run brine hook install again`,
          hookPath,
        );
      }
      await rename(hookPath, chainedPath);
      action = 'chained';
    }
  }
  await writeFile(hookPath, hookScript(options.command), { mode: 0o755 });
  await chmod(hookPath, 0o755);
  const result: InstallResult = { hookPath, action };
  if (await exists(chainedPath)) result.chainedPath = chainedPath;
  return result;
}

/** What {@link uninstallHook} did. */
export interface UninstallResult {
  hookPath: string;
  /** `removed`: brine's hook deleted; `restored`: the chained hook put back; `absent`: nothing of brine's was there. */
  action: 'removed' | 'restored' | 'absent';
}

/** Removes brine's hook and puts back a hook it had chained. A foreign hook is left alone. */
export async function uninstallHook(cwd: string): Promise<UninstallResult> {
  const repo = await repoInfo(cwd);
  const hookPath = join(repo.hooksDir, 'pre-commit');
  const chainedPath = join(repo.hooksDir, CHAINED_NAME);
  if (!(await isOurs(hookPath))) return { hookPath, action: 'absent' };
  await rm(hookPath);
  if (await exists(chainedPath)) {
    await rename(chainedPath, hookPath);
    return { hookPath, action: 'restored' };
  }
  return { hookPath, action: 'removed' };
}
