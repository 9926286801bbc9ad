import { open } from 'node:fs/promises';
import { crc32 } from '../crc32.js';

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
