import type { HookConfig } from './config.js';

// A waiver or a looser policy is a one-line edit that would otherwise ride along unnoticed in a
// commit that also adds the model it excuses. The hook therefore names every change to the
// configuration in its output, whether or not the commit is blocked.

/** Longest value shown per line; a policy is small, but a pasted blob should not flood the terminal. */
const MAX_VALUE = 160;

// Control characters and bidirectional overrides could rewrite or hide what the terminal shows;
// configuration text is the committer's, not ours. JSON.stringify already escapes C0; these remain.
const UNSAFE = /[\u007f-\u009f\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

function shown(value: unknown): string {
  const text = (JSON.stringify(value) ?? 'undefined').replace(
    UNSAFE,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
  return text.length > MAX_VALUE ? `${text.slice(0, MAX_VALUE)}…` : text;
}

// Key order inside an object does not change its meaning.
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : 1));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'undefined';
}

function waiverLine(sign: '+' | '-', w: unknown): string {
  if (w === null || typeof w !== 'object' || Array.isArray(w)) return `${sign} waiver ${shown(w)}`;
  const { rule, path, sha256, ...rest } = w as Record<string, unknown>;
  const pinned = typeof sha256 === 'string' ? ` sha256 ${shown(sha256)}` : ' (any content: no sha256)';
  const more = Object.keys(rest).length > 0 ? ` ${shown(rest)}` : '';
  return `${sign} waiver ${shown(rule)} for ${shown(path)}${pinned}${more}`;
}

/**
 * What changes between the configuration HEAD carries and the one this commit is judged by, one
 * line per change (`+`/`-` for waivers and list entries, `~` for any other key). Empty when they
 * mean the same. `before` undefined means HEAD's copy could not be read as configuration.
 */
export function describeConfigChange(before: HookConfig | undefined, after: HookConfig): string[] {
  const lines: string[] = [];
  const prev: Record<string, unknown> = before
    ? { ...before.policy, include: before.include, exclude: before.exclude }
    : {};
  const next: Record<string, unknown> = { ...after.policy, include: after.include, exclude: after.exclude };
  const keys = [...new Set([...Object.keys(prev), ...Object.keys(next)])].sort((a, b) =>
    // Waivers first: they are what a sneaked-in exception looks like.
    a === 'waivers' ? -1 : b === 'waivers' ? 1 : a < b ? -1 : 1,
  );
  for (const key of keys) {
    const a = prev[key];
    const b = next[key];
    if (canonical(a) === canonical(b)) continue;
    if ((Array.isArray(a) || a === undefined) && (Array.isArray(b) || b === undefined)) {
      const was = new Map((a ?? []).map((x) => [canonical(x), x] as const));
      const now = new Map((b ?? []).map((x) => [canonical(x), x] as const));
      const line = (sign: '+' | '-', x: unknown) =>
        key === 'waivers' ? waiverLine(sign, x) : `${sign} ${key}: ${shown(x)}`;
      const added = [...now].filter(([k]) => !was.has(k));
      const removed = [...was].filter(([k]) => !now.has(k));
      for (const [, x] of added) lines.push(line('+', x));
      for (const [, x] of removed) lines.push(line('-', x));
      // Same entries in another order or repeated: still a change, say so rather than print nothing.
      if (added.length === 0 && removed.length === 0) lines.push(`~ ${key}: ${shown(a)} → ${shown(b)}`);
      continue;
    }
    lines.push(`~ ${key}: ${shown(a)} → ${shown(b)}`);
  }
  return lines;
}
