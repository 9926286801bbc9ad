import { spawnSync } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CHAINED_NAME, defaultHookCommand, installHook, uninstallHook } from './install.js';
import { makeRepo, type TempRepo } from './test-support/repo.js';

let repo: TempRepo | undefined;
afterEach(async () => {
  await repo?.cleanup();
  repo = undefined;
});

// A stand-in for brine: records that it ran, and fails when the staged tree has a file named BAD.
const FAKE =
  'echo brine-ran >> "$(git rev-parse --git-dir)/ran"; if git ls-files --error-unmatch BAD >/dev/null 2>&1; then exit 1; fi';

describe('installHook', () => {
  it('creates an executable hook that git runs and that blocks the commit when brine fails', async () => {
    repo = await makeRepo();
    const r = await installHook({ cwd: repo.dir, command: FAKE });
    expect(r.action).toBe('created');
    expect(r.hookPath).toBe(join(repo.dir, '.git', 'hooks', 'pre-commit'));
    await repo.stage('ok.txt', 'fine');
    expect(repo.git('commit', '-q', '-m', 'ok').code).toBe(0);
    await repo.stage('BAD', 'x');
    expect(repo.git('commit', '-q', '-m', 'bad').code).not.toBe(0);
    expect(await readFile(join(repo.dir, '.git', 'ran'), 'utf8')).toBe('brine-ran\nbrine-ran\n');
  });

  it('honours core.hooksPath (relative to the work tree) and is idempotent', async () => {
    repo = await makeRepo();
    repo.git('config', 'core.hooksPath', '.githooks');
    const first = await installHook({ cwd: join(repo.dir), command: FAKE });
    expect(first.hookPath).toBe(join(repo.dir, '.githooks', 'pre-commit'));
    const second = await installHook({ cwd: repo.dir, command: FAKE });
    expect(second.action).toBe('updated');
    expect(second.chainedPath).toBeUndefined();
    await repo.stage('BAD', 'x');
    expect(repo.git('commit', '-q', '-m', 'bad').code).not.toBe(0);
  });

  it('chains an existing hook: it keeps running first, and its failure still blocks', async () => {
    repo = await makeRepo();
    const hooks = join(repo.dir, '.git', 'hooks');
    const existing = '#!/bin/sh\necho old-hook >> "$(git rev-parse --git-dir)/ran"\n[ ! -e STOP ]\n';
    await writeFile(join(hooks, 'pre-commit'), existing, { mode: 0o755 });
    const r = await installHook({ cwd: repo.dir, command: FAKE });
    expect(r.action).toBe('chained');
    expect(await readFile(join(hooks, CHAINED_NAME), 'utf8')).toBe(existing);
    await repo.stage('a.txt', 'a');
    expect(repo.git('commit', '-q', '-m', 'a').code).toBe(0);
    expect(await readFile(join(repo.dir, '.git', 'ran'), 'utf8')).toBe('old-hook\nbrine-ran\n');
    await repo.write('STOP', '');
    await repo.stage('b.txt', 'b');
    expect(repo.git('commit', '-q', '-m', 'b').code).not.toBe(0);
    // Re-installing neither chains brine to itself nor loses the original.
    expect((await installHook({ cwd: repo.dir, command: FAKE })).action).toBe('updated');
    expect(await readFile(join(hooks, CHAINED_NAME), 'utf8')).toBe(existing);
    expect((await uninstallHook(repo.dir)).action).toBe('restored');
    expect(await readFile(join(hooks, 'pre-commit'), 'utf8')).toBe(existing);
    expect((await uninstallHook(repo.dir)).action).toBe('absent');
  });

  it('refuses instead of overwriting when a foreign hook and a chained hook both exist', async () => {
    repo = await makeRepo();
    const hooks = join(repo.dir, '.git', 'hooks');
    await writeFile(join(hooks, 'pre-commit'), '#!/bin/sh\nexit 0\n', { mode: 0o755 });
    await writeFile(join(hooks, CHAINED_NAME), '#!/bin/sh\nexit 0\n', { mode: 0o755 });
    await expect(installHook({ cwd: repo.dir, command: FAKE })).rejects.toMatchObject({
      code: 'hook-conflict',
    });
    expect(await readFile(join(hooks, 'pre-commit'), 'utf8')).toBe('#!/bin/sh\nexit 0\n');
  });

  it('refuses where husky or lefthook manage the hooks (they would overwrite brine), naming the way to go', async () => {
    repo = await makeRepo();
    repo.git('config', 'core.hooksPath', '.husky/_');
    await expect(installHook({ cwd: repo.dir, command: FAKE })).rejects.toMatchObject({
      code: 'hook-managed',
      message: expect.stringContaining('husky'),
    });
    repo.git('config', '--unset', 'core.hooksPath');
    const lefthook = '#!/bin/sh\ncall_lefthook run "pre-commit" "$@"\n# lefthook\n';
    await writeFile(join(repo.dir, '.git', 'hooks', 'pre-commit'), lefthook, { mode: 0o755 });
    await expect(installHook({ cwd: repo.dir, command: FAKE })).rejects.toMatchObject({
      code: 'hook-managed',
      message: expect.stringContaining('brine hook run'),
    });
    expect(await readFile(join(repo.dir, '.git', 'hooks', 'pre-commit'), 'utf8')).toBe(lefthook);
  });

  it('fails clearly outside a repository', async () => {
    await expect(installHook({ cwd: '/', command: FAKE })).rejects.toMatchObject({
      code: 'not-a-repository',
    });
  });
});

describe('defaultHookCommand', () => {
  it('runs only the installing brine, by absolute paths, passing hook arguments on', () => {
    const cmd = defaultHookCommand('/opt/node bin/node', "/x/it's/bin.js");
    expect(cmd).not.toContain('node_modules');
    expect(cmd).not.toMatch(/command -v|exec brine/);
    expect(cmd.split('\n').at(-1)).toBe(`exec '/opt/node bin/node' '/x/it'\\''s/bin.js' hook run "$@"`);
    // The quoting survives a real shell.
    const r = spawnSync('sh', ['-c', `set -- '/x/it'\\''s/bin.js'; printf %s "$1"`], { encoding: 'utf8' });
    expect(r.stdout).toBe("/x/it's/bin.js");
  });

  it('blocks with a message when the pinned brine is gone, instead of finding another', () => {
    const cmd = defaultHookCommand(process.execPath, '/nonexistent/brine/bin.js');
    const r = spawnSync('sh', ['-c', cmd], { encoding: 'utf8' });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('/nonexistent/brine/bin.js is gone');
  });

  it('refuses to pin without an absolute script path', () => {
    expect(() => defaultHookCommand('/usr/bin/node', '')).toThrow(/which brine/);
    expect(() => defaultHookCommand('/usr/bin/node', 'bin.js')).toThrow(/which brine/);
  });
});

describe('installHook with executables', () => {
  it('refuses to pin a brine committed in the repository itself, and accepts one outside it', async () => {
    repo = await makeRepo();
    await repo.stage('tools/brine.js', 'console.log(1)\n');
    expect(repo.git('commit', '-q', '-m', 'tool').code).toBe(0);
    await expect(
      installHook({ cwd: repo.dir, command: FAKE, executables: [join(repo.dir, 'tools', 'brine.js')] }),
    ).rejects.toMatchObject({ code: 'hook-untrusted', message: expect.stringContaining('tools/brine.js') });
    const r = await installHook({ cwd: repo.dir, command: FAKE, executables: [process.execPath] });
    expect(r.action).toBe('created');
  });
});
