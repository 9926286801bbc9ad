import { type Zippable, zipSync } from 'fflate';
import { describe, expect, it } from 'vitest';
import { bufferSource } from '../source/buffer.js';
import { readCheckpoint } from './checkpoint.js';
import { prepareConversion } from './convert.js';
import { ConvertError } from './refusal.js';
import { bytes, op, stateDictPickle, tensorV2 } from './test-support/pickle-writer.js';

/** A torch-shaped zip: `<prefix>/data.pkl`, `<prefix>/data/<key>`, stored unless said otherwise. */
function checkpoint(files: Record<string, Uint8Array | [Uint8Array, { level: 0 | 6 }]>): Uint8Array {
  const z: Zippable = {};
  for (const [name, v] of Object.entries(files)) z[name] = Array.isArray(v) ? v : [v, { level: 0 }];
  return zipSync(z);
}

const floats = (...v: number[]) => new Uint8Array(new Float32Array(v).buffer);
const pickle = stateDictPickle([['w', tensorV2({ key: '0', numel: 4, size: [2, 2], stride: [1, 2] })]]);

async function refusal(bytes: Uint8Array): Promise<ConvertError> {
  const e = await prepareConversion(bufferSource('ckpt.pt', bytes)).catch((err: unknown) => err);
  if (!(e instanceof ConvertError)) throw new Error(`expected a ConvertError, got ${String(e)}`);
  return e;
}

describe('readCheckpoint (zip)', () => {
  it('reads a hand-built checkpoint and locates its storage inside the file', async () => {
    const data = floats(1, 2, 3, 4);
    const bytes = checkpoint({
      'arch/data.pkl': pickle,
      'arch/data/0': data,
      'arch/version': new TextEncoder().encode('3\n'),
    });
    const c = await readCheckpoint(bufferSource('ckpt.pt', bytes));
    expect(c.format).toBe('pytorch-zip');
    expect(c.picklePath).toBe('arch/data.pkl');
    const loc = c.locations.get('0');
    expect(loc?.length).toBe(16);
    expect(bytes.subarray(loc?.offset, (loc?.offset ?? 0) + 16)).toEqual(data);
  });

  it('accepts a deflated data.pkl (storages must still be stored)', async () => {
    const bytes = checkpoint({ 'a/data.pkl': [pickle, { level: 6 }], 'a/data/0': floats(1, 2, 3, 4) });
    const prepared = await prepareConversion(bufferSource('ckpt.pt', bytes));
    expect(prepared.plan.tensors.map((t) => [t.name, t.materialised])).toEqual([['w', true]]);
  });

  it.each([
    ['a missing storage record', { 'a/data.pkl': pickle }, 'convert-bad-storage', /a\/data\/0 is missing/],
    [
      'a storage of the wrong size',
      { 'a/data.pkl': pickle, 'a/data/0': floats(1, 2, 3) },
      'convert-bad-storage',
      /holds 12 bytes but the pickle says 16/,
    ],
    [
      'a compressed storage',
      { 'a/data.pkl': pickle, 'a/data/0': [floats(1, 2, 3, 4), { level: 6 }] },
      'convert-bad-storage',
      /compressed/,
    ],
    [
      'a TorchScript archive',
      { 'a/data.pkl': pickle, 'a/data/0': floats(1, 2, 3, 4), 'a/code/m.py': new Uint8Array(1) },
      'convert-unsupported-input',
      /TorchScript/,
    ],
    [
      'big-endian storages',
      {
        'a/data.pkl': pickle,
        'a/data/0': floats(1, 2, 3, 4),
        'a/byteorder': new TextEncoder().encode('big'),
      },
      'convert-unsupported-input',
      /"big"-endian/,
    ],
    ['a zip without data.pkl', { 'a/other.pkl': pickle }, 'convert-unsupported-input', /no a\/data.pkl/],
    [
      'entries outside a folder',
      { 'data.pkl': pickle },
      'convert-unsupported-input',
      /layout of a torch checkpoint/,
    ],
  ] as const)('refuses %s', async (_what, files, code, message) => {
    const e = await refusal(checkpoint(files as Record<string, Uint8Array | [Uint8Array, { level: 0 | 6 }]>));
    expect(e.code).toBe(code);
    expect(e.message).toMatch(message);
  });

  it('refuses a view that reads past its storage: checked before any byte is copied', async () => {
    const evil = stateDictPickle([
      ['w', tensorV2({ key: '0', numel: 4, offset: 2, size: [2, 2], stride: [2, 1] })],
    ]);
    const e = await refusal(checkpoint({ 'a/data.pkl': evil, 'a/data/0': floats(1, 2, 3, 4) }));
    expect(e.code).toBe('convert-bad-tensor');
    expect(e.message).toMatch(/reads past its storage of 4 elements/);
  });

  it('refuses bytes after the pickle STOP in data.pkl', async () => {
    const padded = new Uint8Array(pickle.length + 3);
    padded.set(pickle);
    const e = await refusal(checkpoint({ 'a/data.pkl': padded, 'a/data/0': floats(1, 2, 3, 4) }));
    expect(e.code).toBe('convert-malformed-pickle');
    expect(e.message).toMatch(/3 bytes follow the pickle's STOP/);
  });

  it('refuses a zip that carries a structural finding (a second copy of data.pkl)', async () => {
    const good = checkpoint({
      'a/data.pkl': pickle,
      'a/data/0': floats(1, 2, 3, 4),
      'a/xxxxxxxx': new Uint8Array(4),
    });
    // Rename the extra entry in both headers to a second "a/data.pkl": duplicate names are a zip finding.
    const text = Buffer.from(good);
    for (let at = text.indexOf('a/xxxxxxxx'); at >= 0; at = text.indexOf('a/xxxxxxxx', at + 1)) {
      text.write('a/data.pkl', at, 'latin1');
    }
    const e = await refusal(new Uint8Array(text));
    expect(e.code).toBe('convert-unsupported-input');
    expect(e.message).toMatch(/zip-duplicate-name/);
  });
});

describe('readCheckpoint (legacy)', () => {
  /** A legacy checkpoint of `n` one-element float tensors: five pickles, then each storage's count and bytes. */
  function legacy(n: number): { file: Uint8Array; values: number[] } {
    const keys = Array.from({ length: n }, (_, i) => `storage-key-${i}`);
    const values = keys.map((_, i) => i * 0.5);
    const parts: Uint8Array[] = [
      bytes(op.proto(2), op.long1(0x1950a86a20f9469cfc6cn), op.stop()),
      bytes(op.proto(2), op.int(1001), op.stop()),
      bytes(
        op.proto(2),
        op.emptyDict(),
        op.mark(),
        op.str('protocol_version'),
        op.int(1001),
        op.str('little_endian'),
        op.true(),
        op.setitems(),
        op.stop(),
      ),
      stateDictPickle(
        keys.map((key, i) => [`layer.${i}`, tensorV2({ key, numel: 1, size: [1], stride: [1] })]),
      ),
      bytes(op.proto(2), op.emptyList(), op.mark(), ...keys.map((k) => op.str(k)), op.appends(), op.stop()),
    ];
    for (const v of values) {
      const rec = new Uint8Array(12);
      const dv = new DataView(rec.buffer);
      dv.setBigInt64(0, 1n, true);
      dv.setFloat32(8, v, true);
      parts.push(rec);
    }
    return { file: new Uint8Array(Buffer.concat(parts)), values };
  }

  it('reads pickles larger than the first read (fetching more as needed) and locates every storage', async () => {
    const { file, values } = legacy(3000);
    expect(file.length).toBeGreaterThan(256 * 1024);
    let reads = 0;
    const src = bufferSource('big-legacy.pt', file);
    const counting = {
      ...src,
      name: src.name,
      size: src.size,
      bytesRead: 0,
      close: src.close,
      read: (o: number, n: number) => {
        reads++;
        return src.read(o, n);
      },
    };
    const c = await readCheckpoint(counting);
    expect(c.format).toBe('legacy-torch');
    expect(c.locations.size).toBe(3000);
    const last = c.locations.get('storage-key-2999');
    expect(new DataView(file.buffer, last?.offset, 4).getFloat32(0, true)).toBe(values[2999]);
    expect(reads).toBeLessThan(3000 + 20);
  });

  it('refuses a legacy checkpoint whose storage record counts a different number of elements', async () => {
    const { file } = legacy(2);
    new DataView(file.buffer).setBigInt64(file.length - 12, 5n, true);
    const e = await refusal(file);
    expect(e.code).toBe('convert-bad-storage');
    expect(e.message).toMatch(/records 5 elements, the pickle 1/);
  });
});
