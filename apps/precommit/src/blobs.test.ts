import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { BlobReader, isKept } from './blobs.js';
import { listStagedChanges } from './staged.js';
import { makeRepo, type TempRepo } from './test-support/repo.js';

let repo: TempRepo | undefined;
afterEach(async () => {
  await repo?.cleanup();
  repo = undefined;
});

const sha = (b: Uint8Array | string) => createHash('sha256').update(b).digest('hex');

describe('BlobReader', () => {
  it('reads the staged blob, not the working tree, and keeps only what the head selects', async () => {
    repo = await makeRepo();
    await repo.stage('a.pkl', 'STAGED-A');
    await repo.write('a.pkl', 'WORKTREE-A');
    await repo.stage('b.txt', 'plain text');
    await repo.stage('empty', '');
    const entries = await listStagedChanges(repo.dir);
    const reader = new BlobReader(repo.dir, { headBytes: 4, memoryLimit: 1024 });
    const seen: string[] = [];
    const out = await reader.read(entries, (head, size, e) => {
      seen.push(`${e.path}:${Buffer.from(head).toString()}:${size}`);
      return e.path === 'a.pkl';
    });
    await reader.close();
    expect(seen.sort()).toEqual(['a.pkl:STAG:8', 'b.txt:plai:10', 'empty::0']);
    const a = out.find((b) => b.entry.path === 'a.pkl');
    expect(a && isKept(a) && Buffer.from(a.bytes ?? []).toString()).toBe('STAGED-A');
    expect(a && isKept(a) && a.sha256).toBe(sha('STAGED-A'));
    const b = out.find((x) => x.entry.path === 'b.txt');
    expect(b && isKept(b)).toBe(false);
  });

  it('spills kept blobs larger than the memory limit to a temp file that close() removes', async () => {
    repo = await makeRepo();
    const big = Buffer.alloc(300_000, 7);
    big.write('BIGMODEL', 0);
    const other = Buffer.alloc(300_000, 1);
    await repo.stage('big.bin', big);
    await repo.stage('other.bin', other);
    await repo.stage('small.pkl', 'tiny');
    const entries = await listStagedChanges(repo.dir);
    const reader = new BlobReader(repo.dir, { headBytes: 8, memoryLimit: 1000 });
    const out = await reader.read(entries, (head) => Buffer.from(head).toString() !== '\x01'.repeat(8));
    const bigOut = out.find((b) => b.entry.path === 'big.bin');
    if (!bigOut || !isKept(bigOut) || !bigOut.file) throw new Error('big.bin was not spilled');
    expect(bigOut.bytes).toBeUndefined();
    expect(await readFile(bigOut.file)).toEqual(big);
    expect(bigOut.sha256).toBe(sha(big));
    const otherOut = out.find((b) => b.entry.path === 'other.bin');
    expect(otherOut && isKept(otherOut)).toBe(false);
    const small = out.find((b) => b.entry.path === 'small.pkl');
    expect(small && isKept(small) && Buffer.from(small.bytes ?? []).toString()).toBe('tiny');
    await reader.close();
    await expect(readFile(bigOut.file)).rejects.toThrow();
  });

  it("decides 'tail' blobs from their last bytes: small ones held in memory, large ones read a second time", async () => {
    repo = await makeRepo();
    const bigHit = Buffer.alloc(300_000, 3);
    bigHit.write('END!', bigHit.length - 4);
    const bigMiss = Buffer.alloc(300_000, 3);
    await repo.stage('big-hit.bin', bigHit);
    await repo.stage('big-miss.bin', bigMiss);
    await repo.stage('small-hit.bin', 'prefix....END!');
    await repo.stage('small-miss.bin', 'prefix....nope');
    const entries = await listStagedChanges(repo.dir);
    const reader = new BlobReader(repo.dir, { headBytes: 8, memoryLimit: 1000 });
    const out = await reader.read(
      entries,
      () => 'tail',
      (tail) => Buffer.from(tail).toString('latin1').endsWith('END!'),
    );
    const kept = Object.fromEntries(out.filter(isKept).map((b) => [b.entry.path, b]));
    expect(Object.keys(kept).sort()).toEqual(['big-hit.bin', 'small-hit.bin']);
    expect(kept['big-hit.bin']?.sha256).toBe(sha(bigHit));
    expect(await readFile(kept['big-hit.bin']?.file ?? '')).toEqual(bigHit);
    expect(Buffer.from(kept['small-hit.bin']?.bytes ?? []).toString()).toBe('prefix....END!');
    await reader.close();
  });

  it('fails with a typed error naming the path when a staged blob is missing', async () => {
    repo = await makeRepo();
    const reader = new BlobReader(repo.dir);
    await expect(
      reader.read([{ path: 'ghost.pkl', mode: '100644', oid: 'f'.repeat(40) }], () => true),
    ).rejects.toMatchObject({ code: 'blob-missing', file: 'ghost.pkl' });
  });
});
