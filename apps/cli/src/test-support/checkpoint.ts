import { open } from 'node:fs/promises';

/** Pickle bytes the tests use; written by hand so no Python runs at test time. Never loaded. */
export const PICKLES = {
  /** Protocol 0: `os.system('touch /tmp/brine-pwned')`. */
  evil: Buffer.from("cos\nsystem\n(S'touch /tmp/brine-pwned'\ntR.", 'latin1'),
  /** Protocol 2: `{'a': 1}`. */
  benign: Buffer.from([
    0x80, 0x02, 0x7d, 0x71, 0x00, 0x58, 0x01, 0x00, 0x00, 0x00, 0x61, 0x4b, 0x01, 0x73, 0x2e,
  ]),
  /** A harmless protocol-2 dict cut off in the middle: nothing dangerous, but not fully scannable. */
  truncatedBenign: Buffer.from([0x80, 0x02, 0x7d, 0x71, 0x00, 0x58, 0x01, 0x00]),
  /** Protocol 2 `os.system` call whose stream stops before STOP (nullifAI shape). */
  truncatedEvil: Buffer.from('\x80\x02cos\nsystem\nX\x04\x00\x00\x00id #\x85R', 'latin1'),
};

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

function crc32(chunks: Iterable<Uint8Array>): number {
  let c = 0xffffffff;
  for (const b of chunks)
    for (let i = 0; i < b.length; i++) c = (CRC_TABLE[(c ^ (b[i] as number)) & 0xff] as number) ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/**
 * Writes a PyTorch-style zip checkpoint (stored entries under `archive/`) whose `data.pkl` comes
 * after a large zero-filled tensor entry, so a scanner must seek past the tensor to find it. The
 * tensor is a hole in a sparse file: no disk, no time to write.
 */
export async function writeCheckpoint(
  path: string,
  pickle: Uint8Array,
  tensorBytes: number,
): Promise<number> {
  const piece = new Uint8Array(1 << 20);
  const zeroCrc = (() => {
    const pieces: Uint8Array[] = [];
    for (let left = tensorBytes; left > 0; left -= piece.length)
      pieces.push(piece.subarray(0, Math.min(piece.length, left)));
    return crc32(pieces);
  })();
  const entries = [
    { name: 'archive/version', data: Buffer.from('3\n') as Uint8Array, size: 2, crc: 0 },
    { name: 'archive/data/0', data: undefined as Uint8Array | undefined, size: tensorBytes, crc: zeroCrc },
    { name: 'archive/data.pkl', data: pickle, size: pickle.length, crc: 0 },
  ];
  for (const e of entries) if (e.data) e.crc = crc32([e.data]);

  const fh = await open(path, 'w');
  let pos = 0;
  const write = async (b: Uint8Array) => {
    await fh.write(b, 0, b.length, pos);
    pos += b.length;
  };
  const offsets: number[] = [];
  for (const e of entries) {
    offsets.push(pos);
    const name = Buffer.from(e.name);
    const h = Buffer.alloc(30);
    h.writeUInt32LE(0x04034b50, 0);
    h.writeUInt16LE(20, 4);
    h.writeUInt32LE(e.crc, 14);
    h.writeUInt32LE(e.size, 18);
    h.writeUInt32LE(e.size, 22);
    h.writeUInt16LE(name.length, 26);
    await write(h);
    await write(name);
    if (e.data) await write(e.data);
    // The tensor is left as a hole: the file is sparse and the tensor reads back as zeros.
    else pos += e.size;
  }
  const cdStart = pos;
  for (const [i, e] of entries.entries()) {
    const name = Buffer.from(e.name);
    const c = Buffer.alloc(46);
    c.writeUInt32LE(0x02014b50, 0);
    c.writeUInt16LE(20, 4);
    c.writeUInt16LE(20, 6);
    c.writeUInt32LE(e.crc, 16);
    c.writeUInt32LE(e.size, 20);
    c.writeUInt32LE(e.size, 24);
    c.writeUInt16LE(name.length, 28);
    c.writeUInt32LE(offsets[i] as number, 42);
    await write(c);
    await write(name);
  }
  const eocd = Buffer.alloc(22);
  eocd.writeUInt32LE(0x06054b50, 0);
  eocd.writeUInt16LE(entries.length, 8);
  eocd.writeUInt16LE(entries.length, 10);
  eocd.writeUInt32LE(pos - cdStart, 12);
  eocd.writeUInt32LE(cdStart, 16);
  await write(eocd);
  await fh.close();
  return pos;
}
