import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';

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

async function runScanStep(brineJson?: object) {
  dir = await mkdtemp(join(tmpdir(), 'brine-action-'));
  if (brineJson) await writeFile(join(dir, '.brine.json'), JSON.stringify(brineJson));
  await writeFile(join(dir, 'fake-brine.cjs'), FAKE_BRINE);
  const env = {
    ...process.env,
    BRINE: join(dir, 'fake-brine.cjs'),
    BRINE_PATHS: 'models extra/dir',
    BRINE_POLICY: 'weights-only',
    BRINE_SARIF: 'out.sarif',
    GITHUB_OUTPUT: join(dir, 'github-output'),
    RUNNER_TEMP: dir,
    ARGS_OUT: join(dir, 'args.json'),
  };
  // GitHub runs composite `shell: bash` steps as `bash --noprofile --norc -eo pipefail <file>`.
  await writeFile(join(dir, 'step.sh'), await stepScript('scan'));
  const r = spawnSync('bash', ['--noprofile', '--norc', '-eo', 'pipefail', join(dir, 'step.sh')], {
    cwd: dir,
    env,
    encoding: 'utf8',
  });
  const args = JSON.parse(await readFile(join(dir, 'args.json'), 'utf8')) as string[];
  return { r, args, output: await readFile(join(dir, 'github-output'), 'utf8') };
}

describe('action.yml scan step', () => {
  it('runs brine scan --format sarif with the repository .brine.json split into policy and globs', async () => {
    const { r, args, output } = await runScanStep({
      extends: 'strict',
      include: ['models/**'],
      exclude: ['models/test/**'],
      waivers: [],
    });
    expect(r.status, r.stderr).toBe(0);
    expect(args.slice(0, 6)).toEqual(['scan', '--format', 'sarif', '--output', 'out.sarif', '--no-progress']);
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

  it('uploads the SARIF file with codeql-action/upload-sarif', async () => {
    const text = await readFile(ACTION, 'utf8');
    expect(text).toMatch(
      /uses: github\/codeql-action\/upload-sarif@v\d+\n\s+with:\n\s+sarif_file: \$\{\{ inputs\.sarif-file \}\}/,
    );
    expect(text).toMatch(/using: composite/);
  });
});
