/** A tiny pickle assembler for hand-built opcode streams in tests (never loaded by anything). */

const enc = new TextEncoder();

function u32(n: number): number[] {
  return [n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, (n >>> 24) & 0xff];
}

function u64(n: number): number[] {
  const lo = n % 2 ** 32;
  const hi = Math.floor(n / 2 ** 32);
  return [...u32(lo), ...u32(hi)];
}

export type Part = number | string | Uint8Array | number[];

/** Concatenates opcode bytes, raw strings (latin-1) and byte arrays. */
export function bytes(...parts: Part[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += typeof p === 'number' ? 1 : p.length;
  const out = new Uint8Array(n);
  let at = 0;
  for (const p of parts) {
    if (typeof p === 'number') out[at++] = p;
    else if (typeof p === 'string') for (let i = 0; i < p.length; i++) out[at++] = p.charCodeAt(i) & 0xff;
    else {
      out.set(p, at);
      at += p.length;
    }
  }
  return out;
}

export const op = {
  PROTO: (n: number) => [0x80, n],
  FRAME: (n: number) => [0x95, ...u64(n)],
  GLOBAL: (m: string, n: string) => [0x63, ...enc.encode(`${m}\n${n}\n`)],
  INST: (m: string, n: string) => [0x69, ...enc.encode(`${m}\n${n}\n`)],
  SBU: (s: string) => {
    const b = enc.encode(s);
    return [0x8c, b.length, ...b];
  },
  BINUNICODE: (s: string) => {
    const b = enc.encode(s);
    return [0x58, ...u32(b.length), ...b];
  },
  BINBYTES: (b: Uint8Array | number[]) => [0x42, ...u32(b.length), ...b],
  BININT: (n: number) => [0x4a, ...u32(n)],
  BININT1: (n: number) => [0x4b, n],
  BINPUT: (n: number) => [0x71, n],
  BINGET: (n: number) => [0x68, n],
  LONG_BINPUT: (n: number) => [0x72, ...u32(n)],
  LONG_BINGET: (n: number) => [0x6a, ...u32(n)],
  LONG1: (b: number[]) => [0x8a, b.length, ...b],
  EXT2: (n: number) => [0x83, n & 0xff, n >> 8],
  MARK: 0x28,
  STOP: 0x2e,
  POP: 0x30,
  POP_MARK: 0x31,
  DUP: 0x32,
  NONE: 0x4e,
  NEWTRUE: 0x88,
  TUPLE: 0x74,
  TUPLE1: 0x85,
  TUPLE2: 0x86,
  TUPLE3: 0x87,
  EMPTY_TUPLE: 0x29,
  EMPTY_LIST: 0x5d,
  EMPTY_DICT: 0x7d,
  LIST: 0x6c,
  DICT: 0x64,
  APPEND: 0x61,
  APPENDS: 0x65,
  SETITEM: 0x73,
  SETITEMS: 0x75,
  REDUCE: 0x52,
  BUILD: 0x62,
  NEWOBJ: 0x81,
  NEWOBJ_EX: 0x92,
  OBJ: 0x6f,
  STACK_GLOBAL: 0x93,
  MEMOIZE: 0x94,
  BINPERSID: 0x51,
  NEXT_BUFFER: 0x97,
  READONLY_BUFFER: 0x98,
} as const;

/** `module.name(arg)` at protocol 2, the classic malicious shape. */
export function reduceCall(module: string, name: string, arg: string): Uint8Array {
  return bytes(op.PROTO(2), op.GLOBAL(module, name), op.BINUNICODE(arg), op.TUPLE1, op.REDUCE, op.STOP);
}
