import { spawnSync } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildBundle } from './test-support/bundle.js';
import { CLEAN_P2, MALICIOUS_P0 } from './test-support/pickles.js';
import { makeRepo, type TempRepo } from './test-support/repo.js';

// The repository's .pre-commit-hooks.yaml, run by Debian's pre-commit exactly as a user's
// `repo: <url>` would run it. The hook repository is a temporary copy of the parts pre-commit uses
// (the root package.json's bin entry, the bundle at that path, the hooks file), so the test uses
// the current sources rather than whatever bundle was last committed.
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

let base = '';
let hookRepo = '';
let rev = '';
const targets: TempRepo[] = [];
let env: NodeJS.ProcessEnv = {};

const run = (cmd: string, args: string[], cwd: string) => {
  const r = spawnSync(cmd, args, { cwd, env, encoding: 'utf8', timeout: 120_000 });
  return { code: r.status ?? -1, out: `${r.stdout ?? ''}${r.stderr ?? ''}`, error: r.error };
};

beforeAll(async () => {
  const which = spawnSync('sh', ['-c', 'command -v pre-commit'], { encoding: 'utf8' });
  if (which.status !== 0) {
    throw new Error('pre-commit is not installed: run `apt-get install -y pre-commit` (.ci/run does this)');
  }
  base = await mkdtemp(join(tmpdir(), 'brine-pre-commit-'));
  hookRepo = join(base, 'hook-repo');
  const rootPkg = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as {
    bin?: Record<string, string>;
  };
  const binPath = rootPkg.bin?.['brine-precommit'];
  if (!binPath) throw new Error('root package.json has no bin "brine-precommit"');
  await mkdir(join(hookRepo, dirname(binPath)), { recursive: true });
  buildBundle(join(hookRepo, binPath));
  // The root package.json as pre-commit will install it, less what only the monorepo needs (the
  // workspaces are not in the copy; their install is what makes a real first install slow).
  const {
    workspaces: _w,
    devDependencies: _d,
    scripts: _s,
    ...installable
  } = rootPkg as Record<string, unknown>;
  await writeFile(join(hookRepo, 'package.json'), JSON.stringify(installable));
  await copyFile(join(ROOT, '.pre-commit-hooks.yaml'), join(hookRepo, '.pre-commit-hooks.yaml'));
  env = {
    ...process.env,
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_CONFIG_GLOBAL: '/dev/null',
    PRE_COMMIT_HOME: join(base, 'pre-commit-home'),
    PRE_COMMIT_COLOR: 'never',
  };
  const git = (...args: string[]) => {
    const r = run('git', ['-c', 'user.name=t', '-c', 'user.email=t@example.invalid', ...args], hookRepo);
    if (r.code !== 0) throw new Error(`git ${args.join(' ')}: ${r.out}`);
    return r.out.trim();
  };
  git('init', '-q', '-b', 'main');
  git('add', '.');
  git('commit', '-q', '-m', 'hook repo');
  rev = git('rev-parse', 'HEAD');
}, 180_000);

/** A repository whose .pre-commit-config.yaml uses hook `id` from the hook repository, installed. */
async function userRepo(id: string): Promise<TempRepo> {
  const t = await makeRepo();
  env = { ...t.env, PRE_COMMIT_HOME: env.PRE_COMMIT_HOME, PRE_COMMIT_COLOR: 'never' };
  await t.stage(
    '.pre-commit-config.yaml',
    `repos:\n  - repo: ${hookRepo}\n    rev: ${rev}\n    hooks:\n      - id: ${id}\n`,
  );
  t.git('commit', '-q', '-m', 'pre-commit config', '--no-verify');
  const installed = run('pre-commit', ['install'], t.dir);
  if (installed.code !== 0) throw new Error(`pre-commit install failed: ${installed.out}`);
  return t;
}

afterAll(async () => {
  for (const t of targets) await t.cleanup();
  if (base) await rm(base, { recursive: true, force: true });
});

// id brine: language node (pre-commit installs this repository as an npm package, with the system
// Node); id brine-script: language script (the committed bundle run in place).
describe.each(['brine', 'brine-script'])('.pre-commit-hooks.yaml hook %s through pre-commit', (id) => {
  let t: TempRepo;
  beforeAll(async () => {
    t = await userRepo(id);
    targets.push(t);
  }, 180_000);

  it('blocks a commit staging a malicious pickle, whatever its extension', async () => {
    await t.stage('notes/readme.txt', MALICIOUS_P0);
    const r = run('git', ['commit', '-m', 'sneaky'], t.dir);
    expect(r.code, r.out).toBe(1);
    expect(r.out).toMatch(/brine.*Failed/);
    expect(r.out).toContain('notes/readme.txt');
    expect(t.git('cat-file', '-e', 'HEAD:notes/readme.txt').code).not.toBe(0);
    t.git('rm', '-q', '--cached', 'notes/readme.txt');
  }, 180_000);

  it('lets a commit with a clean model through', async () => {
    await t.stage('models/weights.pkl', CLEAN_P2);
    const r = run('git', ['commit', '-m', 'weights'], t.dir);
    expect(r.code, r.out).toBe(0);
    expect(r.out).toMatch(/brine.*Passed/);
    expect(t.git('cat-file', '-e', 'HEAD:models/weights.pkl').code).toBe(0);
  }, 180_000);

  it('checks every tracked file with pre-commit run --all-files (paths passed, nothing staged)', async () => {
    expect(run('pre-commit', ['run', '--all-files'], t.dir).code).toBe(0);
    // Committed past the hook: --all-files still finds it.
    await t.stage('legacy/old.pkl', MALICIOUS_P0);
    expect(t.git('commit', '-q', '-m', 'bypass', '--no-verify').code).toBe(0);
    const r = run('pre-commit', ['run', '--all-files'], t.dir);
    expect(r.code, r.out).toBe(1);
    expect(r.out).toContain('legacy/old.pkl');
    t.git('rm', '-q', 'legacy/old.pkl');
    t.git('commit', '-q', '-m', 'remove', '--no-verify');
  }, 180_000);
});

describe('the committed hook entry', () => {
  it('uses the bundle committed at the path the root package.json names', async () => {
    const rootPkg = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as {
      bin: Record<string, string>;
    };
    const rel = rootPkg.bin['brine-precommit'] as string;
    expect(rel).toBe('apps/precommit/dist-bundle/hook.cjs');
    const s = await stat(join(ROOT, rel));
    expect(s.mode & 0o111).not.toBe(0);
    expect((await readFile(join(ROOT, rel), 'utf8')).startsWith('#!/usr/bin/env node')).toBe(true);
    // The script hook runs the same file in place.
    expect(await readFile(join(ROOT, '.pre-commit-hooks.yaml'), 'utf8')).toContain(`entry: ${rel}\n`);
    // Not ignored: a plain clone must carry it.
    expect(run('git', ['check-ignore', '-q', rel], ROOT).code).toBe(1);
  });
});
