import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { makeRepo, type TempRepo } from './test-support/repo.js';

const ACTION = new URL('../../../action.yml', import.meta.url);

/** The `run: |` block of the step with the given id (block scalars are plain indentation). */
async function stepScript(id: string): Promise<string> {
  const lines = (await readFile(ACTION, 'utf8')).split('\n');
  const at = lines.findIndex((l) => l.trim() === `id: ${id}`);
  if (at < 0) throw new Error(`no step with id ${id}`);
  const run = lines.findIndex((l, i) => i > at && /^\s+run: \|$/.test(l));
  const indent = (lines[run + 1] ?? '').search(/\S/);
  const body: string[] = [];
  for (const l of lines.slice(run + 1)) {
    if (l.trim() !== '' && l.search(/\S/) < indent) break;
    body.push(l.slice(indent));
  }
  return body.join('\n');
}

// Stands in for the brine CLI: records its arguments and writes a SARIF file, then fails like a finding.
const FAKE_BRINE = `
const fs = require('fs');
const args = process.argv.slice(2);
fs.writeFileSync(process.env.ARGS_OUT, JSON.stringify(args));
fs.writeFileSync(args[args.indexOf('--output') + 1], '{"version":"2.1.0","runs":[]}');
process.exit(1);
`;

let dir = '';
afterEach(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function runScanStep(brineJson?: object, opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}) {
  dir = await mkdtemp(join(tmpdir(), 'brine-action-'));
  const cwd = opts.cwd ?? dir;
  if (brineJson) await writeFile(join(cwd, '.brine.json'), JSON.stringify(brineJson));
  await writeFile(join(dir, 'fake-brine.cjs'), FAKE_BRINE);
  const env = {
    ...(opts.env ?? process.env),
    BRINE: join(dir, 'fake-brine.cjs'),
    BRINE_PATHS: 'models extra/dir',
    BRINE_POLICY: 'weights-only',
    BRINE_SARIF: join(dir, 'out.sarif'),
    GITHUB_OUTPUT: join(dir, 'github-output'),
    RUNNER_TEMP: dir,
    ARGS_OUT: join(dir, 'args.json'),
  };
  // GitHub runs composite `shell: bash` steps as `bash --noprofile --norc -eo pipefail <file>`.
  await writeFile(join(dir, 'step.sh'), await stepScript('scan'));
  const r = spawnSync('bash', ['--noprofile', '--norc', '-eo', 'pipefail', join(dir, 'step.sh')], {
    cwd,
    env,
    encoding: 'utf8',
  });
  const args = JSON.parse(await readFile(join(dir, 'args.json'), 'utf8')) as string[];
  const policyAt = args.indexOf('--policy');
  const policy = args[policyAt + 1]?.endsWith('.json')
    ? JSON.parse(await readFile(args[policyAt + 1] as string, 'utf8'))
    : args[policyAt + 1];
  return { r, args, policy, output: await readFile(join(dir, 'github-output'), 'utf8') };
}

/**
 * A pull request as actions/checkout leaves it: a shallow clone of the head commit, whose base
 * commit (with the policy the target branch enforces) is not fetched yet.
 */
async function pullRequest(base: object, head: object | undefined) {
  origin = await makeRepo();
  await origin.stage('.brine.json', JSON.stringify(base));
  expect(origin.git('commit', '-q', '-m', 'base policy').code).toBe(0);
  const baseSha = origin.git('rev-parse', 'HEAD').stdout.trim();
  await origin.stage('models/new.pkl', 'x');
  if (head) await origin.stage('.brine.json', JSON.stringify(head));
  else origin.git('rm', '-q', '.brine.json');
  expect(origin.git('commit', '-q', '-m', 'pull request').code).toBe(0);
  const clone = join(origin.dir, '..', 'clone');
  const cloned = origin.git('clone', '-q', '--depth=1', `file://${origin.dir}`, clone);
  expect(cloned.code, cloned.stderr).toBe(0);
  // The base commit is not in the shallow clone: the step has to fetch it.
  expect(spawnSync('git', ['cat-file', '-e', baseSha], { cwd: clone, env: origin.env }).status).not.toBe(0);
  return { clone, baseSha, env: origin.env };
}

let origin: TempRepo | undefined;
afterEach(async () => {
  await origin?.cleanup();
  origin = undefined;
});

describe('action.yml scan step', () => {
  it('runs brine scan --format sarif with the repository .brine.json split into policy and globs', async () => {
    const { r, args, output } = await runScanStep({
      extends: 'strict',
      include: ['models/**'],
      exclude: ['models/test/**'],
      waivers: [],
    });
    expect(r.status, r.stderr).toBe(0);
    expect(args.slice(0, 6)).toEqual([
      'scan',
      '--format',
      'sarif',
      '--output',
      join(dir, 'out.sarif'),
      '--no-progress',
    ]);
    const policyAt = args.indexOf('--policy');
    expect(args[policyAt + 1]).toBe(join(dir, 'brine-policy.json'));
    expect(JSON.parse(await readFile(join(dir, 'brine-policy.json'), 'utf8'))).toEqual({
      extends: 'strict',
      waivers: [],
    });
    expect(args).toContain('models/**');
    expect(args[args.indexOf('--include') + 1]).toBe('models/**');
    expect(args[args.indexOf('--exclude') + 1]).toBe('models/test/**');
    expect(args.slice(-2)).toEqual(['models', 'extra/dir']);
    // The finding's exit code is recorded for the later steps, not turned into a failed scan step.
    expect(output).toBe('exit-code=1\n');
  });

  it('falls back to the policy input when there is no .brine.json', async () => {
    const { r, args } = await runScanStep();
    expect(r.status, r.stderr).toBe(0);
    expect(args[args.indexOf('--policy') + 1]).toBe('weights-only');
    expect(args).not.toContain('--include');
  });

  it('on a pull request, takes policy and waivers from the base commit and shows the change', async () => {
    const waiver = { rule: 'BRINE-IMP-003', path: 'models/new.pkl', reason: 'trust me' };
    const pr = await pullRequest(
      { extends: 'strict', exclude: ['vendor/**'] },
      { extends: 'default', waivers: [waiver] },
    );
    const { r, args, policy } = await runScanStep(undefined, {
      cwd: pr.clone,
      env: { ...pr.env, BRINE_BASE_SHA: pr.baseSha, BRINE_POLICY_FROM: 'base' },
    });
    expect(r.status, r.stderr + r.stdout).toBe(0);
    expect(policy).toEqual({ extends: 'strict' });
    expect(args[args.indexOf('--exclude') + 1]).toBe('vendor/**');
    expect(r.stdout).toContain(`policy and waivers come from the base commit ${pr.baseSha}`);
    expect(r.stdout).toContain('::warning::brine: this pull request changes .brine.json');
    expect(r.stdout).toContain('+{"extends":"default","waivers":[{"rule":"BRINE-IMP-003"');
  });

  it('uses the pull request head with policy-from: head; a .brine.json the pull request deletes still applies', async () => {
    const pr = await pullRequest({ extends: 'strict' }, { extends: 'default', waivers: [] });
    const head = await runScanStep(undefined, {
      cwd: pr.clone,
      env: { ...pr.env, BRINE_BASE_SHA: pr.baseSha, BRINE_POLICY_FROM: 'head' },
    });
    expect(head.r.status, head.r.stderr).toBe(0);
    expect(head.policy).toEqual({ extends: 'default', waivers: [] });
    expect(head.r.stdout).not.toContain('base commit');
    await rm(dir, { recursive: true, force: true });
    await origin?.cleanup();

    // The pull request deletes the base's .brine.json: the base policy still applies.
    const dropped = await pullRequest({ extends: 'strict' }, undefined);
    const r = await runScanStep(undefined, {
      cwd: dropped.clone,
      env: { ...dropped.env, BRINE_BASE_SHA: dropped.baseSha, BRINE_POLICY_FROM: 'base' },
    });
    expect(r.policy).toEqual({ extends: 'strict' });
    expect(r.r.stdout).toContain('-{"extends":"strict"}');
  });

  it('fails closed when the base commit cannot be fetched, and on a bad policy-from', async () => {
    const pr = await pullRequest({ extends: 'strict' }, { extends: 'default' });
    const step = async (from: string, sha: string) => {
      dir = await mkdtemp(join(tmpdir(), 'brine-action-'));
      await writeFile(join(dir, 'step.sh'), await stepScript('scan'));
      const env = {
        ...pr.env,
        BRINE_BASE_SHA: sha,
        BRINE_POLICY_FROM: from,
        BRINE: '/nonexistent',
        GITHUB_OUTPUT: join(dir, 'out'),
        RUNNER_TEMP: dir,
      };
      return spawnSync('bash', ['--noprofile', '--norc', '-eo', 'pipefail', join(dir, 'step.sh')], {
        cwd: pr.clone,
        env,
        encoding: 'utf8',
      });
    };
    const missing = await step('base', 'f'.repeat(40));
    expect(missing.status).toBe(2);
    expect(missing.stdout).toContain('cannot fetch the base commit');
    await rm(dir, { recursive: true, force: true });
    const bad = await step('main', pr.baseSha);
    expect(bad.status).toBe(2);
    expect(bad.stdout).toContain('policy-from must be base or head');
  });

  it('uploads the SARIF file with codeql-action/upload-sarif', async () => {
    const text = await readFile(ACTION, 'utf8');
    expect(text).toMatch(
      /uses: github\/codeql-action\/upload-sarif@v\d+\n\s+with:\n\s+sarif_file: \$\{\{ inputs\.sarif-file \}\}/,
    );
    expect(text).toMatch(/using: composite/);
  });
});
