import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jsonReportErrors, sarifErrors } from '../../../packages/report/src/test-support/schemas.js';
import { PICKLES, writeCheckpoint } from './test-support/checkpoint.js';
import { type RangeServer, startRangeServer } from './test-support/range-server.js';

// End-to-end: the built CLI (`npm run build` first) as a child process, as users and CI run it.
const BIN = fileURLToPath(new URL('../dist/bin.js', import.meta.url));
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const FIXTURES = join(ROOT, 'fixtures');

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function brine(
  args: string[],
  opts: { input?: Uint8Array; cwd?: string; env?: Record<string, string> } = {},
): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd: opts.cwd ?? ROOT,
      env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: '', ...opts.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => {
      stdout += d;
    });
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(opts.input ?? undefined);
  });
}

/** JSON output with the parts that legitimately differ between runs (timings) blanked out. */
function stable(json: string): unknown {
  const doc = JSON.parse(json);
  doc.startedAt = 'T';
  doc.durationMs = 0;
  for (const f of doc.files) f.stats.durationMs = 0;
  return doc;
}

let dir: string;
let mixed: string;

beforeAll(async () => {
  if (!existsSync(BIN))
    throw new Error(`${BIN} is missing: run \`npm run build\` before the CLI end-to-end tests`);
  dir = await mkdtemp(join(tmpdir(), 'brine-cli-'));
  await writeFile(join(dir, 'evil.pkl'), PICKLES.evil);
  await writeFile(join(dir, 'benign.pkl'), PICKLES.benign);
  // A folder of mixed good, bad, corrupt, unreadable and non-model files.
  mixed = join(dir, 'mixed');
  await mkdir(join(mixed, 'sub'), { recursive: true });
  await writeFile(join(mixed, 'a-benign.pkl'), PICKLES.benign);
  await writeFile(join(mixed, 'b-evil.pkl'), PICKLES.evil);
  await writeFile(join(mixed, 'c-truncated.pkl'), PICKLES.truncatedEvil);
  await writeFile(join(mixed, 'README.md'), '# models\n');
  await symlink(join(mixed, 'gone.pkl'), join(mixed, 'd-dangling.pkl'));
  await copyFile(join(FIXTURES, 'convert/malicious-os-system.pt'), join(mixed, 'sub/torch-evil.pt'));
  await copyFile(join(FIXTURES, 'convert/dtypes.pt'), join(mixed, 'sub/torch-ok.pt'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('brine CLI', () => {
  it('--help shows the commands and scan --help shows examples and exit codes', async () => {
    const top = await brine(['--help']);
    expect(top.code).toBe(0);
    expect(top.stdout).toMatch(/scan \[options\] \[paths\.\.\.\]/);
    expect(top.stdout).toContain('explain');
    const scan = await brine(['scan', '--help']);
    expect(scan.code).toBe(0);
    expect(scan.stdout).toContain('brine scan hf://owner/repo@main');
    expect(scan.stdout).toContain('Exit codes: 0 nothing fails the policy');
  });

  it('exit codes: 0 clean, 1 dangerous, 2 unscannable, missing, or a usage error', async () => {
    expect((await brine(['scan', join(dir, 'benign.pkl')])).code).toBe(0);
    const evil = await brine(['scan', join(dir, 'evil.pkl')]);
    expect(evil.code).toBe(1);
    expect(evil.stdout).toContain("os.system('touch /tmp/brine-pwned')");
    await writeFile(join(dir, 'cut.pkl'), PICKLES.truncatedBenign);
    const cut = await brine(['scan', join(dir, 'cut.pkl')]);
    expect(cut.code).toBe(2);
    expect(cut.stdout).toContain('UNSCANNABLE');
    // The nullifAI shape: the payload is found before the stream breaks, and it is what fails.
    const nullifai = await brine(['scan', '--format', 'json', join(mixed, 'c-truncated.pkl')]);
    expect(nullifai.code).toBe(1);
    expect(JSON.parse(nullifai.stdout).files[0].problems.length).toBeGreaterThan(0);
    const missing = await brine(['scan', join(dir, 'nope.pkl')]);
    expect(missing.code).toBe(2);
    expect(missing.stdout).toContain('no such file or directory');
    expect((await brine(['scan'])).code).toBe(2);
    const bad = await brine(['scan', '--format', 'xml', join(dir, 'evil.pkl')]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--format must be one of text, json, sarif');
    expect((await brine(['scan', '--bogus'])).code).toBe(2);
    expect((await brine(['scan', '--jobs', '0', join(dir, 'evil.pkl')])).code).toBe(2);
  });

  it('the policy decides what fails: --fail-on suspicious and a policy file', async () => {
    const policyFile = join(dir, 'policy.json');
    await writeFile(policyFile, JSON.stringify({ name: 'team', failOn: 'suspicious' }));
    const run = await brine(['scan', '--policy', policyFile, '--format', 'json', join(dir, 'evil.pkl')]);
    expect(JSON.parse(run.stdout).policy).toBe('team');
    const broken = join(dir, 'broken-policy.json');
    await writeFile(broken, '{"failOn": "never"}');
    const bad = await brine(['scan', '--policy', broken, join(dir, 'evil.pkl')]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('failOn');
    expect((await brine(['scan', '--fail-on', 'maybe', join(dir, 'evil.pkl')])).code).toBe(2);
  });

  it('JSON output validates against the published schema', async () => {
    const run = await brine(['scan', '--format', 'json', mixed]);
    const doc = JSON.parse(run.stdout);
    expect(jsonReportErrors(doc)).toEqual([]);
    expect(doc.tool.name).toBe('brine');
  });

  it('SARIF output validates against the SARIF 2.1.0 schema, with repo-relative URIs', async () => {
    const run = await brine(['scan', '--format', 'sarif', 'mixed'], { cwd: dir });
    const log = JSON.parse(run.stdout);
    expect(sarifErrors(log)).toEqual([]);
    const uris = log.runs[0].results.map(
      (r: { locations: Array<{ physicalLocation: { artifactLocation: { uri: string } } }> }) =>
        r.locations[0]?.physicalLocation.artifactLocation.uri,
    );
    expect(uris).toContain('mixed/b-evil.pkl');
    expect(uris).toContain('mixed/sub/torch-evil.pt');
  });

  it('scans standard input', async () => {
    const run = await brine(['scan', '--format', 'json', '-'], { input: PICKLES.evil });
    expect(run.code).toBe(1);
    const doc = JSON.parse(run.stdout);
    expect(doc.files[0].file).toBe('<stdin>');
    expect(doc.files[0].verdict).toBe('dangerous');
  });

  it('a folder of mixed files: every bad file is reported and the scan goes on', async () => {
    const run = await brine(['scan', '--format', 'json', mixed]);
    expect(run.code).toBe(2);
    const doc = JSON.parse(run.stdout);
    const byName = Object.fromEntries(
      doc.files.map((f: { file: string; verdict: string }) => [f.file.slice(mixed.length + 1), f.verdict]),
    );
    expect(byName).toEqual({
      'a-benign.pkl': 'clean',
      'b-evil.pkl': 'dangerous',
      'c-truncated.pkl': expect.stringMatching(/dangerous|unscannable/),
      'd-dangling.pkl': 'unscannable',
      'sub/torch-evil.pt': 'dangerous',
      'sub/torch-ok.pt': 'clean',
    });
    expect(doc.skipped.map((s: { file: string }) => s.file.slice(mixed.length + 1))).toEqual(['README.md']);
    const truncated = doc.files.find((f: { file: string }) => f.file.endsWith('c-truncated.pkl'));
    expect(truncated.findings.some((f: { symbol?: string }) => f.symbol === 'os.system')).toBe(true);
  });

  it('--include and --exclude pick files inside folders', async () => {
    const inc = JSON.parse((await brine(['scan', '--format', 'json', '--include', '*.pt', mixed])).stdout);
    expect(inc.files.map((f: { file: string }) => f.file.slice(mixed.length + 1))).toEqual([
      'sub/torch-evil.pt',
      'sub/torch-ok.pt',
    ]);
    const exc = await brine([
      'scan',
      '--format',
      'json',
      '--exclude',
      'sub/**',
      '--exclude',
      'c-*',
      '--exclude',
      'd-*',
      mixed,
    ]);
    expect(exc.code).toBe(1);
    expect(JSON.parse(exc.stdout).files.map((f: { file: string }) => f.file.slice(mixed.length + 1))).toEqual(
      ['a-benign.pkl', 'b-evil.pkl'],
    );
  });

  it('--jobs 1 and --jobs 2 give identical reports', async () => {
    const files = [mixed, join(dir, 'evil.pkl'), join(dir, 'benign.pkl')];
    const serial = await brine(['scan', '--format', 'json', '--jobs', '1', ...files]);
    const parallel = await brine(['scan', '--format', 'json', '--jobs', '2', ...files]);
    expect(parallel.code).toBe(serial.code);
    expect(stable(parallel.stdout)).toEqual(stable(serial.stdout));
    const text1 = await brine(['scan', '--jobs', '1', '--quiet', ...files]);
    const text2 = await brine(['scan', '--jobs', '2', '--quiet', ...files]);
    expect(text2.stdout.replace(/in [\d.]+ m?s/, '')).toBe(text1.stdout.replace(/in [\d.]+ m?s/, ''));
  });

  it('--all-imports lists safe imports too; colour follows FORCE_COLOR and NO_COLOR', async () => {
    const torch = join(mixed, 'sub/torch-ok.pt');
    const plain = await brine(['scan', torch]);
    const all = await brine(['scan', '--all-imports', torch], { env: { NO_COLOR: '', FORCE_COLOR: '1' } });
    expect(plain.stdout).not.toContain('_rebuild_tensor_v2');
    expect(all.stdout).toContain('torch._utils._rebuild_tensor_v2');
    expect(plain.stdout).not.toContain('\u001b[');
    expect(all.stdout).toContain('\u001b[');
    const noColor = await brine(['scan', '--no-color', torch], { env: { NO_COLOR: '', FORCE_COLOR: '1' } });
    expect(noColor.stdout).not.toContain('\u001b[');
  });

  it('a scanner thread that dies takes only the file it was on; the rest are scanned', async () => {
    const many = join(dir, 'many');
    await mkdir(many);
    await writeFile(join(many, 'a-crash.pkl'), PICKLES.benign);
    for (let i = 0; i < 30; i++)
      await writeFile(
        join(many, `f${String(i).padStart(2, '0')}.pkl`),
        i === 7 ? PICKLES.evil : PICKLES.benign,
      );
    const run = await brine(['scan', '--format', 'json', '--jobs', '2', many], {
      env: { BRINE_TEST_WORKER_EXIT_ON: 'a-crash.pkl' },
    });
    expect(run.code).toBe(2);
    const doc = JSON.parse(run.stdout);
    expect(doc.files).toHaveLength(31);
    const crashed = doc.files.filter((f: { problems: Array<{ code: string }> }) =>
      f.problems.some((p) => p.code === 'scanner-crashed'),
    );
    expect(crashed.map((f: { file: string }) => f.file)).toContain(join(many, 'a-crash.pkl'));
    expect(crashed.length).toBeLessThanOrEqual(8);
    expect(doc.files.find((f: { file: string }) => f.file.endsWith('f07.pkl')).verdict).toBe('dangerous');
    expect(doc.interrupted).toBe(false);
  });

  it('--output writes the report to a file and keeps stdout empty', async () => {
    const out = join(dir, 'report.sarif');
    const run = await brine(['scan', '--format', 'sarif', '--output', out, join(dir, 'evil.pkl')]);
    expect(run.code).toBe(1);
    expect(run.stdout).toBe('');
    expect(sarifErrors(JSON.parse(await readFile(out, 'utf8')))).toEqual([]);
    const bad = await brine(['scan', '--output', join(dir, 'no/such/dir/r.json'), join(dir, 'evil.pkl')]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--output');
  });

  it('--max-file-size reports a larger file as unscannable instead of scanning it', async () => {
    const run = await brine(['scan', '--format', 'json', '--max-file-size', '10', join(dir, 'evil.pkl')]);
    expect(run.code).toBe(2);
    expect(JSON.parse(run.stdout).files[0].problems[0].code).toBe('too-large');
  });

  it('rules lists the rules and explain prints one; an unknown id is a usage error', async () => {
    const rules = await brine(['rules']);
    expect(rules.code).toBe(0);
    expect(rules.stdout).toContain('BRINE-SCAN-001');
    const explain = await brine(['explain', 'brine-scan-001']);
    expect(explain.code).toBe(0);
    expect(explain.stdout).toContain('What to do:');
    const unknown = await brine(['explain', 'BRINE-NOPE-999']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('unknown rule');
  });
});

describe('brine CLI over HTTP', () => {
  let server: RangeServer;
  let big: string;
  let bigSize: number;

  beforeAll(async () => {
    server = await startRangeServer();
    big = join(dir, 'big.pt');
    bigSize = await writeCheckpoint(big, PICKLES.evil, 48 * 1024 * 1024);
    server.file('/files/big.pt', big);
    server.file('/files/benign.pkl', join(dir, 'benign.pkl'));
    server.file('/acme/net/resolve/main/pytorch_model.bin', big);
    server.file('/acme/net/resolve/main/sub/ok.pkl', join(dir, 'benign.pkl'));
    server.file('/acme/net/resolve/main/README.md', join(mixed, 'README.md'));
    server.json('/api/models/acme/net/revision/main', {
      siblings: [{ rfilename: 'README.md' }, { rfilename: 'pytorch_model.bin' }, { rfilename: 'sub/ok.pkl' }],
    });
  });
  afterAll(async () => {
    await server.close();
  });

  it('scans a URL with range reads, fetching only a small part of a big checkpoint', async () => {
    const before = server.bytesServed();
    const run = await brine(['scan', '--format', 'json', `${server.url}/files/big.pt`]);
    const served = server.bytesServed() - before;
    expect(run.code).toBe(1);
    const doc = JSON.parse(run.stdout);
    expect(doc.files[0].size).toBe(bigSize);
    expect(doc.files[0].verdict).toBe('dangerous');
    expect(served).toBeLessThan(bigSize / 50);
    expect(doc.files[0].stats.bytesRead).toBeLessThanOrEqual(served);
  });

  it('scans an hf:// repository through a (local) Hub API, range-reading each file', async () => {
    const before = server.bytesServed();
    const run = await brine(['scan', '--format', 'json', '--hf-endpoint', server.url, 'hf://acme/net']);
    expect(run.code).toBe(1);
    const doc = JSON.parse(run.stdout);
    expect(doc.files.map((f: { file: string; verdict: string }) => [f.file, f.verdict])).toEqual([
      ['hf://acme/net@main/pytorch_model.bin', 'dangerous'],
      ['hf://acme/net@main/sub/ok.pkl', 'clean'],
    ]);
    expect(doc.skipped.map((s: { file: string }) => s.file)).toEqual(['hf://acme/net@main/README.md']);
    expect(server.bytesServed() - before).toBeLessThan(bigSize / 50);
    const viaEnv = await brine(['scan', '--format', 'sarif', 'hf://acme/net'], {
      env: { HF_ENDPOINT: server.url },
    });
    expect(viaEnv.code).toBe(1);
    const log = JSON.parse(viaEnv.stdout);
    expect(sarifErrors(log)).toEqual([]);
    expect(log.runs[0].results[0].locations[0].physicalLocation.artifactLocation.uri).toBe(
      'hf://acme/net@main/pytorch_model.bin',
    );
  });

  it.each(['1', '2'])('Ctrl-C stops the scan and prints a partial summary (--jobs %s)', async (jobs) => {
    const slow = `/files/slow-${jobs}.pkl`;
    server.hang(slow);
    const child = spawn(
      process.execPath,
      [BIN, 'scan', '--jobs', jobs, join(dir, 'evil.pkl'), `${server.url}${slow}`, join(dir, 'benign.pkl')],
      { cwd: ROOT, env: { ...process.env, NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stdout = '';
    child.stdout.on('data', (d) => {
      stdout += d;
    });
    const deadline = Date.now() + 20_000;
    while (!server.requests.some((r) => r.startsWith(`GET ${slow}`)) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
    }
    // The local files started with the download; give them a moment to finish before Ctrl-C.
    await new Promise((r) => setTimeout(r, 300));
    child.kill('SIGINT');
    const code = await new Promise<number | null>((r) => child.on('close', r));
    expect(code).toBe(2);
    expect(stdout).toContain('evil.pkl');
    expect(stdout).toContain('Interrupted');
    // Scans under way when Ctrl-C came are aborted and reported for what they saw: the stalled
    // download as not scanned. Nothing queued after them is started.
    expect(stdout).toMatch(/UNSCANNABLE +http:\/\/127\.0\.0\.1:\d+\/files\/slow-\d\.pkl/);
  });
});
