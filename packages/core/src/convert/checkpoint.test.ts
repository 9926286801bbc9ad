import { type Zippable, zipSync } from 'fflate';
import { describe, expect, it } from 'vitest';
import { bufferSource } from '../source/buffer.js';
import { readCheckpoint } from './checkpoint.js';
import { prepareConversion } from './convert.js';
import { ConvertError } from './refusal.js';
import { stateDictPickle, tensorV2 } from './test-support/pickle-writer.js';

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
