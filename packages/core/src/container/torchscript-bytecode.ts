/**
 * The operator table of a mobile (lite interpreter) `bytecode.pkl`.
 *
 * `torch.jit._save_for_lite_interpreter` writes, beside `code/`, a pickle of plain tuples: per
 * method `('operators', (('aten::linear', '', 3), ...))` next to the instructions that call them by
 * index. The lite interpreter looks each name up in the operator registry and runs it, so these
 * names are judged exactly like calls in `code/`. The pickle itself is scanned for imports and calls
 * by the regular scanner; this only rebuilds its literal values (strings, numbers, tuples, lists) to
 * find the tables, and treats anything else (GLOBAL, REDUCE, persistent ids) as an opaque value.
 */

export interface BytecodeOperator {
  name: string;
  overload: string;
}

type Lit = string | number | null | boolean | Lit[] | { opaque: true };
const OPAQUE: Lit = { opaque: true };
const MARK = Symbol('mark');

/** Most values the rebuild keeps alive: beyond it the table is not read (the scanner still scans). */
const MAX_VALUES = 2_000_000;

/** Why the operator table could not be read; the caller reports it as a problem. */
export class BytecodeError extends Error {
  constructor(
    message: string,
    readonly offset: number,
  ) {
    super(message);
    this.name = 'BytecodeError';
  }
}

/** Every `(name, overload, ...)` listed under an `'operators'` key of the pickle. */
export function bytecodeOperators(bytes: Uint8Array): BytecodeOperator[] {
  const root = rebuild(bytes);
  const out: BytecodeOperator[] = [];
  const seen = new Set<string>();
  const walk = (v: Lit, depth: number) => {
    if (!Array.isArray(v) || depth > 64) return;
    if (v.length === 2 && v[0] === 'operators' && Array.isArray(v[1])) {
      for (const op of v[1]) {
        if (Array.isArray(op) && typeof op[0] === 'string') {
          const overload = typeof op[1] === 'string' ? op[1] : '';
          const key = `${op[0]}.${overload}`;
          if (!seen.has(key)) {
            seen.add(key);
            out.push({ name: op[0], overload });
          }
        }
      }
      return;
    }
    for (const x of v) walk(x, depth + 1);
  };
  walk(root, 0);
  return out;
}

function rebuild(b: Uint8Array): Lit {
  const stack: Array<Lit | typeof MARK> = [];
  const memo = new Map<number, Lit>();
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const text = new TextDecoder();
  let i = 0;
  let values = 0;
  const need = (n: number) => {
    if (i + n > b.length) throw new BytecodeError('truncated pickle', i);
  };
  const u8 = () => {
    need(1);
    return b[i++] as number;
  };
  const u32 = () => {
    need(4);
    const v = dv.getUint32(i, true);
    i += 4;
    return v;
  };
  const u64 = () => {
    need(8);
    const v = Number(dv.getBigUint64(i, true));
    i += 8;
    return v;
  };
  const str = (n: number) => {
    need(n);
    const s = text.decode(b.subarray(i, i + n));
    i += n;
    return s;
  };
  const line = () => {
    const end = b.indexOf(0x0a, i);
    if (end < 0) throw new BytecodeError('unterminated text argument', i);
    const s = text.decode(b.subarray(i, end));
    i = end + 1;
    return s;
  };
  const pop = (): Lit => {
    const v = stack.pop();
    if (v === undefined || v === MARK) throw new BytecodeError('stack underflow', i);
    return v;
  };
  const popMark = (): Lit[] => {
    const items: Lit[] = [];
    for (;;) {
      const v = stack.pop();
      if (v === undefined) throw new BytecodeError('missing MARK', i);
      if (v === MARK) return items.reverse();
      items.push(v);
    }
  };
  const push = (v: Lit | typeof MARK) => {
    if (++values > MAX_VALUES) throw new BytecodeError('too many values', i);
    stack.push(v);
  };
  const top = (): Lit => {
    const v = stack[stack.length - 1];
    if (v === undefined || v === MARK) throw new BytecodeError('stack underflow', i);
    return v;
  };
  while (i < b.length) {
    const at = i;
    const op = u8();
    switch (op) {
      case 0x80: // PROTO
        u8();
        break;
      case 0x95: // FRAME
        u64();
        break;
      case 0x2e: // STOP
        return pop();
      case 0x28: // MARK
        push(MARK);
        break;
      case 0x29: // EMPTY_TUPLE
      case 0x5d: // EMPTY_LIST
        push([]);
        break;
      case 0x7d: // EMPTY_DICT
      case 0x8f: // EMPTY_SET
        push(OPAQUE);
        break;
      case 0x74: // TUPLE
      case 0x6c: // LIST
        push(popMark());
        break;
      case 0x85: // TUPLE1
        push([pop()]);
        break;
      case 0x86: {
        // TUPLE2
        const y = pop();
        push([pop(), y]);
        break;
      }
      case 0x87: {
        // TUPLE3
        const z = pop();
        const y = pop();
        push([pop(), y, z]);
        break;
      }
      case 0x61: {
        // APPEND
        const v = pop();
        const l = top();
        if (Array.isArray(l)) l.push(v);
        break;
      }
      case 0x65: {
        // APPENDS
        const items = popMark();
        const l = top();
        if (Array.isArray(l)) l.push(...items);
        break;
      }
      case 0x73: // SETITEM
        pop();
        pop();
        break;
      case 0x75: // SETITEMS
      case 0x90: // ADDITEMS
        popMark();
        break;
      case 0x64: // DICT
      case 0x91: // FROZENSET
        popMark();
        push(OPAQUE);
        break;
      case 0x4a: // BININT
        need(4);
        push(dv.getInt32(i, true));
        i += 4;
        break;
      case 0x4b: // BININT1
        push(u8());
        break;
      case 0x4d: // BININT2
        need(2);
        push(dv.getUint16(i, true));
        i += 2;
        break;
      case 0x8a: // LONG1
        i += u8();
        need(0);
        push(OPAQUE);
        break;
      case 0x8b: // LONG4
        i += u32();
        need(0);
        push(OPAQUE);
        break;
      case 0x47: // BINFLOAT
        need(8);
        push(dv.getFloat64(i, false));
        i += 8;
        break;
      case 0x49: // INT
      case 0x4c: // LONG
      case 0x46: // FLOAT
        line();
        push(OPAQUE);
        break;
      case 0x4e: // NONE
        push(null);
        break;
      case 0x88: // NEWTRUE
        push(true);
        break;
      case 0x89: // NEWFALSE
        push(false);
        break;
      case 0x8c: // SHORT_BINUNICODE
        push(str(u8()));
        break;
      case 0x58: // BINUNICODE
        push(str(u32()));
        break;
      case 0x8d: // BINUNICODE8
        push(str(u64()));
        break;
      case 0x55: // SHORT_BINSTRING
      case 0x43: // SHORT_BINBYTES
        i += u8();
        need(0);
        push(OPAQUE);
        break;
      case 0x54: // BINSTRING
      case 0x42: // BINBYTES
        i += u32();
        need(0);
        push(OPAQUE);
        break;
      case 0x8e: // BINBYTES8
        i += u64();
        need(0);
        push(OPAQUE);
        break;
      case 0x53: // STRING
      case 0x56: // UNICODE
        line();
        push(OPAQUE);
        break;
      case 0x71: // BINPUT
        memo.set(u8(), top());
        break;
      case 0x72: // LONG_BINPUT
        memo.set(u32(), top());
        break;
      case 0x70: // PUT
        memo.set(Number(line()), top());
        break;
      case 0x94: // MEMOIZE
        memo.set(memo.size, top());
        break;
      case 0x68: // BINGET
        push(memo.get(u8()) ?? OPAQUE);
        break;
      case 0x6a: // LONG_BINGET
        push(memo.get(u32()) ?? OPAQUE);
        break;
      case 0x67: // GET
        push(memo.get(Number(line())) ?? OPAQUE);
        break;
      case 0x63: // GLOBAL
        line();
        line();
        push(OPAQUE);
        break;
      case 0x93: // STACK_GLOBAL
        pop();
        pop();
        push(OPAQUE);
        break;
      case 0x52: // REDUCE
      case 0x81: // NEWOBJ
        pop();
        pop();
        push(OPAQUE);
        break;
      case 0x92: // NEWOBJ_EX
        pop();
        pop();
        pop();
        push(OPAQUE);
        break;
      case 0x51: // BINPERSID
        pop();
        push(OPAQUE);
        break;
      case 0x50: // PERSID
        line();
        push(OPAQUE);
        break;
      case 0x62: // BUILD
        pop();
        break;
      case 0x30: // POP
        stack.pop();
        break;
      case 0x31: // POP_MARK
        popMark();
        break;
      case 0x32: // DUP
        push(top());
        break;
      default:
        throw new BytecodeError(`opcode 0x${op.toString(16)} is not expected in bytecode.pkl`, at);
    }
  }
  throw new BytecodeError('no STOP opcode', i);
}
