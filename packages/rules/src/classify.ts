import { KNOWN_GENERATED, KNOWN_TEXT, SAFE_TEXT } from './data/allowlist.js';
import { DANGEROUS_ATTRIBUTES, DANGEROUS_FAMILIES } from './data/denylist.js';
import { STDLIB_MODULES } from './data/stdlib.js';
import type { ImportTier } from './types.js';

/** How one `find_class(module, name)` is classified, before any policy is applied. */
export interface ImportClass {
  tier: ImportTier;
  /** Dangerous family (`command-execution`...), or `gadget-surface` for an unlisted stdlib/torch/NumPy import. */
  family?: string;
  /** One line saying why, for reports. */
  reason: string;
}

/** Family given to unknown imports from modules present on every victim machine. */
export const GADGET_SURFACE = 'gadget-surface';

/** Packages installed wherever a model is loaded: gadgets are hunted there, so unlisted names fail. */
const SURFACE_PACKAGES = new Set(['torch', 'numpy']);

/**
 * Python 2 module names the unpickler maps to Python 3 ones (`_compat_pickle.IMPORT_MAPPING`, applied for
 * protocol < 3). Both spellings are checked so neither hides a dangerous global.
 */
const PY2_MODULES: Record<string, string> = {
  __builtin__: 'builtins',
  copy_reg: 'copyreg',
  cPickle: 'pickle',
  exceptions: 'builtins',
  urllib2: 'urllib.request',
  httplib: 'http.client',
  Queue: 'queue',
  SocketServer: 'socketserver',
  xmlrpclib: 'xmlrpc.client',
  cStringIO: 'io',
  StringIO: 'io',
  UserDict: 'collections',
  UserList: 'collections',
  _abcoll: 'collections.abc',
  thread: '_thread',
  dummy_thread: '_dummy_thread',
  commands: 'subprocess',
  repr: 'reprlib',
};

type PairTable = Map<string, Set<string>>;

function parsePairs(text: string, into: PairTable = new Map()): PairTable {
  for (const line of text.split('\n')) {
    const words = line.trim().split(/\s+/);
    const module = words[0];
    if (!module) continue;
    const names = into.get(module) ?? new Set<string>();
    into.set(module, names);
    for (const n of words.slice(1)) names.add(n);
  }
  return into;
}

const SAFE = parsePairs(SAFE_TEXT);
const KNOWN = parsePairs(KNOWN_TEXT);
for (const table of KNOWN_GENERATED) {
  for (const [module, names] of Object.entries(table)) {
    const set = KNOWN.get(module) ?? new Set<string>();
    KNOWN.set(module, set);
    for (const n of names) set.add(n);
  }
}

const DANGER_EXACT = new Map<string, Map<string, string>>();
const DANGER_WILDCARD = new Map<string, string>();
for (const [family, text] of Object.entries(DANGEROUS_FAMILIES)) {
  for (const [module, names] of parsePairs(text)) {
    for (const name of names) {
      if (name === '*') {
        if (!DANGER_WILDCARD.has(module)) DANGER_WILDCARD.set(module, family);
        continue;
      }
      const byName = DANGER_EXACT.get(module) ?? new Map<string, string>();
      DANGER_EXACT.set(module, byName);
      if (!byName.has(name)) byName.set(name, family);
    }
  }
}

/** Is `module.name` an exact entry of the safe tier? */
export function isSafePair(module: string, name: string): boolean {
  return SAFE.get(module)?.has(name) ?? SAFE.get(PY2_MODULES[module] ?? '')?.has(name) ?? false;
}

function inTable(table: PairTable, module: string, name: string): boolean {
  if (table.get(module)?.has(name)) return true;
  const mapped = PY2_MODULES[module];
  return mapped !== undefined && (table.get(mapped)?.has(name) ?? false);
}

/** The wildcard entry covering `module` or one of its parents (CVE-2025-10157), if any. */
function wildcardFamily(module: string): { family: string; entry: string } | undefined {
  let m = module;
  for (;;) {
    const family = DANGER_WILDCARD.get(m);
    if (family) return { family, entry: m };
    const dot = m.lastIndexOf('.');
    if (dot < 0) return undefined;
    m = m.slice(0, dot);
  }
}

/** Denylist lookup for one (module, name) pair, trying the Python 2 spelling as well. */
function dangerOf(module: string, name: string): { family: string; why: string } | undefined {
  for (const m of moduleSpellings(module)) {
    const family = DANGER_EXACT.get(m)?.get(name);
    if (family) return { family, why: `${m}.${name} is on the denylist` };
  }
  for (const m of moduleSpellings(module)) {
    const w = wildcardFamily(m);
    if (w) return { family: w.family, why: `module ${w.entry} is dangerous as a whole` };
  }
  return undefined;
}

function moduleSpellings(module: string): string[] {
  const top = module.split('.', 1)[0] ?? module;
  const mapped = PY2_MODULES[top];
  if (mapped === undefined || mapped === top) return [module];
  return [module, mapped + module.slice(top.length)];
}

const DUNDER = /^__\w+__$/;

/** Is `module` (or its Python 2 spelling) part of the gadget surface: stdlib, torch, NumPy? */
export function isGadgetSurface(module: string): boolean {
  const top = module.split('.', 1)[0] ?? module;
  return STDLIB_MODULES.has(top) || SURFACE_PACKAGES.has(top) || PY2_MODULES[top] !== undefined;
}

/**
 * Checks what `find_class` reaches when it walks a dotted name (protocol 4+): every object it passes
 * through may be a re-exported module (`pathlib.os`, `shutil.os`), so each walked prefix is checked as
 * a module in its own right, under its full path and under every shorter tail of the name.
 */
function dottedDanger(module: string, parts: string[]): { family: string; why: string } | undefined {
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i] as string;
    if (i > 0 && Object.hasOwn(DANGEROUS_ATTRIBUTES, part)) {
      return {
        family: DANGEROUS_ATTRIBUTES[part] as string,
        why: `walks to attribute ${part} of ${module}.${parts.slice(0, i).join('.')}`,
      };
    }
  }
  for (let i = 0; i < parts.length - 1; i++) {
    const rest = parts.slice(i + 1).join('.');
    const candidates = [`${module}.${parts.slice(0, i + 1).join('.')}`];
    for (let s = 0; s <= i; s++) candidates.push(parts.slice(s, i + 1).join('.'));
    for (const c of candidates) {
      const d = dangerOf(c, rest) ?? dangerOf(c, parts[i + 1] as string);
      if (d)
        return { family: d.family, why: `${module} + ${parts.join('.')} walks to ${c}.${rest}: ${d.why}` };
    }
  }
  return undefined;
}

const cache = new Map<string, ImportClass>();
const CACHE_LIMIT = 50_000;

/**
 * Classifies one import (`find_class(module, name)`) into safe / known / dangerous / unknown.
 *
 * Matching is exact on (module, name); wildcards cover a module and all its submodules; dotted names
 * are resolved component by component and any dunder component (`__builtins__`, `__globals__`...) is
 * dangerous. An unknown import from the standard library, torch or NumPy gets family `gadget-surface`
 * (the default policy fails it); other unknowns are a user's own classes (suspicious).
 *
 * @param protocol pickle protocol in force; dotted names are walked by CPython only at 4+, but brine
 *   checks them at any protocol because a loader may use another unpickler.
 */
export function classifyImport(module: string, name: string, protocol?: number): ImportClass {
  const key = `${module}\u0000${name}\u0000${protocol !== undefined && protocol < 4 ? 'p' : ''}`;
  const hit = cache.get(key);
  if (hit) return hit;
  const result = classifyUncached(module, name, protocol);
  if (cache.size >= CACHE_LIMIT) cache.clear();
  cache.set(key, result);
  return result;
}

function classifyUncached(module: string, name: string, protocol?: number): ImportClass {
  const symbol = `${module}.${name}`;
  if (module === '' || name === '') {
    return { tier: 'dangerous', family: 'reflection', reason: `${symbol}: empty module or name` };
  }
  for (const m of moduleSpellings(module)) {
    const family = DANGER_EXACT.get(m)?.get(name);
    if (family) return { tier: 'dangerous', family, reason: `${m}.${name} is on the denylist (${family})` };
  }
  if (inTable(SAFE, module, name)) {
    return { tier: 'safe', reason: `${symbol} is data-only (accepted by torch weights_only or NumPy)` };
  }
  if (inTable(KNOWN, module, name)) {
    return { tier: 'known', reason: `${symbol} is a known framework or stdlib data class` };
  }
  const wild = dangerOf(module, name);
  if (wild)
    return { tier: 'dangerous', family: wild.family, reason: `${symbol}: ${wild.why} (${wild.family})` };

  const parts = name.split('.');
  if (parts.some((p) => DUNDER.test(p))) {
    return {
      tier: 'dangerous',
      family: 'reflection',
      reason: `${symbol}: dunder attribute reaches interpreter internals (__builtins__, __globals__...)`,
    };
  }
  if (parts.length > 1) {
    if (parts.some((p) => p === '')) {
      return { tier: 'dangerous', family: 'reflection', reason: `${symbol}: malformed dotted name` };
    }
    const d = dottedDanger(module, parts);
    if (d) {
      const note = protocol !== undefined && protocol < 4 ? ' (protocol < 4: CPython would not walk it)' : '';
      return { tier: 'dangerous', family: d.family, reason: `${d.why} (${d.family})${note}` };
    }
  }
  if (isGadgetSurface(module)) {
    return {
      tier: 'unknown',
      family: GADGET_SURFACE,
      reason: `${symbol}: unlisted callable from the gadget surface (stdlib, torch, NumPy)`,
    };
  }
  return {
    tier: 'unknown',
    reason: `${symbol}: not on any list (a user's own class or an unlisted library)`,
  };
}
