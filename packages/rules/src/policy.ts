import { BrineError } from '@brine/core';
import { classifyImport } from './classify.js';

/** What a policy makes of an import tier. `allow` reports it as information only. */
export type TierOutcome = 'allow' | 'suspicious' | 'dangerous';

/** An allow/deny entry: exact `(module, name)`, or `name: '*'` for every name of that module. */
export interface PolicyImportEntry {
  module: string;
  name: string;
}

/**
 * A suppression. It names a rule, the files it covers (path or glob) and, optionally, the SHA-256 of
 * the file it was written for, so a waiver never silently covers a changed file.
 */
export interface Waiver {
  /** Rule id, e.g. `BRINE-IMP-003`. */
  rule: string;
  /** Path or glob (`**`, `*`, `?`), matched against the path the file was scanned under. */
  path: string;
  /** Lowercase hex SHA-256 of the file; when set, the waiver applies only to that exact content. */
  sha256?: string;
  /** Narrow the waiver to findings about one import, `module.name`. */
  symbol?: string;
  reason?: string;
}

/** A verdict policy: which tiers fail, extra allow/deny entries, waivers. */
export interface Policy {
  name: string;
  /** The lowest finding verdict that fails the file (the CLI's `--fail-on`). */
  failOn: 'dangerous' | 'suspicious';
  tiers: {
    /** Framework classes and stdlib data types. */
    known: TierOutcome;
    /** Unlisted imports from the stdlib, torch or NumPy (where gadgets live). */
    unknownSurface: 'suspicious' | 'dangerous';
    /** Unlisted imports from any other package (a user's own classes). */
    unknown: 'suspicious' | 'dangerous';
  };
  /** Imports to treat as known. Entries on brine's denylist are refused by {@link parsePolicy}. */
  allow: PolicyImportEntry[];
  /** Imports to treat as dangerous (family `policy-deny`). `name: '*'` covers submodules too. */
  deny: PolicyImportEntry[];
  waivers: Waiver[];
}

/** The three built-in policies. */
export const builtinPolicies: Record<'default' | 'strict' | 'weights-only', Policy> = {
  default: {
    name: 'default',
    failOn: 'dangerous',
    tiers: { known: 'allow', unknownSurface: 'dangerous', unknown: 'suspicious' },
    allow: [],
    deny: [],
    waivers: [],
  },
  strict: {
    name: 'strict',
    failOn: 'suspicious',
    tiers: { known: 'allow', unknownSurface: 'dangerous', unknown: 'dangerous' },
    allow: [],
    deny: [],
    waivers: [],
  },
  'weights-only': {
    name: 'weights-only',
    failOn: 'suspicious',
    tiers: { known: 'suspicious', unknownSurface: 'dangerous', unknown: 'suspicious' },
    allow: [],
    deny: [],
    waivers: [],
  },
};

/** A policy file that cannot be used: `field` names the offending entry (`waivers[2].sha256`). */
export class PolicyError extends BrineError {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super('policy-invalid', `policy field ${field}: ${message}`);
    this.name = 'PolicyError';
  }
}

const TOP_KEYS = new Set(['name', 'extends', 'failOn', 'tiers', 'allow', 'deny', 'waivers']);
const WAIVER_KEYS = new Set(['rule', 'path', 'sha256', 'symbol', 'reason']);

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function oneOf<T extends string>(v: unknown, field: string, allowed: readonly T[]): T {
  if (typeof v !== 'string' || !(allowed as readonly string[]).includes(v)) {
    throw new PolicyError(field, `expected one of ${allowed.map((a) => `"${a}"`).join(', ')}`);
  }
  return v as T;
}

function parseEntry(v: unknown, field: string): PolicyImportEntry {
  if (typeof v === 'string') {
    const colon = v.indexOf(':');
    if (colon <= 0 || colon === v.length - 1) {
      throw new PolicyError(field, `expected "module:name" (e.g. "mypkg.models:Net"), got "${v}"`);
    }
    return { module: v.slice(0, colon), name: v.slice(colon + 1) };
  }
  if (isRecord(v) && typeof v.module === 'string' && typeof v.name === 'string' && v.module && v.name) {
    return { module: v.module, name: v.name };
  }
  throw new PolicyError(field, 'expected "module:name" or {"module": ..., "name": ...}');
}

function parseEntries(v: unknown, field: string): PolicyImportEntry[] {
  if (!Array.isArray(v)) throw new PolicyError(field, 'expected an array');
  return v.map((e, i) => parseEntry(e, `${field}[${i}]`));
}

function parseWaiver(v: unknown, field: string): Waiver {
  if (!isRecord(v)) throw new PolicyError(field, 'expected an object with "rule" and "path"');
  for (const k of Object.keys(v)) {
    if (!WAIVER_KEYS.has(k)) throw new PolicyError(`${field}.${k}`, 'unknown field');
  }
  if (typeof v.rule !== 'string' || !/^BRINE-[A-Z]+-\d{3}$/.test(v.rule)) {
    throw new PolicyError(`${field}.rule`, 'expected a rule id such as "BRINE-IMP-003"');
  }
  if (typeof v.path !== 'string' || v.path === '') {
    throw new PolicyError(`${field}.path`, 'expected a non-empty path or glob');
  }
  const w: Waiver = { rule: v.rule, path: v.path };
  if (v.sha256 !== undefined) {
    if (typeof v.sha256 !== 'string' || !/^[0-9a-fA-F]{64}$/.test(v.sha256)) {
      throw new PolicyError(`${field}.sha256`, 'expected 64 hex digits');
    }
    w.sha256 = v.sha256.toLowerCase();
  }
  if (v.symbol !== undefined) {
    if (typeof v.symbol !== 'string' || !v.symbol.includes('.')) {
      throw new PolicyError(`${field}.symbol`, 'expected "module.name"');
    }
    w.symbol = v.symbol;
  }
  if (v.reason !== undefined) {
    if (typeof v.reason !== 'string') throw new PolicyError(`${field}.reason`, 'expected a string');
    w.reason = v.reason;
  }
  return w;
}

/**
 * Reads a user policy (the parsed JSON of a policy file) on top of `base` (or of the policy its
 * `extends` names). Allow entries that brine classifies as dangerous are refused: waive the finding
 * for a named file instead. Throws {@link PolicyError} naming the bad field.
 */
export function parsePolicy(json: unknown, base?: Policy): Policy {
  if (!isRecord(json)) throw new PolicyError('(root)', 'expected a JSON object');
  for (const k of Object.keys(json)) {
    if (!TOP_KEYS.has(k)) throw new PolicyError(k, `unknown field (known: ${[...TOP_KEYS].join(', ')})`);
  }
  let start = base ?? builtinPolicies.default;
  if (json.extends !== undefined) {
    start = builtinPolicies[oneOf(json.extends, 'extends', ['default', 'strict', 'weights-only'] as const)];
  }
  const policy: Policy = {
    name: start.name,
    failOn: start.failOn,
    tiers: { ...start.tiers },
    allow: [...start.allow],
    deny: [...start.deny],
    waivers: [...start.waivers],
  };
  if (json.name !== undefined) {
    if (typeof json.name !== 'string' || json.name === '') throw new PolicyError('name', 'expected a string');
    policy.name = json.name;
  }
  if (json.failOn !== undefined)
    policy.failOn = oneOf(json.failOn, 'failOn', ['dangerous', 'suspicious'] as const);
  if (json.tiers !== undefined) {
    if (!isRecord(json.tiers)) throw new PolicyError('tiers', 'expected an object');
    for (const [k, v] of Object.entries(json.tiers)) {
      if (k === 'known')
        policy.tiers.known = oneOf(v, 'tiers.known', ['allow', 'suspicious', 'dangerous'] as const);
      else if (k === 'unknown')
        policy.tiers.unknown = oneOf(v, 'tiers.unknown', ['suspicious', 'dangerous'] as const);
      else if (k === 'unknownSurface') {
        policy.tiers.unknownSurface = oneOf(v, 'tiers.unknownSurface', ['suspicious', 'dangerous'] as const);
      } else throw new PolicyError(`tiers.${k}`, 'unknown field (known: known, unknownSurface, unknown)');
    }
  }
  if (json.allow !== undefined) {
    const entries = parseEntries(json.allow, 'allow');
    entries.forEach((e, i) => {
      const c = e.name === '*' ? undefined : classifyImport(e.module, e.name);
      if (c?.tier === 'dangerous') {
        throw new PolicyError(
          `allow[${i}]`,
          `${e.module}.${e.name} is dangerous (${c.family}); allowing it would allow code execution, use a waiver for a named file instead`,
        );
      }
    });
    policy.allow.push(...entries);
  }
  if (json.deny !== undefined) policy.deny.push(...parseEntries(json.deny, 'deny'));
  if (json.waivers !== undefined) {
    if (!Array.isArray(json.waivers)) throw new PolicyError('waivers', 'expected an array');
    policy.waivers.push(...json.waivers.map((w, i) => parseWaiver(w, `waivers[${i}]`)));
  }
  return policy;
}

/** Does a policy entry list cover `module.name`? `name: '*'` covers the module and its submodules. */
export function entriesCover(entries: readonly PolicyImportEntry[], module: string, name: string): boolean {
  for (const e of entries) {
    if (e.name === '*') {
      if (module === e.module || module.startsWith(`${e.module}.`)) return true;
    } else if (e.module === module && e.name === name) return true;
  }
  return false;
}

/** Normalises a path for waiver matching: forward slashes, no leading `./`. */
export function normalisePath(p: string): string {
  let s = p.replace(/\\/g, '/');
  while (s.startsWith('./')) s = s.slice(2);
  return s;
}

const globCache = new Map<string, RegExp>();

/**
 * Glob match: `**` spans directories, `*` and `?` stay within one path segment. A pattern without a
 * slash also matches the file's base name, as in `.gitignore`.
 */
export function globMatches(pattern: string, path: string): boolean {
  const pat = normalisePath(pattern);
  const target = normalisePath(path);
  let re = globCache.get(pat);
  if (!re) {
    let src = '';
    for (let i = 0; i < pat.length; i++) {
      const c = pat[i] as string;
      if (c === '*') {
        if (pat[i + 1] === '*') {
          i++;
          if (pat[i + 1] === '/') {
            i++;
            src += '(?:.*/)?';
          } else src += '.*';
        } else src += '[^/]*';
      } else if (c === '?') src += '[^/]';
      else src += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
    }
    re = new RegExp(`^${src}$`);
    globCache.set(pat, re);
  }
  if (re.test(target)) return true;
  if (!pat.includes('/')) {
    const base = target.slice(target.lastIndexOf('/') + 1);
    return re.test(base);
  }
  return false;
}

/** The built-in policy called `name` (`default`, `strict`, `weights-only`); throws {@link PolicyError} otherwise. */
export function policyNamed(name: string): Policy {
  if (Object.hasOwn(builtinPolicies, name)) return builtinPolicies[name as keyof typeof builtinPolicies];
  throw new PolicyError(
    'name',
    `no built-in policy "${name}" (known: ${Object.keys(builtinPolicies).join(', ')})`,
  );
}
