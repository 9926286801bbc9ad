import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deflateSync } from 'fflate';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bufferSource } from '../source/buffer.js';
import { openFileSource } from '../source/file.js';
import { readAll } from '../source/stream.js';
import { crc32 } from './crc32.js';
import { fixture, testBudget } from './test-support/fixtures.js';
import { writeSparseZip64 } from './test-support/sparse-zip64.js';
import { inflateChunks, openZipEntry, readZipDirectory, type ZipDirectory } from './zip.js';

async function dir(name: string): Promise<ZipDirectory> {
  const d = await readZipDirectory(bufferSource(name, fixture(name)), testBudget());
  if (!d) throw new Error(`${name}: no directory`);
  return d;
}
const codes = (d: ZipDirectory) => d.notes.map((n) => n.code);

describe('readZipDirectory on real torch archives', () => {
  it('lists a torch.save archive with no findings and data offsets torch would use', async () => {
    const d = await dir('torch-state-dict.pt');
    expect(d.notes).toEqual([]);
    expect(d.incomplete).toBe(false);
    const names = d.entries.map((e) => e.name);
    expect(names.some((n) => n.endsWith('/data.pkl'))).toBe(true);
    const bytes = fixture('torch-state-dict.pt');
    for (const e of d.entries) {
      // torch aligns stored data to 64 bytes; the offset we compute must land on the stored bytes
      const data = bytes.subarray(e.dataOffset as number, (e.dataOffset as number) + e.compressedSize);
      expect(crc32(0, data)).toBe(e.crc32);
    }
  });
});

describe('zip tricks are reported with evidence', () => {
  it('local header name differs from the central name (CVE-2025-1944)', async () => {
    const d = await dir('torch-evil-local-name.pt');
    const n = d.notes.find((x) => x.code === 'zip-local-name-mismatch');
    expect(n?.evidence).toMatchObject({ localName: expect.stringContaining('datap.kl') });
    expect(n?.entry).toMatch(/\/data\.pkl$/);
  });

  it.each(['0x1', '0x20', '0x40'])('flag bit %s on data.pkl (CVE-2025-1945)', async (flag) => {
    const d = await dir(`torch-evil-flag-${flag}.pt`);
    const n = d.notes.find((x) => x.code === 'zip-flag-bits');
    expect(n).toBeDefined();
    expect((n?.evidence?.flags as number) & Number(flag)).toBe(Number(flag));
  });

  it('duplicate names', async () => {
    expect(codes(await dir('zip-duplicate-name.pt'))).toContain('zip-duplicate-name');
  });

  it('overlapping entries', async () => {
    expect(codes(await dir('zip-overlap.zip'))).toContain('zip-overlapping-entries');
  });

  it('entry running past the central directory', async () => {
    expect(codes(await dir('zip-out-of-bounds.zip'))).toContain('zip-entry-out-of-bounds');
  });

  it('data before the first entry, with offsets that account for it', async () => {
    const d = await dir('zip-data-before.zip');
    expect(codes(d)).toContain('zip-data-before-first-entry');
    expect(d.prefixLength).toBe(0);
  });

  it('data after the end record', async () => {
    expect(codes(await dir('zip-data-after.zip'))).toContain('zip-data-after-directory');
  });

  it('a second end record hidden in the comment', async () => {
    const d = await dir('zip-two-eocd.zip');
    expect(codes(d)).toContain('zip-multiple-eocd');
  });

  it('a zip glued after a pickle: offsets shifted by the prefix (CPython-style)', async () => {
    const d = await dir('polyglot-benign-pickle-evil-zip.pt');
    expect(codes(d)).toContain('zip-prepended-data');
    expect(d.prefixLength).toBeGreaterThan(0);
    expect(d.entries.some((e) => e.name.endsWith('data.pkl'))).toBe(true);
  });

  it('a truncated archive has no directory', async () => {
    const bytes = fixture('torch-truncated.pt');
    expect(await readZipDirectory(bufferSource('t', bytes), testBudget())).toBeUndefined();
  });

  it('an entry-count limit marks the directory incomplete', async () => {
    const budget = { ...testBudget(), maxEntries: 2 };
    const d = await readZipDirectory(bufferSource('t', fixture('torch-dtypes.pt')), budget);
    expect(d?.incomplete).toBe(true);
    expect(d?.entries).toHaveLength(2);
    expect(d?.notes.map((n) => n.code)).toContain('limit-entries');
  });
});

describe('openZipEntry', () => {
  it('inflates a deflated entry and tracks its CRC', async () => {
    const bytes = fixture('zip-pickle-as-txt.zip');
    const src = bufferSource('z', bytes);
    const d = (await readZipDirectory(src, testBudget())) as ZipDirectory;
    const en = d.entries[0];
    if (!en) throw new Error('no entry');
    expect(en.method).toBe(8);
    const { reader, crc } = openZipEntry(src, en, testBudget(), en.name);
    const { bytes: out } = await readAll(reader, 1 << 20);
    expect(out.length).toBe(en.uncompressedSize);
    expect(String.fromCharCode(out[0] as number)).toBe('c'); // protocol-0 GLOBAL
    expect(crc()).toBe(en.crc32);
  });
});

describe('ZIP64 beyond 4 GiB', () => {
  let tmp: string;
  beforeAll(async () => {
    tmp = await mkdtemp(join(tmpdir(), 'brine-zip64-'));
  });
  afterAll(async () => {
    await rm(tmp, { recursive: true, force: true });
  });

  it('reads only the directory of a sparse 4.5 GiB archive', async () => {
    const path = join(tmp, 'big.pt');
    const big = 4.5 * 1024 ** 3;
    await writeSparseZip64(path, big, new Uint8Array([0x80, 2, 0x4e, 0x2e])); // \x80\x02 N .
    const src = await openFileSource(path);
    const d = (await readZipDirectory(src, testBudget())) as ZipDirectory;
    await src.close();
    expect(d.notes).toEqual([]);
    expect(d.entries.map((e) => e.name)).toEqual(['archive/data/0', 'archive/data.pkl']);
    expect(d.entries[0]?.uncompressedSize).toBe(big);
    expect(d.entries[1]?.localHeaderOffset).toBeGreaterThan(2 ** 32);
    // the tail, the directory and two local headers: a few 64 KiB cache blocks, not 4.5 GiB
    expect(src.bytesRead).toBeLessThan(512 * 1024);
  });
});

describe('inflateChunks with a declared size', () => {
  async function* once(b: Uint8Array) {
    yield b;
  }

  it('hands on exactly the declared bytes, reports the overrun once, and inflates no further', async () => {
    const data = new Uint8Array(16 * 1024 * 1024).fill(7);
    const budget = testBudget(1024 * 1024);
    const overruns: number[] = [];
    const out: Uint8Array[] = [];
    const declared = { size: 1000, onOverrun: (n: number) => overruns.push(n) };
    for await (const c of inflateChunks(once(deflateSync(data)), 'x', budget, declared)) out.push(c);
    expect(out.reduce((n, c) => n + c.length, 0)).toBe(1000);
    expect(overruns).toEqual([1000]);
    // Far below the 1 MiB budget: without a declared size the same entry ends in limit-inflate.
    expect(budget.inflated).toBe(1000);
    const plain = (async () => {
      for await (const _ of inflateChunks(once(deflateSync(data)), 'x', testBudget(1024 * 1024))) {
      }
    })();
    await expect(plain).rejects.toMatchObject({ code: 'limit-inflate' });
  });

  it('reports nothing for an entry exactly its declared size', async () => {
    const data = new Uint8Array(5000).fill(1);
    const overruns: number[] = [];
    let n = 0;
    const declared = { size: 5000, onOverrun: (x: number) => overruns.push(x) };
    for await (const c of inflateChunks(once(deflateSync(data)), 'x', testBudget(), declared)) n += c.length;
    expect(n).toBe(5000);
    expect(overruns).toEqual([]);
  });
});
