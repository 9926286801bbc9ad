/**
 * Builds pickle bytes opcode by opcode, for tests that need shapes torch.save never writes
 * (hostile or malformed checkpoints). Only what the tests use is here.
 */
const enc = new TextEncoder();

export type Piece = number[] | Uint8Array;

export function bytes(...pieces: Piece[]): Uint8Array {
  const out: number[] = [];
  for (const p of pieces) out.push(...p);
  return Uint8Array.from(out);
}

const u32 = (n: number) => [n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, (n >>> 24) & 0xff];

export const op = {
  proto: (v = 2): Piece => [0x80, v],
  stop: (): Piece => [0x2e],
  mark: (): Piece => [0x28],
  none: (): Piece => [0x4e],
  true: (): Piece => [0x88],
  false: (): Piece => [0x89],
  int: (v: number): Piece => {
    if (v >= 0 && v < 256) return [0x4b, v];
    if (v >= 0 && v < 65536) return [0x4d, v & 0xff, v >> 8];
    return [0x4a, ...u32(v)];
  },
  long1: (v: bigint): Piece => {
    const out: number[] = [];
    let x = v;
    for (;;) {
      const b = Number(BigInt.asUintN(8, x));
      out.push(b);
      x >>= 8n;
      if ((x === 0n && (b & 0x80) === 0) || (x === -1n && (b & 0x80) !== 0)) break;
    }
    return [0x8a, out.length, ...out];
  },
  binfloat: (v: number): Piece => {
    const b = new Uint8Array(8);
    new DataView(b.buffer).setFloat64(0, v, false);
    return [0x47, ...b];
  },
  str: (s: string): Piece => {
    const b = enc.encode(s);
    return [0x58, ...u32(b.length), ...b];
  },
  text: (code: string, line: string): Piece => [code.charCodeAt(0), ...enc.encode(`${line}\n`)],
  global: (module: string, name: string): Piece => [0x63, ...enc.encode(`${module}\n${name}\n`)],
  stackGlobal: (): Piece => [0x93],
  emptyTuple: (): Piece => [0x29],
  tuple: (): Piece => [0x74],
  tuple1: (): Piece => [0x85],
  tuple2: (): Piece => [0x86],
  tuple3: (): Piece => [0x87],
  emptyList: (): Piece => [0x5d],
  append: (): Piece => [0x61],
  appends: (): Piece => [0x65],
  emptyDict: (): Piece => [0x7d],
  setitem: (): Piece => [0x73],
  setitems: (): Piece => [0x75],
  build: (): Piece => [0x62],
  reduce: (): Piece => [0x52],
  newobj: (): Piece => [0x81],
  binpersid: (): Piece => [0x51],
  binput: (i: number): Piece => [0x71, i],
  binget: (i: number): Piece => [0x68, i],
  memoize: (): Piece => [0x94],
  pop: (): Piece => [0x30],
  dup: (): Piece => [0x32],
  raw: (...b: number[]): Piece => b,
};

/** `OrderedDict()` as torch.save writes it (for backward hooks). */
export function emptyOrderedDict(): Piece {
  return bytes(op.global('collections', 'OrderedDict'), op.emptyTuple(), op.reduce());
}

export interface TensorSpec {
  key: string;
  storageClass?: string;
  numel: number;
  offset?: number;
  size: number[];
  stride: number[];
  requiresGrad?: boolean;
  hooks?: Piece;
}

function intTuple(values: number[]): Piece {
  return bytes(op.mark(), ...values.map((v) => op.int(v)), op.tuple());
}

/** `torch._utils._rebuild_tensor_v2(('storage', torch.<Class>, key, 'cpu', numel), offset, size, stride, rg, hooks)`. */
export function tensorV2(t: TensorSpec): Piece {
  return bytes(
    op.global('torch._utils', '_rebuild_tensor_v2'),
    op.mark(),
    op.mark(),
    op.str('storage'),
    op.global('torch', t.storageClass ?? 'FloatStorage'),
    op.str(t.key),
    op.str('cpu'),
    op.int(t.numel),
    op.tuple(),
    op.binpersid(),
    op.int(t.offset ?? 0),
    intTuple(t.size),
    intTuple(t.stride),
    t.requiresGrad ? op.true() : op.false(),
    t.hooks ?? emptyOrderedDict(),
    op.tuple(),
    op.reduce(),
  );
}

/** A protocol-2 pickle of `{name: tensor, ...}` (a plain dict, as `torch.save(dict)` writes). */
export function stateDictPickle(entries: Array<[string, Piece]>): Uint8Array {
  return bytes(
    op.proto(2),
    op.emptyDict(),
    op.mark(),
    ...entries.flatMap(([k, v]) => [op.str(k), v]),
    op.setitems(),
    op.stop(),
  );
}
