import { describe, expect, it } from 'vitest';
import { runInLanes } from './lanes.js';

describe('runInLanes', () => {
  it('runs every item, never more than the limit at once', async () => {
    const items = Array.from({ length: 20 }, (_, i) => i);
    let active = 0;
    let peak = 0;
    const done: number[] = [];
    await runInLanes(
      () => items.shift(),
      3,
      async (i) => {
        active += 1;
        peak = Math.max(peak, active);
        await new Promise((r) => setTimeout(r, (i * 7) % 5));
        done.push(i);
        active -= 1;
      },
    );
    expect(done.sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, i) => i));
    expect(peak).toBe(3);
  });

  it('stops pulling once next() says there is nothing left', async () => {
    let pulls = 0;
    await runInLanes(
      () => (pulls++ < 2 ? pulls : undefined),
      4,
      async () => {},
    );
    expect(pulls).toBeLessThanOrEqual(2 + 4);
  });
});
