import { env, exports } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';

// POST /v1/convert inside real workerd: the same gate and restricted interpreter as on Node, with
// Web Crypto for the source hash and the result streamed back.
const TOKEN = 'workerd-test-token';
const bindings = env as unknown as { TEST_CONVERT_PT_B64: string; TEST_CONVERT_EXPECTED: string };

const hex = (b: ArrayBuffer) =>
  Array.from(new Uint8Array(b), (x) => x.toString(16).padStart(2, '0')).join('');
const sha256 = async (b: Uint8Array) => hex(await crypto.subtle.digest('SHA-256', b));

describe('worker in workerd: conversion', () => {
  it('converts a torch-written checkpoint to safetensors matching the generator records', async () => {
    const input = Uint8Array.from(atob(bindings.TEST_CONVERT_PT_B64), (c) => c.charCodeAt(0));
    const res = await exports.default.fetch(
      new Request('http://brine.test/v1/convert?filename=legacy.pt', {
        method: 'POST',
        body: input,
        headers: { authorization: `Bearer ${TOKEN}` },
      }),
    );
    expect(res.status).toBe(200);
    const out = new Uint8Array(await res.arrayBuffer());
    const n = Number(new DataView(out.buffer).getBigUint64(0, true));
    const header = JSON.parse(new TextDecoder().decode(out.subarray(8, 8 + n))) as Record<
      string,
      { dtype: string; shape: number[]; data_offsets: [number, number] } | Record<string, string>
    >;
    const data = out.subarray(8 + n);
    const expected = JSON.parse(bindings.TEST_CONVERT_EXPECTED) as {
      tensors: Record<string, { dtype: string; shape: number[]; sha256: string }>;
    };
    expect((header.__metadata__ as Record<string, string>)['brine.source_sha256']).toBe(await sha256(input));
    for (const [name, want] of Object.entries(expected.tensors)) {
      const got = header[name] as { dtype: string; shape: number[]; data_offsets: [number, number] };
      expect(got?.dtype, name).toBe(want.dtype);
      expect(got?.shape, name).toEqual(want.shape);
      expect(await sha256(data.subarray(got.data_offsets[0], got.data_offsets[1])), name).toBe(want.sha256);
    }
  });
});
