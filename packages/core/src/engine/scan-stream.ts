import { readZipStream } from '../container/zip-stream.js';
import { bufferSource } from '../source/buffer.js';
import { chunkReader, concat } from '../source/stream.js';
import type { EngineLimits } from './limits.js';
import { scan, scanForward } from './scan.js';
import { BrineError, type FileScan } from './types.js';

/** Options for {@link scanStream}. */
export interface ScanStreamOptions {
  /** Shown in the report (`?filename=` of an upload, `<stdin>`). */
  name: string;
  /** Total size when the sender declared it (Content-Length); only used for reporting and detection. */
  size?: number;
  /**
   * Inputs up to this many bytes are collected and scanned exactly as a file would be (random
   * access: every check). Larger ones are scanned as they stream, in memory bounded by this and the
   * engine's windows. Default 16 MiB.
   */
  bufferLimit?: number;
  /** Engine limits; `maxBufferedBytes` (nested random-access containers in a stream) defaults to 32 MiB here. */
  limits?: Partial<EngineLimits>;
  signal?: AbortSignal;
}

/** Formats read as zip archives: for them an end record at the end is expected, not a polyglot. */
const ZIP_FAMILY: ReadonlySet<string> = new Set([
  'zip',
  'pytorch-zip',
  'torchscript',
  'torch-package',
  'npz',
]);

/** Bytes at the end of a stream kept to look for a zip end record (a pickle/zip polyglot). */
const TAIL = 0xffff + 22;

/**
 * Scans a model file that arrives as a stream (an HTTP upload, stdin) without holding it in memory.
 *
 * Small inputs are buffered and given to {@link scan}, so they get every check a file gets. Larger
 * ones are read once, front to back: raw pickles (and joblib, npy, legacy torch, tar, compressed
 * wrappers) stream straight through the incremental scanner; zip archives are walked by their local
 * headers, scanning pickle entries as they pass and dropping tensor bytes, then checked against the
 * central directory when it arrives at the end. Checks a stream cannot make (bytes the directory
 * points to that already went by; a zip hidden at the end of a pickle) are reported as problems,
 * so such a file is never called clean.
 */
export async function scanStream(
  body: ReadableStream<Uint8Array> | AsyncIterable<Uint8Array>,
  options: ScanStreamOptions,
): Promise<FileScan> {
  const bufferLimit = options.bufferLimit ?? 16 * 1024 * 1024;
  const limits: Partial<EngineLimits> = { maxBufferedBytes: 32 * 1024 * 1024, ...options.limits };
  const signal = options.signal;
  const iterator = chunks(body, signal);

  // Collect up to the buffer limit: most models are small, and a buffered file gets random access.
  const head: Uint8Array[] = [];
  let buffered = 0;
  let ended = false;
  while (buffered <= bufferLimit) {
    const next = await iterator.next();
    if (next.done) {
      ended = true;
      break;
    }
    head.push(next.value);
    buffered += next.value.length;
  }
  if (ended) {
    return scan(bufferSource(options.name, concat(head)), { limits, ...(signal ? { signal } : {}) });
  }

  // Too large to hold: replay what was collected, then the rest, through one forward reader,
  // keeping only the last 64 KiB to check for a zip end record afterwards.
  let total = 0;
  // The last chunks, by reference (no copying on the hot path), holding at least TAIL bytes.
  const recent: Uint8Array[] = [];
  let recentBytes = 0;
  async function* rest(): AsyncGenerator<Uint8Array> {
    const keep = (c: Uint8Array) => {
      total += c.length;
      recent.push(c);
      recentBytes += c.length;
      while (recent.length > 1 && recentBytes - (recent[0] as Uint8Array).length >= TAIL) {
        recentBytes -= (recent.shift() as Uint8Array).length;
      }
      return c;
    };
    while (head.length) yield keep(head.shift() as Uint8Array);
    for (;;) {
      const next = await iterator.next();
      if (next.done) return;
      yield keep(next.value);
    }
  }
  const reader = chunkReader(options.name, rest());
  const result = await scanForward(reader, {
    name: options.name,
    ...(options.size !== undefined ? { size: options.size } : {}),
    limits,
    ...(signal ? { signal } : {}),
    streamReaders: { zip: readZipStream },
  });
  // Whatever the reader left unread still has to arrive (and be counted) before the end record
  // can be looked for.
  await reader.skip(Number.POSITIVE_INFINITY);
  result.size = total;
  if (!ZIP_FAMILY.has(result.format)) {
    const tail = concat(recent).subarray(Math.max(0, recentBytes - TAIL));
    const at = lastEocd(tail);
    if (at !== undefined) {
      const offset = total - tail.length + at;
      result.containerFindings.push({
        code: 'polyglot-zip',
        message: `stream reads as ${result.format} from offset 0 and also ends with a zip archive`,
        path: [options.name],
        offset,
        evidence: { format: result.format, eocdOffset: offset },
      });
      result.problems.push({
        code: 'stream-polyglot-unscanned',
        message:
          'the zip at the end of this stream needs random access to be read, and its bytes had already streamed past; scan the file itself to check it',
        path: [options.name],
        offset,
      });
    }
  }
  return result;
}

function lastEocd(tail: Uint8Array): number | undefined {
  for (let i = tail.length - 22; i >= 0; i--) {
    if (tail[i] === 0x50 && tail[i + 1] === 0x4b && tail[i + 2] === 5 && tail[i + 3] === 6) return i;
  }
  return undefined;
}

/** Iterates a body's chunks; an abort cancels the body so a stalled upload does not hold the reader. */
async function* chunks(
  body: ReadableStream<Uint8Array> | AsyncIterable<Uint8Array>,
  signal: AbortSignal | undefined,
): AsyncGenerator<Uint8Array> {
  if (!(body instanceof ReadableStream)) {
    for await (const c of body) {
      if (signal?.aborted) throw new BrineError('aborted', 'scan aborted');
      if (c.length) yield c;
    }
    return;
  }
  const reader = body.getReader();
  const onAbort = () => {
    reader.cancel(signal?.reason).catch(() => {});
  };
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    for (;;) {
      if (signal?.aborted) throw new BrineError('aborted', 'scan aborted');
      const { done, value } = await reader.read();
      if (done) return;
      if (value.length) yield value;
    }
  } finally {
    signal?.removeEventListener('abort', onAbort);
    reader.releaseLock();
  }
}
