import { fixImport } from './compat-names.js';
import type {
  AnomalyCode,
  CallOpcode,
  EvidenceValue,
  ImportOpcode,
  OpcodeTraceEntry,
  PickleAnomaly,
  PickleCall,
  PickleExtension,
  PickleImport,
  PicklePersistentId,
} from './events.js';
import {
  decodeLatin1,
  decodeLongLE,
  decodeRawUnicodeEscape,
  decodeUtf8,
  parseDecimal,
  parseFloatText,
  toHex,
  unescapePyString,
} from './literals.js';
import { opcodeInfo } from './opcodes.js';

// Event and value tags written by packages/core/assembly/index.ts (keep both in step).
const EV_IMPORT = 1;
const EV_CALLED = 2;
const EV_CALL = 3;
const EV_PERSID = 4;
const EV_EXT = 5;
const EV_ANOMALY = 6;
const EV_TRACE = 7;
const EV_PICKLE = 8;
const EV_PROTO = 9;
const EV_PAUSE = 10;

const V_NONE = 0;
const V_TRUE = 1;
const V_FALSE = 2;
const V_INT64 = 3;
const V_FLOAT = 4;
const V_STR = 5;
const V_SEQ = 6;
const V_GLOBAL = 7;
const V_CALL = 8;
const V_EXT = 9;
const V_PERSID = 10;

const E_UTF8 = 0;
const E_RAWUNICODE = 1;
const E_PYSTRING = 2;
const E_LATIN1 = 3;
const E_BYTES = 4;
const E_BYTEARRAY = 5;
const E_LONG_LE = 6;
const E_INT_TEXT = 7;
const E_LONG_TEXT = 8;
const E_ASCII_LINE = 9;
const E_FLOAT_TEXT = 10;
const E_GLOBAL_LINE = 11;

const T_NONE = 0;
const T_INT = 1;
const T_VALUE = 2;
const T_FLOAT = 3;
const T_PAIR = 4;

const CONTAINER_KINDS = ['tuple', 'list', 'set', 'frozenset', 'dict'] as const;
const OPAQUE_REASONS = [
  'nested too deep',
  'mark',
  'memo miss',
  'stack underflow',
  'out-of-band buffer',
  'limit reached',
  'untracked',
];
const IMPORT_OPCODES: ImportOpcode[] = ['GLOBAL', 'STACK_GLOBAL', 'INST'];
const CALL_OPCODES: CallOpcode[] = ['REDUCE', 'NEWOBJ', 'NEWOBJ_EX', 'OBJ', 'INST', 'BUILD'];

/** Anomaly codes by the scanner's numbering, with how each is explained. */
const ANOMALIES: Array<[AnomalyCode, (d1: number, d2: number) => string]> = [
  ['unknown-opcode', (d) => `byte 0x${d.toString(16).padStart(2, '0')} is not a pickle opcode`],
  [
    'truncated',
    (d) =>
      d > 0
        ? `the stream ends ${d} bytes before the end of a payload`
        : 'the stream ends inside an opcode or before STOP',
  ],
  ['stack-underflow', () => 'an opcode needs more stack items than there are (above the current mark)'],
  ['mark-missing', () => 'an opcode needs a MARK but none is set'],
  ['memo-miss', (d) => `memo key ${d} was never stored (the unpickler raises here)`],
  ['bad-memo-key', () => 'a PUT/GET key is not a non-negative decimal integer below 2**32'],
  [
    'non-string-global-operand',
    () => 'STACK_GLOBAL operands are not both str: the import cannot be resolved statically',
  ],
  ['bad-argument', () => 'an opcode argument is malformed (the unpickler rejects it)'],
  ['misplaced-proto', (d) => `PROTO ${d} is not the first opcode of its pickle`],
  ['repeated-proto', (d) => `PROTO ${d} repeats an earlier PROTO in the same pickle`],
  ['unknown-proto', (d) => `PROTO ${d} is above the highest protocol (5); CPython refuses it`],
  [
    'opcode-above-protocol',
    (d1, d2) =>
      `opcode ${opcodeInfo(d1)?.name ?? `0x${d1.toString(16)}`} belongs to a protocol above the declared ${d2}`,
  ],
  [
    'frame-crossing',
    () =>
      'an opcode reads past the end of its FRAME: the C unpickler reading a file drops the rest of the ' +
      'frame and pickletools reads on linearly, so they see different opcodes',
  ],
  ['oversized-frame', (d) => `FRAME of ${d} bytes: picklers never write frames this large`],
  ['stack-not-empty-at-stop', (d1, d2) => `STOP leaves ${d1} stack item(s) and ${d2} mark(s) behind`],
  [
    'trailing-bytes',
    (d) =>
      d > 0 ? `${d} bytes after the last STOP are not a pickle` : 'bytes after a STOP are not a pickle',
  ],
  ['limit-stack', (d) => `stack depth limit (${d}) reached`],
  ['limit-marks', (d) => `mark stack limit (${d}) reached`],
  ['limit-memo', (d) => `memo limit (${d} entries) reached`],
  ['limit-opcodes', (d) => `opcode limit (${d}) reached`],
  ['limit-strings', (d) => `an opcode argument does not fit the ${d}-byte scanner window`],
  ['limit-memo', (d) => `value limit (${d} live objects in stack and memo) reached`],
  [
    'frame-crossing',
    (d) =>
      `FRAME of ${d} bytes inside an unfinished frame (the C unpickler ignores it, pickle.py rejects it)`,
  ],
  [
    'frame-crossing',
    (d) => `STOP leaves ${d} bytes of its frame unread: a following pickle.load starts after them`,
  ],
];

/** A raw literal as the scanner kept it. */
interface RawLiteral {
  encoding: number;
  truncated: boolean;
  offset: number;
  length: number;
  bytes: Uint8Array;
}

/** Pause information the host needs (scanner paused after a watched BUILD). */
export interface DecodedPause {
  callIndex: number;
  offset: number;
}

/** Everything decoded so far, appended to by {@link decodeEvents}. */
export class ScanAccumulator {
  readonly imports: PickleImport[] = [];
  readonly calls: PickleCall[] = [];
  readonly persistentIds: PicklePersistentId[] = [];
  readonly extensions: PickleExtension[] = [];
  readonly anomalies: PickleAnomaly[] = [];
  readonly protocols: number[] = [];
  trace: OpcodeTraceEntry[] | undefined;
  pause: DecodedPause | undefined;
  /** Index of the import events in the last decoded batch (for watched-import checks). */
  readonly newImports: number[] = [];
  currentPickle = 0;

  constructor(trace: boolean) {
    if (trace) this.trace = [];
  }
}

class Reader {
  pos = 0;
  constructor(
    readonly bytes: Uint8Array,
    readonly view: DataView,
  ) {}
  u8(): number {
    return this.view.getUint8(this.pos++);
  }
  u16(): number {
    const v = this.view.getUint16(this.pos, true);
    this.pos += 2;
    return v;
  }
  u32(): number {
    const v = this.view.getUint32(this.pos, true);
    this.pos += 4;
    return v;
  }
  f64(): number {
    const v = this.view.getFloat64(this.pos, true);
    this.pos += 8;
    return v;
  }
  i64(): bigint {
    const v = this.view.getBigInt64(this.pos, true);
    this.pos += 8;
    return v;
  }
  take(n: number): Uint8Array {
    const b = this.bytes.slice(this.pos, this.pos + n);
    this.pos += n;
    return b;
  }
}

function readLiteral(r: Reader): RawLiteral {
  const encoding = r.u8();
  const truncated = r.u8() !== 0;
  const stored = r.u16();
  const offset = r.f64();
  const length = r.f64();
  return { encoding, truncated, offset, length, bytes: r.take(stored) };
}

function literalText(lit: RawLiteral): string {
  switch (lit.encoding) {
    case E_RAWUNICODE:
      return decodeRawUnicodeEscape(lit.bytes);
    case E_PYSTRING:
      return decodeLatin1(unescapePyString(lit.bytes));
    case E_LATIN1:
    case E_ASCII_LINE:
      return decodeLatin1(lit.bytes);
    default:
      return decodeUtf8(lit.bytes);
  }
}

function isTextEncoding(e: number): boolean {
  return (
    e === E_UTF8 ||
    e === E_RAWUNICODE ||
    e === E_PYSTRING ||
    e === E_LATIN1 ||
    e === E_ASCII_LINE ||
    e === E_GLOBAL_LINE
  );
}

function literalValue(lit: RawLiteral): EvidenceValue {
  const { offset, length, truncated } = lit;
  if (isTextEncoding(lit.encoding)) {
    return { kind: 'str', value: literalText(lit), offset, length, truncated };
  }
  if (lit.encoding === E_BYTES || lit.encoding === E_BYTEARRAY) {
    return { kind: 'bytes', preview: toHex(lit.bytes, 64), offset, length, truncated: length > 64 };
  }
  if (lit.encoding === E_LONG_LE) {
    return { kind: 'int', value: truncated ? `<${length}-byte int>` : decodeLongLE(lit.bytes) };
  }
  const text = decodeLatin1(lit.bytes);
  if (lit.encoding === E_INT_TEXT) {
    if (text === '00' || text === '01') return { kind: 'bool', value: text === '01' };
    return { kind: 'int', value: (truncated ? null : parseDecimal(text, false)) ?? text };
  }
  if (lit.encoding === E_LONG_TEXT) {
    return { kind: 'int', value: (truncated ? null : parseDecimal(text, true)) ?? text };
  }
  if (lit.encoding !== E_FLOAT_TEXT) return { kind: 'opaque', what: `literal encoding ${lit.encoding}` };
  const f = parseFloatText(text);
  return f === null
    ? { kind: 'opaque', what: `bad float ${JSON.stringify(text)}` }
    : { kind: 'float', value: f };
}

function readValue(r: Reader): EvidenceValue {
  const tag = r.u8();
  switch (tag) {
    case V_NONE:
      return { kind: 'none' };
    case V_TRUE:
      return { kind: 'bool', value: true };
    case V_FALSE:
      return { kind: 'bool', value: false };
    case V_INT64:
      return { kind: 'int', value: r.i64().toString() };
    case V_FLOAT:
      return { kind: 'float', value: r.f64() };
    case V_STR:
      return literalValue(readLiteral(r));
    case V_SEQ: {
      const kind = CONTAINER_KINDS[r.u8()] ?? 'tuple';
      const truncated = r.u8() !== 0;
      const count = r.u16();
      if (kind === 'dict') {
        const entries: Array<[EvidenceValue, EvidenceValue]> = [];
        for (let i = 0; i < count; i++) entries.push([readValue(r), readValue(r)]);
        return { kind, entries, truncated };
      }
      const items: EvidenceValue[] = [];
      for (let i = 0; i < count; i++) items.push(readValue(r));
      return { kind, items, truncated };
    }
    case V_GLOBAL:
      return { kind: 'global', importIndex: r.u32() };
    case V_CALL:
      return { kind: 'call', callIndex: r.u32() };
    case V_EXT:
      return { kind: 'ext', code: r.u32() };
    case V_PERSID:
      return { kind: 'persid', persidIndex: r.u32() };
    default:
      return { kind: 'opaque', what: OPAQUE_REASONS[r.u8()] ?? 'untracked' };
  }
}

/** Short description of a non-string STACK_GLOBAL operand, e.g. `<call #3>`. */
function describeOperand(v: EvidenceValue): string {
  switch (v.kind) {
    case 'global':
      return `<global #${v.importIndex}>`;
    case 'call':
      return `<call #${v.callIndex}>`;
    case 'int':
      return `<int ${v.value}>`;
    case 'str':
      return v.truncated
        ? `<str of ${v.length} bytes starting ${JSON.stringify(v.value.slice(0, 32))}>`
        : v.value;
    case 'opaque':
      return `<${v.what}>`;
    default:
      return `<${v.kind}>`;
  }
}

/** The genops-shaped argument of a literal (ints as decimal text, long payloads by length). */
function traceArg(lit: RawLiteral): OpcodeTraceEntry['arg'] {
  if (lit.truncated) return { length: lit.length };
  const v = literalValue(lit);
  switch (v.kind) {
    case 'str':
      return v.value;
    case 'bytes':
      return { hex: toHex(lit.bytes) };
    case 'int':
      return v.value;
    case 'bool':
      return v.value;
    case 'float':
      return Number.isFinite(v.value) ? v.value : String(v.value);
    default:
      return null;
  }
}

function readTrace(r: Reader, acc: ScanAccumulator): void {
  const op = r.u8();
  const tag = r.u8();
  r.u8();
  const offset = r.f64();
  let arg: OpcodeTraceEntry['arg'] = null;
  if (tag === T_INT) {
    arg = r.i64().toString();
  } else if (tag === T_FLOAT) {
    const f = r.f64();
    arg = Number.isFinite(f) ? f : String(f);
  } else if (tag === T_VALUE) {
    r.u8(); // V_STR
    arg = traceArg(readLiteral(r));
  } else if (tag === T_PAIR) {
    r.u8();
    const a = readLiteral(r);
    r.u8();
    const b = readLiteral(r);
    arg =
      a.truncated || b.truncated
        ? { length: a.length + 1 + b.length }
        : `${literalText(a)} ${literalText(b)}`;
  } else if (tag !== T_NONE) {
    throw new Error(`scanner event buffer: unknown trace tag ${tag}`);
  }
  acc.trace?.push({ offset, name: opcodeInfo(op)?.name ?? `0x${op.toString(16)}`, arg });
}

function readImport(r: Reader, acc: ScanAccumulator): void {
  const kind = r.u8();
  let resolved = r.u8() !== 0;
  const protocol = r.u8();
  const index = r.u32();
  const pickleIndex = r.u32();
  const offset = r.f64();
  const modV = readValue(r);
  const nameV = readValue(r);
  const opcode = IMPORT_OPCODES[kind] ?? 'GLOBAL';
  if ((modV.kind === 'str' && modV.truncated) || (nameV.kind === 'str' && nameV.truncated)) resolved = false;
  if (modV.kind !== 'str' || nameV.kind !== 'str') resolved = false;
  const rawModule = describeOperand(modV);
  const rawName = describeOperand(nameV);
  const imp: PickleImport = {
    module: rawModule,
    name: rawName,
    opcode,
    offset,
    pickleIndex,
    protocol,
    resolved,
    called: false,
  };
  if (resolved) {
    const [m, n] = fixImport(rawModule, rawName, protocol);
    if (m !== rawModule || n !== rawName) {
      imp.module = m;
      imp.name = n;
      imp.writtenAs = `${rawModule} ${rawName}`;
    }
  }
  acc.imports[index] = imp;
  acc.newImports.push(index);
}

function readCall(r: Reader, acc: ScanAccumulator): void {
  const kind = r.u8();
  const hasKw = r.u8() !== 0;
  r.u8();
  const index = r.u32();
  const pickleIndex = r.u32();
  const argc = r.u32();
  const offset = r.f64();
  const target = readValue(r);
  const args: EvidenceValue[] = [];
  for (let i = 0; i < argc; i++) args.push(readValue(r));
  const call: PickleCall = { opcode: CALL_OPCODES[kind] ?? 'REDUCE', offset, pickleIndex, target, args };
  if (hasKw) call.kwargs = readValue(r);
  acc.calls[index] = call;
}

/**
 * Decodes one batch of the scanner's flat event buffer into `acc`. This is the only place that
 * knows the binary layout written by the WASM side.
 */
export function decodeEvents(bytes: Uint8Array, acc: ScanAccumulator): void {
  const r = new Reader(bytes, new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  acc.newImports.length = 0;
  while (r.pos < bytes.length) {
    const type = r.u8();
    switch (type) {
      case EV_IMPORT:
        readImport(r, acc);
        break;
      case EV_CALLED: {
        r.u8();
        r.u8();
        r.u8();
        const imp = acc.imports[r.u32()];
        if (imp) imp.called = true;
        break;
      }
      case EV_CALL:
        readCall(r, acc);
        break;
      case EV_PERSID: {
        const kind = r.u8();
        r.u8();
        r.u8();
        const index = r.u32();
        const pickleIndex = r.u32();
        const offset = r.f64();
        acc.persistentIds[index] = {
          opcode: kind === 0 ? 'PERSID' : 'BINPERSID',
          offset,
          pickleIndex,
          pid: readValue(r),
        };
        break;
      }
      case EV_EXT: {
        const n = r.u8();
        r.u8();
        r.u8();
        const code = r.u32();
        const pickleIndex = r.u32();
        const offset = r.f64();
        acc.extensions.push({
          opcode: n === 1 ? 'EXT1' : n === 2 ? 'EXT2' : 'EXT4',
          code,
          offset,
          pickleIndex,
        });
        break;
      }
      case EV_ANOMALY: {
        const code = r.u8();
        const fatal = r.u8() !== 0;
        r.u8();
        const pickleIndex = r.u32();
        const offset = r.f64();
        const d1 = r.f64();
        const d2 = r.f64();
        const entry = ANOMALIES[code];
        if (!entry) throw new Error(`scanner event buffer: unknown anomaly ${code}`);
        acc.anomalies.push({ code: entry[0], offset, pickleIndex, message: entry[1](d1, d2), fatal });
        break;
      }
      case EV_TRACE:
        readTrace(r, acc);
        break;
      case EV_PICKLE:
        r.u8();
        r.u8();
        r.u8();
        acc.currentPickle = r.u32();
        r.f64();
        break;
      case EV_PROTO: {
        const p = r.u8();
        if (!acc.protocols.includes(p)) acc.protocols.push(p);
        break;
      }
      case EV_PAUSE: {
        r.u8();
        r.u8();
        r.u8();
        const callIndex = r.u32();
        acc.pause = { callIndex, offset: r.f64() };
        break;
      }
      default:
        throw new Error(`scanner event buffer: unknown event type ${type} at ${r.pos - 1}`);
    }
  }
}
