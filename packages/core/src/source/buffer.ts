import type { ByteSource } from './types.js';

/**
 * A source over bytes already in memory (a test fixture, an upload body, a decompressed entry).
 * `bytesRead` still counts what the stages after it asked for, so reports stay comparable.
 */
export function bufferSource(name: string, bytes: Uint8Array): ByteSource {
  let bytesRead = 0;
  return {
    name,
    size: bytes.length,
    get bytesRead() {
      return bytesRead;
    },
    async read(offset: number, length: number): Promise<Uint8Array> {
      const start = clampOffset(offset, bytes.length);
      const end = Math.min(bytes.length, start + Math.max(0, Math.floor(length)));
      bytesRead += end - start;
      return bytes.subarray(start, end);
    },
    async close() {},
  };
}

/** Offsets outside the input read nothing rather than throwing: readers check lengths themselves. */
export function clampOffset(offset: number, size: number): number {
  if (!Number.isFinite(offset) || offset < 0) return size;
  return Math.min(Math.floor(offset), size);
}
