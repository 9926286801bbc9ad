import type { Dirent } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { isAbsolute, join, relative, resolve, sep } from 'node:path';
import picomatch from 'picomatch';
import { glob, isDynamicPattern } from 'tinyglobby';
import { type HubOptions, listHubInputs, parseHubRef } from './hf.js';

/** One thing to scan, as the scan workers receive it (plain data: it crosses thread boundaries). */
export type ScanInput =
  /** `discovered`: found by walking a folder, a pattern or a repository rather than named. */
  | { kind: 'file'; name: string; path: string; discovered?: boolean }
  | { kind: 'url'; name: string; url: string; headers?: Record<string, string>; discovered?: boolean }
  | { kind: 'stdin'; name: '<stdin>' }
  /** An argument that names nothing scannable: reported as unscannable, the run goes on. */
  | { kind: 'missing'; name: string; code: string; message: string };

/** How `brine scan` arguments are expanded. */
export interface InputOptions {
  include?: readonly string[];
  exclude?: readonly string[];
  hub: HubOptions;
}

/**
 * A path filter from `--include`/`--exclude`. Patterns without a slash match the base name (as in
 * .gitignore), so `--exclude '*.bin'` works at any depth.
 */
export function pathFilter(
  include: readonly string[] = [],
  exclude: readonly string[] = [],
): (p: string) => boolean {
  const inc = include.length ? globMatcher(include) : () => true;
  const exc = exclude.length ? globMatcher(exclude) : () => false;
  return (p: string) => {
    const posix = p.split(sep).join('/').replace(/^\.\//, '');
    return inc(posix) && !exc(posix);
  };
}

function globMatcher(patterns: readonly string[]): (p: string) => boolean {
  // picomatch's `basename` mode breaks patterns that do contain a slash, so the two kinds are
  // matched separately.
  const bare = patterns.filter((p) => !p.includes('/'));
  const pathed = patterns.filter((p) => p.includes('/'));
  const byName = bare.length ? picomatch(bare, { dot: true, basename: true }) : () => false;
  const byPath = pathed.length ? picomatch(pathed, { dot: true }) : () => false;
  return (p) => byName(p) || byPath(p);
}

const URL_SCHEME = /^https?:\/\//i;

// Walking into .git would scan every zlib-compressed object of the repository: slow, and any
// finding there duplicates one in the working tree.
const WALK_IGNORE = ['**/.git/**'];

/**
 * Lists a folder recursively. Symlinks to files are followed (the Hugging Face cache is made of
 * them) and a dangling one is kept so it is reported; symlinks to folders are not entered, which
 * rules out loops and double reports. Sockets, FIFOs and devices are left alone: opening a FIFO
 * would block. A folder that cannot be listed becomes an input of its own, reported unreadable.
 */
async function walkDirectory(dir: string, keep: (p: string) => boolean): Promise<ScanInput[]> {
  const files: string[] = [];
  const problems: ScanInput[] = [];
  const visit = async (rel: string): Promise<void> => {
    let entries: Dirent[];
    try {
      entries = await readdir(join(dir, rel), { withFileTypes: true });
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code ?? String(e);
      problems.push({
        kind: 'missing',
        name: join(dir, rel),
        code: 'unreadable',
        message: `cannot list folder: ${code}`,
      });
      return;
    }
    for (const entry of entries) {
      const child = rel ? `${rel}/${entry.name}` : entry.name;
      if (entry.isDirectory()) {
        if (entry.name !== '.git') await visit(child);
      } else if (entry.isFile()) {
        files.push(child);
      } else if (entry.isSymbolicLink()) {
        const target = await stat(join(dir, child)).catch(() => undefined);
        if (target === undefined || target.isFile()) files.push(child);
      }
    }
  };
  await visit('');
  const found: ScanInput[] = files
    .filter(keep)
    .sort(compareCodeUnits)
    .map((rel) => {
      const path = join(dir, rel);
      return { kind: 'file', name: path, path, discovered: true } as const;
    });
  return [...problems, ...found];
}

/** Sorting by UTF-16 code units, not locale, so every machine lists files in the same order. */
export function compareCodeUnits(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

async function expandOne(
  arg: string,
  opts: InputOptions,
  keep: (p: string) => boolean,
): Promise<ScanInput[]> {
  if (arg === '-') return [{ kind: 'stdin', name: '<stdin>' }];
  if (URL_SCHEME.test(arg)) return [{ kind: 'url', name: arg, url: arg }];
  if (/^hf:\/\//i.test(arg)) {
    const ref = parseHubRef(arg);
    if (typeof ref === 'string') return [{ kind: 'missing', name: arg, code: 'bad-argument', message: ref }];
    try {
      return await listHubInputs(ref, opts.hub, keep);
    } catch (e) {
      return [
        {
          kind: 'missing',
          name: arg,
          code: 'hub-error',
          message: e instanceof Error ? e.message : String(e),
        },
      ];
    }
  }
  let info: Awaited<ReturnType<typeof stat>> | undefined;
  try {
    info = await stat(arg);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== 'ENOENT' && code !== 'ENOTDIR') {
      return [
        { kind: 'missing', name: arg, code: 'unreadable', message: `cannot open: ${code ?? String(e)}` },
      ];
    }
  }
  if (info?.isDirectory()) {
    return walkDirectory(arg, keep);
  }
  if (info?.isFile()) return [{ kind: 'file', name: arg, path: arg }];
  // Opening a FIFO or a terminal would block until someone writes to it: a hang, not a scan.
  if (info)
    return [
      {
        kind: 'missing',
        name: arg,
        code: 'not-a-file',
        message: 'not a regular file (FIFO, socket or device); use - for a pipe',
      },
    ];
  if (isDynamicPattern(arg)) {
    const found = await glob([arg], {
      dot: false,
      onlyFiles: true,
      ignore: WALK_IGNORE,
      expandDirectories: false,
      absolute: isAbsolute(arg),
    });
    const files = found.filter(keep).sort(compareCodeUnits);
    if (files.length === 0) {
      return [{ kind: 'missing', name: arg, code: 'not-found', message: 'the pattern matches no file' }];
    }
    return files.map((p) => ({ kind: 'file', name: p, path: p, discovered: true }) as const);
  }
  return [{ kind: 'missing', name: arg, code: 'not-found', message: 'no such file or directory' }];
}

/**
 * Turns `brine scan` arguments into the list of inputs, in argument order and sorted inside each
 * directory or pattern, so serial and parallel runs report in the same order. A file reached twice
 * (named and inside a named directory) is scanned once.
 */
export async function expandInputs(args: readonly string[], opts: InputOptions): Promise<ScanInput[]> {
  const keep = pathFilter(opts.include, opts.exclude);
  const out: ScanInput[] = [];
  const seen = new Set<string>();
  for (const arg of args) {
    for (const input of await expandOne(arg, opts, keep)) {
      const key = input.kind === 'file' ? `file:${resolve(input.path)}` : `${input.kind}:${input.name}`;
      if (input.kind !== 'missing' && seen.has(key)) continue;
      seen.add(key);
      out.push(input);
    }
  }
  return out;
}

/** Paths shown to the user are relative to the working directory when that is shorter. */
export function displayPath(p: string, cwd = process.cwd()): string {
  const rel = relative(cwd, p);
  return rel && !rel.startsWith('..') && rel.length < p.length ? rel : p;
}
