import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { stdinSource } from './stdin.js';

const chunks = () => Readable.from([Buffer.from('hello '), Buffer.from('pickle '), Buffer.from('world')]);

describe('stdinSource', () => {
  it('keeps small input in memory', async () => {
    const { source, dispose } = await stdinSource(chunks(), 1024);
    expect(source.name).toBe('<stdin>');
    expect(source.size).toBe(18);
    expect(Buffer.from(await source.read(6, 6)).toString()).toBe('pickle');
    await source.close();
    await dispose();
  });

  it('spools input over the limit to a temporary file, removed by dispose', async () => {
    const root = await mkdtemp(join(tmpdir(), 'brine-stdin-test-'));
    const { source, dispose } = await stdinSource(chunks(), 8, root);
    expect(await readdir(root)).toHaveLength(1);
    expect(source.name).toBe('<stdin>');
    expect(source.size).toBe(18);
    expect(Buffer.from(await source.read(13, 5)).toString()).toBe('world');
    expect(Buffer.from(await source.read(0, 18)).toString()).toBe('hello pickle world');
    await source.close();
    await dispose();
    expect(await readdir(root)).toHaveLength(0);
    await rm(root, { recursive: true });
  });
});
