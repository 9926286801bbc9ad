import { describe, expect, it } from 'vitest';
import { ConvertError } from './refusal.js';
import { type PyDict, type PyValue, type TensorRef, unpickleRestricted } from './restricted-unpickler.js';
import { flattenCheckpoint, pythonFloatRepr } from './state-dict.js';
import { bytes, op } from './test-support/pickle-writer.js';

const tensor = (): PyValue => ({
  kind: 'tensor',
  tensor: {
    dtype: 'float32',
    shape: [1],
    stride: [1],
    storageOffset: 0,
    requiresGrad: false,
    parameter: false,
    offset: 0,
  } as unknown as TensorRef,
});
const dict = (entries: Array<[string, PyValue]>): PyDict => ({
  kind: 'dict',
  ordered: false,
  attributes: new Map(),
  entries: new Map(entries.map(([k, v]) => [`s${k}`, [{ kind: 'str', value: k }, v]])),
});

describe('pythonFloatRepr', () => {
  it.each([
    [0.1, '0.1'],
    [1e-5, '1e-05'],
    [0.0001, '0.0001'],
    [3, '3.0'],
    [-2.5, '-2.5'],
    [1e16, '1e+16'],
    [123456789012345.6, '123456789012345.6'],
    [1.5e300, '1.5e+300'],
    [-0, '-0.0'],
    [Number.NaN, 'nan'],
    [Number.NEGATIVE_INFINITY, '-inf'],
    [0.03125, '0.03125'],
  ])('%s → %s', (v, text) => {
    expect(pythonFloatRepr(v)).toBe(text);
  });
});

describe('flattenCheckpoint', () => {
  it('joins nested keys and list indices with dots, and sends scalars to metadata', () => {
    const root = dict([
      ['model', dict([['layer.weight', tensor()]])],
      ['ema', { kind: 'list', items: [tensor(), { kind: 'str', value: 'x' }] }],
      ['epoch', { kind: 'int', value: 3n }],
      ['shape', { kind: 'size', dims: [2, 3] }],
      ['pair', { kind: 'tuple', items: [{ kind: 'int', value: 1n }] }],
      ['blob', { kind: 'bytes', value: new Uint8Array(2) }],
      ['dtype', { kind: 'global', global: { kind: 'dtype', dtype: 'float16', name: 'half' } }],
    ]);
    const flat = flattenCheckpoint(root);
    expect(flat.tensors.map((t) => t.name)).toEqual(['model.layer.weight', 'ema.0']);
    expect(flat.metadata).toEqual({
      'ema.1': 'x',
      epoch: '3',
      shape: 'torch.Size([2, 3])',
      pair: '(1,)',
      dtype: 'torch.float16',
    });
    expect(flat.dropped).toEqual([{ name: 'blob', reason: 'bytes (2)' }]);
  });

  it('refuses two tensors that flatten to one name', () => {
    const root = dict([
      ['a.b', tensor()],
      ['a', dict([['b', tensor()]])],
    ]);
    expect(() => flattenCheckpoint(root, 'f.pt')).toThrow(/two tensors flatten to the name "a.b"/);
  });

  it('refuses a list that contains itself (built with APPEND through the memo)', () => {
    const { value } = unpickleRestricted(
      bytes(op.proto(2), op.emptyList(), op.binput(0), op.binget(0), op.append(), op.stop()),
    );
    expect(() => flattenCheckpoint(value)).toThrow(ConvertError);
  });

  it('refuses a million-deep tuple (TUPLE1 repeated) without exhausting the stack', () => {
    const pickle = new Uint8Array(2 + 1 + 1_000_000 + 1);
    pickle.set([0x80, 2, 0x4e]);
    pickle.fill(0x85, 3, 3 + 1_000_000);
    pickle[pickle.length - 1] = 0x2e;
    const { value } = unpickleRestricted(pickle);
    expect(() => flattenCheckpoint(value, 'f.pt')).toThrow(/nests deeper than 1000 levels/);
  });

  it('stops on exponential sharing instead of walking 2^n paths', () => {
    let v: PyValue = { kind: 'list', items: [tensor()] };
    for (let i = 0; i < 40; i++) v = { kind: 'list', items: [v, v] };
    expect(() => flattenCheckpoint(v, 'f.pt', { maxVisits: 10_000, maxDepth: 1000 })).toThrow(
      /too large to flatten/,
    );
  });
});
