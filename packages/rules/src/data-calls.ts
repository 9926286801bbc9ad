import type { EvidenceValue, PickleCall, ScanResult } from '@brine/core';
import { incomplete, isBoundMethodShape, mentionsCall, mentionsGlobal } from './bound-method.js';
import type { ImportClass } from './classify.js';
import { KNOWN_ENUMS, KNOWN_RECONSTRUCTORS } from './data/gadget-surface.js';

/**
 * Evidence-aware verdicts (rule BRINE-IMP-007): a few callables that are gadgets in general only
 * construct data in the exact shapes the standard library and torch write, and the scanner's call
 * evidence proves the shape. Each rule below holds only when *every* use of the import in the stream
 * has that shape, its arguments are literals or known data classes (nothing computed at load time), and
 * no evidence in the stream was cut short. Anything else keeps today's verdict.
 *
 * - `getattr(<known class>, '<reconstructor>')(<literals>)`: how a classmethod reconstructor pickles
 *   (`getattr(zoneinfo.ZoneInfo, '_unpickle')('UTC', 1)`, every ZoneInfo).
 * - `getattr(<known enum class>, '<member>')`: how an enum member pickles (`getattr(re.RegexFlag,
 *   'IGNORECASE')`); the member is data, never called.
 * - `getattr(<framework object>, '<method>')` never called (bound methods, see bound-method.ts).
 * - `type(<literal or known data object>)`: the one-argument form returns a type (`type(None)`).
 * - `len`, `abs`, `min`, `max`, `round`, ... on literals: pure builtins fed only data.
 * - `functools.partial(<known callable>, <literals>)`, state set by BUILD to the same shape: binds data
 *   to a callable that is itself known (`partial(numpy.clip, a_min=0, a_max=1)`); never called here.
 * - `torch.storage._load_from_bytes(<bytes>)`: how `pickle.dumps(tensor)` stores a tensor; the bytes are
 *   a torch.save that brine scanned as its own stream (it carries its own findings).
 */
export interface DataCallProof {
  /** Import index -> why it only constructs data here. */
  imports: Map<number, string>;
  /** Calls of a computed callable proven to be a reconstructor call (not BRINE-PKL-006). */
  calls: Set<number>;
}

const GETATTR = new Set(['builtins getattr', '__builtin__ getattr']);
const TYPE = new Set(['builtins type', '__builtin__ type']);
const PARTIAL = new Set(['functools partial', '_functools partial']);
const LOAD_FROM_BYTES = 'torch.storage _load_from_bytes';
/** Builtins that compute on data and call nothing but the data's own dunder methods. */
const PURE_BUILTINS = new Set(
  'abs all any ascii bin chr divmod format hash hex len max min oct ord pow repr round sorted sum'
    .split(' ')
    .flatMap((n) => [`builtins ${n}`, `__builtin__ ${n}`]),
);

function pairSet(text: string): Set<string> {
  const out = new Set<string>();
  for (const line of text.split('\n')) {
    const [module, ...names] = line.trim().split(/\s+/);
    if (module) for (const n of names) out.add(`${module} ${n}`);
  }
  return out;
}
const ENUMS = pairSet(KNOWN_ENUMS);
const RECONSTRUCTORS = pairSet(KNOWN_RECONSTRUCTORS);
const IDENTIFIER = /^[A-Za-z_]\w*$/;
const DUNDER = /^__\w*__$/;

const SCALARS = new Set(['none', 'bool', 'int', 'float', 'str', 'bytes']);

/**
 * Is `v` plain data: literals, containers of literals, and (when `classes` is given) imported objects
 * classified safe or known? Call results, persistent ids and EXT objects are computed: never data.
 */
function isData(v: EvidenceValue, r: ScanResult, classes?: readonly ImportClass[]): boolean {
  if (SCALARS.has(v.kind)) return true;
  switch (v.kind) {
    case 'tuple':
    case 'list':
    case 'set':
    case 'frozenset':
      return !v.truncated && v.items.every((x) => isData(x, r, classes));
    case 'dict':
      return !v.truncated && v.entries.every(([k, x]) => isData(k, r, classes) && isData(x, r, classes));
    case 'global': {
      const t = classes?.[v.importIndex]?.tier;
      return t === 'safe' || t === 'known';
    }
    default:
      return false;
  }
}

/** The (module, name) of a resolved import behind `v`, if `v` is an imported object. */
function globalOf(v: EvidenceValue | undefined, r: ScanResult): { module: string; name: string } | undefined {
  if (v?.kind !== 'global') return undefined;
  const imp = r.imports[v.importIndex];
  return imp?.resolved ? { module: imp.module, name: imp.name } : undefined;
}

/** Is the import `i` used anywhere other than as the callable of a call (an argument, a persistent id)? */
function usedAsValue(r: ScanResult, i: number): boolean {
  for (const c of r.calls) {
    if (c.args.some((a) => mentionsGlobal(a, i))) return true;
    if (c.kwargs && mentionsGlobal(c.kwargs, i)) return true;
    if (c.opcode === 'BUILD' && mentionsGlobal(c.target, i)) return true;
  }
  return r.persistentIds.some((p) => mentionsGlobal(p.pid, i));
}

function usesOf(r: ScanResult, i: number): Array<{ call: PickleCall; index: number }> {
  const out: Array<{ call: PickleCall; index: number }> = [];
  r.calls.forEach((call, index) => {
    if (call.opcode !== 'BUILD' && call.target.kind === 'global' && call.target.importIndex === i)
      out.push({ call, index });
  });
  return out;
}

/** Calls applying the result of one of `results` (its callers), and whether the result is used otherwise. */
function resultUse(r: ScanResult, results: Set<number>) {
  const callers: Array<{ call: PickleCall; index: number }> = [];
  let passed = false;
  r.calls.forEach((call, index) => {
    if (call.target.kind === 'call' && results.has(call.target.callIndex)) {
      if (call.opcode === 'BUILD') passed = true;
      else callers.push({ call, index });
    }
    if (call.opcode !== 'BUILD' && call.args.some((a) => mentionsCall(a, results))) passed = true;
    if (call.kwargs && mentionsCall(call.kwargs, results)) passed = true;
  });
  return { callers, passed };
}

/**
 * Finds the imports (and calls of computed callables) that the evidence proves only construct data.
 * `classes` is the classification of each import of `r` under the policy in force.
 */
export function provenDataCalls(
  r: ScanResult,
  classes: readonly ImportClass[],
  scannedLiteral: (offset: number) => boolean,
): DataCallProof {
  const proof: DataCallProof = { imports: new Map(), calls: new Set() };
  // Evidence cut short anywhere but in a BUILD state (which only stores) could hide a use.
  const hidden = r.calls.some(
    (c) =>
      c.opcode !== 'BUILD' &&
      (c.args.some(incomplete) || incomplete(c.target) || (c.kwargs !== undefined && incomplete(c.kwargs))),
  );
  if (hidden || r.persistentIds.some((p) => incomplete(p.pid))) return proof;

  r.imports.forEach((imp, i) => {
    if (!imp.resolved) return;
    const key = `${imp.module} ${imp.name}`;
    const uses = usesOf(r, i);
    if (uses.length === 0 || usedAsValue(r, i)) return;
    const results = new Set(uses.map((u) => u.index));
    if (GETATTR.has(key)) {
      const reason = getattrProof(r, classes, uses, proof);
      if (reason) proof.imports.set(i, reason);
    } else if (TYPE.has(key)) {
      if (
        uses.every(
          ({ call }) =>
            call.opcode === 'REDUCE' &&
            call.args.length === 1 &&
            isData(call.args[0] as EvidenceValue, r, classes),
        ) &&
        resultUse(r, results).callers.length === 0
      )
        proof.imports.set(i, 'builtins.type with one data argument only returns its type (type(None))');
    } else if (PURE_BUILTINS.has(key)) {
      if (
        uses.every(({ call }) => call.opcode === 'REDUCE' && call.args.every((a) => isData(a, r))) &&
        resultUse(r, results).callers.length === 0
      )
        proof.imports.set(i, `builtins.${imp.name} is only applied to literals (pure computation on data)`);
    } else if (PARTIAL.has(key)) {
      if (partialProof(r, classes, uses))
        proof.imports.set(
          i,
          'functools.partial only binds literal arguments to a known callable, and nothing calls the result while loading',
        );
    } else if (key === LOAD_FROM_BYTES) {
      const fromScannedBytes = ({ call }: { call: PickleCall }) => {
        const b = call.args[0];
        return (
          call.opcode === 'REDUCE' &&
          call.args.length === 1 &&
          b?.kind === 'bytes' &&
          scannedLiteral(b.offset)
        );
      };
      if (uses.every(fromScannedBytes) && resultUse(r, results).callers.length === 0)
        proof.imports.set(
          i,
          'torch.storage._load_from_bytes rebuilds a tensor from an embedded torch.save, which brine scanned as its own stream (pickle.dumps of a tensor)',
        );
    }
  });
  return proof;
}

/** Every use of a getattr import must be one of the three data shapes; reconstructor calls are recorded. */
function getattrProof(
  r: ScanResult,
  classes: readonly ImportClass[],
  uses: Array<{ call: PickleCall; index: number }>,
  proof: DataCallProof,
): string | undefined {
  const reasons = new Set<string>();
  const reconstructorCalls: number[] = [];
  for (const { call, index } of uses) {
    if (call.opcode !== 'REDUCE' || call.args.length !== 2) return undefined;
    const [obj, attr] = call.args;
    if (attr?.kind !== 'str' || attr.truncated || !IDENTIFIER.test(attr.value) || DUNDER.test(attr.value))
      return undefined;
    const cls = globalOf(obj, r);
    const tier = obj?.kind === 'global' ? classes[obj.importIndex]?.tier : undefined;
    const single = new Set([index]);
    const use = resultUse(r, single);
    if (
      cls &&
      (tier === 'known' || tier === 'safe') &&
      RECONSTRUCTORS.has(`${cls.module} ${cls.name}.${attr.value}`)
    ) {
      // A reconstructor: called with literals only, its result is data.
      if (use.passed || use.callers.length === 0) return undefined;
      for (const c of use.callers) {
        if (c.call.opcode !== 'REDUCE' || !c.call.args.every((a) => isData(a, r))) return undefined;
        reconstructorCalls.push(c.index);
      }
      reasons.add(
        `getattr(${cls.module}.${cls.name}, '${attr.value}') is that class's own reconstructor, called with literals`,
      );
    } else if (cls && (tier === 'known' || tier === 'safe') && ENUMS.has(`${cls.module} ${cls.name}`)) {
      // An enum member: data, never called.
      if (use.callers.length) return undefined;
      reasons.add(`getattr(${cls.module}.${cls.name}, '${attr.value}') reads an enum member`);
    } else if (isBoundMethodShape(r, call.args)) {
      // A bound method of a framework object: stored, never called or passed to a call while loading.
      if (use.callers.length || use.passed) return undefined;
      reasons.add('getattr rebuilds a bound method of a framework object, never called while loading');
    } else return undefined;
  }
  for (const c of reconstructorCalls) proof.calls.add(c);
  return `builtins.getattr only in data shapes: ${[...reasons].join('; ')}`;
}

/** partial(<known callable>, <literals>) whose state (BUILD) has the same shape and whose result is never called. */
function partialProof(
  r: ScanResult,
  classes: readonly ImportClass[],
  uses: Array<{ call: PickleCall; index: number }>,
): boolean {
  const knownCallable = (v: EvidenceValue | undefined) => {
    if (v?.kind !== 'global') return false;
    const t = classes[v.importIndex]?.tier;
    return t === 'known' || t === 'safe';
  };
  for (const { call, index } of uses) {
    if (call.opcode !== 'REDUCE' || call.args.length < 1) return false;
    const [fn, ...rest] = call.args;
    if (!knownCallable(fn) || !rest.every((a) => isData(a, r))) return false;
    for (const c of r.calls) {
      if (c.target.kind !== 'call' || c.target.callIndex !== index) continue;
      if (c.opcode !== 'BUILD') return false;
      // partial.__setstate__((func, args, kwds, namespace)).
      const state = c.args[0];
      if (state?.kind !== 'tuple' || state.items.length !== 4) return false;
      const [sfn, sargs, skw, sdict] = state.items;
      if (
        !knownCallable(sfn) ||
        !isData(sargs as EvidenceValue, r) ||
        !isData(skw as EvidenceValue, r) ||
        !isData(sdict as EvidenceValue, r)
      )
        return false;
    }
    if (r.calls.some((c) => c.opcode !== 'BUILD' && c.target.kind === 'call' && c.target.callIndex === index))
      return false;
  }
  return true;
}
