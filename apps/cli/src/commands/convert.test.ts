import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readSafetensors } from '../../../../packages/core/src/convert/test-support/safetensors-reader.js';

// End-to-end: the built CLI (`npm run build` first) as a child process.
const BIN = fileURLToPath(new URL('../../dist/bin.js', import.meta.url));
const FIXTURES = fileURLToPath(new URL('../../../../fixtures/convert/', import.meta.url));

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function brine(args: string[]): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
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
  });
}

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'brine-cli-convert-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

function expectMatchesRecords(out: string, fixture: string) {
  const expected = JSON.parse(readFileSync(`${FIXTURES}${fixture}.expected.json`, 'utf8')) as {
    tensors: Record<string, { dtype: string; shape: number[]; sha256: string }>;
  };
  const st = readSafetensors(new Uint8Array(readFileSync(out)));
  expect([...st.tensors.keys()].sort()).toEqual(Object.keys(expected.tensors).sort());
  for (const [name, rec] of Object.entries(expected.tensors)) {
    const t = st.tensors.get(name);
    expect({
      dtype: t?.dtype,
      shape: t?.shape,
      sha256: createHash('sha256')
        .update(t?.bytes ?? new Uint8Array())
        .digest('hex'),
    }).toEqual({
      dtype: rec.dtype,
      shape: rec.shape,
      sha256: rec.sha256,
    });
  }
  return st;
}

describe('brine convert (built CLI)', () => {
  it('converts a zip checkpoint and reports what it kept and dropped', async () => {
    const out = join(dir, 'nested.safetensors');
    const r = await brine(['convert', `${FIXTURES}nested.pt`, out]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('converted');
    expect(r.stdout).toMatch(/\d+ tensors/);
    expect(r.stdout).toContain('epoch=7');
    expect(r.stdout).toContain('model._metadata');
    const st = expectMatchesRecords(out, 'nested');
    const input = readFileSync(`${FIXTURES}nested.pt`);
    expect(st.metadata['brine.source_sha256']).toBe(createHash('sha256').update(input).digest('hex'));
    expect(st.metadata['brine.version']).toMatch(/^\d+\.\d+\.\d+/);
  });

  it('converts a legacy checkpoint, with JSON output', async () => {
    const out = join(dir, 'legacy.safetensors');
    const r = await brine(['convert', `${FIXTURES}legacy-views.pt`, out, '--format', 'json']);
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout);
    expect(doc).toMatchObject({ converted: true, format: 'legacy-torch', scan: { verdict: 'clean' } });
    expect(doc.tensors.length).toBe(11);
    expectMatchesRecords(out, 'legacy-views');
  });

  it.each(['malicious-os-system.pt', 'malicious-legacy.pt'])(
    'refuses %s with the findings report and writes nothing',
    async (name) => {
      const out = join(dir, 'evil.safetensors');
      const r = await brine(['convert', `${FIXTURES}${name}`, out]);
      expect(r.code).toBe(1);
      expect(r.stdout).toContain('posix.system');
      expect(r.stderr).toContain('not converted, nothing written');
      expect(existsSync(out)).toBe(false);
      expect(readdirSync(dir)).toEqual([]);
    },
  );

  it('refuses a whole pickled nn.Module (not a state dict)', async () => {
    const out = join(dir, 'module.safetensors');
    const r = await brine(['convert', `${FIXTURES}suspicious-module.pt`, out, '--format', 'json']);
    expect(r.code).toBe(1);
    const doc = JSON.parse(r.stdout);
    expect(doc.converted).toBe(false);
    expect(JSON.stringify(doc)).toContain('torch.nn.modules.linear');
    expect(existsSync(out)).toBe(false);
  });

  it('refuses what the scan passes but the restricted interpreter cannot build (a view past its storage)', async () => {
    const out = join(dir, 'oob.safetensors');
    const r = await brine(['convert', `${FIXTURES}structural-out-of-bounds.pt`, out, '--format', 'json']);
    expect(r.code).toBe(1);
    const doc = JSON.parse(r.stdout);
    // The import-level scan is clean; the second, independent gate refuses.
    expect(doc.scan?.verdict).toBe('clean');
    expect(doc.error.code).toBe('convert-bad-tensor');
    expect(doc.error.message).toMatch(/reads past its storage of 12 elements/);
    expect(existsSync(out)).toBe(false);
  });

  it('never overwrites without --force', async () => {
    const out = join(dir, 'model.safetensors');
    writeFileSync(out, 'precious');
    const r = await brine(['convert', `${FIXTURES}dtypes.pt`, out]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--force');
    expect(readFileSync(out, 'utf8')).toBe('precious');
    const forced = await brine(['convert', `${FIXTURES}dtypes.pt`, out, '--force']);
    expect(forced.code).toBe(0);
    expectMatchesRecords(out, 'dtypes');
  });

  it('exits 2 for a missing input', async () => {
    const r = await brine(['convert', join(dir, 'nope.pt'), join(dir, 'x.safetensors')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('nope.pt');
    expect(readdirSync(dir)).toEqual([]);
  });
});
