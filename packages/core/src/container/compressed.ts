import { Gunzip, Unzlib } from 'fflate';
import bitIterator from 'unbzip2-stream/lib/bit_iterator.js';
import bzip2 from 'unbzip2-stream/lib/bzip2.js';
import type * as xzModule from 'xz-decompress';
import { timeSlicer } from '../engine/time-slice.js';
import type { FormatId } from '../engine/types.js';
import { BrineError } from '../engine/types.js';
import { chunkReader, type ForwardReader } from '../source/stream.js';
import { crc32 } from './crc32.js';
import { Lz4FrameDecoder } from './lz4-frame.js';
import { LzmaAloneDecoder } from './lzma-alone.js';
import type { Budget, ContainerReader, ReaderContext } from './types.js';

/**
 * Single-stream compression wrappers (gzip, zlib, bzip2, xz, LZMA "alone", LZ4 frames): what
 * `joblib.dump(compress=...)` writes, and what people wrap checkpoints in. Each decompresses as a
 * stream: output is handed on in pieces and every byte is charged to the inflate budget, so a
 * bomb ends in `limit-inflate` instead of exhausting memory.
 *
 * Codecs: gzip/zlib with fflate; bzip2 with the block decoder of unbzip2-stream (pure JS, used
 * without its Node stream wrapper); xz with xz-decompress (xz-embedded compiled to WASM, web
 * streams); LZMA-alone and LZ4 frames with our own decoders (no npm reader streams them).
 */
/** Compressed bytes fed per step: deflate expands at most ~1000:1, so a step yields at most ~8 MB. */
const STEP = 8 * 1024;

/** A push-style decompressor: output goes to the callback it was made with. */
export type Decoder = {
  push(chunk: Uint8Array): void;
  finish(): void;
  /** Decoders that bound their output per call: decode more of what is buffered (false: need input). */
  more?(): boolean;
  /** Checked after the last `more()`: throws when the stream did not end properly. */
  end?(): void;
};

function codecReader(
  format: FormatId,
  label: string,
  detect: (head: Uint8Array) => boolean,
  make: (emit: (chunk: Uint8Array) => void) => Decoder,
): ContainerReader {
  return {
    format,
    version: '1',
    detect,
    async stream(reader: ForwardReader, ctx: ReaderContext) {
      const entry = `[${label}]`;
      const out = chunkReader(entry, decode(reader, make, ctx.budget, entry, label));
      const inner = await ctx.nestedStream(out, entry, { role: `${label} data` });
      await drain(out);
      if (inner === 'unknown') notUnderstood(ctx, entry, label);
    },
  };
}

function notUnderstood(ctx: ReaderContext, entry: string, label: string) {
  ctx.note({
    kind: 'problem',
    code: 'not-a-model-format',
    message: `${label} data decompresses to something that is not a model format`,
    entry,
  });
}

/**
 * Decodes whatever the inner reader left (a pickle ends at its STOP), so a corrupt or cut-short
 * stream is still reported: a file that cannot be read to its end is never clean. Costs
 * decompression time, not memory; the inflate budget still applies.
 */
async function drain(out: ForwardReader): Promise<void> {
  while ((await out.skip(1 << 30)) > 0) {}
}

export async function* decode(
  reader: ForwardReader,
  make: (emit: (chunk: Uint8Array) => void) => Decoder,
  budget: Budget,
  name: string,
  label: string,
): AsyncGenerator<Uint8Array> {
  const out: Uint8Array[] = [];
  const dec = make((c) => {
    budget.chargeInflated(c.length, name);
    out.push(c);
  });
  const step = (f: () => unknown) => {
    try {
      return f();
    } catch (e) {
      if (e instanceof BrineError && e.code.startsWith('limit-')) throw e;
      throw new BrineError(
        `${label}-error`,
        `${label} data is corrupt or cut short: ${e instanceof Error ? e.message : String(e)}`,
        name,
      );
    }
  };
  const slice = timeSlicer();
  for (;;) {
    const chunk = await reader.read(STEP);
    step(() => (chunk.length === 0 ? dec.finish() : dec.push(chunk)));
    while (out.length) yield out.shift() as Uint8Array;
    while (dec.more && step(() => dec.more?.())) {
      while (out.length) yield out.shift() as Uint8Array;
      await slice();
    }
    await slice();
    if (chunk.length === 0) {
      step(() => dec.end?.());
      while (out.length) yield out.shift() as Uint8Array;
      return;
    }
  }
}

const fflateDecoder =
  (C: typeof Gunzip | typeof Unzlib) =>
  (emit: (c: Uint8Array) => void): Decoder => {
    let ended = false;
    const d = new C((data, final) => {
      if (data.length) emit(data);
      if (final) ended = true;
    });
    return {
      push: (c) => d.push(c, false),
      finish: () => {
        d.push(new Uint8Array(0), true);
        // fflate accepts a stream cut inside its header without complaint
        if (!ended) throw new Error('stream ends early');
      },
    };
  };

export const gzipReader = codecReader(
  'gzip',
  'gzip',
  (h) => h[0] === 0x1f && h[1] === 0x8b && h[2] === 8,
  (emit) => new GzipDecoder(emit),
);

/**
 * fflate's Gunzip does not check the member trailer, so a file cut inside its last 8 bytes would
 * pass: the CRC-32 and size are checked here (single-member files; several members are rare and
 * each is still inflated).
 */
class GzipDecoder implements Decoder {
  private readonly d: Gunzip;
  private ended = false;
  private members = 0;
  private crc = 0;
  private size = 0;
  private tail = new Uint8Array(0);

  constructor(emit: (c: Uint8Array) => void) {
    this.d = new Gunzip((data, final) => {
      if (data.length) {
        this.crc = crc32(this.crc, data);
        this.size += data.length;
        emit(data);
      }
      if (final) this.ended = true;
    });
    this.d.onmember = () => {
      this.members++;
    };
  }

  push(c: Uint8Array): void {
    if (c.length >= 8) this.tail = c.slice(c.length - 8);
    else {
      const j = new Uint8Array(this.tail.length + c.length);
      j.set(this.tail);
      j.set(c, this.tail.length);
      this.tail = j.slice(Math.max(0, j.length - 8));
    }
    this.d.push(c, false);
  }

  finish(): void {
    this.d.push(new Uint8Array(0), true);
    if (!this.ended) throw new Error('stream ends early');
    if (this.members > 1) return;
    const v = new DataView(this.tail.buffer, this.tail.byteOffset, this.tail.length);
    if (
      this.tail.length < 8 ||
      v.getUint32(0, true) !== this.crc ||
      v.getUint32(4, true) !== this.size % 2 ** 32
    ) {
      throw new Error('gzip trailer (CRC-32 and size) does not match the data');
    }
  }
}

/** zlib: CM=8, a window size deflate allows, and the header checksum (RFC 1950). */
export const zlibReader = codecReader(
  'zlib',
  'zlib',
  (h) =>
    h.length >= 2 &&
    ((h[0] as number) & 0x0f) === 8 &&
    (h[0] as number) >> 4 <= 7 &&
    (((h[0] as number) << 8) | (h[1] as number)) % 31 === 0,
  fflateDecoder(Unzlib),
);

/**
 * joblib < 0.10 compressed pickles: `ZF`, the hex length padded to 19 bytes, then a zlib stream
 * (`joblib.numpy_pickle_compat`, which current joblib still loads).
 */
export const joblibZfileReader: ContainerReader = {
  format: 'zlib',
  version: '1',
  detect: (h) =>
    h[0] === 0x5a &&
    h[1] === 0x46 &&
    h[2] === 0x30 &&
    h[3] === 0x78 &&
    (h[21] as number) >> 4 <= 7 &&
    ((h[21] as number) & 0x0f) === 8,
  async stream(reader, ctx) {
    await reader.skip(21);
    await (zlibReader.stream as NonNullable<ContainerReader['stream']>)(reader, ctx);
  },
};

export const lz4Reader = codecReader(
  'lz4',
  'lz4',
  (h) => h[0] === 0x04 && h[1] === 0x22 && h[2] === 0x4d && h[3] === 0x18,
  (emit) => new Lz4FrameDecoder(emit),
);

/** LZMA "alone" (.lzma): joblib's `compress='lzma'`. Properties byte ≤ 224, a power-of-two-ish dictionary. */
export const lzmaReader = codecReader(
  'xz',
  'lzma',
  (h) => {
    if (h.length < 13 || (h[0] as number) > 224) return false;
    const dict =
      ((h[1] as number) | ((h[2] as number) << 8) | ((h[3] as number) << 16) | ((h[4] as number) << 24)) >>>
      0;
    // Unknown size is all 0xff; a known size must be plausible (below 2^48).
    const sizeKnown = !h.subarray(5, 13).every((b) => b === 0xff);
    return (
      dict >= 4096 &&
      (dict & (dict - 1)) === 0 &&
      (!sizeKnown || ((h[11] as number) === 0 && (h[12] as number) === 0))
    );
  },
  (emit) => new LzmaAloneDecoder(emit),
);

export const bz2Reader = codecReader(
  'bz2',
  'bzip2',
  (h) =>
    h[0] === 0x42 &&
    h[1] === 0x5a &&
    h[2] === 0x68 &&
    (h[3] as number) >= 0x31 &&
    (h[3] as number) <= 0x39 &&
    h[4] === 0x31 &&
    h[5] === 0x41,
  (emit) => new Bzip2Decoder(emit),
);

/**
 * Drives unbzip2-stream's synchronous block decoder: it pulls bits through a callback, so a
 * block is only decoded once its whole compressed size (at most ~1 MB) is buffered.
 *
 * One header or block per {@link more} call, never several per {@link push}: bzip2 packs up to
 * ~46 MB of output into a block of a few dozen bytes (runs of equal bytes), so decoding every
 * buffered block at once turned a 26 KB file into gigabytes held before the first one was handed
 * on. Now at most one block's output is in memory, and the caller yields between blocks.
 */
export class Bzip2Decoder implements Decoder {
  private queue: Uint8Array[] = [];
  private have = 0;
  private bits: (((n: number | null) => number) & { bytesRead: number }) | undefined;
  private blockSize = 0;
  private crc: number | null = null;
  private streams = 0;
  private finished = false;
  private out = new Uint8Array(64 * 1024);
  private outLen = 0;
  // The BWT buffer of the current block size, reused across blocks (3.6 MB at level 9).
  private tt: Int32Array | undefined;

  constructor(private readonly emit: (c: Uint8Array) => void) {}

  push(chunk: Uint8Array): void {
    this.queue.push(chunk);
    this.have += chunk.length;
    this.bits ??= bitIterator(() => {
      const next = this.queue.shift();
      if (!next) throw new BrineError('bzip2-truncated', 'bzip2 data ends inside a block');
      return next;
    });
  }

  finish(): void {
    this.finished = true;
  }

  more(): boolean {
    const bits = this.bits;
    if (!bits) return false;
    const buffered = this.have - bits.bytesRead;
    if (this.finished ? buffered <= 0 : buffered + 1 < 25000 + 100000 * this.blockSize) return false;
    return this.block();
  }

  end(): void {
    if (this.crc !== null || this.blockSize !== 0)
      throw new BrineError('bzip2-truncated', 'bzip2 stream ends early');
    if (this.streams === 0) throw new BrineError('bzip2-truncated', 'empty bzip2 stream');
  }

  /** Decodes one header or block; false when the input is exhausted. */
  private block(): boolean {
    const bits = this.bits as NonNullable<typeof this.bits>;
    if (!this.blockSize) {
      if (this.have - bits.bytesRead < 4) return false;
      this.blockSize = bzip2.header(bits);
      this.crc = 0;
      return true;
    }
    const size = 100000 * this.blockSize;
    if (this.tt?.length !== size) this.tt = new Int32Array(size);
    else this.tt.fill(0);
    this.crc = bzip2.decompress(bits, (b) => this.write(b), this.tt, size, this.crc);
    this.flush();
    if (this.crc === null) {
      this.blockSize = 0;
      this.streams++;
      bits(null); // streams are byte-aligned
    }
    return true;
  }

  private write(b: number) {
    this.out[this.outLen++] = b;
    if (this.outLen === this.out.length) this.flush();
  }

  private flush() {
    if (!this.outLen) return;
    const c = this.out.slice(0, this.outLen);
    this.outLen = 0;
    this.emit(c);
  }
}

/**
 * Loaded on first use (it carries a WASM module). xz-decompress is CommonJS whose exports Node's
 * ESM loader cannot name: take the class from either shape (bundlers give named exports, Node
 * gives `default`).
 */
let xzClass: Promise<typeof xzModule.XzReadableStream> | undefined;
function loadXz(): Promise<typeof xzModule.XzReadableStream> {
  xzClass ??= import('xz-decompress').then(
    (m) =>
      (m as { XzReadableStream?: typeof xzModule.XzReadableStream }).XzReadableStream ??
      (m as unknown as { default: typeof xzModule }).default.XzReadableStream,
  );
  return xzClass;
}

/** xz through xz-decompress, which speaks web streams: feed it a pull stream over our reader. */
export const xzReader: ContainerReader = {
  format: 'xz',
  version: '1',
  detect: (h) =>
    h[0] === 0xfd && h[1] === 0x37 && h[2] === 0x7a && h[3] === 0x58 && h[4] === 0x5a && h[5] === 0,
  async stream(reader, ctx) {
    const entry = '[xz]';
    // xz-decompress decodes one stream at a time per JS realm: a module-wide lock is taken when a
    // stream starts and released only when it ends or is cancelled. An xz inside an xz would wait
    // for its parent forever, so it is reported instead of decoded.
    if (ctx.path.includes(entry)) {
      ctx.note({
        kind: 'problem',
        code: 'xz-nested',
        message: 'xz data inside xz data cannot be decoded (one xz stream at a time)',
      });
      return;
    }
    const chunks = xzChunks(reader, ctx.budget, entry);
    try {
      const out = chunkReader(entry, chunks);
      const inner = await ctx.nestedStream(out, entry, { role: 'xz data' });
      await drain(out); // a cut or corrupt tail is still an error, and the stream ends normally
      if (inner === 'unknown') notUnderstood(ctx, entry, 'xz');
    } finally {
      // A pickle ends at its STOP and leaves the rest unread: closing the generator cancels the
      // xz stream, which releases that lock. Left open, every later xz in this realm would hang.
      await chunks.return(undefined);
    }
  },
};

async function* xzChunks(reader: ForwardReader, budget: Budget, name: string): AsyncGenerator<Uint8Array> {
  const input = new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        const c = await reader.read(STEP);
        if (c.length) controller.enqueue(c);
        else controller.close();
      },
    },
    { highWaterMark: 1 },
  );
  const XzReadableStream = await loadXz();
  const out = new XzReadableStream(input).getReader();
  const slice = timeSlicer();
  try {
    for (;;) {
      await slice();
      let r: ReadableStreamReadResult<Uint8Array>;
      try {
        r = await out.read();
      } catch (e) {
        throw new BrineError(
          'xz-error',
          `xz data is corrupt or cut short: ${e instanceof Error ? e.message : String(e)}`,
          name,
        );
      }
      if (r.done) return;
      budget.chargeInflated(r.value.length, name);
      yield r.value;
    }
  } finally {
    await out.cancel().catch(() => {});
  }
}
