import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ConvertError } from './refusal.js';
import {
  collapseDims,
  copyStrided,
  elementCount,
  exactRead,
  type StridedView,
  viewExtent,
} from './strided-copy.js';

/** The obvious element-by-element gather, to compare the blocked copy against. */
function naive(storage: Uint8Array, v: StridedView): Uint8Array {
  const n = elementCount(v.shape);
  const out = new Uint8Array(n * v.itemSize);
  const idx = new Array(v.shape.length).fill(0);
  for (let e = 0; e < n; e++) {
    let at = v.storageOffset;
    for (let d = 0; d < idx.length; d++) at += idx[d] * (v.stride[d] as number);
    out.set(storage.subarray(at * v.itemSize, (at + 1) * v.itemSize), e * v.itemSize);
    for (let d = idx.length - 1; d >= 0; d--) {
      if (++idx[d] < (v.shape[d] as number)) break;
      idx[d] = 0;
    }
  }
  return out;
}

async function run(
  storage: Uint8Array,
  v: StridedView,
  chunkBytes: number,
  windowBytes: number,
  misalign = false,
) {
  let reads = 0;
  let maxRead = 0;
  const read = exactRead(
    async (o, n) => {
      reads++;
      maxRead = Math.max(maxRead, n);
      if (!misalign) return storage.slice(o, o + n);
      // Sources may hand back views at odd byte offsets: the word-wise copy must notice.
      const b = new Uint8Array(n + 1);
      b.set(storage.subarray(o, o + n), 1);
      return b.subarray(1);
    },
    'test',
    'storage',
  );
  const parts: Uint8Array[] = [];
  for await (const c of copyStrided(v, read, { chunkBytes, windowBytes })) parts.push(c);
  return { out: new Uint8Array(Buffer.concat(parts)), reads, maxRead };
}

const viewArb = fc
  .record({
    itemSize: fc.constantFrom(1, 2, 4, 8, 16),
    shape: fc.array(fc.integer({ min: 0, max: 5 }), { maxLength: 4 }),
    strideSeed: fc.array(fc.integer({ min: 0, max: 7 }), { minLength: 4, maxLength: 4 }),
    storageOffset: fc.integer({ min: 0, max: 9 }),
    chunkBytes: fc.constantFrom(16, 32, 48, 4096),
    windowBytes: fc.constantFrom(16, 40, 100, 1 << 20),
    misalign: fc.boolean(),
  })
  .map(({ shape, strideSeed, ...rest }) => ({
    ...rest,
    shape,
    stride: shape.map((_, i) => strideSeed[i] as number),
  }));

describe('copyStrided', () => {
  it('equals an element-by-element gather for any shape, stride, offset, chunk and window', async () => {
    await fc.assert(
      fc.asyncProperty(viewArb, async ({ chunkBytes, windowBytes, misalign, ...view }) => {
        const numel = elementCount(view.shape);
        const storageElems = view.storageOffset + (numel ? viewExtent(view.shape, view.stride) + 1 : 0);
        const storage = Uint8Array.from(
          { length: storageElems * view.itemSize },
          (_, i) => (i * 37 + 11) & 0xff,
        );
        const { out } = await run(storage, view, chunkBytes, windowBytes, misalign);
        expect(Buffer.from(out).equals(Buffer.from(naive(storage, view)))).toBe(true);
      }),
      { numRuns: 400 },
    );
  });

  it('streams a contiguous view in chunk-sized reads', async () => {
    const storage = Uint8Array.from({ length: 4000 }, (_, i) => i & 0xff);
    const view = { itemSize: 4, storageOffset: 10, shape: [20, 45], stride: [45, 1] };
    const { out, reads, maxRead } = await run(storage, view, 512, 1 << 20);
    expect(out).toEqual(storage.subarray(40, 40 + 3600));
    expect(maxRead).toBe(512);
    expect(reads).toBe(Math.ceil(3600 / 512));
  });

  it('never reads more than the window at once for a transposed view', async () => {
    const rows = 64;
    const cols = 48;
    const storage = Uint8Array.from({ length: rows * cols * 2 }, (_, i) => (i * 7) & 0xff);
    const view = { itemSize: 2, storageOffset: 0, shape: [cols, rows], stride: [1, cols] };
    const { out, maxRead } = await run(storage, view, 64, 512);
    expect(Buffer.from(out).equals(Buffer.from(naive(storage, view)))).toBe(true);
    expect(maxRead).toBeLessThanOrEqual(512);
  });

  it('merges back-to-back dimensions and drops size-1 ones', () => {
    expect(collapseDims([2, 1, 3, 4], [12, 99, 4, 1])).toEqual({ shape: [24], stride: [1] });
    expect(collapseDims([3, 2], [1, 3])).toEqual({ shape: [3, 2], stride: [1, 3] });
  });

  it('turns a short read into a convert-io error', async () => {
    const read = exactRead(async () => new Uint8Array(3), 'f.pt', 'storage 0');
    const it = copyStrided({ itemSize: 4, storageOffset: 0, shape: [2], stride: [1] }, read);
    await expect(it.next()).rejects.toThrow(ConvertError);
  });
});
