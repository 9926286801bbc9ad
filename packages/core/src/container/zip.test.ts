import { mkdtemp, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bufferSource } from '../source/buffer.js';
import { openFileSource } from '../source/file.js';
import { readAll } from '../source/stream.js';
import { crc32 } from './crc32.js';
import { fixture, testBudget } from './test-support/fixtures.js';
import { openZipEntry, readZipDirectory, type ZipDirectory } from './zip.js';

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
    expect(src.bytesRead).toBeLessThan(128 * 1024);
  });
});

/**
 * Writes a ZIP64 archive by hand: a stored entry of `bigSize` zero bytes (a hole in a sparse
 * file, never written), then a small pickle entry, a central directory with ZIP64 extra fields,
 * the ZIP64 end record and locator, and the classic end record.
 */
export async function writeSparseZip64(path: string, bigSize: number, pickle: Uint8Array): Promise<void> {
  const fh = await open(path, 'w');
  const enc = new TextEncoder();
  const le = (n: number, bytes: number) => {
    const b = new Uint8Array(bytes);
    let v = n;
    for (let i = 0; i < bytes; i++) {
      b[i] = v % 256;
      v = Math.floor(v / 256);
    }
    return b;
  };
  const cat = (...parts: Uint8Array[]) => {
    const out = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
    let o = 0;
    for (const p of parts) {
      out.set(p, o);
      o += p.length;
    }
    return out;
  };
  let pos = 0;
  const central: Uint8Array[] = [];
  const entry = async (name: string, size: number, data: Uint8Array | undefined, crc: number) => {
    const nm = enc.encode(name);
    const zip64 = cat(le(1, 2), le(16, 2), le(size, 8), le(size, 8));
    const local = cat(
      le(0x04034b50, 4),
      le(45, 2),
      le(0, 2),
      le(0, 2),
      le(0, 4),
      le(crc, 4),
      le(0xffffffff, 4),
      le(0xffffffff, 4),
      le(nm.length, 2),
      le(zip64.length, 2),
      nm,
      zip64,
    );
    const at = pos;
    await fh.write(local, 0, local.length, pos);
    pos += local.length;
    if (data) await fh.write(data, 0, data.length, pos);
    pos += size;
    const cz64 = cat(le(1, 2), le(24, 2), le(size, 8), le(size, 8), le(at, 8));
    central.push(
      cat(
        le(0x02014b50, 4),
        le(45, 2),
        le(45, 2),
        le(0, 2),
        le(0, 2),
        le(0, 4),
        le(crc, 4),
        le(0xffffffff, 4),
        le(0xffffffff, 4),
        le(nm.length, 2),
        le(cz64.length, 2),
        le(0, 2),
        le(0, 2),
        le(0, 2),
        le(0, 4),
        le(0xffffffff, 4),
        nm,
        cz64,
      ),
    );
  };
  // CRC of 4.5 GiB of zeros is irrelevant here: torch never checks it, and neither do we for tensors.
  await entry('archive/data/0', bigSize, undefined, 0);
  await entry('archive/data.pkl', pickle.length, pickle, crc32(0, pickle));
  const cd = cat(...central);
  const cdAt = pos;
  await fh.write(cd, 0, cd.length, pos);
  pos += cd.length;
  const z64At = pos;
  const tail = cat(
    le(0x06064b50, 4),
    le(44, 8),
    le(45, 2),
    le(45, 2),
    le(0, 4),
    le(0, 4),
    le(central.length, 8),
    le(central.length, 8),
    le(cd.length, 8),
    le(cdAt, 8),
    le(0x07064b50, 4),
    le(0, 4),
    le(z64At, 8),
    le(1, 4),
    le(0x06054b50, 4),
    le(0, 2),
    le(0, 2),
    le(0xffff, 2),
    le(0xffff, 2),
    le(0xffffffff, 4),
    le(0xffffffff, 4),
    le(0, 2),
  );
  await fh.write(tail, 0, tail.length, pos);
  await fh.close();
}
