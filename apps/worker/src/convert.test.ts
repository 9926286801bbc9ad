import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { readSafetensors } from '../../../packages/core/src/convert/test-support/safetensors-reader.js';
import { createApp } from './app.js';
import { compileScanner } from './node.js';

const FIXTURES = fileURLToPath(new URL('../../../fixtures/convert/', import.meta.url));
const fixture = (name: string) => new Uint8Array(readFileSync(`${FIXTURES}${name}`));
const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

interface Expected {
  tensors: Record<string, { dtype: string; shape: number[]; sha256: string }>;
}

let app: ReturnType<typeof createApp>;
beforeAll(async () => {
  app = createApp({ wasm: await compileScanner(), limits: { maxConvertBytes: 1024 * 1024 } });
});

const post = (body: Uint8Array<ArrayBuffer>, query = '') =>
  app.request(`/v1/convert${query}`, {
    method: 'POST',
    body,
    headers: { 'content-type': 'application/octet-stream' },
  });

describe('POST /v1/convert', () => {
  it('streams back safetensors whose tensors match what torch wrote, byte for byte', async () => {
    const input = fixture('dtypes.pt');
    const res = await post(input, '?filename=dtypes.pt');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-disposition')).toContain('dtypes.safetensors');
    expect(res.headers.get('x-brine-source-sha256')).toBe(sha256(input));
    const out = new Uint8Array(await res.arrayBuffer());
    expect(out.length).toBe(Number(res.headers.get('content-length')));
    const file = readSafetensors(out);
    const expected = JSON.parse(readFileSync(`${FIXTURES}dtypes.expected.json`, 'utf8')) as Expected;
    expect([...file.tensors.keys()].sort()).toEqual(Object.keys(expected.tensors).sort());
    for (const [name, want] of Object.entries(expected.tensors)) {
      const got = file.tensors.get(name);
      expect(got?.dtype, name).toBe(want.dtype);
      expect(got?.shape, name).toEqual(want.shape);
      expect(sha256(got?.bytes ?? new Uint8Array()), name).toBe(want.sha256);
    }
    expect(file.metadata['brine.source_sha256']).toBe(sha256(input));
  });

  it('refuses a malicious checkpoint with the findings and no safetensors bytes', async () => {
    const res = await post(fixture('malicious-os-system.pt'));
    expect(res.status).toBe(422);
    const body = (await res.json()) as {
      error: { code: string };
      report?: { files: Array<{ verdict: string }> };
    };
    expect(body.error.code).toBe('convert-refused');
    expect(body.report?.files[0]?.verdict).toBe('dangerous');
    expect(JSON.stringify(body.report)).toContain('system');
  });

  it('answers 413 past the conversion limit and 400 for an empty body', async () => {
    expect((await post(new Uint8Array(1024 * 1024 + 1))).status).toBe(413);
    expect((await post(new Uint8Array(0))).status).toBe(400);
  });
});
