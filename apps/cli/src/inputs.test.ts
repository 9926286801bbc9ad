import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compareCodeUnits, expandInputs, pathFilter } from './inputs.js';

let dir: string;
const hub = { endpoint: 'http://127.0.0.1:9' };

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'brine-inputs-'));
  await mkdir(join(dir, 'a/b'), { recursive: true });
  await mkdir(join(dir, '.git/objects'), { recursive: true });
  for (const f of ['z.pkl', 'a/y.pt', 'a/b/x.bin', 'a/b/notes.txt', '.hidden.pkl', '.git/objects/ab']) {
    await writeFile(join(dir, f), 'x');
  }
  await symlink(join(dir, 'a'), join(dir, 'loop'));
  await symlink(join(dir, 'z.pkl'), join(dir, 'a/link.pkl'));
  await symlink(join(dir, 'gone'), join(dir, 'dangling.pkl'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('expandInputs', () => {
  it('walks folders recursively in a stable order: dotfiles and symlinked files in, .git and symlinked folders out', async () => {
    const inputs = await expandInputs([dir], { hub });
    expect(inputs.map((i) => i.name.slice(dir.length + 1))).toEqual([
      '.hidden.pkl',
      'a/b/notes.txt',
      'a/b/x.bin',
      'a/link.pkl',
      'a/y.pt',
      'dangling.pkl',
      'z.pkl',
    ]);
    expect(inputs.every((i) => i.kind === 'file' && i.discovered)).toBe(true);
  });

  it('applies --include and --exclude to walked files, by base name when the pattern has no slash', async () => {
    const inc = await expandInputs([dir], { hub, include: ['*.pt', '*.bin'] });
    expect(inc.map((i) => i.name.slice(dir.length + 1))).toEqual(['a/b/x.bin', 'a/y.pt']);
    const exc = await expandInputs([dir], { hub, exclude: ['a/b/**', '*link*', 'dang*'] });
    expect(exc.map((i) => i.name.slice(dir.length + 1))).toEqual(['.hidden.pkl', 'a/y.pt', 'z.pkl']);
  });

  it('keeps argument order, expands globs, and scans a file named twice once', async () => {
    const inputs = await expandInputs([join(dir, 'z.pkl'), `${dir}/a/**/*.{pt,bin}`, join(dir, 'z.pkl')], {
      hub,
    });
    expect(inputs.map((i) => i.name.slice(dir.length + 1))).toEqual(['z.pkl', 'a/b/x.bin', 'a/y.pt']);
    expect(inputs[0]).toMatchObject({ kind: 'file' });
    expect(inputs[0]).not.toHaveProperty('discovered');
  });

  it('turns stdin, URLs and missing paths into inputs of their own kind', async () => {
    const inputs = await expandInputs(['-', 'https://h.test/m.pt', join(dir, 'nope.pkl'), `${dir}/*.none`], {
      hub,
    });
    expect(inputs.map((i) => i.kind)).toEqual(['stdin', 'url', 'missing', 'missing']);
    expect(inputs[2]).toMatchObject({ code: 'not-found' });
  });

  it('refuses a FIFO instead of blocking on it', async () => {
    const fifo = join(dir, 'pipe');
    execFileSync('mkfifo', [fifo]);
    const [input] = await expandInputs([fifo], { hub });
    expect(input).toMatchObject({ kind: 'missing', code: 'not-a-file' });
    await rm(fifo);
  });

  it('reports a malformed hf:// argument instead of failing the run', async () => {
    const [input] = await expandInputs(['hf://not a repo'], { hub });
    expect(input).toMatchObject({ kind: 'missing', code: 'bad-argument' });
  });
});

describe('pathFilter', () => {
  it('matches globs with and without slashes', () => {
    const keep = pathFilter(['*.pt'], ['**/tmp/**']);
    expect(keep('x/y/model.pt')).toBe(true);
    expect(keep('x/tmp/model.pt')).toBe(false);
    expect(keep('x/model.pkl')).toBe(false);
    expect(pathFilter()('anything')).toBe(true);
  });
});

describe('compareCodeUnits', () => {
  it('orders by code unit, not locale', () => {
    expect(['b', 'B', 'a', '_'].sort(compareCodeUnits)).toEqual(['B', '_', 'a', 'b']);
  });
});
