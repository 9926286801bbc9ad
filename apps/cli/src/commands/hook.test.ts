import { spawnSync } from 'node:child_process';
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

  it('exits 2 with a message outside a repository', () => {
    const p = spawnSync(process.execPath, [BIN, 'hook', 'install'], { cwd: '/', encoding: 'utf8' });
    expect(p.status).toBe(2);
    expect(p.stderr).toContain('not inside a git working tree');
  });
});
