import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { BrineError } from '../engine/types.js';
import { bufferSource } from '../source/buffer.js';
import { sourceReader } from '../source/stream.js';
import {
  Bzip2Decoder,
  bz2Reader,
  decode,
  gzipReader,
  lz4Reader,
  lzmaReader,
  xzReader,
  zlibReader,
} from './compressed.js';
import { fixture, recordingContext, testBudget } from './test-support/fixtures.js';
import type { ContainerReader } from './types.js';

async function decompress(reader: ContainerReader, bytes: Uint8Array, budget = testBudget()) {
  const { ctx, nested } = recordingContext(budget);
  expect(reader.detect(bytes.subarray(0, 512), bytes.length)).toBe(true);
  await (reader.stream as NonNullable<ContainerReader['stream']>)(
    sourceReader(bufferSource('t', bytes)),
    ctx,
  );
  expect(nested).toHaveLength(1);
  return (nested[0] as { bytes: Uint8Array }).bytes;
}

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const vectors = JSON.parse(new TextDecoder().decode(fixture('codec-vectors.json'))) as {
  sha256: string;
  length: number;
};

describe('codecs', () => {
  it.each([
    ['codec-text.lzma', lzmaReader],
    ['codec-text-lp.lzma', lzmaReader],
    ['codec-text.lz4', lz4Reader],
    ['codec-text.bz2', bz2Reader],
    ['codec-text.xz', xzReader],
    ['codec-text.gz', gzipReader],
  ] as const)('%s decodes to the original 150 kB text', async (name, reader) => {
    const out = await decompress(reader, fixture(name));
    expect(out.length).toBe(vectors.length);
    expect(sha(out)).toBe(vectors.sha256);
  });

  it('decodes every joblib compression to the same pickle stream', async () => {
    const pairs = [
      ['zlib', zlibReader],
      ['gzip', gzipReader],
      ['bz2', bz2Reader],
      ['lzma', lzmaReader],
      ['xz', xzReader],
      ['lz4', lz4Reader],
    ] as const;
    const outs = await Promise.all(pairs.map(([c, r]) => decompress(r, fixture(`joblib-evil.joblib.${c}`))));
    const first = outs[0] as Uint8Array;
    expect(first[0]).toBe(0x80);
    expect(new TextDecoder('latin1').decode(first)).toContain('NumpyArrayWrapper');
    for (const o of outs) expect(sha(o)).toBe(sha(first));
  });

  it('decodes single-pickle wrappers byte for byte', async () => {
    const evil = fixture('evil.pkl');
    for (const [name, r] of [
      ['evil.pkl.bz2', bz2Reader],
      ['evil.pkl.xz', xzReader],
      ['evil.pkl.zlib', zlibReader],
    ] as const) {
      expect(await decompress(r, fixture(name))).toEqual(evil);
    }
  });

  it('stops a decompression bomb at the inflate budget', async () => {
    const budget = testBudget(1024 * 1024);
    const e = await decompress(gzipReader, fixture('bomb.pkl.gz'), budget).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(BrineError);
    expect((e as BrineError).code).toBe('limit-inflate');
    expect(budget.inflated).toBeLessThan(40 * 1024 * 1024);
  });

  it('decodes a bzip2 bomb block by block: output is handed on as it comes, and timers still run', async () => {
    // 26 KB that expands to 33 GiB of zeros (fixtures/generators/bombs.py). The old decoder
    // decoded every buffered block on each push, holding gigabytes before handing anything on.
    const bytes = new Uint8Array(
      readFileSync(new URL('../../../../fixtures/bombs/zeros-33g.bz2', import.meta.url)),
    );
    const budget = testBudget(128 * 1024 * 1024);
    let pending = 0;
    let maxPending = 0;
    let received = 0;
    const make = (emit: (c: Uint8Array) => void) =>
      new Bzip2Decoder((c) => {
        pending += c.length;
        emit(c);
      });
    let timerRan = false;
    setTimeout(() => {
      timerRan = true;
    }, 0);
    let timerRanBeforeEnd = false;
    const e = await (async () => {
      for await (const c of decode(
        sourceReader(bufferSource('bomb', bytes)),
        make,
        budget,
        'bomb',
        'bzip2',
      )) {
        maxPending = Math.max(maxPending, pending);
        pending -= c.length;
        received += c.length;
        timerRanBeforeEnd ||= timerRan;
      }
    })().catch((x: unknown) => x);
    expect((e as BrineError).code).toBe('limit-inflate');
    // Whole blocks reached the consumer before the budget ran out...
    expect(received).toBeGreaterThan(64 * 1024 * 1024);
    // ...never more than one block's output (at most ~46 MB of runs) waiting in memory...
    expect(maxPending).toBeLessThanOrEqual(48 * 1024 * 1024);
    // ...and the event loop got turns while it decoded.
    expect(timerRanBeforeEnd).toBe(true);
  });

  it.each([
    ['codec-text.lzma', lzmaReader, 'lzma-error'],
    ['codec-text.lz4', lz4Reader, 'lz4-error'],
    ['codec-text.bz2', bz2Reader, 'bzip2-error'],
    ['codec-text.xz', xzReader, 'xz-error'],
    ['codec-text.gz', gzipReader, 'gzip-error'],
  ] as const)('a truncated %s is an error, not a short success', async (name, reader, code) => {
    const full = fixture(name);
    const e = await decompress(reader, full.subarray(0, Math.floor(full.length * 0.6))).catch(
      (x: unknown) => x,
    );
    expect(e).toBeInstanceOf(BrineError);
    expect((e as BrineError).code).toBe(code);
  });

  it('rejects corrupt LZ4 and LZMA data with a typed error', async () => {
    for (const [name, reader] of [
      ['codec-text.lz4', lz4Reader],
      ['codec-text.lzma', lzmaReader],
    ] as const) {
      const bad = fixture(name).slice();
      for (let i = 200; i < 400; i++) bad[i] = (bad[i] as number) ^ 0x5a;
      const e = await decompress(reader, bad).catch((x: unknown) => x);
      expect(e).toBeInstanceOf(BrineError);
    }
  });
});
