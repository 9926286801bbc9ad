import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BlockCache } from './block-cache.js';

describe('BlockCache', () => {
  it('returns exactly the bytes of the underlying data for any read sequence', async () => {
    const data = Uint8Array.from({ length: 50_000 }, (_, i) => (i * 13) & 0xff);
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(fc.nat(data.length), fc.nat(40_000)), { minLength: 1, maxLength: 30 }),
        async (reads) => {
          let fetched = 0;
          const cache = new BlockCache(
            async (o, l) => {
              fetched += l;
              return data.slice(o, o + l);
            },
            data.length,
            1024,
            3,
          );
          for (const [o, l] of reads) {
            const end = Math.min(data.length, o + l);
            if (end <= o) continue;
            const got = await cache.read(o, end);
            // compare as bytes (vitest's deep equality is slow on large typed arrays)
            expect(Buffer.compare(got, data.subarray(o, end))).toBe(0);
          }
          expect(fetched).toBeGreaterThanOrEqual(0);
        },
      ),
      { numRuns: 60 },
    );
  });
});
