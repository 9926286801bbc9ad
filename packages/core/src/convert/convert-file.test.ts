import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openFileSource } from '../source/file.js';
import { convertToSafetensors } from './convert-file.js';
import { ConvertError } from './refusal.js';
import { readSafetensors } from './test-support/safetensors-reader.js';

const fixtures = fileURLToPath(new URL('../../../../fixtures/convert/', import.meta.url));

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'brine-convert-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

async function convert(input: string, out: string, force = false) {
  const source = await openFileSource(input);
  try {
    return await convertToSafetensors(source, out, { force, brineVersion: 't' });
  } finally {
    await source.close();
  }
}

describe('convertToSafetensors (file)', () => {
  it('writes the file with the real source hash and leaves no temporary file', async () => {
    const out = join(dir, 'model.safetensors');
    const result = await convert(`${fixtures}nested.pt`, out);
    const st = readSafetensors(new Uint8Array(readFileSync(out)));
    expect(st.metadata['brine.source_sha256']).toBe(result.sourceSha256);
    expect(result.sourceSha256).toMatch(/^[0-9a-f]{64}$/);
    expect(result.output).toBe(out);
    expect(readFileSync(out).length).toBe(result.totalBytes);
    expect(readdirSync(dir)).toEqual(['model.safetensors']);
  });

  it('never overwrites an existing file without force, and replaces it with force', async () => {
    const out = join(dir, 'model.safetensors');
    writeFileSync(out, 'keep me');
    const err = await convert(`${fixtures}legacy.pt`, out).catch((e: unknown) => e);
    expect((err as ConvertError).code).toBe('convert-output-exists');
    expect(readFileSync(out, 'utf8')).toBe('keep me');
    await convert(`${fixtures}legacy.pt`, out, true);
    expect(readSafetensors(new Uint8Array(readFileSync(out))).tensors.size).toBe(7);
    expect(readdirSync(dir)).toEqual(['model.safetensors']);
  });

  it('writes nothing for a refused checkpoint', async () => {
    const out = join(dir, 'evil.safetensors');
    const err = await convert(`${fixtures}malicious-os-system.pt`, out).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConvertError);
    expect(existsSync(out)).toBe(false);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('stops when aborted and leaves nothing behind', async () => {
    const out = join(dir, 'model.safetensors');
    const input = await openFileSource(`${fixtures}views.pt`);
    const abort = new AbortController();
    const slow = {
      ...input,
      name: input.name,
      size: input.size,
      bytesRead: 0,
      close: () => input.close(),
      read: async (o: number, n: number) => {
        // Abort as soon as the temporary file exists, mid-copy.
        if (readdirSync(dir).length > 0) abort.abort();
        return input.read(o, n);
      },
    };
    const err = await convertToSafetensors(slow, out, { signal: abort.signal }).catch((e: unknown) => e);
    await input.close();
    expect(abort.signal.aborted).toBe(true);
    expect((err as ConvertError).message).toMatch(/interrupted/);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('removes the temporary file when writing fails midway', async () => {
    const out = join(dir, 'model.safetensors');
    const input = await openFileSource(`${fixtures}dtypes.pt`);
    let failed = false;
    // Fails on the first read made once the temporary file exists.
    const flaky = {
      ...input,
      name: input.name,
      size: input.size,
      bytesRead: 0,
      close: () => input.close(),
      read: async (o: number, n: number) => {
        if (readdirSync(dir).length > 0) {
          failed = true;
          throw new Error('disk on fire');
        }
        return input.read(o, n);
      },
    };
    const err = await convertToSafetensors(flaky, out).catch((e: unknown) => e);
    await input.close();
    expect(failed).toBe(true);
    expect((err as ConvertError).code).toBe('convert-io');
    expect((err as ConvertError).message).toContain('disk on fire');
    expect(readdirSync(dir)).toEqual([]);
  });
});
