import { openAsBlob } from 'node:fs';
import { mkdtemp, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BrineError } from '../engine/types.js';
import { BrowserFileSource } from './browser-file.js';

const bytes = (n: number) => Uint8Array.from({ length: n }, (_, i) => (i * 7 + 3) & 0xff);

describe('BrowserFileSource', () => {
  it('reads exactly the requested ranges of a File and counts bytes read', async () => {
    const data = bytes(1000);
    const reads: Array<[number, number, number]> = [];
    const src = new BrowserFileSource(new File([data], 'model.pt'), {
      onRead: (o, l, t) => reads.push([o, l, t]),
    });
    expect(src.name).toBe('model.pt');
    expect(src.size).toBe(1000);
    expect(await src.read(10, 5)).toEqual(data.slice(10, 15));
    expect(await src.read(990, 100)).toEqual(data.slice(990, 1000));
    expect(src.bytesRead).toBe(15);
    expect(reads).toEqual([
      [10, 5, 5],
      [990, 10, 15],
    ]);
  });

  it('returns an empty array at or past the end, and for zero-length reads', async () => {
    const src = new BrowserFileSource(new Blob([bytes(4)]));
    expect(src.name).toBe('<blob>');
    expect((await src.read(4, 10)).length).toBe(0);
    expect((await src.read(400, 10)).length).toBe(0);
    expect((await src.read(1, 0)).length).toBe(0);
    expect(src.bytesRead).toBe(0);
  });

  it('prefers an explicit name', () => {
    expect(new BrowserFileSource(new File([], 'a.bin'), { name: 'dir/a.bin' }).name).toBe('dir/a.bin');
  });

  it('rejects invalid ranges with a typed error naming the file', async () => {
    const src = new BrowserFileSource(new File([bytes(8)], 'x.pkl'));
    for (const [o, l] of [
      [-1, 2],
      [0, -2],
      [1.5, 2],
      [0, Number.NaN],
    ] as const) {
      const err = await src.read(o, l).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(BrineError);
      expect((err as BrineError).code).toBe('bad-range');
      expect((err as BrineError).message).toContain('x.pkl');
    }
  });

  it('maps a failing blob read (file changed after picking) to a read-failed BrineError', async () => {
    const failing = {
      size: 100,
      name: 'gone.pt',
      slice: () => ({
        arrayBuffer: () => Promise.reject(new DOMException('file changed', 'NotReadableError')),
      }),
    } as unknown as Blob;
    const err = await new BrowserFileSource(failing).read(10, 4).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BrineError);
    expect((err as BrineError).code).toBe('read-failed');
    expect((err as BrineError).offset).toBe(10);
    expect((err as BrineError).message).toMatch(/gone\.pt.*NotReadableError/);
  });

  it('reports a short read instead of returning fewer bytes than exist', async () => {
    const shrunk = {
      size: 100,
      slice: () => ({ arrayBuffer: () => Promise.resolve(new ArrayBuffer(2)) }),
    } as unknown as Blob;
    const err = await new BrowserFileSource(shrunk, { name: 's' }).read(0, 10).catch((e: unknown) => e);
    expect((err as BrineError).code).toBe('read-failed');
  });

  it('refuses reads after close', async () => {
    const src = new BrowserFileSource(new Blob([bytes(8)]));
    await src.close();
    await expect(src.read(0, 1)).rejects.toMatchObject({ code: 'source-closed' });
  });

  it('reads past 2 GiB of a file-backed Blob without loading the file', async () => {
    // A sparse 3.5 GiB file costs no disk; offsets above 2^31 must survive and only the slice is fetched.
    // (Node 20's openAsBlob wraps sizes at 4 GiB, a Node bug, so the file stays below that.)
    const dir = await mkdtemp(join(tmpdir(), 'brine-blob-'));
    try {
      const path = join(dir, 'big.bin');
      const fh = await open(path, 'w');
      const at = 3 * 2 ** 30;
      await fh.write(Buffer.from('PICKLE'), 0, 6, at);
      await fh.truncate(3.5 * 2 ** 30);
      await fh.close();
      const src = new BrowserFileSource(await openAsBlob(path), { name: 'big.bin' });
      expect(src.size).toBe(3.5 * 2 ** 30);
      expect(new TextDecoder().decode(await src.read(at, 6))).toBe('PICKLE');
      expect(await src.read(3.5 * 2 ** 30 - 2, 8)).toEqual(new Uint8Array(2));
      expect(src.bytesRead).toBe(8);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
