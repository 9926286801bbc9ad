import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BrineError } from '../engine/types.js';
import { bufferSource } from './buffer.js';
import { openFileSource } from './file.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'brine-file-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('openFileSource', () => {
  it('reads ranges through a handle; small reads cost one small cached block, big ones exactly their size', async () => {
    const p = join(dir, 'a.bin');
    const size = 1 << 20;
    await writeFile(
      p,
      Uint8Array.from({ length: size }, (_, i) => i & 0xff),
    );
    const src = await openFileSource(p);
    expect(src.size).toBe(size);
    expect([...(await src.read(10, 3))]).toEqual([10, 11, 12]);
    expect(src.bytesRead).toBe(4096); // one block
    expect([...(await src.read(20, 2))]).toEqual([20, 21]);
    expect(src.bytesRead).toBe(4096); // same block, no new read
    const big = await src.read(500_000, 200_000);
    expect(big.length).toBe(200_000);
    expect(big[0]).toBe(500_000 & 0xff);
    expect(src.bytesRead).toBe(4096 + 200_000);
    expect((await src.read(size - 5, 100)).length).toBe(5);
    expect((await src.read(size + 10, 10)).length).toBe(0);
    await src.close();
    await expect(src.read(0, 1)).rejects.toMatchObject({ code: 'closed' });
  });

  it('maps missing files and directories to typed errors naming the path', async () => {
    const missing = join(dir, 'nope.pt');
    const e1 = await openFileSource(missing).catch((e: unknown) => e);
    expect(e1).toBeInstanceOf(BrineError);
    expect((e1 as BrineError).code).toBe('not-found');
    expect((e1 as BrineError).message).toContain('nope.pt');
    const e2 = await openFileSource(dir).catch((e: unknown) => e);
    expect((e2 as BrineError).code).toBe('is-directory');
  });
});

describe('bufferSource', () => {
  it('serves subarrays and clamps reads past the end', async () => {
    const src = bufferSource('mem', new Uint8Array([1, 2, 3, 4]));
    expect([...(await src.read(1, 2))]).toEqual([2, 3]);
    expect([...(await src.read(3, 10))]).toEqual([4]);
    expect((await src.read(-5, 2)).length).toBe(0);
    expect(src.bytesRead).toBe(3);
  });
});

describe('openFileSource bytesRead', () => {
  it('counts a region read twice once', async () => {
    const path = join(dir, 'reread.bin');
    await writeFile(path, new Uint8Array(100_000));
    const src = await openFileSource(path);
    await src.read(0, 100_000);
    await src.read(60_000, 40_000);
    await src.read(10, 20);
    expect(src.bytesRead).toBe(100_000);
    await src.close();
  });
});
