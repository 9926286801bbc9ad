// Generates PyTorch-style zip checkpoints of any size on the fly, for the streamed-upload test and
// benchmark: nothing is written to disk or held in memory beyond one chunk. The pickle payloads are
// harmless (`touch /tmp/brine-pwned`) and are only ever scanned, never loaded.

const enc = new TextEncoder();

/** Bytes of a string whose characters are all below 256 (pickle opcodes are bytes, not UTF-8). */
const bytes = (text) => Uint8Array.from(text, (ch) => ch.charCodeAt(0));

/** `posix.system('touch /tmp/brine-pwned')`, protocol 2. */
export const EVIL_PICKLE = bytes(
  '\x80\x02cposix\nsystem\nq\x00X\x16\x00\x00\x00touch /tmp/brine-pwnedq\x01\x85q\x02Rq\x03.',
);

/** `{'w': 1}`, protocol 2: data only. */
export const CLEAN_PICKLE = new Uint8Array([
  0x80, 2, 0x7d, 0x71, 0, 0x58, 1, 0, 0, 0, 0x77, 0x4b, 1, 0x73, 0x2e,
]);

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

function crc32(data, crc = 0) {
  let c = ~crc >>> 0;
  for (let i = 0; i < data.length; i++) c = CRC_TABLE[(c ^ data[i]) & 0xff] ^ (c >>> 8);
  return ~c >>> 0;
}

function le(n, bytes) {
  const out = new Uint8Array(bytes);
  for (let i = 0; i < bytes; i++) out[i] = Math.floor(n / 2 ** (8 * i)) & 0xff;
  return out;
}

function cat(...parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/**
 * A stored zip laid out as `torch.save` lays it out, but with the big tensor entry first and the
 * pickle after it, so a scanner must get through the whole stream to see the pickle. ZIP64 records
 * are written when the tensor is 4 GiB or more. The tensor's CRC is that of its repeated chunk
 * pattern, computed once per distinct chunk.
 *
 * @param {{ tensorBytes: number, pickle?: Uint8Array, chunk?: number }} opts
 * @returns {{ size: number, chunks: () => Generator<Uint8Array> }}
 */
export function torchZipStream({ tensorBytes, pickle = EVIL_PICKLE, chunk = 1 << 20 }) {
  const zip64 = tensorBytes >= 0xffffffff;
  const block = new Uint8Array(chunk).map((_, i) => (i * 7) & 0xff);
  const full = Math.floor(tensorBytes / chunk);
  const tailLen = tensorBytes % chunk;
  // The real CRC for small tensors; for multi-GB ones 0, since no reader checks CRCs of data it
  // skips (torch never checks them at all) and computing it would dominate the benchmark.
  let tensorCrc = 0;
  if (tensorBytes <= 64 * chunk) {
    for (let i = 0; i < full; i++) tensorCrc = crc32(block, tensorCrc);
    tensorCrc = crc32(block.subarray(0, tailLen), tensorCrc);
  }

  const entries = [
    { name: 'archive/data/0', size: tensorBytes, crc: tensorCrc, big: zip64 },
    { name: 'archive/data.pkl', size: pickle.length, crc: crc32(pickle), big: false },
    { name: 'archive/version', size: 2, crc: crc32(enc.encode('3\n')), big: false },
  ];
  const locals = [];
  let offset = 0;
  for (const e of entries) {
    const name = enc.encode(e.name);
    const extra = e.big ? cat(le(1, 2), le(16, 2), le(e.size, 8), le(e.size, 8)) : new Uint8Array(0);
    const size32 = e.big ? 0xffffffff : e.size;
    const header = cat(
      le(0x04034b50, 4),
      le(e.big ? 45 : 20, 2),
      le(0, 2),
      le(0, 2),
      le(0, 4),
      le(e.crc, 4),
      le(size32, 4),
      le(size32, 4),
      le(name.length, 2),
      le(extra.length, 2),
      name,
      extra,
    );
    locals.push({ ...e, header, offset });
    offset += header.length + e.size;
  }
  const cdOffset = offset;
  const central = cat(
    ...locals.map((e) => {
      const name = enc.encode(e.name);
      const bigOffset = e.offset >= 0xffffffff;
      const fields = [
        ...(e.big ? [le(e.size, 8), le(e.size, 8)] : []),
        ...(bigOffset ? [le(e.offset, 8)] : []),
      ];
      const extra = fields.length ? cat(le(1, 2), le(fields.length * 8, 2), ...fields) : new Uint8Array(0);
      return cat(
        le(0x02014b50, 4),
        le(45, 2),
        le(e.big || bigOffset ? 45 : 20, 2),
        le(0, 2),
        le(0, 2),
        le(0, 4),
        le(e.crc, 4),
        le(e.big ? 0xffffffff : e.size, 4),
        le(e.big ? 0xffffffff : e.size, 4),
        le(name.length, 2),
        le(extra.length, 2),
        le(0, 2),
        le(0, 2),
        le(0, 2),
        le(0, 4),
        le(bigOffset ? 0xffffffff : e.offset, 4),
        name,
        extra,
      );
    }),
  );
  const end64 = cdOffset + central.length;
  const needs64 = cdOffset >= 0xffffffff || end64 >= 0xffffffff;
  const trailer = cat(
    ...(needs64
      ? [
          cat(
            le(0x06064b50, 4),
            le(44, 8),
            le(45, 2),
            le(45, 2),
            le(0, 4),
            le(0, 4),
            le(entries.length, 8),
            le(entries.length, 8),
            le(central.length, 8),
            le(cdOffset, 8),
          ),
          cat(le(0x07064b50, 4), le(0, 4), le(end64, 8), le(1, 4)),
        ]
      : []),
    cat(
      le(0x06054b50, 4),
      le(0, 2),
      le(0, 2),
      le(entries.length, 2),
      le(entries.length, 2),
      le(central.length, 4),
      le(needs64 ? 0xffffffff : cdOffset, 4),
      le(0, 2),
    ),
  );
  const size = end64 + trailer.length;

  function* chunks() {
    for (const e of locals) {
      yield e.header;
      if (e.name === 'archive/data/0') {
        for (let i = 0; i < full; i++) yield block;
        if (tailLen) yield block.subarray(0, tailLen);
      } else if (e.name === 'archive/data.pkl') yield pickle;
      else yield enc.encode('3\n');
    }
    yield central;
    yield trailer;
  }
  return { size, chunks };
}

/**
 * Reads `[start, end)` of a generated archive without producing the bytes before `start`
 * (for a Range-serving test server).
 *
 * @param {{ size: number, chunks: () => Generator<Uint8Array> }} model
 */
export function rangeReader(model) {
  return (start, end) => {
    const out = new Uint8Array(Math.max(0, Math.min(end, model.size) - start));
    let pos = 0;
    for (const c of model.chunks()) {
      const cEnd = pos + c.length;
      if (cEnd > start && pos < end) {
        const from = Math.max(start, pos);
        const to = Math.min(end, cEnd);
        out.set(c.subarray(from - pos, to - pos), from - start);
      }
      pos = cEnd;
      if (pos >= end) break;
    }
    return out;
  };
}
