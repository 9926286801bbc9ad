import { open } from 'node:fs/promises';
import { BrineError } from '../engine/types.js';
import { BlockCache } from './block-cache.js';
import { clampOffset, ReadCoverage } from './buffer.js';
import type { ByteSource } from './types.js';

/**
 * Opens a local file for random access through one file handle. Nothing is read up front:
 * readers ask for the few ranges they need (a zip directory, a pickle), so a 40 GB checkpoint
 * costs a few kilobytes of I/O.
 *
 * @throws BrineError `not-found`, `is-directory` or `unreadable`.
 */
export async function openFileSource(path: string): Promise<ByteSource> {
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    handle = await open(path, 'r');
  } catch (e) {
    throw fileError(e, path);
  }
  let size: number;
  try {
    const st = await handle.stat();
    if (st.isDirectory()) throw new BrineError('is-directory', 'is a directory, not a file', path);
    size = st.size;
  } catch (e) {
    await handle.close().catch(() => {});
    throw e instanceof BrineError ? e : fileError(e, path);
  }
  const seen = new ReadCoverage();
  let closed = false;
  const fetch = async (start: number, want: number): Promise<Uint8Array> => {
    const out = new Uint8Array(want);
    let got = 0;
    while (got < want) {
      let n: number;
      try {
        ({ bytesRead: n } = await handle.read(out, got, want - got, start + got));
      } catch (e) {
        throw new BrineError(
          'unreadable',
          `read failed at offset ${start + got}: ${message(e)}`,
          path,
          start + got,
        );
      }
      if (n === 0) break; // the file shrank while we read it
      got += n;
    }
    seen.add(start, start + got);
    return got === want ? out : out.subarray(0, got);
  };
  const cache = new BlockCache(fetch, size);
  return {
    name: path,
    size,
    get bytesRead() {
      return seen.total;
    },
    async read(offset: number, length: number): Promise<Uint8Array> {
      if (closed) throw new BrineError('closed', 'read after close', path, offset);
      const start = clampOffset(offset, size);
      const end = Math.min(size, start + Math.max(0, Math.floor(length)));
      if (end <= start) return new Uint8Array(0);
      return cache.read(start, end);
    },
    async close() {
      if (closed) return;
      closed = true;
      cache.clear();
      await handle.close();
    },
  };
}

function fileError(e: unknown, path: string): BrineError {
  const code = (e as { code?: string }).code;
  if (code === 'ENOENT') return new BrineError('not-found', 'no such file', path);
  if (code === 'EISDIR') return new BrineError('is-directory', 'is a directory, not a file', path);
  return new BrineError('unreadable', `cannot open: ${message(e)}`, path);
}

function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
