/**
 * A restricted pickle interpreter for the data-only subset of PyTorch checkpoints.
 *
 * It builds values, never objects with behaviour: the only callables it knows are the handful of torch
 * rebuild functions, `collections.OrderedDict`, `torch.Size` and `torch.nn.Parameter`, each applied by a
 * hand-written rule that checks its arguments. Every other import, every opcode that can reach foreign
 * code (INST, OBJ, NEWOBJ_EX, EXT1/2/4, PERSID, out-of-band buffers) and every structural surprise stops
 * with a `ConvertError` naming the offset. The model is torch's own `_weights_only_unpickler.py`: REDUCE
 * only on allowlisted callables, BUILD only on OrderedDict, SETITEM(S) only on dicts, APPEND(S) only on
 * lists (the CVE-2026-24747 class of confusions), BINPERSID only with a `('storage', ...)` tuple.
 *
 * Opcode meanings follow CPython's `Modules/_pickle.c`; where CPython is lenient (POP into a mark,
 * values left on the stack at STOP, PROTO mid-stream) this interpreter refuses instead.
 */
import { ConvertError } from './refusal.js';
import { DTYPE_ATTRIBUTES, STORAGE_CLASSES, type TorchDType } from './torch-dtypes.js';

/** A storage as named by a checkpoint's BINPERSID tuple. Its bytes live outside the pickle. */
export interface StorageRef {
  /** Record name: `<prefix>/data/<key>` in a zip checkpoint, the key in the legacy storage list. */
  key: string;
  /** Element type, or `untyped` for `torch.UntypedStorage` (bytes; a v3 rebuild gives the dtype). */
  dtype: TorchDType | 'untyped';
  /** `cpu`, `cuda:0`...: where torch would restore it. The bytes are the same either way. */
  location: string;
  /** Number of elements of `dtype` (bytes when untyped). */
  numel: number;
  /** Offset of the BINPERSID that first named this storage. */
  offset: number;
}

/** A tensor: a strided view of one storage. */
export interface TensorRef {
  storage: StorageRef;
  dtype: TorchDType;
  /** In elements. */
  storageOffset: number;
  shape: number[];
  /** In elements. */
  stride: number[];
  requiresGrad: boolean;
  /** Rebuilt as `torch.nn.Parameter`. */
  parameter: boolean;
  /** Offset of the REDUCE that built it. */
  offset: number;
}

/** An allowlisted global, as imported and not yet applied. */
export type SafeGlobal =
  | { kind: 'ordered-dict' }
  | { kind: 'size' }
  | { kind: 'parameter' }
  | { kind: 'rebuild'; fn: RebuildFn }
  | { kind: 'storage-class'; dtype: TorchDType | 'untyped'; name: string }
  | { kind: 'dtype'; dtype: TorchDType; name: string };

type RebuildFn =
  | '_rebuild_tensor'
  | '_rebuild_tensor_v2'
  | '_rebuild_tensor_v3'
  | '_rebuild_parameter'
  | '_rebuild_parameter_with_state';

/** A Python dict or OrderedDict. Keys are kept with a canonical hash so `1`, `1.0` and `True` collide as in Python. */
export interface PyDict {
  kind: 'dict';
  ordered: boolean;
  entries: Map<string, [PyValue, PyValue]>;
  /** Instance attributes set by BUILD (state dicts carry `_metadata`). */
  attributes: Map<string, PyValue>;
}

export interface PyList {
  kind: 'list';
  items: PyValue[];
}

/** Every value the interpreter can produce. Lists and dicts are mutable and shared by reference, as in Python. */
export type PyValue =
  | { kind: 'none' }
  | { kind: 'bool'; value: boolean }
  | { kind: 'int'; value: bigint }
  | { kind: 'float'; value: number }
  | { kind: 'str'; value: string }
  | { kind: 'bytes'; value: Uint8Array }
  | { kind: 'tuple'; items: PyValue[] }
  /** `torch.Size`: a tuple of ints. */
  | { kind: 'size'; dims: number[] }
  | PyList
  | PyDict
  | { kind: 'tensor'; tensor: TensorRef }
  | { kind: 'storage'; storage: StorageRef }
  | { kind: 'global'; global: SafeGlobal };

/** Limits that keep a hostile pickle from exhausting memory or time. */
export interface UnpickleLimits {
  maxStackDepth: number;
  maxMarks: number;
  maxMemo: number;
  maxOpcodes: number;
}

export const DEFAULT_UNPICKLE_LIMITS: UnpickleLimits = {
  maxStackDepth: 1_000_000,
  maxMarks: 100_000,
  maxMemo: 10_000_000,
  maxOpcodes: 200_000_000,
};

export interface UnpickleOptions {
  /** Where the pickle starts in `bytes` (legacy checkpoints hold several back to back). */
  start?: number;
  /** Shown in errors. */
  file?: string;
  /** Added to offsets in errors, so they point into the outer file. */
  baseOffset?: number;
  /**
   * Set when `bytes` may be a prefix of a longer stream: running out of bytes then throws
   * `NeedMoreBytes` instead of a truncation error, so the caller can read more and retry.
   */
  partial?: boolean;
  /** Storages already named by earlier pickles of the same checkpoint (shared across calls). */
  storages?: Map<string, StorageRef>;
  limits?: Partial<UnpickleLimits>;
}

export interface UnpickleResult {
  value: PyValue;
  /** Offset just past the STOP opcode. */
  end: number;
  /** Every storage named, by key. */
  storages: Map<string, StorageRef>;
  protocol: number;
}

/** Thrown in `partial` mode when the pickle continues past the bytes given. */
export class NeedMoreBytes extends Error {
  constructor() {
    super('pickle continues past the bytes read so far');
    this.name = 'NeedMoreBytes';
  }
}

const NONE: PyValue = { kind: 'none' };
/** CPython 3.11+ refuses to parse longer decimal integers (`sys.get_int_max_str_digits()`). */
const MAX_INT_DIGITS = 4300;
const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Canonical hash key of a dict key, following Python's equality (`1 == 1.0 == True`). */
function hashKey(v: PyValue, depth = 0): string | undefined {
  // Tuple keys nested absurdly deep are not worth hashing (and would exhaust the JS stack).
  if (depth > 100) return undefined;
  switch (v.kind) {
    case 'none':
      return 'N';
    case 'bool':
      return `n${v.value ? 1 : 0}`;
    case 'int':
      return `n${v.value}`;
    case 'float':
      return Number.isInteger(v.value) ? `n${BigInt(v.value)}` : `f${v.value}`;
    case 'str':
      return `s${v.value}`;
    case 'bytes':
      return `b${Array.from(v.value).join(',')}`;
    case 'tuple': {
      const parts: string[] = [];
      for (const item of v.items) {
        const k = hashKey(item, depth + 1);
        if (k === undefined) return undefined;
        parts.push(k);
      }
      return `t(${parts.map((p) => `${p.length}:${p}`).join('')})`;
    }
    case 'size':
      // Same encoding as a tuple of ints: a Size key equals the tuple key with the same items.
      return hashKey({ kind: 'tuple', items: v.dims.map((d) => ({ kind: 'int', value: BigInt(d) })) }, depth);
    default:
      return undefined;
  }
}

/** Human name of a value's type, for error messages. */
export function describeValue(v: PyValue): string {
  switch (v.kind) {
    case 'global':
      return `global ${v.global.kind === 'rebuild' ? `torch._utils.${v.global.fn}` : v.global.kind}`;
    case 'dict':
      return v.ordered ? 'OrderedDict' : 'dict';
    default:
      return v.kind;
  }
}

function lookupGlobal(module: string, name: string): SafeGlobal | undefined {
  if (module === 'collections' && name === 'OrderedDict') return { kind: 'ordered-dict' };
  if (module === 'torch.nn.parameter' && name === 'Parameter') return { kind: 'parameter' };
  if (module === 'torch._utils') {
    switch (name) {
      case '_rebuild_tensor':
      case '_rebuild_tensor_v2':
      case '_rebuild_tensor_v3':
      case '_rebuild_parameter':
      case '_rebuild_parameter_with_state':
        return { kind: 'rebuild', fn: name };
      default:
        return undefined;
    }
  }
  if (module === 'torch') {
    if (name === 'Size') return { kind: 'size' };
    if (name === 'UntypedStorage') return { kind: 'storage-class', dtype: 'untyped', name };
    if (Object.hasOwn(STORAGE_CLASSES, name)) {
      return { kind: 'storage-class', dtype: STORAGE_CLASSES[name] as TorchDType, name };
    }
    if (Object.hasOwn(DTYPE_ATTRIBUTES, name)) {
      return { kind: 'dtype', dtype: DTYPE_ATTRIBUTES[name] as TorchDType, name };
    }
  }
  return undefined;
}

/** Opcodes that can reach code or out-of-band data: never accepted, whatever they would do. */
const FORBIDDEN_OPCODES: Record<number, string> = {
  80: 'PERSID',
  105: 'INST',
  111: 'OBJ',
  146: 'NEWOBJ_EX',
  130: 'EXT1',
  131: 'EXT2',
  132: 'EXT4',
  150: 'BYTEARRAY8',
  151: 'NEXT_BUFFER',
  152: 'READONLY_BUFFER',
  83: 'STRING',
  86: 'UNICODE',
  143: 'EMPTY_SET',
  144: 'ADDITEMS',
  145: 'FROZENSET',
};

/**
 * Interprets one pickle (up to and including its STOP) under the data-only rules.
 *
 * @throws ConvertError for anything outside the subset; NeedMoreBytes in `partial` mode.
 */
export function unpickleRestricted(bytes: Uint8Array, options: UnpickleOptions = {}): UnpickleResult {
  const limits = { ...DEFAULT_UNPICKLE_LIMITS, ...options.limits };
  const file = options.file;
  const base = options.baseOffset ?? 0;
  const storages = options.storages ?? new Map<string, StorageRef>();
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const start = options.start ?? 0;
  let pos = start;
  let op = start;
  let protocol = 0;
  let opcodes = 0;

  let stack: PyValue[] = [];
  const marks: PyValue[][] = [];
  const memo = new Map<number, PyValue>();

  const fail = (code: ConstructorParameters<typeof ConvertError>[0], message: string, at = op): never => {
    throw new ConvertError(code, message, file, base + at);
  };
  const malformed = (message: string): never => fail('convert-malformed-pickle', message);

  const need = (n: number): void => {
    if (pos + n > bytes.length) {
      if (options.partial) throw new NeedMoreBytes();
      malformed('the pickle is truncated');
    }
  };
  const take = (n: number): Uint8Array => {
    need(n);
    const out = bytes.subarray(pos, pos + n);
    pos += n;
    return out;
  };
  const u8 = (): number => {
    need(1);
    return bytes[pos++] as number;
  };
  const u16 = (): number => {
    need(2);
    const v = view.getUint16(pos, true);
    pos += 2;
    return v;
  };
  const u32 = (): number => {
    need(4);
    const v = view.getUint32(pos, true);
    pos += 4;
    return v;
  };
  const i32 = (): number => {
    need(4);
    const v = view.getInt32(pos, true);
    pos += 4;
    return v;
  };
  const u64 = (): number => {
    need(8);
    const v = view.getBigUint64(pos, true);
    pos += 8;
    if (v > BigInt(bytes.length)) {
      if (options.partial) throw new NeedMoreBytes();
      malformed(`a length of ${v} bytes exceeds the pickle`);
    }
    return Number(v);
  };
  const line = (): string => {
    const end = bytes.indexOf(0x0a, pos);
    if (end < 0) {
      if (options.partial) throw new NeedMoreBytes();
      return malformed('a text argument has no terminating newline');
    }
    const raw = bytes.subarray(pos, end);
    pos = end + 1;
    return decode(raw);
  };
  const decode = (raw: Uint8Array): string => {
    try {
      return utf8.decode(raw);
    } catch {
      return malformed('a string is not valid UTF-8');
    }
  };

  const push = (v: PyValue): void => {
    if (stack.length >= limits.maxStackDepth) fail('convert-limit', 'the pickle stack grew past the limit');
    stack.push(v);
  };
  const pop = (): PyValue => {
    const v = stack.pop();
    if (v === undefined) return malformed('an opcode pops from an empty stack (or across a MARK)');
    return v;
  };
  const top = (): PyValue => {
    const v = stack[stack.length - 1];
    if (v === undefined) return malformed('an opcode needs a value but the stack is empty');
    return v;
  };
  const popMark = (): PyValue[] => {
    const items = stack;
    const outer = marks.pop();
    if (outer === undefined) return malformed('an opcode needs a MARK but none is open');
    stack = outer;
    return items;
  };
  const memoPut = (index: number, v: PyValue): void => {
    if (!memo.has(index) && memo.size >= limits.maxMemo)
      fail('convert-limit', 'the memo grew past the limit');
    memo.set(index, v);
  };
  const memoGet = (index: number): void => {
    const v = memo.get(index);
    if (v === undefined) malformed(`memo entry ${index} is read before it is written`);
    push(v as PyValue);
  };
  const parseDecimalIndex = (text: string): number => {
    if (!/^\d+$/.test(text)) malformed(`bad memo index ${JSON.stringify(text)}`);
    const n = Number(text);
    if (!Number.isSafeInteger(n)) malformed(`memo index ${text} is out of range`);
    return n;
  };
  const signedLittleEndian = (raw: Uint8Array): bigint => {
    let v = 0n;
    for (let i = raw.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(raw[i] as number);
    if (raw.length > 0 && ((raw[raw.length - 1] as number) & 0x80) !== 0) v -= 1n << BigInt(raw.length * 8);
    return v;
  };
  const setItems = (target: PyValue, pairs: PyValue[]): void => {
    if (target.kind !== 'dict') malformed(`SETITEM(S) on a ${describeValue(target)}, not a dict`);
    const dict = target as PyDict;
    for (let i = 0; i + 1 < pairs.length; i += 2) {
      const key = pairs[i] as PyValue;
      const h = hashKey(key);
      if (h === undefined) malformed(`a dict key of type ${describeValue(key)} is not hashable`);
      const existing = dict.entries.get(h as string);
      // Python keeps the first key object and its position when a later equal key overwrites the value.
      dict.entries.set(h as string, [existing ? existing[0] : key, pairs[i + 1] as PyValue]);
    }
  };
  const newDict = (ordered: boolean): PyDict => ({
    kind: 'dict',
    ordered,
    entries: new Map(),
    attributes: new Map(),
  });

  const apply = (callable: PyValue, args: PyValue, opcode: 'REDUCE' | 'NEWOBJ'): PyValue => {
    if (callable.kind !== 'global')
      return malformed(`${opcode} applies a ${describeValue(callable)}, not a callable`);
    if (args.kind !== 'tuple')
      return malformed(`${opcode} arguments are a ${describeValue(args)}, not a tuple`);
    const g = callable.global;
    const a = args.items;
    switch (g.kind) {
      case 'ordered-dict':
        if (a.length !== 0)
          return malformed('OrderedDict is called with arguments; torch.save never writes that');
        return newDict(true);
      case 'size': {
        if (opcode !== 'REDUCE' || a.length !== 1)
          return malformed('torch.Size takes exactly one tuple of ints');
        return { kind: 'size', dims: intList(a[0] as PyValue, 'torch.Size', 'convert-malformed-pickle') };
      }
      case 'parameter': {
        if (a.length < 1 || a.length > 2)
          return malformed('torch.nn.Parameter takes (data[, requires_grad])');
        const data = a[0] as PyValue;
        if (data.kind !== 'tensor') return malformed('torch.nn.Parameter wraps a non-tensor');
        const requiresGrad = a.length === 2 ? bool(a[1] as PyValue, 'requires_grad') : true;
        return { kind: 'tensor', tensor: { ...data.tensor, parameter: true, requiresGrad } };
      }
      case 'rebuild':
        if (opcode !== 'REDUCE') return malformed(`NEWOBJ on torch._utils.${g.fn}`);
        return rebuild(g.fn, a);
      case 'storage-class':
      case 'dtype':
        return fail(
          'convert-malformed-pickle',
          `torch.${g.name} is called; a data-only checkpoint only names it`,
        );
    }
  };

  const bool = (v: PyValue, what: string): boolean => {
    if (v.kind === 'bool') return v.value;
    return fail('convert-bad-tensor', `${what} is a ${describeValue(v)}, not a bool`);
  };
  const int = (v: PyValue, what: string): number => {
    if (v.kind !== 'int') return fail('convert-bad-tensor', `${what} is a ${describeValue(v)}, not an int`);
    if (v.value < 0n || v.value > BigInt(Number.MAX_SAFE_INTEGER)) {
      return fail('convert-bad-tensor', `${what} ${v.value} is out of range`);
    }
    return Number(v.value);
  };
  const intList = (
    v: PyValue,
    what: string,
    code: 'convert-bad-tensor' | 'convert-malformed-pickle' = 'convert-bad-tensor',
  ): number[] => {
    if (v.kind === 'size') return v.dims;
    if (v.kind !== 'tuple') return fail(code, `${what} is a ${describeValue(v)}, not a tuple of ints`);
    return v.items.map((item, i) => {
      if (item.kind !== 'int') return fail(code, `${what}[${i}] is a ${describeValue(item)}, not an int`);
      if (item.value < 0n || item.value > BigInt(Number.MAX_SAFE_INTEGER)) {
        return fail(code, `${what}[${i}] = ${item.value} is out of range`);
      }
      return Number(item.value);
    });
  };
  const emptyHooks = (v: PyValue, what: string): void => {
    if (v.kind === 'none') return;
    if (v.kind === 'dict' && v.entries.size === 0 && v.attributes.size === 0) return;
    fail('convert-bad-tensor', `${what} is not empty: backward hooks are code, not data`);
  };

  const rebuild = (fn: RebuildFn, a: PyValue[]): PyValue => {
    switch (fn) {
      case '_rebuild_parameter':
      case '_rebuild_parameter_with_state': {
        const arity = fn === '_rebuild_parameter' ? 3 : 4;
        if (a.length !== arity)
          return fail('convert-bad-tensor', `torch._utils.${fn} takes ${arity} arguments`);
        const data = a[0] as PyValue;
        if (data.kind !== 'tensor')
          return fail('convert-bad-tensor', `torch._utils.${fn} wraps a non-tensor`);
        const requiresGrad = bool(a[1] as PyValue, 'requires_grad');
        emptyHooks(a[2] as PyValue, 'backward_hooks');
        if (arity === 4) emptyHooks(a[3] as PyValue, 'parameter state');
        return { kind: 'tensor', tensor: { ...data.tensor, parameter: true, requiresGrad } };
      }
      case '_rebuild_tensor':
      case '_rebuild_tensor_v2':
      case '_rebuild_tensor_v3': {
        const [min, max] = fn === '_rebuild_tensor' ? [4, 4] : fn === '_rebuild_tensor_v2' ? [6, 7] : [7, 8];
        if (a.length < min || a.length > max) {
          return fail(
            'convert-bad-tensor',
            `torch._utils.${fn} takes ${min}–${max} arguments, got ${a.length}`,
          );
        }
        const s = a[0] as PyValue;
        if (s.kind !== 'storage')
          return fail('convert-bad-tensor', `torch._utils.${fn} is given a ${describeValue(s)}`);
        const storageOffset = int(a[1] as PyValue, 'storage_offset');
        const shape = intList(a[2] as PyValue, 'size');
        const stride = intList(a[3] as PyValue, 'stride');
        if (shape.length !== stride.length) {
          return fail(
            'convert-bad-tensor',
            `size has ${shape.length} dimensions but stride has ${stride.length}`,
          );
        }
        let requiresGrad = false;
        let dtype = s.storage.dtype;
        if (fn !== '_rebuild_tensor') {
          requiresGrad = bool(a[4] as PyValue, 'requires_grad');
          emptyHooks(a[5] as PyValue, 'backward_hooks');
        }
        if (fn === '_rebuild_tensor_v3') {
          const d = a[6] as PyValue;
          if (d.kind !== 'global' || d.global.kind !== 'dtype') {
            return fail('convert-bad-tensor', `the dtype argument is a ${describeValue(d)}`);
          }
          if (dtype !== 'untyped' && dtype !== d.global.dtype) {
            return fail('convert-bad-tensor', `dtype ${d.global.dtype} disagrees with its ${dtype} storage`);
          }
          dtype = d.global.dtype;
        }
        const metadata = a[fn === '_rebuild_tensor_v3' ? 7 : 6];
        if (metadata !== undefined) emptyHooks(metadata, 'tensor metadata');
        if (dtype === 'untyped')
          return fail('convert-bad-tensor', 'a tensor over an untyped storage has no dtype');
        return {
          kind: 'tensor',
          tensor: {
            storage: s.storage,
            dtype,
            storageOffset,
            shape,
            stride,
            requiresGrad,
            parameter: false,
            offset: base + op,
          },
        };
      }
    }
  };

  const persistentLoad = (pid: PyValue): PyValue => {
    if (pid.kind !== 'tuple' || pid.items.length < 5 || pid.items.length > 6) {
      return fail(
        'convert-bad-storage',
        `persistent id is a ${describeValue(pid)}, not a ('storage', ...) tuple`,
      );
    }
    const [tag, type, key, location, numel, view] = pid.items as [
      PyValue,
      PyValue,
      PyValue,
      PyValue,
      PyValue,
      PyValue?,
    ];
    if (tag.kind !== 'str' || tag.value !== 'storage')
      return fail('convert-bad-storage', 'persistent id is not a storage');
    let dtype: TorchDType | 'untyped';
    if (type.kind === 'global' && (type.global.kind === 'storage-class' || type.global.kind === 'dtype')) {
      dtype = type.global.dtype;
    } else {
      return fail('convert-bad-storage', `storage type is a ${describeValue(type)}`);
    }
    if (key.kind !== 'str') return fail('convert-bad-storage', 'storage key is not a string');
    if (location.kind !== 'str') return fail('convert-bad-storage', 'storage location is not a string');
    if (numel.kind !== 'int' || numel.value < 0n || numel.value > BigInt(Number.MAX_SAFE_INTEGER)) {
      return fail('convert-bad-storage', 'storage size is not a non-negative int');
    }
    // Legacy checkpoints append view metadata; torch >= 0.4 always writes None there.
    if (view !== undefined && view.kind !== 'none') {
      return fail('convert-bad-storage', 'storage views from pre-0.4 torch are not supported');
    }
    const ref: StorageRef = {
      key: key.value,
      dtype,
      location: location.value,
      numel: Number(numel.value),
      offset: base + op,
    };
    const known = storages.get(ref.key);
    if (known) {
      if (known.dtype !== ref.dtype || known.numel !== ref.numel) {
        return fail('convert-bad-storage', `storage ${ref.key} is named twice with different types or sizes`);
      }
      return { kind: 'storage', storage: known };
    }
    storages.set(ref.key, ref);
    return { kind: 'storage', storage: ref };
  };

  for (;;) {
    op = pos;
    if (++opcodes > limits.maxOpcodes) fail('convert-limit', 'the pickle has more opcodes than the limit');
    const code = u8();
    switch (code) {
      case 0x80: {
        // PROTO
        const v = u8();
        if (op !== start) malformed('PROTO is not the first opcode');
        if (v > 5) malformed(`unsupported pickle protocol ${v}`);
        protocol = v;
        break;
      }
      case 0x95: {
        // FRAME: only a read-ahead hint; the bytes it announces must exist.
        const n = u64();
        need(n);
        break;
      }
      case 0x2e: {
        // STOP
        const value = pop();
        if (stack.length !== 0 || marks.length !== 0) malformed('values or marks are left over at STOP');
        return { value, end: pos, storages, protocol };
      }
      case 0x28: // MARK
        if (marks.length >= limits.maxMarks) fail('convert-limit', 'too many nested MARKs');
        marks.push(stack);
        stack = [];
        break;
      case 0x30: // POP
        pop();
        break;
      case 0x31: // POP_MARK
        popMark();
        break;
      case 0x32: // DUP
        push(top());
        break;
      case 0x4e: // NONE
        push(NONE);
        break;
      case 0x88: // NEWTRUE
        push({ kind: 'bool', value: true });
        break;
      case 0x89: // NEWFALSE
        push({ kind: 'bool', value: false });
        break;
      case 0x49: {
        // INT: protocol-0 decimal; "00"/"01" are the booleans.
        const text = line();
        if (text.length > MAX_INT_DIGITS)
          fail('convert-limit', 'an integer with more digits than Python reads');
        if (text === '00' || text === '01') push({ kind: 'bool', value: text === '01' });
        else if (/^[+-]?\d+$/.test(text)) push({ kind: 'int', value: BigInt(text) });
        else malformed(`INT argument ${JSON.stringify(text.slice(0, 40))} is not a decimal`);
        break;
      }
      case 0x4c: {
        // LONG
        const text = line().replace(/L$/, '');
        if (text.length > MAX_INT_DIGITS)
          fail('convert-limit', 'an integer with more digits than Python reads');
        if (!/^[+-]?\d+$/.test(text)) malformed('LONG argument is not a decimal');
        push({ kind: 'int', value: BigInt(text) });
        break;
      }
      case 0x4a: // BININT
        need(4);
        push({ kind: 'int', value: BigInt(view.getInt32(pos, true)) });
        pos += 4;
        break;
      case 0x4b: // BININT1
        push({ kind: 'int', value: BigInt(u8()) });
        break;
      case 0x4d: // BININT2
        push({ kind: 'int', value: BigInt(u16()) });
        break;
      case 0x8a: // LONG1
        push({ kind: 'int', value: signedLittleEndian(take(u8())) });
        break;
      case 0x8b: {
        // LONG4
        const n = i32();
        if (n < 0) malformed('LONG4 has a negative length');
        if (n > 4096) fail('convert-limit', 'an integer of more than 4096 bytes');
        push({ kind: 'int', value: signedLittleEndian(take(n)) });
        break;
      }
      case 0x46: {
        // FLOAT
        const text = line();
        const v = Number(text);
        if (text.trim() === '' || Number.isNaN(v) !== /nan/i.test(text))
          malformed('FLOAT argument is not a number');
        push({ kind: 'float', value: v });
        break;
      }
      case 0x47: // BINFLOAT (big-endian, unlike everything else)
        need(8);
        push({ kind: 'float', value: view.getFloat64(pos, false) });
        pos += 8;
        break;
      case 0x58: // BINUNICODE
        push({ kind: 'str', value: decode(take(u32())) });
        break;
      case 0x8c: // SHORT_BINUNICODE
        push({ kind: 'str', value: decode(take(u8())) });
        break;
      case 0x8d: // BINUNICODE8
        push({ kind: 'str', value: decode(take(u64())) });
        break;
      case 0x54: {
        // BINSTRING: torch.load decodes protocol-0/1 strings as UTF-8.
        const n = i32();
        if (n < 0) malformed('BINSTRING has a negative length');
        push({ kind: 'str', value: decode(take(n)) });
        break;
      }
      case 0x55: // SHORT_BINSTRING
        push({ kind: 'str', value: decode(take(u8())) });
        break;
      case 0x42: // BINBYTES
        push({ kind: 'bytes', value: take(u32()).slice() });
        break;
      case 0x43: // SHORT_BINBYTES
        push({ kind: 'bytes', value: take(u8()).slice() });
        break;
      case 0x8e: // BINBYTES8
        push({ kind: 'bytes', value: take(u64()).slice() });
        break;
      case 0x29: // EMPTY_TUPLE
        push({ kind: 'tuple', items: [] });
        break;
      case 0x74: // TUPLE
        push({ kind: 'tuple', items: popMark() });
        break;
      case 0x85: // TUPLE1
        push({ kind: 'tuple', items: [pop()] });
        break;
      case 0x86: {
        // TUPLE2
        const b = pop();
        push({ kind: 'tuple', items: [pop(), b] });
        break;
      }
      case 0x87: {
        // TUPLE3
        const c = pop();
        const b = pop();
        push({ kind: 'tuple', items: [pop(), b, c] });
        break;
      }
      case 0x5d: // EMPTY_LIST
        push({ kind: 'list', items: [] });
        break;
      case 0x6c: // LIST
        push({ kind: 'list', items: popMark() });
        break;
      case 0x61: {
        // APPEND
        const v = pop();
        const list = top();
        if (list.kind !== 'list') malformed(`APPEND to a ${describeValue(list)}, not a list`);
        (list as PyList).items.push(v);
        break;
      }
      case 0x65: {
        // APPENDS
        const items = popMark();
        const list = top();
        if (list.kind !== 'list') malformed(`APPENDS to a ${describeValue(list)}, not a list`);
        for (const item of items) (list as PyList).items.push(item);
        break;
      }
      case 0x7d: // EMPTY_DICT
        push(newDict(false));
        break;
      case 0x64: {
        // DICT
        const items = popMark();
        if (items.length % 2 !== 0) malformed('DICT has an odd number of items');
        const dict = newDict(false);
        setItems(dict, items);
        push(dict);
        break;
      }
      case 0x73: {
        // SETITEM
        const v = pop();
        const k = pop();
        setItems(top(), [k, v]);
        break;
      }
      case 0x75: {
        // SETITEMS
        const items = popMark();
        if (items.length % 2 !== 0) malformed('SETITEMS has an odd number of items');
        setItems(top(), items);
        break;
      }
      case 0x70: // PUT
        memoPut(parseDecimalIndex(line()), top());
        break;
      case 0x71: // BINPUT
        memoPut(u8(), top());
        break;
      case 0x72: // LONG_BINPUT
        memoPut(u32(), top());
        break;
      case 0x94: // MEMOIZE
        memoPut(memo.size, top());
        break;
      case 0x67: // GET
        memoGet(parseDecimalIndex(line()));
        break;
      case 0x68: // BINGET
        memoGet(u8());
        break;
      case 0x6a: // LONG_BINGET
        memoGet(u32());
        break;
      case 0x63: {
        // GLOBAL
        const module = line();
        const name = line();
        push(importGlobal(module, name));
        break;
      }
      case 0x93: {
        // STACK_GLOBAL
        const name = pop();
        const module = pop();
        if (module.kind !== 'str' || name.kind !== 'str') malformed('STACK_GLOBAL operands are not strings');
        push(importGlobal((module as { value: string }).value, (name as { value: string }).value));
        break;
      }
      case 0x52: {
        // REDUCE
        const args = pop();
        const callable = pop();
        push(apply(callable, args, 'REDUCE'));
        break;
      }
      case 0x81: {
        // NEWOBJ
        const args = pop();
        const cls = pop();
        push(apply(cls, args, 'NEWOBJ'));
        break;
      }
      case 0x62: {
        // BUILD: torch's weights-only loader sets state on OrderedDict only as instance attributes.
        const state = pop();
        const target = top();
        if (target.kind !== 'dict' || !target.ordered) malformed(`BUILD on a ${describeValue(target)}`);
        if (state.kind !== 'dict') malformed(`BUILD state is a ${describeValue(state)}, not a dict`);
        for (const [k, v] of (state as PyDict).entries.values()) {
          if (k.kind !== 'str') malformed('BUILD state has a non-string attribute name');
          (target as PyDict).attributes.set((k as { value: string }).value, v);
        }
        break;
      }
      case 0x51: // BINPERSID
        push(persistentLoad(pop()));
        break;
      default: {
        const name = FORBIDDEN_OPCODES[code];
        if (name)
          fail('convert-forbidden-opcode', `opcode ${name} is never accepted in a data-only checkpoint`);
        malformed(`unknown opcode 0x${code.toString(16).padStart(2, '0')}`);
      }
    }
  }

  function importGlobal(module: string, name: string): PyValue {
    const g = lookupGlobal(module, name);
    if (!g) {
      return fail(
        'convert-forbidden-global',
        `import of ${module}.${name} is outside the data-only allowlist (state dicts of tensors)`,
      );
    }
    return { kind: 'global', global: g };
  }
}
