import { clampOffset } from './buffer.js';
import type { ByteSource } from './types.js';

/**
 * The sequential form of a source: read forward, skip forward. Pickles, tar archives, npy files,
 * legacy torch files and joblib files are all read front to back, so their readers take this and
 * work the same over a file (where a skip is a free seek) and over a decompressing stream (where a
 * skip decodes and drops bytes, in bounded memory).
 */
export interface ForwardReader {
  readonly name: string;
  /** Bytes consumed (read or skipped) so far. */
  readonly position: number;
  /** Total length when known (random-access sources); undefined for decompressed streams. */
  readonly size: number | undefined;
  /** Reads up to `n` bytes; fewer only at end of input. */
  read(n: number): Promise<Uint8Array>;
  /** Looks at up to `n` bytes without consuming them. */
  peek(n: number): Promise<Uint8Array>;
  /** Skips up to `n` bytes without keeping them; returns how many were skipped. */
  skip(n: number): Promise<number>;
  /** Offset of `position` in the underlying random-access source, when there is one. */
  sourceOffset(): number | undefined;
  /**
   * Gives back the last `bytes.length` bytes read, so the next read returns them again (the pickle
   * scanner stops mid-chunk at a STOP; the next reader of the stream starts right after it).
   */
  unread(bytes: Uint8Array): void;
  /**
   * A fresh reader over the same bytes from the start, when they can be read again (random-access
   * sources, zip entries). Used to scan a pickle a second way (FRAME readings that differ).
   */
  restart?(): ForwardReader;
}

/** Forward reader over `[start, end)` of a random-access source; skipping costs no I/O. */
export function sourceReader(
  source: ByteSource,
  start = 0,
  end = source.size,
  name = source.name,
): ForwardReader {
  const lo = clampOffset(start, source.size);
  const hi = Math.max(lo, Math.min(end, source.size));
  let pos = lo;
  return {
    name,
    get position() {
      return pos - lo;
    },
    size: hi - lo,
    async read(n) {
      const data = await source.read(pos, Math.min(n, hi - pos));
      pos += data.length;
      return data;
    },
    async peek(n) {
      return source.read(pos, Math.min(n, hi - pos));
    },
    async skip(n) {
      const k = Math.max(0, Math.min(n, hi - pos));
      pos += k;
      return k;
    },
    sourceOffset: () => pos,
    unread(bytes) {
      pos = Math.max(lo, pos - bytes.length);
    },
    restart: () => sourceReader(source, lo, hi, name),
  };
}

/** Forward reader over an async sequence of chunks (a decompressor's output, a request body). */
export function chunkReader(name: string, chunks: AsyncIterable<Uint8Array>): ForwardReader {
  const it = chunks[Symbol.asyncIterator]();
  const pending: Uint8Array[] = [];
  let pendingLen = 0;
  let done = false;
  let pos = 0;

  const fill = async (n: number) => {
    while (pendingLen < n && !done) {
      const r = await it.next();
      if (r.done) {
        done = true;
        break;
      }
      if (r.value.length) {
        pending.push(r.value);
        pendingLen += r.value.length;
      }
    }
  };
  const take = (n: number, keep: boolean): Uint8Array => {
    const k = Math.min(n, pendingLen);
    const out = keep ? new Uint8Array(k) : undefined;
    let got = 0;
    while (got < k) {
      const head = pending[0] as Uint8Array;
      const m = Math.min(head.length, k - got);
      out?.set(head.subarray(0, m), got);
      got += m;
      if (m === head.length) pending.shift();
      else pending[0] = head.subarray(m);
    }
    pendingLen -= k;
    return out ?? new Uint8Array(0);
  };

  return {
    name,
    get position() {
      return pos;
    },
    size: undefined,
    async read(n) {
      await fill(n);
      const out = take(n, true);
      pos += out.length;
      return out;
    },
    async peek(n) {
      await fill(n);
      const k = Math.min(n, pendingLen);
      const out = new Uint8Array(k);
      let got = 0;
      for (const c of pending) {
        if (got >= k) break;
        const m = Math.min(c.length, k - got);
        out.set(c.subarray(0, m), got);
        got += m;
      }
      return out;
    },
    async skip(n) {
      let skipped = 0;
      // Drop data as it arrives so a multi-GB skip never holds more than one chunk.
      while (skipped < n) {
        if (pendingLen === 0) {
          await fill(1);
          if (pendingLen === 0) break;
        }
        const k = Math.min(n - skipped, pendingLen);
        take(k, false);
        skipped += k;
      }
      pos += skipped;
      return skipped;
    },
    sourceOffset: () => undefined,
    unread(bytes) {
      if (!bytes.length) return;
      pending.unshift(bytes);
      pendingLen += bytes.length;
      pos -= bytes.length;
    },
  };
}

/** Reads everything left in a forward reader, refusing to hold more than `max` bytes. */
export async function readAll(
  reader: ForwardReader,
  max: number,
): Promise<{ bytes: Uint8Array; complete: boolean }> {
  const parts: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const chunk = await reader.read(Math.min(1 << 20, max + 1 - total));
    if (chunk.length === 0) break;
    parts.push(chunk);
    total += chunk.length;
    if (total > max) return { bytes: concat(parts, max), complete: false };
  }
  return { bytes: concat(parts, total), complete: true };
}

/** Joins chunks into one array of at most `limit` bytes. */
export function concat(parts: Uint8Array[], limit = Number.POSITIVE_INFINITY): Uint8Array {
  if (parts.length === 1 && (parts[0] as Uint8Array).length <= limit) return parts[0] as Uint8Array;
  let n = 0;
  for (const p of parts) n += p.length;
  n = Math.min(n, limit);
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    if (o >= n) break;
    const m = Math.min(p.length, n - o);
    out.set(p.subarray(0, m), o);
    o += m;
  }
  return out;
}

/** A random-access view of `[start, start + length)` of another source (a stored zip entry). */
export function sliceSource(source: ByteSource, start: number, length: number, name: string): ByteSource {
  const lo = clampOffset(start, source.size);
  const size = Math.max(0, Math.min(length, source.size - lo));
  let bytesRead = 0;
  return {
    name,
    size,
    get bytesRead() {
      return bytesRead;
    },
    async read(offset, len) {
      const s = clampOffset(offset, size);
      const data = await source.read(lo + s, Math.min(Math.max(0, len), size - s));
      bytesRead += data.length;
      return data;
    },
    async close() {},
  };
}

/** The next `length` bytes of `reader` as a reader of its own (a tar member, a joblib array). */
export function limitReader(reader: ForwardReader, length: number, name: string): ForwardReader {
  const start = reader.position;
  const left = () => Math.max(0, length - (reader.position - start));
  return {
    name,
    get position() {
      return reader.position - start;
    },
    size: reader.size === undefined ? undefined : Math.min(length, reader.size - start),
    read: (n) => reader.read(Math.min(n, left())),
    peek: (n) => reader.peek(Math.min(n, left())),
    skip: (n) => reader.skip(Math.min(n, left())),
    sourceOffset: () => reader.sourceOffset(),
    unread: (bytes) => reader.unread(bytes),
  };
}
