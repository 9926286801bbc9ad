import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { bufferSource } from '../source/buffer.js';
import { findEocdCandidates } from './zip.js';

const SIG = [0x50, 0x4b, 0x05, 0x06];

/** Every offset, last first, where an end record (22 bytes) could start: the plain definition. */
function naive(bytes: Uint8Array): number[] {
  const at: number[] = [];
  for (let i = bytes.length - 22; i >= 0; i--) {
    if (SIG.every((b, k) => bytes[i + k] === b)) at.push(i);
  }
  return at;
}

describe('findEocdCandidates', () => {
  it('finds exactly the end-record signatures a byte-by-byte search finds, last first', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uint8Array({ maxLength: 300 }),
        fc.array(fc.nat(300), { maxLength: 4 }),
        async (noise, places) => {
          const bytes = Uint8Array.from(noise, (b) => (b % 3 === 0 ? 0x50 : b));
          for (const p of places) if (p + 4 <= bytes.length) bytes.set(SIG, p);
          const { at } = await findEocdCandidates(bufferSource('x.zip', bytes));
          expect(at).toEqual(naive(bytes));
        },
      ),
      { numRuns: 300 },
    );
  });
});
