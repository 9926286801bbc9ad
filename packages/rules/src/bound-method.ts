import type { EvidenceValue, ScanResult } from '@brine/core';
import { classifyImport, isGadgetSurface } from './classify.js';

/**
 * Python pickles a bound method `obj.meth` as `getattr(obj, 'meth')` (method.__reduce__), so whole-object
 * saves of framework classes that keep a method as an attribute (torch's OneCycleLR stores
 * `self._annealing_cos`) import `builtins.getattr`. getattr is a reflection gadget and stays dangerous,
 * except in exactly that shape, proven from the events:
 *
 * - every use of the import is `REDUCE getattr(<object built in this pickle>, '<plain name>')`;
 * - that object is an instance of a known framework class (not the standard library, whose known
 *   classes include file-system paths);
 * - the name is an identifier and not a dunder;
 * - neither getattr itself nor any bound method it returns is called, or passed to any call, during
 *   loading (they may only be stored as attributes through BUILD);
 * - no call's evidence was cut short (BUILD states excepted: they only store), so nothing hides a use.
 *
 * Returns the indices of the `getattr` imports that satisfy all of this.
 */
export function boundMethodGetattrs(r: ScanResult): Set<number> {
  const out = new Set<number>();
  const getattrs = r.imports
    .map((imp, i) => ({ imp, i }))
    .filter(
      ({ imp }) =>
        imp.resolved && imp.name === 'getattr' && (imp.module === 'builtins' || imp.module === '__builtin__'),
    );
  if (getattrs.length === 0) return out;
  // BUILD only stores its state, so cut-short evidence there cannot hide a call; anywhere else it could.
  const hidden = (c: ScanResult['calls'][number]) =>
    c.opcode !== 'BUILD' &&
    (c.args.some(incomplete) || incomplete(c.target) || (c.kwargs !== undefined && incomplete(c.kwargs)));
  if (r.calls.some(hidden)) return out;
  if (r.persistentIds.some((p) => incomplete(p.pid))) return out;

  for (const { i } of getattrs) {
    const uses: number[] = [];
    let ok = true;
    r.calls.forEach((c, ci) => {
      if (c.target.kind === 'global' && c.target.importIndex === i) {
        if (c.opcode !== 'REDUCE' || !isBoundMethodShape(r, c.args)) ok = false;
        uses.push(ci);
      } else if (c.args.some((a) => mentionsGlobal(a, i)) || (c.kwargs && mentionsGlobal(c.kwargs, i))) {
        ok = false;
      }
    });
    if (r.persistentIds.some((p) => mentionsGlobal(p.pid, i))) ok = false;
    if (!ok || uses.length === 0) continue;
    const results = new Set(uses);
    for (const c of r.calls) {
      if (c.target.kind === 'call' && results.has(c.target.callIndex)) ok = false;
      if (c.opcode !== 'BUILD' && c.args.some((a) => mentionsCall(a, results))) ok = false;
      if (c.kwargs && mentionsCall(c.kwargs, results)) ok = false;
    }
    if (ok) out.add(i);
  }
  return out;
}

/** `getattr(<object built in this pickle of a known framework class>, '<plain name>')`. */
export function isBoundMethodShape(r: ScanResult, args: EvidenceValue[]): boolean {
  if (args.length !== 2) return false;
  const [obj, name] = args;
  if (name?.kind !== 'str' || !/^[A-Za-z_]\w*$/.test(name.value) || /^__\w*__$/.test(name.value))
    return false;
  const cls = obj ? classOf(r, obj, 0) : undefined;
  if (!cls) return false;
  const c = classifyImport(cls.module, cls.name);
  return c.tier === 'known' && !isGadgetSurfaceStdlib(cls.module);
}

/** Known classes of the standard library (paths, io) have side-effecting methods: never exempt. */
function isGadgetSurfaceStdlib(module: string): boolean {
  const top = module.split('.', 1)[0] ?? module;
  return isGadgetSurface(module) && top !== 'torch' && top !== 'numpy';
}

/** The class an object built in this pickle is an instance of, through NEWOBJ/REDUCE/copyreg/BUILD. */
function classOf(
  r: ScanResult,
  v: EvidenceValue,
  depth: number,
): { module: string; name: string } | undefined {
  if (v.kind !== 'call' || depth > 4) return undefined;
  const c = r.calls[v.callIndex];
  if (!c) return undefined;
  if (c.opcode === 'BUILD') return classOf(r, c.target, depth + 1);
  if (c.target.kind === 'persid') {
    // Legacy torch.save: a module's class comes back from persistent_load(('module', cls, file, source)).
    const pid = r.persistentIds[c.target.persidIndex]?.pid;
    if (pid?.kind !== 'tuple' || pid.items.length !== 4) return undefined;
    const [tag, cls] = pid.items;
    if (tag?.kind !== 'str' || tag.value !== 'module' || cls?.kind !== 'global') return undefined;
    const imp = r.imports[cls.importIndex];
    return imp?.resolved ? { module: imp.module, name: imp.name } : undefined;
  }
  if (c.target.kind !== 'global') return undefined;
  const imp = r.imports[c.target.importIndex];
  if (!imp?.resolved) return undefined;
  if (imp.module === 'copyreg' && imp.name === '_reconstructor') {
    const first = c.args[0];
    if (first?.kind !== 'global') return undefined;
    const cls = r.imports[first.importIndex];
    return cls?.resolved ? { module: cls.module, name: cls.name } : undefined;
  }
  return { module: imp.module, name: imp.name };
}

/** Evidence the scanner cut short (a limit, an untracked value): it could hide anything. */
export function incomplete(v: EvidenceValue): boolean {
  switch (v.kind) {
    case 'opaque':
      return true;
    case 'tuple':
    case 'list':
    case 'set':
    case 'frozenset':
      return v.truncated || v.items.some(incomplete);
    case 'dict':
      return v.truncated || v.entries.some(([k, x]) => incomplete(k) || incomplete(x));
    default:
      return false;
  }
}

/** Does `v` contain the object imported by import `importIndex`? */
export function mentionsGlobal(v: EvidenceValue, importIndex: number): boolean {
  switch (v.kind) {
    case 'global':
      return v.importIndex === importIndex;
    case 'tuple':
    case 'list':
    case 'set':
    case 'frozenset':
      return v.items.some((x) => mentionsGlobal(x, importIndex));
    case 'dict':
      return v.entries.some(([k, x]) => mentionsGlobal(k, importIndex) || mentionsGlobal(x, importIndex));
    default:
      return false;
  }
}

/** Does `v` contain the result of one of `calls`? */
export function mentionsCall(v: EvidenceValue, calls: Set<number>): boolean {
  switch (v.kind) {
    case 'call':
      return calls.has(v.callIndex);
    case 'tuple':
    case 'list':
    case 'set':
    case 'frozenset':
      return v.items.some((x) => mentionsCall(x, calls));
    case 'dict':
      return v.entries.some(([k, x]) => mentionsCall(k, calls) || mentionsCall(x, calls));
    default:
      return false;
  }
}
