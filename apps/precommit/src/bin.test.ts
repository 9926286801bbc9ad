import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { installHook, shellQuote } from './install.js';
import { buildBundle } from './test-support/bundle.js';
import { CLEAN_P2, MALICIOUS_P0, MALICIOUS_P2 } from './test-support/pickles.js';
import { makeRepo, type TempRepo } from './test-support/repo.js';

// Real `git commit`s in temporary repositories, with the hook running the self-contained bundle
// (built from the current sources) in its own process, exactly as git runs it.
let bundleDir = '';
let bundle = '';
beforeAll(async () => {
  bundleDir = await mkdtemp(join(tmpdir(), 'brine-bundle-'));
  bundle = join(bundleDir, 'hook.cjs');
  buildBundle(bundle);
});
afterAll(async () => {
  await rm(bundleDir, { recursive: true, force: true });
});

let repo: TempRepo | undefined;
afterEach(async () => {
  await repo?.cleanup();
  repo = undefined;
});

async function withHook(): Promise<TempRepo> {
  const r = await makeRepo();
  await installHook({
    cwd: r.dir,
    command: `exec ${shellQuote(process.execPath)} ${shellQuote(bundle)} "$@"`,
  });
  return r;
}

const committed = (r: TempRepo, path: string) => r.git('cat-file', '-e', `HEAD:${path}`).code === 0;

describe('git commit with the brine hook', () => {
  it('is blocked for a staged malicious pickle and allowed for a clean one', async () => {
    repo = await withHook();
    await repo.stage('models/evil.pkl', MALICIOUS_P2);
    const blocked = repo.git('commit', '-m', 'add model');
    expect(blocked.code).toBe(1);
    expect(blocked.stdout + blocked.stderr).toContain('commit blocked');
    expect(blocked.stdout + blocked.stderr).toContain('models/evil.pkl');
    expect(committed(repo, 'models/evil.pkl')).toBe(false);

    repo.git('rm', '-q', '--cached', 'models/evil.pkl');
    await repo.stage('models/good.pkl', CLEAN_P2);
    const allowed = repo.git('commit', '-m', 'add clean model');
    expect(allowed.code, allowed.stdout + allowed.stderr).toBe(0);
    expect(committed(repo, 'models/good.pkl')).toBe(true);
    // At most one line from brine for a clean commit.
    expect(
      allowed.stderr.split('\n').filter((l) => l.startsWith('brine')).length +
        allowed.stdout.split('\n').filter((l) => l.startsWith('brine')).length,
    ).toBeLessThanOrEqual(1);
  });

  it('judges what is staged even when the working tree differs', async () => {
    repo = await withHook();
    await repo.stage('model.pkl', MALICIOUS_P2);
    await repo.write('model.pkl', CLEAN_P2);
    expect(repo.git('commit', '-m', 'x').code).toBe(1);
    await repo.stage('model.pkl', CLEAN_P2);
    await repo.write('model.pkl', MALICIOUS_P2);
    expect(repo.git('commit', '-m', 'y').code).toBe(0);
    expect(committed(repo, 'model.pkl')).toBe(true);
  });

  it('sees the temporary index of `git commit -a`', async () => {
    repo = await withHook();
    await repo.stage('data.pkl', CLEAN_P2);
    expect(repo.git('commit', '-q', '-m', 'clean').code).toBe(0);
    await repo.write('data.pkl', MALICIOUS_P0);
    const r = repo.git('commit', '-a', '-m', 'edit');
    expect(r.code).toBe(1);
    expect(r.stdout + r.stderr).toContain('data.pkl');
  });

  it('resolves a staged LFS pointer, and lets it through once a pinned waiver is staged', async () => {
    repo = await withHook();
    const oid = createHash('sha256').update(MALICIOUS_P2).digest('hex');
    const objDir = join(repo.dir, '.git', 'lfs', 'objects', oid.slice(0, 2), oid.slice(2, 4));
    await mkdir(objDir, { recursive: true });
    await writeFile(join(objDir, oid), MALICIOUS_P2);
    await repo.stage(
      'ckpt/model.pt',
      `version https://git-lfs.github.com/spec/v1\noid sha256:${oid}\nsize ${MALICIOUS_P2.length}\n`,
    );
    const blocked = repo.git('commit', '-m', 'lfs model');
    expect(blocked.code).toBe(1);
    expect(blocked.stdout + blocked.stderr).toContain('ckpt/model.pt');
    const waiver = { rule: 'BRINE-IMP-001', path: 'ckpt/model.pt', sha256: oid, reason: 'test' };
    await repo.stage('.brine.json', JSON.stringify({ waivers: [waiver] }));
    const allowed = repo.git('commit', '-m', 'lfs model, waived');
    expect(allowed.code, allowed.stdout + allowed.stderr).toBe(0);
    expect(committed(repo, 'ckpt/model.pt')).toBe(true);
  });

  it('keeps an existing hook: it still runs, and brine still blocks', async () => {
    repo = await makeRepo();
    const marker = join(repo.dir, '.git', 'old-hook-ran');
    await writeFile(
      join(repo.dir, '.git', 'hooks', 'pre-commit'),
      `#!/bin/sh\necho ran >> ${shellQuote(marker)}\n`,
      { mode: 0o755 },
    );
    const r = await installHook({
      cwd: repo.dir,
      command: `exec ${shellQuote(process.execPath)} ${shellQuote(bundle)}`,
    });
    expect(r.action).toBe('chained');
    await repo.stage('evil.pkl', MALICIOUS_P2);
    expect(repo.git('commit', '-m', 'x').code).toBe(1);
    repo.git('rm', '-q', '--cached', 'evil.pkl');
    await repo.stage('ok.txt', 'fine');
    expect(repo.git('commit', '-m', 'y').code).toBe(0);
    expect(await readFile(marker, 'utf8')).toBe('ran\nran\n');
  });
});

describe('the hook bundle', () => {
  it('keeps the engine and rules out of the file every commit parses', async () => {
    const light = await readFile(bundle, 'utf8');
    const engine = await readFile(join(bundleDir, 'hook-engine.cjs'), 'utf8');
    // Rule ids live in the rule catalogue: present in the engine file, absent from the light one.
    expect(engine).toContain('BRINE-IMP-001');
    expect(light).not.toContain('BRINE-IMP-001');
    expect(light).toContain('hook-engine.cjs');
  });

  it('is one self-contained file: it runs from a directory with no node_modules', () => {
    const r = spawnSync(process.execPath, [bundle], { cwd: '/', encoding: 'utf8' });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('not inside a git working tree');
    expect(r.stderr).not.toMatch(/Cannot find module|ERR_MODULE_NOT_FOUND/);
  });
});
