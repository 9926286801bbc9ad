import { describe, expect, it } from 'vitest';
import { createProgress } from './progress.js';

function fakeStream() {
  const writes: string[] = [];
  return { writes, stream: { write: (s: string) => writes.push(s) } as unknown as NodeJS.WriteStream };
}

describe('createProgress', () => {
  it('stays silent for short scans and when disabled', () => {
    let t = 0;
    const { writes, stream } = fakeStream();
    const p = createProgress(10, stream, true, 1000, () => t);
    t = 500;
    p.update(5, 100);
    p.stop();
    const off = createProgress(10, stream, false, 0, () => 5000);
    off.update(5, 100);
    off.stop();
    expect(writes).toEqual([]);
  });

  it('draws a bar after the delay, at most every 100 ms, and erases it at the end', () => {
    let t = 0;
    const { writes, stream } = fakeStream();
    const p = createProgress(4, stream, true, 1000, () => t);
    t = 1200;
    p.update(2, 3 * 1024 * 1024);
    t = 1250;
    p.update(3, 4 * 1024 * 1024);
    t = 1400;
    p.update(4, 5 * 1024 * 1024);
    p.stop();
    expect(writes).toEqual([
      '\r\u001b[K[############............] 2/4 files, 3.0 MiB',
      '\r\u001b[K[########################] 4/4 files, 5.0 MiB',
      '\r\u001b[K',
    ]);
  });
});
