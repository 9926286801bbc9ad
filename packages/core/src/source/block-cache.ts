/**
 * A few aligned blocks kept in memory so the many small header reads of container parsing
 * (zip local headers, peeks at entry heads, the pickle scanner's first chunk) cost one fetch per
 * block instead of one per read. Reads of a whole block or more bypass it.
 */
export class BlockCache {
  private readonly blocks = new Map<number, Uint8Array>();

  constructor(
    private readonly fetchBlock: (offset: number, length: number) => Promise<Uint8Array>,
    private readonly size: number,
    readonly blockSize = 4 * 1024,
    private readonly maxBlocks = 64,
  ) {}

  /** Reads `[start, end)` (already clamped to the size) through the cache. */
  async read(start: number, end: number): Promise<Uint8Array> {
    // Big reads (pickle chunks, a zip directory) go straight through; only header-sized reads
    // are cached, in small blocks, so peeking at the head of 10 000 tensor entries stays cheap.
    if (end - start >= this.blockSize * 4) return this.fetchBlock(start, end - start);
    const first = Math.floor(start / this.blockSize);
    const last = Math.floor((end - 1) / this.blockSize);
    const parts: Uint8Array[] = [];
    for (let b = first; b <= last; b++) parts.push(await this.block(b));
    const base = first * this.blockSize;
    if (parts.length === 1) return (parts[0] as Uint8Array).subarray(start - base, end - base);
    const out = new Uint8Array(end - start);
    let o = 0;
    let pos = base;
    for (const p of parts) {
      const from = Math.max(start, pos);
      const to = Math.min(end, pos + p.length);
      if (to > from) {
        out.set(p.subarray(from - pos, to - pos), o);
        o += to - from;
      }
      pos += p.length;
    }
    return out.subarray(0, o);
  }

  private async block(index: number): Promise<Uint8Array> {
    const hit = this.blocks.get(index);
    if (hit) {
      this.blocks.delete(index);
      this.blocks.set(index, hit); // most recently used last
      return hit;
    }
    const off = index * this.blockSize;
    const data = await this.fetchBlock(off, Math.min(this.blockSize, this.size - off));
    this.blocks.set(index, data);
    if (this.blocks.size > this.maxBlocks) this.blocks.delete(this.blocks.keys().next().value as number);
    return data;
  }

  clear() {
    this.blocks.clear();
  }
}
