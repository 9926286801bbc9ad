import { describe, expect, it } from 'vitest';
import type { AnomalyCode, ScanResult } from './events.js';
import { scanPickle } from './scan.js';
import { bytes, op, reduceCall } from './test-support/assemble.js';

const codes = (r: ScanResult): AnomalyCode[] => r.anomalies.map((a) => a.code);

/** Arguments of the first call to `x.f` in a stream that ends with `REDUCE STOP`. */
async function argsOf(...body: Parameters<typeof bytes>) {
  const r = await scanPickle(bytes(op.PROTO(4), op.GLOBAL('x', 'f'), ...body, op.REDUCE, op.STOP));
  expect(r.anomalies).toEqual([]);
  return r.calls[0]?.args;
}

describe('literals as evidence', () => {
  it('ints: BININT (signed), BININT1, BININT2, LONG1 big and negative', async () => {
    const args = await argsOf(
      op.MARK,
      op.BININT(-5 >>> 0),
      op.BININT1(200),
      [0x4d, 0x34, 0x12],
      op.LONG1([0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x80]),
      op.LONG1([0xff]),
      op.TUPLE,
    );
    expect(args).toEqual([
      { kind: 'int', value: '-5' },
      { kind: 'int', value: '200' },
      { kind: 'int', value: '4660' },
      { kind: 'int', value: (-(2n ** 71n)).toString() },
      { kind: 'int', value: '-1' },
    ]);
  });

  it('ints at the edges of the in-ref range stay exact', async () => {
    const edges = [0x3fffffff, 0x40000000, -0x40000000, -0x40000001, -0x80000000, 0x7fffffff, 0, -1];
    const args = await argsOf(op.MARK, ...edges.map((v) => op.BININT(v >>> 0)), op.TUPLE);
    expect(args).toEqual(edges.map((v) => ({ kind: 'int', value: String(v) })));
  });

  it('protocol-0 text: INT booleans, LONG with L, FLOAT, STRING escapes, UNICODE escapes', async () => {
    const r = await scanPickle(
      bytes("cx\nf\n(I01\nI00\nI-42\nL123456789012345678901L\nF-1.25\nS'a\\'b\\x41\\n'\nVcaf\\u00e9\ntR."),
    );
    expect(r.anomalies).toEqual([]);
    expect(r.calls[0]?.args).toMatchObject([
      { kind: 'bool', value: true },
      { kind: 'bool', value: false },
      { kind: 'int', value: '-42' },
      { kind: 'int', value: '123456789012345678901' },
      { kind: 'float', value: -1.25 },
      { kind: 'str', value: "a'bA\n" },
      { kind: 'str', value: 'café' },
    ]);
  });

  it('long strings keep a 256-byte prefix with the full length and stream offset', async () => {
    const long = 'a'.repeat(1000);
    const data = bytes(op.PROTO(4), op.GLOBAL('x', 'f'), op.BINUNICODE(long), op.TUPLE1, op.REDUCE, op.STOP);
    const r = await scanPickle(data);
    const s = r.calls[0]?.args[0];
    expect(s).toMatchObject({ kind: 'str', length: 1000, truncated: true, offset: 2 + 5 + 5 });
    if (s?.kind === 'str') expect(s.value).toBe('a'.repeat(256));
    expect(r.stats.bytesSkipped).toBe(1000 - 256);
  });

  it('bytes are shown as a hex preview of at most 64 bytes', async () => {
    const payload = Array.from({ length: 100 }, (_, i) => i);
    const [b] = (await argsOf(op.BINBYTES(payload), op.TUPLE1)) ?? [];
    expect(b).toMatchObject({ kind: 'bytes', length: 100, truncated: true });
    if (b?.kind === 'bytes') expect(b.preview).toBe(Buffer.from(payload.slice(0, 64)).toString('hex'));
  });

  it('containers keep 8 items, dicts 7 pairs, nesting 3 levels', async () => {
    const many = Array.from({ length: 12 }, (_, i) => op.BININT1(i));
    const [t, d, deep] =
      (await argsOf(
        op.MARK,
        op.MARK,
        ...many,
        op.TUPLE,
        op.EMPTY_DICT,
        op.MARK,
        ...Array.from({ length: 9 }, (_, i) => [...op.SBU(`k${i}`), ...op.BININT1(i)]),
        op.SETITEMS,
        op.BININT1(1),
        op.TUPLE1,
        op.TUPLE1,
        op.TUPLE1,
        op.TUPLE1,
        op.TUPLE,
      )) ?? [];
    expect(t).toMatchObject({ kind: 'tuple', truncated: true });
    if (t?.kind === 'tuple') expect(t.items).toHaveLength(8);
    expect(d).toMatchObject({ kind: 'dict', truncated: true });
    if (d?.kind === 'dict') expect(d.entries).toHaveLength(7);
    // args tuple (level 1) > ((((1,),),),): two more levels kept, then opaque
    expect(deep).toEqual({
      kind: 'tuple',
      truncated: false,
      items: [{ kind: 'tuple', truncated: false, items: [{ kind: 'opaque', what: 'nested too deep' }] }],
    });
  });

  it('lists, sets and frozensets built by APPEND(S) / ADDITEMS / FROZENSET', async () => {
    const args = await argsOf(
      op.MARK,
      op.EMPTY_LIST,
      op.BININT1(1),
      op.APPEND,
      op.MARK,
      op.BININT1(2),
      op.APPENDS,
      [0x8f],
      op.MARK,
      op.BININT1(3),
      [0x90],
      op.MARK,
      op.BININT1(4),
      [0x91],
      op.TUPLE,
    );
    expect(args).toEqual([
      {
        kind: 'list',
        truncated: false,
        items: [
          { kind: 'int', value: '1' },
          { kind: 'int', value: '2' },
        ],
      },
      { kind: 'set', truncated: false, items: [{ kind: 'int', value: '3' }] },
      { kind: 'frozenset', truncated: false, items: [{ kind: 'int', value: '4' }] },
    ]);
  });
});

describe('stack, marks and memo follow _pickle.c', () => {
  it('POP on a mark pops the mark (C load_pop)', async () => {
    const r = await scanPickle(bytes(op.PROTO(2), op.NONE, op.MARK, op.POP, op.STOP));
    expect(r.anomalies).toEqual([]);
  });

  it('DUP then MEMOIZE stores the duplicate; GET by key after out-of-order PUTs', async () => {
    const r = await scanPickle(
      bytes(
        op.PROTO(4),
        op.SBU('os'),
        op.LONG_BINPUT(0xfffffff0),
        op.SBU('system'),
        op.BINPUT(7),
        op.POP,
        op.POP,
        op.LONG_BINGET(0xfffffff0),
        op.BINGET(7),
        op.STACK_GLOBAL,
        op.POP,
        op.NONE,
        op.STOP,
      ),
    );
    expect(r.anomalies).toEqual([]);
    expect(r.imports[0]).toMatchObject({ module: 'os', name: 'system', resolved: true, called: false });
  });

  it('items below a mark are not reachable: underflow above the mark is reported', async () => {
    const r = await scanPickle(bytes(op.PROTO(2), op.NONE, op.MARK, op.POP, op.MARK, op.TUPLE1, op.STOP));
    expect(codes(r)).toContain('stack-underflow');
  });

  it('missing marks, odd DICT, memo miss and leftovers at STOP are anomalies, not crashes', async () => {
    const r = await scanPickle(
      bytes(op.PROTO(2), op.TUPLE, op.MARK, op.NONE, op.DICT, op.BINGET(9), op.NONE, op.STOP),
    );
    expect(codes(r)).toEqual(['mark-missing', 'bad-argument', 'memo-miss', 'stack-not-empty-at-stop']);
    expect(r.anomalies.every((a) => !a.fatal)).toBe(true);
    expect(r.complete).toBe(true);
  });

  it('a memo miss used as a callable gives an unresolved import, not a lost call', async () => {
    const r = await scanPickle(
      bytes(op.PROTO(4), op.BINGET(3), op.SBU('system'), op.STACK_GLOBAL, op.NONE, op.REDUCE, op.STOP),
    );
    expect(r.imports[0]).toMatchObject({
      module: '<memo miss>',
      name: 'system',
      resolved: false,
      called: true,
    });
  });
});

describe('calls', () => {
  it('NEWOBJ and NEWOBJ_EX record class, args and kwargs', async () => {
    const r = await scanPickle(
      bytes(
        op.PROTO(4),
        op.GLOBAL('m', 'C'),
        op.BININT1(1),
        op.TUPLE1,
        op.NEWOBJ,
        op.POP,
        op.GLOBAL('m', 'D'),
        op.EMPTY_TUPLE,
        op.EMPTY_DICT,
        op.SBU('k'),
        op.SBU('v'),
        op.SETITEM,
        op.NEWOBJ_EX,
        op.STOP,
      ),
    );
    expect(r.calls[0]).toMatchObject({
      opcode: 'NEWOBJ',
      target: { kind: 'global', importIndex: 0 },
      args: [{ value: '1' }],
    });
    expect(r.calls[1]).toMatchObject({
      opcode: 'NEWOBJ_EX',
      args: [],
      kwargs: { kind: 'dict', entries: [[{ value: 'k' }, { value: 'v' }]] },
    });
    expect(r.imports.map((i) => i.called)).toEqual([true, true]);
  });

  it('OBJ and INST with huge argument lists keep only the first few as evidence', async () => {
    const one = bytes(op.SBU('x'.repeat(200)));
    const many = new Uint8Array(one.length * 50000);
    for (let i = 0; i < 50000; i++) many.set(one, i * one.length);
    const r = await scanPickle(
      bytes(
        op.PROTO(4),
        op.MARK,
        op.GLOBAL('m', 'C'),
        many,
        op.OBJ,
        op.MARK,
        many,
        op.INST('m', 'D'),
        op.STOP,
      ),
    );
    expect(r.calls.map((c) => [c.opcode, c.args.length])).toEqual([
      ['OBJ', 8],
      ['INST', 8],
    ]);
    expect(r.anomalies.map((a) => a.code)).toEqual(['stack-not-empty-at-stop']);
  });

  it('BUILD records the object and its state', async () => {
    const r = await scanPickle(
      bytes(op.PROTO(2), op.GLOBAL('m', 'C'), op.EMPTY_TUPLE, op.NEWOBJ, op.EMPTY_DICT, op.BUILD, op.STOP),
    );
    expect(r.calls[1]).toMatchObject({
      opcode: 'BUILD',
      target: { kind: 'call', callIndex: 0 },
      args: [{ kind: 'dict' }],
    });
  });

  it('NEXT_BUFFER and READONLY_BUFFER are tracked as opaque values', async () => {
    const r = await scanPickle(
      bytes(
        op.PROTO(5),
        op.GLOBAL('m', 'f'),
        op.NEXT_BUFFER,
        op.READONLY_BUFFER,
        op.TUPLE1,
        op.REDUCE,
        op.STOP,
      ),
    );
    expect(r.calls[0]?.args).toEqual([{ kind: 'opaque', what: 'out-of-band buffer' }]);
  });

  it('EXT2 codes', async () => {
    const r = await scanPickle(bytes(op.PROTO(2), op.EXT2(0x1234), op.STOP));
    expect(r.extensions).toEqual([{ opcode: 'EXT2', code: 0x1234, offset: 2, pickleIndex: 0 }]);
  });
});

describe('protocol and framing anomalies', () => {
  it('misplaced, repeated and unknown PROTO; opcodes above the declared protocol', async () => {
    expect(codes(await scanPickle(bytes(op.NONE, op.PROTO(2), op.STOP)))).toEqual(['misplaced-proto']);
    expect(codes(await scanPickle(bytes(op.PROTO(2), op.PROTO(3), op.NONE, op.STOP)))).toEqual([
      'repeated-proto',
    ]);
    expect(codes(await scanPickle(bytes(op.PROTO(9), op.NONE, op.STOP)))).toEqual(['unknown-proto']);
    expect(codes(await scanPickle(bytes(op.PROTO(2), op.SBU('a'), op.STOP)))).toEqual([
      'opcode-above-protocol',
    ]);
  });

  it('an oversized FRAME is flagged and a frame past the end of input is truncation', async () => {
    const r = await scanPickle(bytes(op.PROTO(4), op.FRAME(1 << 30), op.NONE, op.STOP));
    expect(codes(r)).toEqual(['oversized-frame', 'frame-crossing', 'truncated']);
    expect(r.complete).toBe(false);
  });

  it('a text line crossing a FRAME end is read after the frame by the C unpickler', async () => {
    // the frame ends inside the module line ("cos"): C drops "os" and reads the line after the frame
    const data = bytes(
      op.PROTO(4),
      op.FRAME(3),
      'cos',
      'builtins\neval\n',
      op.NONE,
      op.TUPLE1,
      op.REDUCE,
      op.STOP,
    );
    const r = await scanPickle(data, { frameReading: 'c-file' });
    expect(r.imports[0]).toMatchObject({ module: 'builtins', name: 'eval', called: true });
    expect(codes(r)).toContain('frame-crossing');
    const both = await scanPickle(data);
    expect(both.imports.map((i) => `${i.module}.${i.name}`)).toEqual(['builtins.eval', 'osbuiltins.eval']);
  });

  it('a FRAME inside an unfinished frame is flagged', async () => {
    const r = await scanPickle(bytes(op.PROTO(4), op.FRAME(11), op.FRAME(1), op.NONE, op.STOP));
    expect(codes(r)).toEqual(['frame-crossing']);
  });
});

describe('bytes after the last STOP', () => {
  it('text after a pickle is trailing bytes, not an unscannable stream', async () => {
    const data = bytes(op.PROTO(2), op.NONE, op.STOP, 'Note: written by hand\n');
    const r = await scanPickle(data);
    expect(r.anomalies.filter((a) => a.fatal)).toEqual([]);
    expect(r.anomalies.find((a) => a.code === 'trailing-bytes')).toMatchObject({ offset: 4, fatal: false });
    expect(r.complete).toBe(true);
    expect(r.stats.pickles).toBe(1);
  });

  it('a pickle after trailing text is still found', async () => {
    const data = bytes(op.PROTO(2), op.NONE, op.STOP, 'Note: x\n', reduceCall('os', 'system', 'y'));
    const r = await scanPickle(data);
    expect(r.imports).toMatchObject([
      { module: 'os', name: 'system', called: true, pickleIndex: 1, offset: 14 },
    ]);
  });

  it('an incomplete pickle that already imported something is truncation, not trailing bytes', async () => {
    const r = await scanPickle(bytes(op.PROTO(2), op.NONE, op.STOP, op.GLOBAL('os', 'system')));
    expect(r.anomalies).toMatchObject([{ code: 'truncated', fatal: true }]);
  });
});

describe('limits end the scan with an anomaly', () => {
  it('stack depth', async () => {
    const r = await scanPickle(bytes(op.PROTO(2), ...Array(20).fill(op.NONE), op.STOP), {
      limits: { maxStackDepth: 10 },
    });
    expect(r.anomalies).toMatchObject([{ code: 'limit-stack', fatal: true, offset: 12 }]);
  });

  it('marks', async () => {
    const r = await scanPickle(bytes(op.PROTO(2), ...Array(20).fill(op.MARK), op.STOP), {
      limits: { maxMarks: 5 },
    });
    expect(r.anomalies).toMatchObject([{ code: 'limit-marks', fatal: true }]);
  });

  it('memo entries', async () => {
    const puts = Array.from({ length: 10 }, (_, i) => op.BINPUT(i));
    const r = await scanPickle(bytes(op.PROTO(2), op.NONE, ...puts, op.STOP), {
      limits: { maxMemoEntries: 4 },
    });
    expect(r.anomalies).toMatchObject([{ code: 'limit-memo', fatal: true }]);
  });

  it('opcodes, and payload found before the limit is kept', async () => {
    const data = bytes(reduceCall('os', 'system', 'x'), ...Array(50).fill(op.NONE));
    const r = await scanPickle(data, { limits: { maxOpcodes: 20 } });
    expect(r.imports[0]).toMatchObject({ module: 'os', called: true });
    expect(r.anomalies.at(-1)).toMatchObject({ code: 'limit-opcodes', fatal: true });
  });

  it('a text line longer than the window', async () => {
    const r = await scanPickle(bytes('V', 'a'.repeat(5000), '\n.'), { limits: { windowBytes: 4096 } });
    expect(r.anomalies).toMatchObject([{ code: 'limit-strings', fatal: true }]);
  });

  it('live values (memo keeps everything alive)', async () => {
    const body = Array.from({ length: 3000 }, (_, i) => [...op.SBU(`s${i}`), ...op.LONG_BINPUT(i), op.POP]);
    const r = await scanPickle(bytes(op.PROTO(4), ...body.flat(), op.NONE, op.STOP), {
      limits: { maxValues: 1000 },
    });
    expect(r.anomalies).toMatchObject([{ code: 'limit-memo', fatal: true }]);
  });

  it('long retained strings near the value limit end with the limit, never past the pool', async () => {
    // 48 free records: a 1024-byte string takes 19, a 100-byte one 3; this leaves exactly 17
    // free before the next long string, which must still not write past the pool
    const sizes = [2000, 100, 100, 100, 100, ...Array(40).fill(2000)];
    const body = sizes.map((n, i) => [...op.BINUNICODE('y'.repeat(n)), ...op.BINPUT(i), op.POP]);
    const r = await scanPickle(bytes(op.PROTO(2), ...body.flat(), op.NONE, op.STOP), {
      limits: { maxValues: 64, maxStringBytes: 1024 },
    });
    expect(r.anomalies.map((a) => a.code)).toEqual(['limit-memo']);
  });

  it('a sparse memo key does not make collections expensive or the pool grow', async () => {
    const churn = bytes(...Array.from({ length: 1000 }, () => [...op.SBU('abc'), op.POP]).flat());
    const parts: Uint8Array[] = [bytes(op.PROTO(4), op.NONE, op.LONG_BINPUT((1 << 20) - 1), op.POP)];
    for (let i = 0; i < 200; i++) parts.push(churn);
    parts.push(bytes(op.NONE, op.STOP));
    const r = await scanPickle(new Uint8Array(Buffer.concat(parts)));
    expect(r.anomalies).toEqual([]);
    // the value pool starts at 4096 records (256 KiB); a memo-size-driven GC would have grown it
    expect(r.stats.wasmMemoryBytes).toBeLessThan(40 * 2 ** 20);
  });

  it('a million small objects in memo-free batches stay within a small pool', async () => {
    const batch = bytes(op.MARK, ...Array.from({ length: 1000 }, () => op.BININT1(7)), op.APPENDS);
    const parts: Uint8Array[] = [bytes(op.PROTO(2), op.EMPTY_LIST)];
    for (let i = 0; i < 1000; i++) parts.push(batch);
    parts.push(bytes(op.STOP));
    const data = Buffer.concat(parts);
    const r = await scanPickle(new Uint8Array(data), { limits: { maxValues: 8192 } });
    expect(r.anomalies).toEqual([]);
    expect(r.stats.opcodes).toBe(2 + 1000 * 1002 + 1);
    expect(r.stats.wasmMemoryBytes).toBeLessThan(64 * 2 ** 20);
  });
});

describe('cancellation', () => {
  it('an aborted signal stops the scan with a typed error', async () => {
    const ac = new AbortController();
    ac.abort();
    await expect(scanPickle(reduceCall('os', 'system', 'x'), { signal: ac.signal })).rejects.toMatchObject({
      name: 'BrineError',
      code: 'aborted',
    });
  });
});
