import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { ByteSource } from '../source/types.js';
import type { ScanResult } from './events.js';
import { scanPickle } from './scan.js';
import { type BuildPause, createPickleScanner } from './scanner.js';
import { bytes, op, reduceCall } from './test-support/assemble.js';
import { fixture, manifest } from './test-support/fixtures.js';

/** Scans with the incremental API, feeding `chunk`-byte pieces. */
async function scanChunked(data: Uint8Array, chunk: number, trace = true): Promise<ScanResult> {
  const s = await createPickleScanner({ traceOpcodes: trace });
  for (let i = 0; i < data.length && !s.done; i += chunk) {
    const st = s.feed(data.subarray(i, i + chunk));
    if (st.state === 'done') break;
  }
  return s.end();
}

describe('chunking never changes the result', () => {
  const files = manifest().map((m) => m.file);
  for (const size of [1, 2, 3, 7, 64, 4096]) {
    it(`every fixture, ${size}-byte chunks`, async () => {
      for (const f of files) {
        const data = fixture(f);
        const whole = await scanPickle(data, { traceOpcodes: true });
        const pieces = await scanPickle(data, { traceOpcodes: true, chunkSize: size });
        expect(pieces, f).toEqual(whole);
        const fed = await scanChunked(data, size);
        // scanPickle may add a second (linear) frame reading; the raw scanner does not
        if (!whole.anomalies.some((a) => a.code === 'frame-crossing')) expect(fed, f).toEqual(whole);
      }
    });
  }

  it('the untraced fast path and the traced general path agree', async () => {
    const corpus = manifest().map((m) => fixture(m.file));
    const untraced = async (data: Uint8Array, chunk: number) => {
      const r = await scanChunked(data, chunk, false);
      return r;
    };
    const traced = async (data: Uint8Array, chunk: number) => {
      const { trace: _trace, ...rest } = await scanChunked(data, chunk, true);
      return rest;
    };
    for (const data of corpus) expect(await untraced(data, 4096)).toEqual(await traced(data, 4096));
    const dense = bytes(
      op.PROTO(4),
      op.EMPTY_LIST,
      ...Array.from({ length: 300 }, (_, i) => [
        op.MARK,
        ...op.BININT1(i & 255),
        ...op.SBU(`s${i}`),
        op.MEMOIZE,
        ...op.BINGET(i % 7),
        op.TUPLE2,
        op.EMPTY_DICT,
        ...op.SBU('k'),
        ...op.BININT(i * 1000),
        op.SETITEM,
        op.NONE,
        op.POP,
        op.APPENDS,
      ]).flat(),
      op.STOP,
    );
    for (const chunk of [1, 13, 4096])
      expect(await untraced(dense, chunk)).toEqual(await traced(dense, 4096));
    await fc.assert(
      fc.asyncProperty(
        fc.nat(corpus.length - 1),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 4 }),
        async (i, muts) => {
          const d = (corpus[i] as Uint8Array).slice();
          for (const [at, v] of muts) if (d.length) d[at % d.length] = v;
          expect(await untraced(d, 7)).toEqual(await traced(d, 64));
        },
      ),
      { numRuns: 200 },
    );
    // random mixes of the fast-path opcodes (and a few that stop it), long enough to use it
    const snippets = [
      [op.NONE],
      [op.MARK],
      [op.POP],
      [op.APPEND],
      [op.APPENDS],
      [op.SETITEM],
      [op.SETITEMS],
      [op.EMPTY_LIST],
      [op.EMPTY_DICT],
      [op.EMPTY_TUPLE],
      [op.TUPLE1],
      [op.TUPLE2],
      [op.TUPLE3],
      [op.MEMOIZE],
      op.BININT1(5),
      op.BININT(-7 >>> 0),
      op.BINPUT(3),
      op.BINGET(3),
      op.BINGET(200),
      op.SBU('abc'),
      op.GLOBAL('m', 'f'),
      [op.REDUCE],
      [op.BUILD],
      op.FRAME(40),
    ];
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.constantFrom(...snippets), { minLength: 200, maxLength: 1500, size: 'max' }),
        async (parts) => {
          const d = bytes(op.PROTO(4), ...parts.flat(), op.STOP);
          expect(await untraced(d, 4096)).toEqual(await traced(d, 4096));
        },
      ),
      { numRuns: 100 },
    );
  });

  it('random bytes: no crash, no hang, same result for any chunk size', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uint8Array({ maxLength: 300, size: 'max' }),
        fc.integer({ min: 1, max: 40 }),
        async (data, chunk) => {
          const whole = await scanChunked(data, Math.max(1, data.length));
          const pieces = await scanChunked(data, chunk);
          expect(pieces).toEqual(whole);
          expect(whole.stats.bytesScanned).toBeLessThanOrEqual(data.length);
        },
      ),
      { numRuns: 150 },
    );
  });

  it('mutated fixtures: no crash, no hang, same result for any chunk size', async () => {
    const corpus = manifest().map((m) => fixture(m.file));
    const mutation = fc.record({
      index: fc.nat(corpus.length - 1),
      at: fc.nat(),
      kind: fc.constantFrom('flip', 'insert', 'delete', 'truncate'),
      value: fc.integer({ min: 0, max: 255 }),
      chunk: fc.integer({ min: 1, max: 17 }),
    });
    await fc.assert(
      fc.asyncProperty(mutation, async (m) => {
        const base = corpus[m.index] as Uint8Array;
        const at = base.length ? m.at % base.length : 0;
        let data: Uint8Array;
        if (m.kind === 'flip') {
          data = base.slice();
          if (data.length) data[at] = m.value;
        } else if (m.kind === 'insert') {
          data = bytes(base.subarray(0, at), m.value, base.subarray(at));
        } else if (m.kind === 'delete') {
          data = bytes(base.subarray(0, at), base.subarray(at + 1));
        } else {
          data = base.subarray(0, at);
        }
        const whole = await scanChunked(data, Math.max(1, data.length));
        expect(await scanChunked(data, m.chunk)).toEqual(whole);
        // anything that is not a clean complete pickle must say so
        if (!whole.complete) expect(whole.anomalies.some((a) => a.fatal)).toBe(true);
      }),
      { numRuns: 200 },
    );
  });
});

describe('tight limits, pauses and frames under any chunking', () => {
  /** Feeds in `chunk`-byte pieces, answering pauses by the pause offset (not by chunking). */
  async function scanWith(data: Uint8Array, chunk: number, trace: boolean, limits: object) {
    const s = await createPickleScanner({ traceOpcodes: trace, limits, pauseAfterBuildOf: [['m', 'f']] });
    for (let i = 0; i < data.length && !s.done; i += chunk) {
      let rest = data.subarray(i, i + chunk);
      let st = s.feed(rest);
      while (st.state === 'paused') {
        rest = rest.subarray(st.consumed);
        if (st.pause.offset % 2) s.skip(3);
        else s.beginNestedPickle();
        st = s.resume();
        if (st.state === 'more') st = s.feed(rest);
      }
    }
    const { trace: _trace, ...r } = s.end();
    return r;
  }

  it('traced and untraced runs agree at every limit, and the scanner never fails', async () => {
    const snippets = [
      [op.NONE],
      [op.MARK],
      [op.POP],
      [op.POP_MARK],
      [op.DUP],
      [op.APPEND],
      [op.APPENDS],
      [op.SETITEM],
      [op.SETITEMS],
      [op.EMPTY_LIST],
      [op.EMPTY_DICT],
      [op.TUPLE],
      [op.DICT],
      [op.TUPLE2],
      [op.MEMOIZE],
      [op.STOP],
      [op.REDUCE],
      [op.BUILD],
      [op.NEWOBJ],
      [op.NEWOBJ_EX],
      [op.OBJ],
      [op.STACK_GLOBAL],
      [op.BINPERSID],
      [op.NEXT_BUFFER],
      op.BININT1(5),
      op.BININT(0x7fffffff),
      op.BINPUT(3),
      op.BINGET(3),
      op.LONG_BINPUT(1 << 30),
      op.LONG_BINGET(1 << 30),
      op.SBU('os'),
      op.GLOBAL('m', 'f'),
      op.INST('m', 'f'),
      op.FRAME(20),
      op.FRAME(5000),
      op.PROTO(2),
      op.EXT2(3),
      op.BINUNICODE('x'.repeat(1300)),
      op.BINBYTES([1, 2, 3]),
      [0x0a],
      'I01\n',
      'g3\n',
      `V${'q'.repeat(3000)}\n`,
    ];
    const limits = fc.record({
      maxValues: fc.constantFrom(64, 1000),
      maxStringBytes: fc.constantFrom(16, 1024),
      maxEvidenceItems: fc.constantFrom(1, 8),
      windowBytes: fc.constantFrom(1024, 1 << 20),
      maxStackDepth: fc.constantFrom(5, 1000),
      maxMemoEntries: fc.constantFrom(2, 1000),
      maxMarks: fc.constantFrom(2, 50),
    });
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.constantFrom(...snippets), { maxLength: 300, size: 'max' }),
        fc.integer({ min: 1, max: 700 }),
        limits,
        async (parts, chunk, lim) => {
          const d = bytes(op.PROTO(4), ...parts.flat(), op.STOP);
          const whole = await scanWith(d, 1 << 20, false, lim);
          expect(whole.anomalies.filter((a) => a.code === 'scanner-error')).toEqual([]);
          expect(await scanWith(d, chunk, true, lim)).toEqual(whole);
        },
      ),
      { numRuns: 200 },
    );
  });
});

/** A source that serves a huge BINBYTES payload without storing it, and counts what is read. */
function blobSource(payload: number): ByteSource & { reads: Array<[number, number]> } {
  const head = bytes(op.PROTO(4), [0x8e, ...new Uint8Array(new Float64Array([0]).buffer)]);
  // BINBYTES8 length, little endian
  const dv = new DataView(head.buffer);
  dv.setUint32(3, payload % 2 ** 32, true);
  dv.setUint32(7, Math.floor(payload / 2 ** 32), true);
  const tail = reduceCall('os', 'system', 'after the blob').subarray(2);
  const size = head.length + payload + 1 + tail.length;
  const reads: Array<[number, number]> = [];
  let bytesRead = 0;
  return {
    name: 'blob.pkl',
    size,
    reads,
    get bytesRead() {
      return bytesRead;
    },
    async read(offset: number, length: number) {
      reads.push([offset, length]);
      const out = new Uint8Array(Math.max(0, Math.min(length, size - offset)));
      for (let i = 0; i < out.length; i++) {
        const p = offset + i;
        if (p < head.length) out[i] = head[p] as number;
        else if (p < head.length + payload) out[i] = 0xaa;
        else if (p === head.length + payload) out[i] = op.POP;
        else out[i] = tail[p - head.length - payload - 1] as number;
      }
      bytesRead += out.length;
      return out;
    },
    async close() {},
  };
}

describe('large payloads are skipped, not read', () => {
  it('a 3 GiB BINBYTES8 blob costs only its header and the opcodes after it', async () => {
    const src = blobSource(3 * 2 ** 30);
    const r = await scanPickle(src, { chunkSize: 64 * 1024 });
    expect(src.bytesRead).toBeLessThan(512 * 1024);
    expect(r.imports).toMatchObject([
      { module: 'os', name: 'system', called: true, offset: 3 * 2 ** 30 + 12 },
    ]);
    expect(r.stats.bytesScanned).toBe(src.size);
    expect(r.stats.bytesSkipped).toBe(3 * 2 ** 30 - 256);
    expect(r.complete).toBe(true);
  });

  it('the incremental API exposes pendingSkip so callers can seek', async () => {
    const s = await createPickleScanner();
    const st = s.feed(bytes(op.PROTO(3), op.BINBYTES(new Uint8Array(1000)).slice(0, 300)));
    expect(st.state).toBe('more');
    expect(s.pendingSkip).toBe(1000 - 295);
    s.skipped(s.pendingSkip);
    s.feed(bytes(op.STOP));
    const r = s.end();
    expect(r.complete).toBe(true);
    expect(r.stats.bytesScanned).toBe(2 + 5 + 1000 + 1);
  });
});

describe('single pickle mode', () => {
  it('stops at the first STOP and says where it ended', async () => {
    const first = reduceCall('os', 'system', 'a');
    const data = bytes(first, reduceCall('os', 'popen', 'b'));
    const r = await scanPickle(data, { multiplePickles: false });
    expect(r.imports.map((i) => i.name)).toEqual(['system']);
    expect(r.stats.bytesScanned).toBe(first.length);
    expect(r.complete).toBe(true);
    expect(r.anomalies).toEqual([]);
  });
});

// A joblib-like stream: NumpyArrayWrapper BUILD followed by raw array bytes, then a wrapper
// whose array is an object array (a complete nested pickle), then the rest of the outer pickle.
function joblibLike(): { data: Uint8Array; rawAt: number; nestedAt: number } {
  const wrapper = (order: string) =>
    bytes(
      op.GLOBAL('joblib.numpy_pickle', 'NumpyArrayWrapper'),
      op.EMPTY_TUPLE,
      op.NEWOBJ,
      op.EMPTY_DICT,
      op.MARK,
      op.SBU('shape'),
      op.BININT1(3),
      op.TUPLE1,
      op.SBU('order'),
      op.SBU(order),
      op.SBU('dtype'),
      op.GLOBAL('numpy', 'dtype'),
      op.SBU('f8'),
      op.TUPLE1,
      op.REDUCE,
      op.SETITEMS,
      op.BUILD,
    );
  const head = bytes(op.PROTO(4), op.EMPTY_LIST, op.MARK, wrapper('C'));
  const raw = new Uint8Array(24).fill(0xff); // 3 float64s: not opcodes
  const second = wrapper('F');
  const nested = reduceCall('os', 'system', 'inside the object array');
  const tail = bytes(op.APPENDS, op.STOP);
  const data = bytes(head, raw, second, nested, tail);
  return { data, rawAt: head.length, nestedAt: head.length + raw.length + second.length };
}

describe('pauses after watched BUILDs (joblib arrays)', () => {
  const watch: Array<[string, string]> = [['joblib.numpy_pickle', 'NumpyArrayWrapper']];

  it('without the hook, raw array bytes end the scan', async () => {
    const { data } = joblibLike();
    const r = await scanPickle(data);
    expect(r.anomalies.some((a) => a.code === 'unknown-opcode' && a.fatal)).toBe(true);
  });

  for (const chunk of [1, 5, 4096]) {
    it(`skip and nested pickle with ${chunk}-byte chunks`, async () => {
      const { data, rawAt, nestedAt } = joblibLike();
      const pauses: BuildPause[] = [];
      const r = await scanPickle(data, {
        chunkSize: chunk,
        pauseAfterBuildOf: watch,
        onPause(p, control) {
          pauses.push(p);
          const state = p.call.args[0];
          const order =
            state?.kind === 'dict'
              ? state.entries.find(([k]) => k.kind === 'str' && k.value === 'order')?.[1]
              : undefined;
          if (order?.kind === 'str' && order.value === 'C') control.skip(24);
          else control.beginNestedPickle();
        },
      });
      expect(pauses.map((p) => p.offset)).toEqual([rawAt, nestedAt]);
      expect(pauses[0]?.watched).toMatchObject({ module: 'joblib.numpy_pickle', name: 'NumpyArrayWrapper' });
      expect(pauses[0]?.call.opcode).toBe('BUILD');
      expect(r.anomalies).toEqual([]);
      expect(r.complete).toBe(true);
      const sys = r.imports.find((i) => i.name === 'system');
      expect(sys).toMatchObject({ module: 'os', called: true, offset: nestedAt + 2, pickleIndex: 1 });
      // the outer pickle resumed with its own stack after the nested STOP (APPENDS found its list)
      expect(r.stats.pickles).toBe(2);
      expect(r.stats.bytesScanned).toBe(data.length);
    });
  }

  it('the incremental API pauses mid-chunk and resumes where it stopped', async () => {
    const { data, rawAt } = joblibLike();
    const s = await createPickleScanner({ pauseAfterBuildOf: watch });
    let st = s.feed(data);
    expect(st.state).toBe('paused');
    if (st.state !== 'paused') return;
    expect(st.pause.offset).toBe(rawAt);
    expect(s.position).toBe(rawAt);
    s.skip(24);
    const rest = data.subarray(st.consumed);
    st = s.resume();
    expect(st.state).toBe('paused');
    s.beginNestedPickle();
    st = s.resume();
    expect(st.state).toBe('more');
    st = s.feed(rest);
    expect(st.state).toBe('more');
    const r = s.end();
    expect(r.anomalies).toEqual([]);
    expect(r.imports.some((i) => i.module === 'os' && i.name === 'system' && i.called)).toBe(true);
  });
});

describe('a failing scanner is reported, not thrown', () => {
  it('a WASM trap becomes a fatal scanner-error anomaly and keeps earlier findings', async () => {
    const s = await createPickleScanner();
    const first = reduceCall('os', 'system', 'x');
    expect(s.feed(first.subarray(0, first.length - 1)).state).toBe('more');
    // simulate a trap inside the WASM module on the next chunk
    const holder = s as unknown as { w: object };
    const real = holder.w;
    holder.w = new Proxy(real, {
      get: (t, k) =>
        k === 'push'
          ? () => {
              throw new WebAssembly.RuntimeError('memory access out of bounds');
            }
          : Reflect.get(t, k),
    });
    expect(s.feed(first.subarray(first.length - 1))).toEqual({ state: 'done', consumed: 1 });
    expect(s.done).toBe(true);
    const r = s.end();
    expect(r.imports[0]).toMatchObject({ module: 'os', name: 'system', called: true });
    expect(r.anomalies.at(-1)).toMatchObject({ code: 'scanner-error', fatal: true });
    expect(r.complete).toBe(false);
  });
});
