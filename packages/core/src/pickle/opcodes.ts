/**
 * The pickle opcode table (protocols 0-5) as data: byte, pickletools name, protocol that
 * introduced it. The WASM scanner carries the same byte/protocol pairs; names are only needed
 * on the TypeScript side (traces, messages).
 */
export interface OpcodeInfo {
  readonly code: number;
  readonly name: string;
  readonly proto: number;
}

export const OPCODES: readonly OpcodeInfo[] = [
  { code: 0x28, name: 'MARK', proto: 0 },
  { code: 0x29, name: 'EMPTY_TUPLE', proto: 1 },
  { code: 0x2e, name: 'STOP', proto: 0 },
  { code: 0x30, name: 'POP', proto: 0 },
  { code: 0x31, name: 'POP_MARK', proto: 1 },
  { code: 0x32, name: 'DUP', proto: 0 },
  { code: 0x42, name: 'BINBYTES', proto: 3 },
  { code: 0x43, name: 'SHORT_BINBYTES', proto: 3 },
  { code: 0x46, name: 'FLOAT', proto: 0 },
  { code: 0x47, name: 'BINFLOAT', proto: 1 },
  { code: 0x49, name: 'INT', proto: 0 },
  { code: 0x4a, name: 'BININT', proto: 1 },
  { code: 0x4b, name: 'BININT1', proto: 1 },
  { code: 0x4c, name: 'LONG', proto: 0 },
  { code: 0x4d, name: 'BININT2', proto: 1 },
  { code: 0x4e, name: 'NONE', proto: 0 },
  { code: 0x50, name: 'PERSID', proto: 0 },
  { code: 0x51, name: 'BINPERSID', proto: 1 },
  { code: 0x52, name: 'REDUCE', proto: 0 },
  { code: 0x53, name: 'STRING', proto: 0 },
  { code: 0x54, name: 'BINSTRING', proto: 1 },
  { code: 0x55, name: 'SHORT_BINSTRING', proto: 1 },
  { code: 0x56, name: 'UNICODE', proto: 0 },
  { code: 0x58, name: 'BINUNICODE', proto: 1 },
  { code: 0x5d, name: 'EMPTY_LIST', proto: 1 },
  { code: 0x61, name: 'APPEND', proto: 0 },
  { code: 0x62, name: 'BUILD', proto: 0 },
  { code: 0x63, name: 'GLOBAL', proto: 0 },
  { code: 0x64, name: 'DICT', proto: 0 },
  { code: 0x65, name: 'APPENDS', proto: 1 },
  { code: 0x67, name: 'GET', proto: 0 },
  { code: 0x68, name: 'BINGET', proto: 1 },
  { code: 0x69, name: 'INST', proto: 0 },
  { code: 0x6a, name: 'LONG_BINGET', proto: 1 },
  { code: 0x6c, name: 'LIST', proto: 0 },
  { code: 0x6f, name: 'OBJ', proto: 1 },
  { code: 0x70, name: 'PUT', proto: 0 },
  { code: 0x71, name: 'BINPUT', proto: 1 },
  { code: 0x72, name: 'LONG_BINPUT', proto: 1 },
  { code: 0x73, name: 'SETITEM', proto: 0 },
  { code: 0x74, name: 'TUPLE', proto: 0 },
  { code: 0x75, name: 'SETITEMS', proto: 1 },
  { code: 0x7d, name: 'EMPTY_DICT', proto: 1 },
  { code: 0x80, name: 'PROTO', proto: 2 },
  { code: 0x81, name: 'NEWOBJ', proto: 2 },
  { code: 0x82, name: 'EXT1', proto: 2 },
  { code: 0x83, name: 'EXT2', proto: 2 },
  { code: 0x84, name: 'EXT4', proto: 2 },
  { code: 0x85, name: 'TUPLE1', proto: 2 },
  { code: 0x86, name: 'TUPLE2', proto: 2 },
  { code: 0x87, name: 'TUPLE3', proto: 2 },
  { code: 0x88, name: 'NEWTRUE', proto: 2 },
  { code: 0x89, name: 'NEWFALSE', proto: 2 },
  { code: 0x8a, name: 'LONG1', proto: 2 },
  { code: 0x8b, name: 'LONG4', proto: 2 },
  { code: 0x8c, name: 'SHORT_BINUNICODE', proto: 4 },
  { code: 0x8d, name: 'BINUNICODE8', proto: 4 },
  { code: 0x8e, name: 'BINBYTES8', proto: 4 },
  { code: 0x8f, name: 'EMPTY_SET', proto: 4 },
  { code: 0x90, name: 'ADDITEMS', proto: 4 },
  { code: 0x91, name: 'FROZENSET', proto: 4 },
  { code: 0x92, name: 'NEWOBJ_EX', proto: 4 },
  { code: 0x93, name: 'STACK_GLOBAL', proto: 4 },
  { code: 0x94, name: 'MEMOIZE', proto: 4 },
  { code: 0x95, name: 'FRAME', proto: 4 },
  { code: 0x96, name: 'BYTEARRAY8', proto: 5 },
  { code: 0x97, name: 'NEXT_BUFFER', proto: 5 },
  { code: 0x98, name: 'READONLY_BUFFER', proto: 5 },
];

const byCode: Array<OpcodeInfo | undefined> = [];
for (const op of OPCODES) byCode[op.code] = op;

/** The opcode for a byte, or undefined when the byte is not a pickle opcode. */
export function opcodeInfo(code: number): OpcodeInfo | undefined {
  return byCode[code];
}
