import type { EvidenceValue, PickleCall, ScanResult } from '../pickle/events.js';
import { itemSizeOf } from './npy.js';

/**
 * joblib writes each numpy array's raw bytes into the pickle stream right after the `BUILD` of a
 * `joblib.numpy_pickle.NumpyArrayWrapper`, and `NumpyUnpickler.load_build` reads them there.
 * A scanner that does not skip them sees garbage opcodes and stops, leaving the rest of the
 * stream unscanned. This works out, from the wrapper's BUILD state, what follows the BUILD.
 */
export const JOBLIB_WRAPPER = { module: 'joblib.numpy_pickle', name: 'NumpyArrayWrapper' } as const;

export type JoblibArrayLayout =
  /** `padded`: one byte giving a padding length, that many padding bytes, then `bytes` of data. */
  | { kind: 'raw'; bytes: number; padded: boolean }
  /** Object arrays are a complete nested pickle (`pickle.load(file_handle)`). */
  | { kind: 'object' }
  | { kind: 'unknown'; why: string };

/** True when `call` is a BUILD whose target is a NumpyArrayWrapper instance. */
export function isWrapperBuild(r: ScanResult, call: PickleCall): boolean {
  if (call.opcode !== 'BUILD') return false;
  return classOf(r, call.target, 0) === `${JOBLIB_WRAPPER.module}.${JOBLIB_WRAPPER.name}`;
}

/** Resolves what class an evidence value is an instance of (through copyreg._reconstructor / NEWOBJ). */
function classOf(r: ScanResult, v: EvidenceValue | undefined, depth: number): string | undefined {
  if (!v || depth > 4) return undefined;
  if (v.kind === 'global') {
    const i = r.imports[v.importIndex];
    return i ? `${i.module}.${i.name}` : undefined;
  }
  if (v.kind !== 'call') return undefined;
  const c = r.calls[v.callIndex];
  if (!c) return undefined;
  if (c.opcode === 'BUILD') return classOf(r, c.target, depth + 1);
  const callee = classOf(r, c.target, depth + 1);
  if (callee === 'copyreg._reconstructor')
    return classOf(r, c.args[0]?.kind === 'tuple' ? c.args[0].items[0] : c.args[0], depth + 1);
  if (c.opcode === 'NEWOBJ' || c.opcode === 'NEWOBJ_EX' || c.opcode === 'OBJ' || c.opcode === 'INST')
    return callee;
  // REDUCE of a class is an instantiation too (joblib's wrapper is pickled with __reduce_ex__(2) → NEWOBJ, older protocols REDUCE)
  return callee;
}

const dictGet = (d: EvidenceValue | undefined, key: string): EvidenceValue | undefined => {
  if (d?.kind !== 'dict') return undefined;
  for (const [k, v] of d.entries) if (k.kind === 'str' && k.value === key) return v;
  return undefined;
};

/** Computes what follows a NumpyArrayWrapper BUILD from its state dict. */
export function joblibArrayLayout(r: ScanResult, call: PickleCall): JoblibArrayLayout {
  let state = call.args[0];
  // BUILD state may be (dict, slotstate)
  if (state?.kind === 'tuple') state = state.items[0];
  if (state?.kind !== 'dict') return { kind: 'unknown', why: 'wrapper state is not a dict' };
  if (state.truncated) return { kind: 'unknown', why: 'wrapper state too large to track' };
  const shape = dictGet(state, 'shape');
  const dtype = dictGet(state, 'dtype');
  const align = dictGet(state, 'numpy_array_alignment_bytes');
  const descr = dtypeDescr(r, dtype);
  if (descr === undefined) return { kind: 'unknown', why: 'dtype not understood' };
  if (/^[<>|=]?O/.test(descr)) return { kind: 'object' };
  const item = itemSizeOf(descr);
  if (item === undefined) return { kind: 'unknown', why: `dtype ${descr} has no known size` };
  if (shape?.kind !== 'tuple' || shape.truncated) return { kind: 'unknown', why: 'shape is not a tuple' };
  let count = 1;
  for (const d of shape.items) {
    if (d.kind !== 'int') return { kind: 'unknown', why: 'shape holds a non-integer' };
    count *= Number(d.value);
  }
  const bytes = count * item;
  if (!Number.isSafeInteger(bytes) || bytes < 0) return { kind: 'unknown', why: 'array size overflows' };
  // Files written by joblib < 1.2 have no alignment key; None means the stream was not seekable.
  const padded = align !== undefined && align.kind === 'int';
  return { kind: 'raw', bytes, padded };
}

/** `numpy.dtype('f8', False, True)` → `f8`, with byte order from the dtype's BUILD state when present. */
function dtypeDescr(r: ScanResult, v: EvidenceValue | undefined): string | undefined {
  if (v?.kind !== 'call') return undefined;
  let c = r.calls[v.callIndex];
  let order = '';
  if (c?.opcode === 'BUILD') {
    const st = c.args[0];
    if (st?.kind === 'tuple' && st.items[1]?.kind === 'str') order = st.items[1].value;
    c = c.target.kind === 'call' ? r.calls[c.target.callIndex] : undefined;
  }
  if (c?.target.kind !== 'global') return undefined;
  const imp = r.imports[c.target.importIndex];
  if (!imp || !/^numpy(\.core\.multiarray|\._core\.multiarray)?$/.test(imp.module) || imp.name !== 'dtype')
    return undefined;
  const first = c.args[0]?.kind === 'tuple' ? c.args[0].items[0] : c.args[0];
  if (first?.kind !== 'str') return undefined;
  return (order === '|' ? '' : order) + first.value;
}
