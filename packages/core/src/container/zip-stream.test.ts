import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { deflateSync } from 'fflate';
import { describe, expect, it } from 'vitest';
import { DEFAULT_LIMITS } from '../engine/limits.js';
import type { FormatId } from '../engine/types.js';
import type { PicklePersistentId, ScanResult } from '../pickle/events.js';
import { chunkReader, type ForwardReader } from '../source/stream.js';
import { crc32 } from './crc32.js';
import type { Note, ReaderContext } from './types.js';
import { readZipStream } from './zip-stream.js';

/** One entry of a hand-built archive; every field a test may want to falsify is explicit. */
interface BuildEntry {
  name: string;
  data: Uint8Array;
  method?: 0 | 8;
  flags?: number;
  /** Name written in the local header when it should differ from the directory's. */
  localName?: string;
  /** CRC written in the headers (default: the real one). */
  crc?: number;
  /** Write sizes/CRC in a data descriptor after the data (bit 3), with zeros in the local header. */
  descriptor?: boolean;
  /** Leave this entry out of the central directory. */
  unlisted?: boolean;
}

const enc = new TextEncoder();

function le(n: number, bytes: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < bytes; i++) out.push(Math.floor(n / 2 ** (8 * i)) & 0xff);
  return out;
}

/** Writes a zip archive byte by byte, so tests control every field a real writer would get right. */
function buildZip(
  entries: BuildEntry[],
  opts: { trailing?: Uint8Array; extraCentral?: Array<{ name: string; offset: number }> } = {},
): Uint8Array {
  const out: number[] = [];
  const central: number[] = [];
  let count = 0;
  for (const e of entries) {
    const method = e.method ?? 0;
    const payload = method === 8 ? deflateSync(e.data) : e.data;
    const crc = e.crc ?? crc32(0, e.data);
    const flags = (e.flags ?? 0) | (e.descriptor ? 8 : 0);
    const localName = enc.encode(e.localName ?? e.name);
    const name = enc.encode(e.name);
    const offset = out.length;
    const sizes = e.descriptor ? [0, 0, 0] : [crc, payload.length, e.data.length];
    out.push(...le(0x04034b50, 4), ...le(20, 2), ...le(flags, 2), ...le(method, 2), 0, 0, 0, 0);
    out.push(...le(sizes[0] as number, 4), ...le(sizes[1] as number, 4), ...le(sizes[2] as number, 4));
    out.push(...le(localName.length, 2), 0, 0, ...localName);
    for (const b of payload) out.push(b);
    if (e.descriptor)
      out.push(...le(0x08074b50, 4), ...le(crc, 4), ...le(payload.length, 4), ...le(e.data.length, 4));
    if (e.unlisted) continue;
    count++;
    central.push(
      ...le(0x02014b50, 4),
      ...le(20, 2),
      ...le(20, 2),
      ...le(flags, 2),
      ...le(method, 2),
      0,
      0,
      0,
      0,
    );
    central.push(...le(crc, 4), ...le(payload.length, 4), ...le(e.data.length, 4));
    central.push(...le(name.length, 2), 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, ...le(offset, 4), ...name);
  }
  for (const x of opts.extraCentral ?? []) {
    count++;
    const name = enc.encode(x.name);
    central.push(...le(0x02014b50, 4), ...le(20, 2), ...le(20, 2), 0, 0, 0, 0, 0, 0, 0, 0);
    central.push(...le(0, 4), ...le(10, 4), ...le(10, 4));
    central.push(...le(name.length, 2), 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, ...le(x.offset, 4), ...name);
  }
  const cdOffset = out.length;
  out.push(...central);
  out.push(...le(0x06054b50, 4), 0, 0, 0, 0, ...le(count, 2), ...le(count, 2));
  out.push(...le(central.length, 4), ...le(cdOffset, 4), 0, 0);
  const bytes = new Uint8Array(out.length + (opts.trailing?.length ?? 0));
  bytes.set(out);
  if (opts.trailing) bytes.set(opts.trailing, out.length);
  return bytes;
}

/** A context that records what a reader reports and reads each entry fully when it looks like a pickle. */
function recordingContext(
  opts: { maxEntries?: number; persistentIds?: Record<string, PicklePersistentId[]> } = {},
) {
  const notes: Note[] = [];
  const entries: Array<{ name: string; head: string; bytes: number; offset: number | undefined }> = [];
  let format: FormatId | undefined;
  let inflated = 0;
  const ctx: ReaderContext = {
    path: ['upload'],
    depth: 0,
    limits: DEFAULT_LIMITS,
    signal: undefined,
    budget: {
      maxEntries: opts.maxEntries ?? 1000,
      maxDirectoryBytes: 1 << 20,
      chargeInflated(n) {
        inflated += n;
      },
    },
    setFormat(f) {
      format = f;
    },
    note(n) {
      notes.push(n);
    },
    // Like the engine: a pickle is read through to its end.
    async scanPickle(reader: ForwardReader, entry: string | undefined, role: string) {
      const offset = reader.sourceOffset();
      let n = 0;
      for (;;) {
        const d = await reader.read(4096);
        if (d.length === 0) break;
        n += d.length;
      }
      const name = entry ?? '';
      entries.push({ name, head: 'pickle', bytes: n, offset });
      const result = {
        imports: [],
        calls: [],
        persistentIds: opts.persistentIds?.[name] ?? [],
        extensions: [],
        anomalies: [],
        stats: {
          bytesScanned: n,
          bytesSkipped: 0,
          opcodes: 0,
          pickles: 1,
          maxStackDepth: 0,
          memoEntries: 0,
          protocols: [],
        },
        complete: true,
      } as unknown as ScanResult;
      return { scan: { path: ['upload', name], role, result }, consumed: n };
    },
    async nested() {
      throw new Error('not used');
    },
    // Other recognised formats (nested archives, npy...) are handed on without being read here.
    async nestedStream(reader: ForwardReader, entry: string) {
      entries.push({ name: entry, head: 'other', bytes: 0, offset: reader.sourceOffset() });
      return 'unknown';
    },
  };
  return { ctx, notes, entries, format: () => format, inflated: () => inflated };
}

async function* chunked(bytes: Uint8Array, size: number): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < bytes.length; i += size) yield bytes.slice(i, i + size);
}

async function streamZip(bytes: Uint8Array, chunk = 7, opts: { maxEntries?: number } = {}) {
  const rec = recordingContext(opts);
  const summary = await readZipStream(chunkReader('upload', chunked(bytes, chunk)), rec.ctx);
  return { ...rec, summary };
}

const codes = (notes: Note[]) => notes.map((n) => `${n.kind}:${n.code}`).sort();

// `cos\nsystem\n(S'touch /tmp/brine-pwned'\ntR.` wrapped in protocol 2: never loaded, only scanned.
const evil = new Uint8Array([0x80, 2, ...enc.encode("cos\nsystem\n(S'touch /tmp/brine-pwned'\ntR.")]);
const tensor = new Uint8Array(100_000).map((_, i) => (i * 31) & 0xff);

describe('readZipStream', () => {
  it('hands every entry to the engine and verifies a well-formed archive against its directory', async () => {
    for (const chunk of [1, 7, 4096, 1 << 20]) {
      const zip = buildZip([
        { name: 'archive/data.pkl', data: evil },
        { name: 'archive/data/0', data: tensor },
        { name: 'archive/version', data: enc.encode('3\n'), method: 8 },
      ]);
      const r = await streamZip(zip, chunk);
      expect(r.notes, `chunk ${chunk}`).toEqual([]);
      expect(r.summary).toEqual({ entries: 3, directoryEntries: 3, verified: true });
      // Only the pickle is read; tensor bytes and metadata pass unread.
      expect(r.entries.map((e) => [e.name, e.head, e.bytes])).toEqual([
        ['archive/data.pkl', 'pickle', evil.length],
      ]);
      // Stored entries keep their offset in the upload, for byte regions in reports.
      expect(r.entries[0]?.offset).toBe(30 + 'archive/data.pkl'.length);
      expect(r.format()).toBe('pytorch-zip');
    }
  });

  it('inflates deflated entries and charges the inflated bytes to the budget', async () => {
    const zip = buildZip([{ name: 'model.pkl', data: evil, method: 8 }]);
    const r = await streamZip(zip);
    expect(r.notes).toEqual([]);
    expect(r.entries[0]).toMatchObject({ name: 'model.pkl', head: 'pickle', bytes: evil.length });
    expect(r.inflated()).toBeGreaterThanOrEqual(evil.length);
  });

  it('follows entries whose sizes are only in a data descriptor, stored or deflated', async () => {
    // The stored payload contains a descriptor signature whose size does not match: it must not end the entry.
    const tricky = new Uint8Array([0x80, 2, 0x50, 0x4b, 7, 8, 1, 2, 3, 4, 9, 0, 0, 0, 0x4e, 0x2e]);
    const zip = buildZip([
      { name: 'a.pkl', data: tricky, descriptor: true },
      { name: 'b.pkl', data: evil, method: 8, descriptor: true },
      { name: 'c.bin', data: tensor, descriptor: true },
    ]);
    const r = await streamZip(zip, 5);
    expect(r.notes).toEqual([]);
    expect(r.entries.map((e) => [e.name, e.bytes])).toEqual([
      ['a.pkl', tricky.length],
      ['b.pkl', evil.length],
    ]);
    expect(r.summary.verified).toBe(true);
  });

  it('passes storages that data.pkl declares without sniffing them, even when they start like a pickle', async () => {
    const lookalike = new Uint8Array(5000).fill(7);
    lookalike.set([0x80, 2]);
    const zip = buildZip([
      { name: 'archive/data.pkl', data: evil },
      { name: 'archive/data/0', data: lookalike },
      { name: 'archive/data/1', data: lookalike },
    ]);
    const pid = (key: string): PicklePersistentId => ({
      opcode: 'BINPERSID',
      offset: 0,
      pickleIndex: 0,
      pid: {
        kind: 'tuple',
        truncated: false,
        items: [
          { kind: 'str', value: 'storage', offset: 0, length: 7, truncated: false },
          { kind: 'global', importIndex: 0 },
          { kind: 'str', value: key, offset: 0, length: key.length, truncated: false },
        ],
      },
    });
    const rec = recordingContext({ persistentIds: { 'archive/data.pkl': [pid('0')] } });
    await readZipStream(chunkReader('upload', chunked(zip, 999)), rec.ctx);
    // data/0 is a declared storage: raw bytes. data/1 is not declared, so it is scanned as what it looks like.
    expect(rec.entries.map((e) => e.name)).toEqual(['archive/data.pkl', 'archive/data/1']);
  });

  it('reports a local name that differs from the directory name (CVE-2025-1944)', async () => {
    const zip = buildZip([{ name: 'archive/data.pkl', localName: 'archive/datap.kl', data: evil }]);
    const r = await streamZip(zip);
    expect(codes(r.notes)).toEqual(['finding:zip-local-name-mismatch']);
    expect(r.notes[0]?.evidence).toMatchObject({
      centralName: 'archive/data.pkl',
      localName: 'archive/datap.kl',
    });
    expect(r.entries[0]?.head).toBe('pickle');
  });

  it('reports encryption flag bits torch ignores (CVE-2025-1945) and still scans the entry', async () => {
    const zip = buildZip([{ name: 'model/config.pkl', data: evil, flags: 0x1 }]);
    const r = await streamZip(zip);
    expect(codes(r.notes)).toEqual(['finding:zip-flag-bits']);
    expect(r.entries[0]?.head).toBe('pickle');
  });

  it('reports a CRC mismatch on an entry it read through (CVE-2025-10156)', async () => {
    const zip = buildZip([{ name: 'data.pkl', data: evil, crc: 0x12345678 }]);
    const r = await streamZip(zip);
    expect(codes(r.notes)).toEqual(['finding:zip-crc-mismatch']);
    expect(r.notes[0]?.evidence).toMatchObject({ expected: 0x12345678, actual: crc32(0, evil) });
  });

  it('reports duplicate names and local entries missing from the directory', async () => {
    const zip = buildZip([
      { name: 'data.pkl', data: evil },
      { name: 'data.pkl', data: evil },
      { name: 'hidden.pkl', data: evil, unlisted: true },
    ]);
    const r = await streamZip(zip);
    expect(codes(r.notes)).toEqual(['finding:zip-duplicate-name', 'finding:zip-unlisted-data']);
    expect(r.entries.map((e) => e.name)).toEqual(['data.pkl', 'data.pkl', 'hidden.pkl']);
  });

  it('says it could not check a directory entry hidden inside bytes that already streamed past', async () => {
    // The directory points into the middle of the tensor entry, where torch would find a pickle
    // the stream never saw as an entry: the file must not come out clean.
    const zip = buildZip([{ name: 'archive/data/0', data: tensor }], {
      extraCentral: [{ name: 'archive/data.pkl', offset: 30 + 14 + 500 }],
    });
    const r = await streamZip(zip, 4096);
    expect(codes(r.notes)).toEqual(['finding:zip-bad-local-header', 'problem:zip-stream-unverifiable-entry']);
    expect(r.summary.verified).toBe(false);
  });

  it('reports bytes after the end record and a second end record in them', async () => {
    const second = buildZip([{ name: 'x.pkl', data: evil }]);
    const r = await streamZip(buildZip([{ name: 'data.pkl', data: evil }], { trailing: second }));
    expect(codes(r.notes)).toEqual(['finding:zip-data-after-directory', 'finding:zip-multiple-eocd']);
  });

  it('ends a truncated stream with a problem and keeps what it found before', async () => {
    const zip = buildZip([
      { name: 'data.pkl', data: evil },
      { name: 'data/0', data: tensor },
    ]);
    for (const cut of [zip.length - 10, 30 + 8 + evil.length + 40, 30 + 8 + evil.length + 10, 20]) {
      const r = await streamZip(zip.subarray(0, cut), 1000);
      expect(
        codes(r.notes).some((c) => c.startsWith('problem:zip-stream-truncated')),
        `cut ${cut}`,
      ).toBe(true);
      expect(r.summary.verified).toBe(false);
      if (cut > 30 + 8 + evil.length)
        expect(r.entries[0]).toMatchObject({ name: 'data.pkl', head: 'pickle' });
    }
  });

  it('skips garbage between records, reporting it, and still finds the entries after it', async () => {
    const a = buildZip([{ name: 'a.pkl', data: evil }]);
    const cdAt = 30 + 5 + evil.length;
    const zip = new Uint8Array(a.length + 13);
    zip.set(a.subarray(0, cdAt));
    zip.set(enc.encode('garbage bytes'), cdAt);
    zip.set(a.subarray(cdAt), cdAt + 13);
    const r = await streamZip(zip);
    expect(codes(r.notes)).toContain('finding:zip-unlisted-data');
    expect(codes(r.notes)).toContain('problem:zip-stream-directory-mismatch');
    expect(r.entries[0]?.head).toBe('pickle');
  });

  it('stops at the entry limit with a problem', async () => {
    const zip = buildZip(Array.from({ length: 5 }, (_, i) => ({ name: `e${i}`, data: enc.encode('x') })));
    const r = await streamZip(zip, 64, { maxEntries: 3 });
    expect(codes(r.notes)).toEqual(['problem:limit-entries']);
    expect(r.summary.entries).toBe(3);
  });

  it('reads a real torch.save archive the same way (alignment padding in extra fields)', async () => {
    const bytes = new Uint8Array(
      readFileSync(new URL('../../../../fixtures/convert/malicious-os-system.pt', import.meta.url)),
    );
    const r = await streamZip(bytes, 65536);
    expect(r.notes).toEqual([]);
    expect(r.summary.verified).toBe(true);
    expect(r.entries.some((e) => /\/data\.pkl$/.test(e.name) && e.head === 'pickle')).toBe(true);
    expect(r.format()).toBe('pytorch-zip');
  });

  it('gives the same entries and notes for any chunking, and never throws on damaged archives', async () => {
    const base = buildZip([
      { name: 'archive/data.pkl', data: evil, method: 8 },
      { name: 'archive/data/0', data: tensor.subarray(0, 3000), descriptor: true },
      { name: 'archive/version', data: enc.encode('3\n') },
    ]);
    const reference = await streamZip(base, 1 << 20);
    const sizes = fc.array(fc.integer({ min: 1, max: 700 }), { minLength: 1, maxLength: 8 });
    await fc.assert(
      fc.asyncProperty(sizes, async (pattern) => {
        const rec = recordingContext();
        async function* varied(): AsyncGenerator<Uint8Array> {
          for (let i = 0, k = 0; i < base.length; k++) {
            const n = pattern[k % pattern.length] as number;
            yield base.slice(i, i + n);
            i += n;
          }
        }
        await readZipStream(chunkReader('upload', varied()), rec.ctx);
        expect(rec.notes).toEqual(reference.notes);
        expect(rec.entries).toEqual(reference.entries);
      }),
      { numRuns: 40 },
    );
    const damage = fc.array(fc.tuple(fc.nat(base.length - 1), fc.integer({ min: 0, max: 255 })), {
      minLength: 1,
      maxLength: 6,
    });
    await fc.assert(
      fc.asyncProperty(damage, fc.integer({ min: 1, max: 300 }), async (edits, chunk) => {
        const bytes = base.slice();
        for (const [at, value] of edits) bytes[at] = value;
        const r = await streamZip(bytes, chunk);
        for (const n of r.notes) expect(n.code).toMatch(/^(zip|limit|inflate|torchscript)-/);
      }),
      { numRuns: 150 },
    );
  });

  it('never throws on random bytes after a local header signature', async () => {
    let seed = 1;
    const rand = () => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed & 0xff;
    };
    for (let i = 0; i < 200; i++) {
      const bytes = new Uint8Array(4 + (rand() * 3 + 1)).map(rand);
      bytes.set([0x50, 0x4b, 3, 4]);
      const r = await streamZip(bytes, 3);
      expect(r.summary.verified).toBe(false);
    }
  });
});
