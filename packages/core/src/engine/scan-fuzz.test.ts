import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fixture, manifest } from '../container/test-support/fixtures.js';
import { bufferSource } from '../source/buffer.js';
import { scan } from './scan.js';

// Small fixtures only, so each run stays fast on 2 cores.
const files = manifest()
  .map((m) => m.file)
  .filter((f) => fixture(f).length <= 12 * 1024);

describe('scan() on damaged containers', () => {
  it('never throws, never hits an internal error, and always returns a result for its file', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...files),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 8 }),
        fc.option(fc.nat(), { nil: undefined }),
        async (file, flips, cut) => {
          const bytes = fixture(file).slice();
          for (const [at, value] of flips) bytes[at % bytes.length] = value;
          const input = cut === undefined ? bytes : bytes.subarray(0, cut % (bytes.length + 1));
          const r = await scan(bufferSource(file, input), { limits: { maxInflatedBytes: 64 * 1024 * 1024 } });
          expect(r.file).toBe(file);
          expect(r.problems.filter((p) => p.code === 'internal-error')).toEqual([]);
        },
      ),
      { numRuns: 300, seed: 20261125 },
    );
  });
});
