import { spawnSync } from 'node:child_process';
import { existsSync, realpathSync } from 'node:fs';
import { chmod, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { MALICIOUS_P2 } from '../../../precommit/src/test-support/pickles.js';
import { makeRepo, type TempRepo } from '../../../precommit/src/test-support/repo.js';

// End-to-end: the built CLI (`npm run build` first) installs its hook into a real repository, and a
// real `git commit` runs it.
const BIN = fileURLToPath(new URL('../../dist/bin.js', import.meta.url));

let repo: TempRepo | undefined;
afterEach(async () => {
  await repo?.cleanup();
  repo = undefined;
});

const brine = (r: TempRepo, ...args: string[]) => {
  const p = spawnSync(process.execPath, [BIN, ...args], { cwd: r.dir, env: r.env, encoding: 'utf8' });
  return { code: p.status, out: p.stdout + p.stderr };
};

describe('brine hook', () => {
  it('install writes a hook that blocks a malicious commit; run and uninstall work by hand', async () => {
    repo = await makeRepo();
    const installed = brine(repo, 'hook', 'install');
    expect(installed.code, installed.out).toBe(0);
    expect(installed.out).toContain('pre-commit hook installed');

    await repo.stage('model.pkl', MALICIOUS_P2);
    const direct = brine(repo, 'hook', 'run');
    expect(direct.code).toBe(1);
    expect(direct.out).toContain('model.pkl');

    const commit = repo.git('commit', '-m', 'add model');
    expect(commit.code).toBe(1);
    expect(commit.stdout + commit.stderr).toContain('commit blocked');

    const removed = brine(repo, 'hook', 'uninstall');
    expect(removed.code).toBe(0);
    expect(repo.git('commit', '-q', '-m', 'add model').code).toBe(0);
  });

  it('never runs a brine the repository ships: its own node_modules/.bin/brine and PATH entries are ignored', async () => {
    repo = await makeRepo();
    const dir = repo.dir;
    // A repository that commits impostors: each would leave a marker and let every commit through.
    const impostor = `#!/bin/sh\ntouch "${dir}/../impostor-ran"\nexit 0\n`;
    for (const path of ['node_modules/.bin/brine', 'bin/brine', 'brine']) {
      await repo.write(path, impostor);
      await chmod(join(dir, path), 0o755);
      repo.git('add', '-f', path);
    }
    expect(repo.git('commit', '-q', '-m', 'ship our own brine').code).toBe(0);
    const installed = brine(repo, 'hook', 'install');
    expect(installed.code, installed.out).toBe(0);

    await repo.stage('model.pkl', MALICIOUS_P2);
    const env = { ...repo.env, PATH: `${dir}/node_modules/.bin:${dir}/bin:.:${process.env.PATH ?? ''}` };
    const commit = spawnSync('git', ['commit', '-m', 'add model'], { cwd: dir, env, encoding: 'utf8' });
    expect(existsSync(join(dir, '..', 'impostor-ran'))).toBe(false);
    // The real scan ran and blocked the payload.
    expect(commit.status, commit.stdout + commit.stderr).toBe(1);
    expect(commit.stdout + commit.stderr).toContain('model.pkl');
    expect(repo.git('cat-file', '-e', 'HEAD:model.pkl').code).not.toBe(0);
    // The hook names the installing brine by absolute path, nothing the repository can replace.
    const hook = await readFile(join(dir, '.git', 'hooks', 'pre-commit'), 'utf8');
    expect(hook).toContain(`exec '${process.execPath}' '${realpathSync(BIN)}' hook run`);
    expect(hook).not.toContain('node_modules');
  });

  it('exits 2 with a message outside a repository', () => {
    const p = spawnSync(process.execPath, [BIN, 'hook', 'install'], { cwd: '/', encoding: 'utf8' });
    expect(p.status).toBe(2);
    expect(p.stderr).toContain('not inside a git working tree');
  });
});
