import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { coreEngine } from './engine.js';
import { type HookOptions, runHook } from './hook.js';
import { CLEAN_P0, CLEAN_P2, MALICIOUS_P0, MALICIOUS_P2, UNKNOWN_CLASS_P2 } from './test-support/pickles.js';
import { makeRepo, type TempRepo } from './test-support/repo.js';

let repo: TempRepo | undefined;
afterEach(async () => {
  await repo?.cleanup();
  repo = undefined;
});

const sha = (b: Uint8Array | string) => createHash('sha256').update(b).digest('hex');

async function hook(dir: string, extra: Partial<HookOptions> = {}) {
  let out = '';
  let err = '';
  const result = await runHook({
    cwd: dir,
    engine: coreEngine,
    out: (s) => {
      out += s;
    },
    err: (s) => {
      err += s;
    },
    ...extra,
  });
  return { ...result, out, err };
}

/** Writes the LFS object for `content` where git-lfs keeps it and returns the pointer text. */
async function lfsStore(r: TempRepo, content: Uint8Array, withObject: boolean): Promise<string> {
  const oid = sha(content);
  if (withObject) {
    const dir = join(r.dir, '.git', 'lfs', 'objects', oid.slice(0, 2), oid.slice(2, 4));
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, oid), content);
  }
  return `version https://git-lfs.github.com/spec/v1\noid sha256:${oid}\nsize ${content.length}\n`;
}

describe('runHook', () => {
  it('blocks a staged malicious pickle and says what, where, why and how to fix or waive', async () => {
    repo = await makeRepo();
    await repo.stage('models/evil.pkl', MALICIOUS_P2);
    const r = await hook(repo.dir);
    expect(r.exitCode).toBe(1);
    expect(r.scanned).toEqual(['models/evil.pkl']);
    expect(r.out).toContain('commit blocked');
    expect(r.out).toContain('models/evil.pkl');
    expect(r.out).toMatch(/posix\.system|os\.system/);
    expect(r.out).toContain('safetensors');
    const rule = r.run?.files[0]?.findings.find((f) => f.fails)?.ruleId;
    expect(rule).toMatch(/^BRINE-/);
    // The waiver snippet is valid JSON with the rule, the path and the staged blob's SHA-256.
    expect(r.out).toContain(`"sha256": "${sha(MALICIOUS_P2)}"`);
    expect(r.out).toContain(`"rule": "${rule}"`);
    expect(r.out).toContain('"path": "models/evil.pkl"');
  });

  it('lets a clean pickle through with one line, and a commit without models with none', async () => {
    repo = await makeRepo();
    await repo.stage('src/app.py', 'import os\nprint(os.getcwd())\n');
    const none = await hook(repo.dir);
    expect(none).toMatchObject({ exitCode: 0, scanned: [], out: '', err: '' });
    await repo.stage('weights.pkl', CLEAN_P2);
    await repo.stage('weights-p0.pkl', CLEAN_P0);
    const clean = await hook(repo.dir);
    expect(clean.exitCode).toBe(0);
    expect(clean.scanned.sort()).toEqual(['weights-p0.pkl', 'weights.pkl']);
    expect(clean.out.trim().split('\n')).toHaveLength(1);
  });

  it('scans blobs too large for memory from a temporary copy, and finds a zip behind leading data', async () => {
    repo = await makeRepo();
    await repo.stage('big/evil.pkl', MALICIOUS_P2);
    const zipped = readFileSync(new URL('../../../fixtures/containers/zip-data-before.zip', import.meta.url));
    await repo.stage('big/archive.dat', zipped);
    // Tiny limits stand in for a multi-GB checkpoint: every blob takes the large-blob path.
    const r = await hook(repo.dir, {
      blobOptions: { headBytes: 4096, memoryLimit: 16 },
    });
    expect(r.exitCode).toBe(1);
    expect(r.scanned.sort()).toEqual(['big/archive.dat', 'big/evil.pkl']);
    expect(r.run?.files.every((f) => f.fails)).toBe(true);
  });

  it('lets a suspicious file through under the default policy, naming it on the one line', async () => {
    repo = await makeRepo();
    await repo.stage('models/net.pkl', UNKNOWN_CLASS_P2);
    const r = await hook(repo.dir);
    expect(r.run?.files[0]?.verdict).toBe('suspicious');
    expect(r.exitCode).toBe(0);
    expect(r.out.trim().split('\n')).toHaveLength(1);
    expect(r.out).toContain('suspicious but allowed: models/net.pkl');
    // Under strict, the same file blocks.
    await repo.stage('.brine.json', JSON.stringify({ extends: 'strict' }));
    expect((await hook(repo.dir)).exitCode).toBe(1);
  });

  it('chooses files by content: a protocol-0 pickle named notes.txt is caught', async () => {
    repo = await makeRepo();
    await repo.stage('notes.txt', MALICIOUS_P0);
    const r = await hook(repo.dir);
    expect(r.exitCode).toBe(1);
    expect(r.scanned).toEqual(['notes.txt']);
  });

  it('judges the staged blob, not the working tree', async () => {
    repo = await makeRepo();
    await repo.stage('model.pkl', MALICIOUS_P2);
    await repo.write('model.pkl', CLEAN_P2);
    expect((await hook(repo.dir)).exitCode).toBe(1);
    await repo.stage('model.pkl', CLEAN_P2);
    await repo.write('model.pkl', MALICIOUS_P2);
    expect((await hook(repo.dir)).exitCode).toBe(0);
  });

  it('scans the LFS object a staged pointer names, and says so when the object is absent', async () => {
    repo = await makeRepo();
    await repo.stage('ckpt/model.bin', await lfsStore(repo, MALICIOUS_P2, true));
    const present = await hook(repo.dir);
    expect(present.exitCode).toBe(1);
    expect(present.out).toContain('ckpt/model.bin');
    expect(present.out).toContain('Git LFS pointer: scanned the object');
    // Waivers for LFS files pin the model's hash (the pointer oid), not the pointer text.
    expect(present.out).toContain(`"sha256": "${sha(MALICIOUS_P2)}"`);

    await repo.stage('ckpt/model.bin', await lfsStore(repo, CLEAN_P2, true));
    expect((await hook(repo.dir)).exitCode).toBe(0);

    // Something that only starts like a pointer is neither resolved nor blocked.
    await repo.stage('notes/pointer-like.txt', 'version https://git-lfs.github.com/spec/v1\nnot a pointer\n');
    expect((await hook(repo.dir)).scanned).not.toContain('notes/pointer-like.txt');

    const other = Uint8Array.from([...CLEAN_P2.subarray(0, -1), 0x2e, 0x2e]);
    await repo.stage('ckpt/model.bin', await lfsStore(repo, other, false));
    const absent = await hook(repo.dir);
    expect(absent.exitCode).toBe(2);
    expect(absent.out).toContain('lfs-object-missing');
    expect(absent.out).toContain('ckpt/model.bin');
  });

  it('still scans an LFS object whose size disagrees with its pointer, and says so', async () => {
    repo = await makeRepo();
    const pointer = (await lfsStore(repo, MALICIOUS_P2, true)).replace(/size \d+/, 'size 999');
    await repo.stage('ckpt/odd.bin', pointer);
    const r = await hook(repo.dir);
    expect(r.exitCode).toBe(1);
    expect(r.out).toContain(`holds ${MALICIOUS_P2.length} bytes where the pointer says 999`);
  });

  it('lets the policy decide about an absent LFS object: a waiver pinned to its oid lets it pass', async () => {
    repo = await makeRepo();
    const content = Uint8Array.from([...CLEAN_P2, 0x0a]);
    await repo.stage('big/model.pt', await lfsStore(repo, content, false));
    expect((await hook(repo.dir)).exitCode).toBe(2);
    const waiver = {
      rule: 'BRINE-SCAN-001',
      path: 'big/*.pt',
      sha256: sha(content),
      reason: 'fetched in CI',
    };
    await repo.stage('.brine.json', JSON.stringify({ waivers: [waiver] }));
    const waived = await hook(repo.dir);
    expect(waived.exitCode, waived.out).toBe(0);
  });

  it('honours a waiver pinned to the staged content, and drops it once the file changes', async () => {
    repo = await makeRepo();
    await repo.stage('models/legacy.pkl', MALICIOUS_P2);
    const blocked = await hook(repo.dir);
    const rule = blocked.run?.files[0]?.findings.find((f) => f.fails)?.ruleId as string;
    const waiver = { rule, path: 'models/legacy.pkl', sha256: sha(MALICIOUS_P2), reason: 'reviewed' };
    await repo.stage('.brine.json', JSON.stringify({ waivers: [waiver] }));
    const waived = await hook(repo.dir);
    expect(waived.exitCode, waived.out).toBe(0);

    // Same path, different content: the pinned waiver no longer applies.
    await repo.stage('models/legacy.pkl', MALICIOUS_P0);
    const changed = await hook(repo.dir);
    expect(changed.exitCode).toBe(1);
    expect(changed.out).toContain('not applied');
  });

  it('applies include/exclude from .brine.json and reads only the paths pre-commit passes', async () => {
    repo = await makeRepo();
    await repo.stage('vendor/evil.pkl', MALICIOUS_P2);
    await repo.stage('.brine.json', JSON.stringify({ exclude: ['vendor/**'] }));
    expect((await hook(repo.dir)).exitCode).toBe(0);
    await repo.stage('.brine.json', '{}');
    await repo.stage('models/ok.pkl', CLEAN_P2);
    const onlyOk = await hook(repo.dir, { files: ['models/ok.pkl'] });
    expect(onlyOk).toMatchObject({ exitCode: 0, scanned: ['models/ok.pkl'] });
    expect((await hook(repo.dir, { files: ['vendor/evil.pkl', 'models/ok.pkl'] })).exitCode).toBe(1);
  });

  it('shows a waiver that rides in with the model it excuses, and a configuration dropped later', async () => {
    repo = await makeRepo();
    await repo.stage('.brine.json', JSON.stringify({ extends: 'strict' }));
    expect(repo.git('commit', '-q', '-m', 'policy').code).toBe(0);

    await repo.stage('models/legacy.pkl', MALICIOUS_P2);
    const rule = (await hook(repo.dir)).run?.files[0]?.findings.find((f) => f.fails)?.ruleId as string;
    const waiver = { rule, path: 'models/legacy.pkl', sha256: sha(MALICIOUS_P2), reason: 'trust me' };
    await repo.stage('.brine.json', JSON.stringify({ extends: 'default', waivers: [waiver] }));
    const waived = await hook(repo.dir);
    expect(waived.exitCode, waived.out).toBe(0);
    expect(waived.out).toContain("brine: this commit changes brine's configuration (.brine.json (staged))");
    expect(waived.out).toContain(
      `brine:   + waiver "${rule}" for "models/legacy.pkl" sha256 "${sha(MALICIOUS_P2)}" {"reason":"trust me"}`,
    );
    expect(waived.out).toContain('brine:   ~ extends: "strict" → "default"');
    expect(repo.git('commit', '-q', '-m', 'model').code).toBe(0);

    // Nothing changes in the configuration: nothing about it is printed.
    await repo.stage('src/app.py', 'print(1)\n');
    expect((await hook(repo.dir)).out).toBe('');

    // A commit that only deletes the configuration lists no staged file, and is still shown.
    expect(repo.git('rm', '-q', '.brine.json').code).toBe(0);
    const dropped = await hook(repo.dir);
    expect(dropped.exitCode).toBe(0);
    expect(dropped.out).toContain('(no configuration left: defaults apply)');
    expect(dropped.out).toContain('brine:   ~ extends: "default" → undefined');
    expect(dropped.out).toContain(`brine:   - waiver "${rule}" for "models/legacy.pkl"`);
  });

  it('fails with exit 2 and names the file when .brine.json is broken', async () => {
    repo = await makeRepo();
    await repo.stage('.brine.json', JSON.stringify({ waivers: [{ rule: 'nope', path: 'x' }] }));
    const r = await hook(repo.dir);
    expect(r.exitCode).toBe(2);
    expect(r.err).toContain('.brine.json (staged)');
    expect(r.err).toContain('waivers[0].rule');
  });

  it('fails with exit 2 outside a repository instead of passing silently', async () => {
    const r = await hook('/');
    expect(r.exitCode).toBe(2);
    expect(r.err).toContain('not inside a git working tree');
  });
});
