import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { bufferSource, ReadCoverage } from './buffer.js';

describe('bufferSource', () => {
  it('counts re-read bytes once, so bytesRead never exceeds the size', async () => {
    const src = bufferSource('x.pkl', new Uint8Array(33));
    await src.read(0, 8);
    await src.read(0, 65536);
    await src.read(4, 10);
    expect(src.bytesRead).toBe(33);
  });

  it('does not count bytes it was never asked for', async () => {
    const src = bufferSource('x.bin', new Uint8Array(1000));
    await src.read(0, 10);
    await src.read(990, 100);
    expect(src.bytesRead).toBe(20);
  });
});

describe('ReadCoverage', () => {
  it('equals the size of the union of the ranges added, in any order', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat(200), fc.nat(50)), { maxLength: 40 }), (ranges) => {
        const cov = new ReadCoverage();
        const marked = new Uint8Array(260);
        for (const [start, len] of ranges) {
          cov.add(start, start + len);
          marked.fill(1, start, start + len);
        }
        expect(cov.total).toBe(marked.reduce((a, b) => a + b, 0));
      }),
    );
  });
});
