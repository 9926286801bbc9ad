import type { ByteSource } from './types.js';

/**
 * A source over bytes already in memory (a test fixture, an upload body, a decompressed entry).
 * `bytesRead` counts the distinct bytes the stages after it looked at (re-reads of a header count
 * once), so "bytes read of file bytes" never exceeds 100% and still shows skipped tensor data.
 */
export function bufferSource(name: string, bytes: Uint8Array): ByteSource {
  const seen = new ReadCoverage();
  return {
    name,
    size: bytes.length,
    get bytesRead() {
      return seen.total;
    },
    async read(offset: number, length: number): Promise<Uint8Array> {
      const start = clampOffset(offset, bytes.length);
      const end = Math.min(bytes.length, start + Math.max(0, Math.floor(length)));
      seen.add(start, end);
      return bytes.subarray(start, end);
    },
    async close() {},
  };
}

/** The union of byte ranges read so far, as sorted disjoint intervals. */
export class ReadCoverage {
  private readonly starts: number[] = [];
  private readonly ends: number[] = [];
  total = 0;

  add(start: number, end: number): void {
    if (end <= start) return;
    // First interval that ends at or after `start` (it may touch or overlap the new one).
    let lo = 0;
    let hi = this.ends.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.ends[mid] as number) < start) lo = mid + 1;
      else hi = mid;
    }
    let last = lo;
    let s = start;
    let e = end;
    while (last < this.starts.length && (this.starts[last] as number) <= end) {
      s = Math.min(s, this.starts[last] as number);
      e = Math.max(e, this.ends[last] as number);
      this.total -= (this.ends[last] as number) - (this.starts[last] as number);
      last++;
    }
    this.starts.splice(lo, last - lo, s);
    this.ends.splice(lo, last - lo, e);
    this.total += e - s;
  }
}

/** Offsets outside the input read nothing rather than throwing: readers check lengths themselves. */
export function clampOffset(offset: number, size: number): number {
  if (!Number.isFinite(offset) || offset < 0) return size;
  return Math.min(Math.floor(offset), size);
}
