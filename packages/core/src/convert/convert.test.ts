import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BrineError } from '../engine/types.js';
import { bufferSource } from '../source/buffer.js';
import { type ConvertOptions, convertToSafetensorsStream, prepareConversion } from './convert.js';
import { ConvertError } from './refusal.js';
import { readSafetensors } from './test-support/safetensors-reader.js';

const fixtures = fileURLToPath(new URL('../../../../fixtures/convert/', import.meta.url));
const load = (name: string) => new Uint8Array(readFileSync(fixtures + name));
const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

interface Expected {
  tensors: Record<string, { dtype: string; shape: number[]; sha256: string }>;
  metadata: Record<string, string>;
  dropped: string[];
}

const options: ConvertOptions = { brineVersion: '9.9.9-test', createHash: () => createHash('sha256') };

async function convertBytes(name: string, extra: ConvertOptions = {}) {
  const input = load(name);
  const stream = await convertToSafetensorsStream(bufferSource(name, input), { ...options, ...extra });
  const parts: Uint8Array[] = [];
  for await (const c of stream.chunks) parts.push(c);
  const out = new Uint8Array(Buffer.concat(parts));
  return { input, out, stream };
}

const BENIGN = ['dtypes', 'views', 'nested', 'protocol4', 'legacy', 'legacy-views'];
const WITH_REFERENCE = ['dtypes', 'views', 'nested', 'legacy'];

describe('convertToSafetensorsStream on torch-written checkpoints', () => {
  for (const name of BENIGN) {
    it(`${name}.pt: every tensor matches torch's dtype, shape and contiguous bytes`, async () => {
      const expected = JSON.parse(readFileSync(`${fixtures}${name}.expected.json`, 'utf8')) as Expected;
      const { input, out, stream } = await convertBytes(`${name}.pt`);
      expect(out.length).toBe(stream.plan.totalBytes);
      const st = readSafetensors(out);
      expect([...st.tensors.keys()].sort()).toEqual(Object.keys(expected.tensors).sort());
      for (const [tname, rec] of Object.entries(expected.tensors)) {
        const t = st.tensors.get(tname);
        expect({ name: tname, dtype: t?.dtype, shape: t?.shape, sha256: t && sha256(t.bytes) }).toEqual({
          name: tname,
          ...rec,
        });
      }
      // Provenance and the checkpoint's own scalars.
      expect(st.metadata['brine.source_sha256']).toBe(sha256(input));
      expect(st.metadata['brine.version']).toBe('9.9.9-test');
      expect(st.metadata.format).toBe('pt');
      for (const [k, v] of Object.entries(expected.metadata)) expect(st.metadata[k], k).toBe(v);
      expect(stream.plan.metadata).toEqual(expected.metadata);
      expect(stream.plan.dropped.map((d) => d.name).sort()).toEqual(expected.dropped);
    });
  }

  for (const name of WITH_REFERENCE) {
    it(`${name}.pt matches the reference writer's safetensors file tensor for tensor`, async () => {
      const { out } = await convertBytes(`${name}.pt`);
      const ours = readSafetensors(out);
      const ref = readSafetensors(load(`${name}.ref.safetensors`));
      expect(ours.tensors.size).toBe(ref.tensors.size);
      for (const [tname, r] of ref.tensors) {
        const t = ours.tensors.get(tname);
        expect(t?.dtype, tname).toBe(r.dtype);
        expect(t?.shape, tname).toEqual(r.shape);
        expect(Buffer.from(t?.bytes ?? []).equals(Buffer.from(r.bytes)), tname).toBe(true);
      }
      for (const [k, v] of Object.entries(ref.metadata)) expect(ours.metadata[k], k).toBe(v);
    });
  }

  it('aligns the data section to 8 bytes and every tensor to its element size', async () => {
    const { out } = await convertBytes('dtypes.pt');
    const st = readSafetensors(out);
    expect((8 + st.headerLength) % 8).toBe(0);
    const sizes: Record<string, number> = { F64: 8, C64: 8, I64: 8, F32: 4, I32: 4, F16: 2, BF16: 2, I16: 2 };
    for (const [name, t] of st.tensors) expect(t.dataOffsets[0] % (sizes[t.dtype] ?? 1), name).toBe(0);
  });

  it('records complex128 tensors written as float64 pairs', async () => {
    const { out } = await convertBytes('dtypes.pt');
    const st = readSafetensors(out);
    expect(JSON.parse(st.metadata['brine.complex_as_real_pairs'] ?? '[]')).toEqual(['c128']);
    expect(st.tensors.get('c64')?.dtype).toBe('C64');
  });

  it('marks views that had to be materialised', async () => {
    const { stream } = await convertBytes('views.pt');
    const byName = new Map(stream.plan.tensors.map((t) => [t.name, t]));
    expect(byName.get('transposed')?.materialised).toBe(true);
    expect(byName.get('expanded')?.materialised).toBe(true);
    expect(byName.get('row')?.materialised).toBe(false);
    expect(byName.get('base')?.materialised).toBe(false);
  });

  it('streams the same bytes with a tiny chunk and window (forcing block-wise gathering)', async () => {
    const big = await convertBytes('views.pt');
    const small = await convertBytes('views.pt', { chunkBytes: 16, windowBytes: 48 });
    expect(Buffer.from(small.out).equals(Buffer.from(big.out))).toBe(true);
  });

  it('uses a given source hash instead of reading the input for one', async () => {
    const given = 'ab'.repeat(32);
    const { out } = await convertBytes('legacy.pt', { sourceSha256: given, createHash: undefined });
    expect(readSafetensors(out).metadata['brine.source_sha256']).toBe(given);
  });
});

describe('refusals', () => {
  it.each([
    ['malicious-os-system.pt', /posix\.system/],
    ['malicious-legacy.pt', /posix\.system/],
    ['suspicious-module.pt', /torch\.nn\.modules\.linear\.Linear/],
  ])('%s is refused naming the import, before any output', async (name, pattern) => {
    const err = await prepareConversion(bufferSource(name, load(name)), options).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConvertError);
    expect((err as ConvertError).code).toBe('convert-forbidden-global');
    expect((err as ConvertError).message).toMatch(pattern);
    expect((err as ConvertError).message).toContain(name);
  });

  it('refuses a view past the end of its storage (structural-out-of-bounds.pt)', async () => {
    const name = 'structural-out-of-bounds.pt';
    const err = await prepareConversion(bufferSource(name, load(name)), options).catch((e: unknown) => e);
    expect((err as ConvertError).code).toBe('convert-bad-tensor');
    expect((err as ConvertError).message).toContain('weight');
  });

  it('a failing gate refuses with its report and the interpreter never runs', async () => {
    let reads = 0;
    const src = bufferSource('dtypes.pt', load('dtypes.pt'));
    const counting = {
      ...src,
      name: src.name,
      size: src.size,
      bytesRead: 0,
      read: (o: number, n: number) => {
        reads++;
        return src.read(o, n);
      },
      close: src.close,
    };
    const report = { verdict: 'dangerous' };
    const err = await prepareConversion(counting, {
      ...options,
      gate: async () => ({ ok: false, reasons: ['posix.system is called'], report }),
    }).catch((e: unknown) => e);
    expect((err as ConvertError).code).toBe('convert-refused-by-scan');
    expect((err as ConvertError).findings).toBe(report);
    expect((err as ConvertError).message).toContain('posix.system is called');
    expect(reads).toBe(0);
  });

  it('a passing gate lets the conversion run', async () => {
    const seen: string[] = [];
    const src = bufferSource('legacy.pt', load('legacy.pt'));
    const prepared = await prepareConversion(src, {
      gate: async (s) => {
        seen.push(s.name);
        return { ok: true, reasons: [] };
      },
    });
    expect(seen).toEqual(['legacy.pt']);
    expect(prepared.plan.tensors.length).toBe(7);
  });

  it('refuses a truncated zip checkpoint', async () => {
    const input = load('dtypes.pt');
    const err = await prepareConversion(
      bufferSource('cut.pt', input.subarray(0, input.length - 100)),
      options,
    ).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConvertError);
  });

  it('refuses a truncated legacy checkpoint naming the storage', async () => {
    const input = load('legacy.pt');
    const err = await prepareConversion(
      bufferSource('cut.pt', input.subarray(0, input.length - 3)),
      options,
    ).catch((e: unknown) => e);
    expect((err as ConvertError).code).toBe('convert-bad-storage');
    expect((err as ConvertError).message).toMatch(/storage .* runs past the end/);
  });

  it('refuses bytes appended after a legacy checkpoint', async () => {
    const input = load('legacy.pt');
    const glued = new Uint8Array(input.length + 4);
    glued.set(input);
    const err = await prepareConversion(bufferSource('glued.pt', glued), options).catch((e: unknown) => e);
    expect((err as ConvertError).code).toBe('convert-unsupported-input');
    expect((err as ConvertError).message).toContain('4 bytes follow the last storage');
  });

  it('refuses input that is not a checkpoint', async () => {
    const err = await prepareConversion(
      bufferSource('x.bin', new TextEncoder().encode('hello world')),
      options,
    ).catch((e: unknown) => e);
    expect((err as ConvertError).code).toBe('convert-unsupported-input');
  });
});

describe('damaged checkpoints', () => {
  it.each(['dtypes.pt', 'legacy.pt', 'views.pt'])(
    '%s with random bytes changed converts or refuses with a typed error, never crashes',
    async (name) => {
      const input = load(name);
      await fc.assert(
        fc.asyncProperty(
          fc.array(fc.tuple(fc.nat(input.length - 1), fc.integer({ min: 0, max: 255 })), {
            minLength: 1,
            maxLength: 4,
          }),
          async (patches) => {
            const bytes = input.slice();
            for (const [at, v] of patches) bytes[at] = v;
            try {
              const stream = await convertToSafetensorsStream(bufferSource(name, bytes), options);
              let n = 0;
              for await (const c of stream.chunks) n += c.length;
              expect(n).toBe(stream.plan.totalBytes);
            } catch (e) {
              if (!(e instanceof BrineError)) throw e;
            }
          },
        ),
        { numRuns: 100 },
      );
    },
  );
});
