import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { BrineError } from '@brine/core';
import picomatch from 'picomatch';
import { BlobReader, isKept } from './blobs.js';
import type { StagedEntry } from './staged.js';

/** The name of brine's configuration file at the repository root. */
export const CONFIG_FILE = '.brine.json';

/** Hook configuration: which staged files to look at, and the policy document for `@brine/rules`. */
export interface HookConfig {
  /** Where it came from, for messages (`.brine.json (staged)`, `package.json "brine"`), or undefined for defaults. */
  source: string | undefined;
  /** Repository-relative globs; a staged file must match one (default: every file). */
  include: string[];
  /** Repository-relative globs; a staged file matching one is never scanned. */
  exclude: string[];
  /**
   * The rest of the configuration object (`policy`, `waivers`, ...), handed unchanged to
   * `@brine/rules` so the hook never interprets policy itself.
   */
  policy: Record<string, unknown>;
}

/** The configuration used when the repository has none. */
export function defaultHookConfig(): HookConfig {
  return { source: undefined, include: [], exclude: [], policy: {} };
}

function stringList(v: unknown, key: string, file: string): string[] {
  if (v === undefined) return [];
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'string' || x === '')) {
    throw new BrineError('config-invalid', `"${key}" must be a list of non-empty glob strings`, file);
  }
  return v as string[];
}

/**
 * Validates a configuration object (the content of `.brine.json`, or the `brine` key of package.json).
 * @throws BrineError `config-invalid` naming `file` and the problem.
 */
export function parseHookConfig(value: unknown, file: string): HookConfig {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new BrineError('config-invalid', 'brine configuration must be a JSON object', file);
  }
  const { include, exclude, ...policy } = value as Record<string, unknown>;
  return {
    source: file,
    include: stringList(include, 'include', file),
    exclude: stringList(exclude, 'exclude', file),
    policy,
  };
}

function parseJson(text: string, file: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new BrineError('config-invalid', `not valid JSON: ${(e as Error).message}`, file);
  }
}

/** The files configuration may come from, as optional index entries (`:path` specs) for {@link BlobReader}. */
export function configEntries(): StagedEntry[] {
  return CONFIG_SOURCES.map((path) => ({
    path,
    mode: '100644',
    oid: `:${path}`,
    optional: true,
  }));
}

/**
 * The same files as committed in HEAD (`HEAD:path` specs), so the hook can show what a commit
 * changes in them. Their paths carry the `HEAD:` prefix to tell them from the staged ones.
 */
export function committedConfigEntries(): StagedEntry[] {
  return CONFIG_SOURCES.map((path) => ({
    path: `HEAD:${path}`,
    mode: '100644',
    oid: `HEAD:${path}`,
    optional: true,
  }));
}

const CONFIG_SOURCES = [CONFIG_FILE, 'package.json'];

/** Reads one configuration file's text with a label for messages, or undefined when it does not exist. */
type ConfigText = (name: string) => Promise<{ text: string; label: string } | undefined>;

/** `.brine.json`, else the `brine` key of `package.json`, else the defaults. */
async function configFrom(read: ConfigText): Promise<HookConfig> {
  const own = await read(CONFIG_FILE);
  if (own) return parseHookConfig(parseJson(own.text, own.label), own.label);
  const pkg = await read('package.json');
  // A package.json that says nothing about brine is not ours to complain about, even when broken.
  if (pkg && /"brine"\s*:/.test(pkg.text)) {
    const json = parseJson(pkg.text, pkg.label) as Record<string, unknown> | null;
    if (json && typeof json === 'object' && 'brine' in json) {
      const label = `${pkg.label} "brine"`;
      return parseHookConfig(json.brine, label);
    }
  }
  return defaultHookConfig();
}

/**
 * Loads `.brine.json`, else the `brine` key of `package.json`, from the repository root.
 *
 * The staged version of each file wins over the working tree, so a commit is judged by the
 * configuration it carries (and a waiver that was never staged does not silently pass a commit
 * whose pushed configuration lacks it). A file that is not in the index at all is read from disk.
 *
 * @param staged The staged texts by path when the caller already read them (see {@link configEntries});
 *   otherwise they are read from the index here.
 */
export async function loadHookConfig(root: string, staged?: Map<string, string>): Promise<HookConfig> {
  if (!staged) {
    staged = new Map();
    const reader = new BlobReader(root, { headBytes: 1, memoryLimit: 16 * 1024 * 1024 });
    try {
      for (const b of await reader.read(configEntries(), () => true)) {
        if (isKept(b) && b.bytes) staged.set(b.entry.path, Buffer.from(b.bytes).toString('utf8'));
      }
    } finally {
      await reader.close();
    }
  }
  const index = staged;
  return configFrom(async (name) => {
    const s = index.get(name);
    if (s !== undefined) return { text: s, label: `${name} (staged)` };
    try {
      return { text: await readFile(join(root, name), 'utf8'), label: name };
    } catch {
      return undefined;
    }
  });
}

/**
 * The configuration HEAD carries, from the texts of {@link committedConfigEntries} (keyed by plain
 * path). Undefined when HEAD's copy does not parse: the comparison then shows every entry as new.
 */
export async function committedHookConfig(committed: Map<string, string>): Promise<HookConfig | undefined> {
  try {
    return await configFrom(async (name) => {
      const text = committed.get(name);
      return text === undefined ? undefined : { text, label: `${name} (HEAD)` };
    });
  } catch {
    return undefined;
  }
}

/** Builds the include/exclude test for repository-relative paths (dotfiles match like any other file). */
export function pathFilter(config: HookConfig): (path: string) => boolean {
  const opts = { dot: true };
  const inc = config.include.length > 0 ? picomatch(config.include, opts) : () => true;
  const exc = config.exclude.length > 0 ? picomatch(config.exclude, opts) : () => false;
  return (path) => inc(path) && !exc(path);
}
