import { KNOWN_GENERATED, KNOWN_TEXT, SAFE_TEXT } from './data/allowlist.js';
import { DANGEROUS_ATTRIBUTES, DANGEROUS_FAMILIES } from './data/denylist.js';
import { SURFACE_CLASSES, SURFACE_ENTRIES, SURFACE_FAMILIES } from './data/gadget-surface.js';
import { STDLIB_MODULES } from './data/stdlib.js';
import type { SurfaceClass } from './data/surface-types.js';
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

const PY2 = new Map(Object.entries(PY2_MODULES));

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

/**
 * The generated classification of the gadget surface (scripts/gadget-surface.py): module -> name -> the
 * reviewed entry class that decided it. Consulted after the hand-kept lists and the denylist wildcards,
 * so it can label and clear names but never overrides a reviewed decision.
 */
let surfaceTables:
  | { byName: Map<string, Map<string, SurfaceClass>>; family: Map<string, Map<string, string>> }
  | undefined;

/**
 * Built on first use, not at import: the tables hold about 9,000 names, and most files (state dicts,
 * whole torch models) are decided by the hand-kept lists alone; start-up of the CLI and the page stays fast.
 */
function surface() {
  if (surfaceTables) return surfaceTables;
  const byName = new Map<string, Map<string, SurfaceClass>>();
  const classes = new Map(SURFACE_CLASSES.map((c) => [c.id, c]));
  for (const [id, text] of Object.entries(SURFACE_ENTRIES)) {
    const cls = classes.get(id);
    if (!cls) continue;
    for (const [module, names] of parsePairs(text)) {
      const inner = byName.get(module) ?? new Map<string, SurfaceClass>();
      byName.set(module, inner);
      for (const n of names) if (!inner.has(n)) inner.set(n, cls);
    }
  }
  // Family of each name the generator found dangerous by capability: `family module name ...` lines.
  const family = new Map<string, Map<string, string>>();
  for (const line of SURFACE_FAMILIES.split('\n')) {
    const [fam, module, ...names] = line.trim().split(/\s+/);
    if (!fam || !module) continue;
    const inner = family.get(module) ?? new Map<string, string>();
    family.set(module, inner);
    for (const n of names) inner.set(n, fam);
  }
  surfaceTables = { byName, family };
  return surfaceTables;
}

/** The generated entry class of `module.name` (either spelling), if the generator classified it. */
export function surfaceClassOf(module: string, name: string): SurfaceClass | undefined {
  for (const m of moduleSpellings(module)) {
    const c = surface().byName.get(m)?.get(name);
    if (c) return c;
  }
  return undefined;
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

/** Top-level packages that hold at least one wildcard entry: most modules are rejected with one lookup. */
const WILDCARD_TOPS = new Set([...DANGER_WILDCARD.keys()].map((m) => topOf(m)));

/** Top-level packages of every denylist entry: a module outside them (and not a Python 2 name) matches nothing. */
const DANGER_TOPS = new Set([...WILDCARD_TOPS, ...[...DANGER_EXACT.keys()].map((m) => topOf(m))]);

function walkedTo(
  module: string,
  parts: string[],
  reached: string,
  rest: string,
  d: { family: string; why: string },
): { family: string; why: string } {
  return { family: d.family, why: `${module} + ${parts.join('.')} walks to ${reached}.${rest}: ${d.why}` };
}

/** Could `module` (or its Python 2 spelling) match any denylist entry at all? */
function mayBeDangerous(module: string): boolean {
  const top = topOf(module);
  return DANGER_TOPS.has(top) || PY2.has(top);
}

/** The wildcard entry covering `module` or one of its parents (CVE-2025-10157), if any. */
function wildcardFamily(module: string): { family: string; entry: string } | undefined {
  if (!WILDCARD_TOPS.has(topOf(module))) return undefined;
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

function topOf(module: string): string {
  const dot = module.indexOf('.');
  return dot < 0 ? module : module.slice(0, dot);
}

/** The Python 3 spelling of a Python 2 module path (`__builtin__` -> `builtins`), if it has one. */
function py2Alias(module: string): string | undefined {
  const top = topOf(module);
  const mapped = PY2.get(top);
  return mapped === undefined ? undefined : mapped + module.slice(top.length);
}

function moduleSpellings(module: string): string[] {
  const alias = py2Alias(module);
  return alias === undefined ? [module] : [module, alias];
}

const DUNDER = /^__\w+__$/;

/** Is `module` (or its Python 2 spelling) part of the gadget surface: stdlib, torch, NumPy? */
export function isGadgetSurface(module: string): boolean {
  const top = topOf(module);
  return STDLIB_MODULES.has(top) || SURFACE_PACKAGES.has(top) || PY2.has(top);
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
  const moduleMayMatch = mayBeDangerous(module);
  for (let i = 0; i < parts.length - 1; i++) {
    const rest = parts.slice(i + 1).join('.');
    const next = parts[i + 1] as string;
    // Re-exported modules first (pathlib.os is os), the full attribute path of `module` last. Most walked
    // prefixes are attribute names of no listed module: their top is checked before any string is built.
    for (let s = i; s >= 0; s--) {
      if (!mayBeDangerous(parts[s] as string)) continue;
      const c = parts.slice(s, i + 1).join('.');
      const d = dangerOf(c, rest) ?? dangerOf(c, next);
      if (d) return walkedTo(module, parts, c, rest, d);
    }
    if (moduleMayMatch) {
      const c = `${module}.${parts.slice(0, i + 1).join('.')}`;
      const d = dangerOf(c, rest) ?? dangerOf(c, next);
      if (d) return walkedTo(module, parts, c, rest, d);
    }
  }
  return undefined;
}

// Two-level cache (module -> name -> result): no key string is built per lookup. Protocol only
// changes the wording for dotted names, which get their own cache below protocol 4.
const cache = new Map<string, Map<string, ImportClass>>();
const cacheLowProto = new Map<string, Map<string, ImportClass>>();
let cached = 0;
const CACHE_LIMIT = 100_000;
const MODULE_LIMIT = 4096;

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
  const table = protocol !== undefined && protocol < 4 && name.includes('.') ? cacheLowProto : cache;
  let byName = table.get(module);
  const hit = byName?.get(name);
  if (hit) return hit;
  const result = classifyUncached(module, name, protocol);
  // Bounded both ways: many names per module, or many distinct modules (one inner Map each).
  if (cached >= CACHE_LIMIT || (!byName && cache.size + cacheLowProto.size >= MODULE_LIMIT)) {
    cache.clear();
    cacheLowProto.clear();
    cached = 0;
    byName = undefined;
  }
  if (!byName) {
    byName = new Map();
    table.set(module, byName);
  }
  byName.set(name, result);
  cached++;
  return result;
}

function classifyUncached(module: string, name: string, protocol?: number): ImportClass {
  if (module === '' || name === '') {
    return { tier: 'dangerous', family: 'reflection', reason: `${module}.${name}: empty module or name` };
  }
  const alias = py2Alias(module);
  const exact =
    DANGER_EXACT.get(module)?.get(name) ?? (alias ? DANGER_EXACT.get(alias)?.get(name) : undefined);
  if (exact)
    return { tier: 'dangerous', family: exact, reason: `${module}.${name} is on the denylist (${exact})` };
  if (SAFE.get(module)?.has(name) || (alias && SAFE.get(alias)?.has(name))) {
    return {
      tier: 'safe',
      reason: `${module}.${name} is data-only (accepted by torch weights_only or NumPy)`,
    };
  }
  if (KNOWN.get(module)?.has(name) || (alias && KNOWN.get(alias)?.has(name))) {
    return { tier: 'known', reason: `${module}.${name} is a known framework or stdlib data class` };
  }
  if (
    (module === '__torch__' || module.startsWith('__torch__.')) &&
    /^[A-Za-z_]\w*$/.test(name) &&
    !name.startsWith('__')
  ) {
    // Classes of a TorchScript archive, compiled from its own code/ (checked as container findings);
    // Python's unpickler has no `__torch__` module to import them from.
    return {
      tier: 'known',
      reason: `${module}.${name} is a TorchScript class compiled from the archive's code/`,
    };
  }
  const dotted = name.includes('.');
  const parts = dotted ? name.split('.') : [name];
  if (name.includes('__') && parts.some((p) => DUNDER.test(p))) {
    return {
      tier: 'dangerous',
      family: 'reflection',
      reason: `${module}.${name}: dunder attribute reaches interpreter internals (__builtins__, __globals__...)`,
    };
  }
  if (dotted) {
    if (parts.some((p) => p === '')) {
      return { tier: 'dangerous', family: 'reflection', reason: `${module}.${name}: malformed dotted name` };
    }
    // Checked before module wildcards so the report names what the walk reaches (shutil + os.system is os.system).
    const d = dottedDanger(module, parts);
    if (d) {
      const note = protocol !== undefined && protocol < 4 ? ' (protocol < 4: CPython would not walk it)' : '';
      return { tier: 'dangerous', family: d.family, reason: `${d.why} (${d.family})${note}` };
    }
  }
  const wild = wildcardFamily(module) ?? (alias ? wildcardFamily(alias) : undefined);
  if (wild) {
    return {
      tier: 'dangerous',
      family: wild.family,
      reason: `${module}.${name}: module ${wild.entry} is dangerous as a whole (${wild.family})`,
    };
  }
  const generated = surfaceClassOf(module, name);
  if (generated) {
    if (generated.tier === 'dangerous') {
      const fams = surface().family;
      const family = generated.family ?? fams.get(alias ?? module)?.get(name) ?? fams.get(module)?.get(name);
      return {
        tier: 'dangerous',
        family: family ?? GADGET_SURFACE,
        reason: `${module}.${name}: ${generated.reason} [${generated.id}${family ? `, ${family}` : ''}]`,
      };
    }
    return { tier: generated.tier, reason: `${module}.${name}: ${generated.reason} [${generated.id}]` };
  }
  if (isGadgetSurface(module)) {
    return {
      tier: 'unknown',
      family: GADGET_SURFACE,
      reason: `${module}.${name}: unlisted callable from the gadget surface (stdlib, torch, NumPy)`,
    };
  }
  return {
    tier: 'unknown',
    reason: `${module}.${name}: not on any list (a user's own class or an unlisted library)`,
  };
}
