import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ConvertError } from './refusal.js';
import { NeedMoreBytes, type PyValue, unpickleRestricted } from './restricted-unpickler.js';
import { flattenCheckpoint } from './state-dict.js';
import { bytes, emptyOrderedDict, op, stateDictPickle, tensorV2 } from './test-support/pickle-writer.js';

const refusal = (pickle: Uint8Array): ConvertError => {
  try {
    unpickleRestricted(pickle, { file: 'x.pkl' });
  } catch (e) {
    if (e instanceof ConvertError) return e;
    throw e;
  }
  throw new Error('expected a refusal');
};

const weight = tensorV2({ key: '0', numel: 6, size: [2, 3], stride: [3, 1] });

describe('unpickleRestricted: what torch.save writes', () => {
  it('rebuilds a state dict of tensors as data', () => {
    const { value, storages, end } = unpickleRestricted(
      stateDictPickle([
        ['w', weight],
        ['t', tensorV2({ key: '0', numel: 6, offset: 1, size: [3, 2], stride: [1, 3] })],
        [
          'h',
          tensorV2({
            key: '1',
            storageClass: 'BFloat16Storage',
            numel: 4,
            size: [4],
            stride: [1],
            requiresGrad: true,
          }),
        ],
      ]),
    );
    expect(value.kind).toBe('dict');
    const entries = [...(value as Extract<PyValue, { kind: 'dict' }>).entries.values()];
    expect(entries.map(([k]) => (k as { value: string }).value)).toEqual(['w', 't', 'h']);
    const t = entries[1]?.[1] as Extract<PyValue, { kind: 'tensor' }>;
    expect(t.tensor).toMatchObject({
      dtype: 'float32',
      storageOffset: 1,
      shape: [3, 2],
      stride: [1, 3],
      requiresGrad: false,
    });
    const h = entries[2]?.[1] as Extract<PyValue, { kind: 'tensor' }>;
    expect(h.tensor).toMatchObject({ dtype: 'bfloat16', requiresGrad: true });
    // Two tensors name storage '0': one storage, shared.
    expect([...storages.keys()]).toEqual(['0', '1']);
    const w = entries[0]?.[1] as Extract<PyValue, { kind: 'tensor' }>;
    expect(t.tensor.storage).toBe(w.tensor.storage);
    expect(end).toBeGreaterThan(0);
  });

  it('wraps parameters and reads torch.Size, OrderedDict state and _rebuild_tensor_v3 dtypes', () => {
    const param = bytes(
      op.global('torch._utils', '_rebuild_parameter'),
      weight,
      op.true(),
      emptyOrderedDict(),
      op.tuple3(),
      op.reduce(),
    );
    const size = bytes(
      op.global('torch', 'Size'),
      op.mark(),
      op.int(16),
      op.int(4),
      op.tuple(),
      op.tuple1(),
      op.reduce(),
    );
    const v3 = bytes(
      op.global('torch._utils', '_rebuild_tensor_v3'),
      op.mark(),
      op.mark(),
      op.str('storage'),
      op.global('torch', 'UntypedStorage'),
      op.str('2'),
      op.str('cpu'),
      op.int(8),
      op.tuple(),
      op.binpersid(),
      op.int(0),
      op.mark(),
      op.int(4),
      op.tuple(),
      op.mark(),
      op.int(1),
      op.tuple(),
      op.false(),
      emptyOrderedDict(),
      op.global('torch', 'uint16'),
      op.tuple(),
      op.reduce(),
    );
    const od = bytes(
      emptyOrderedDict(),
      op.mark(),
      op.str('p'),
      param,
      op.str('s'),
      size,
      op.str('v3'),
      v3,
      op.setitems(),
      op.emptyDict(),
      op.str('_metadata'),
      op.emptyDict(),
      op.setitem(),
      op.build(),
    );
    const { value } = unpickleRestricted(bytes(op.proto(2), od, op.stop()));
    const d = value as Extract<PyValue, { kind: 'dict' }>;
    expect(d.ordered).toBe(true);
    expect([...d.attributes.keys()]).toEqual(['_metadata']);
    const [p, s, v] = [...d.entries.values()].map(([, x]) => x);
    expect(p).toMatchObject({ kind: 'tensor', tensor: { parameter: true, requiresGrad: true } });
    expect(s).toEqual({ kind: 'size', dims: [16, 4] });
    expect(v).toMatchObject({ kind: 'tensor', tensor: { dtype: 'uint16', shape: [4] } });
  });

  it('follows Python dict equality for keys (1, 1.0 and True are one key)', () => {
    const { value } = unpickleRestricted(
      bytes(
        op.proto(2),
        op.emptyDict(),
        op.mark(),
        op.int(1),
        op.str('a'),
        op.binfloat(1),
        op.str('b'),
        op.true(),
        op.str('c'),
        op.setitems(),
        op.stop(),
      ),
    );
    const entries = [...(value as Extract<PyValue, { kind: 'dict' }>).entries.values()];
    expect(entries).toHaveLength(1);
    expect(entries[0]?.[0]).toEqual({ kind: 'int', value: 1n });
    expect(entries[0]?.[1]).toMatchObject({ value: 'c' });
  });

  it('decodes integers and floats the way CPython does', () => {
    const list = (...items: Uint8Array[]) =>
      unpickleRestricted(bytes(op.proto(2), op.emptyList(), op.mark(), ...items, op.appends(), op.stop()))
        .value as Extract<PyValue, { kind: 'list' }>;
    const v = list(
      bytes(op.long1(-1n)),
      bytes(op.long1(1n << 70n)),
      bytes(op.text('I', '01')),
      bytes(op.text('I', '-42')),
      bytes(op.text('L', '123456789012345678901234567890L')),
      bytes(op.text('F', '1e-05')),
      bytes(op.binfloat(-2.5)),
      bytes(op.int(70000)),
    );
    expect(v.items).toEqual([
      { kind: 'int', value: -1n },
      { kind: 'int', value: 1n << 70n },
      { kind: 'bool', value: true },
      { kind: 'int', value: -42n },
      { kind: 'int', value: 123456789012345678901234567890n },
      { kind: 'float', value: 1e-5 },
      { kind: 'float', value: -2.5 },
      { kind: 'int', value: 70000n },
    ]);
  });

  it('asks for more bytes when a FRAME or BINUNICODE8 length runs past a partial read', () => {
    const frame = bytes(op.proto(4), op.raw(0x95, 0x00, 0x00, 0x01, 0, 0, 0, 0, 0), op.none(), op.stop());
    expect(() => unpickleRestricted(frame, { partial: true })).toThrow(NeedMoreBytes);
    expect(refusal(frame).message).toMatch(/exceeds the pickle/);
  });

  it('asks for more bytes in partial mode instead of failing', () => {
    const whole = stateDictPickle([['w', weight]]);
    expect(() => unpickleRestricted(whole.subarray(0, whole.length - 5), { partial: true })).toThrow(
      NeedMoreBytes,
    );
    expect(refusal(whole.subarray(0, whole.length - 5)).message).toContain('truncated');
  });
});

describe('unpickleRestricted: refusals', () => {
  it('refuses any import outside the allowlist, naming it and its offset', () => {
    const evil = bytes(
      op.proto(2),
      op.global('posix', 'system'),
      op.str('touch /tmp/brine-pwned'),
      op.tuple1(),
      op.reduce(),
      op.stop(),
    );
    const e = refusal(evil);
    expect(e.code).toBe('convert-forbidden-global');
    expect(e.message).toContain('posix.system');
    expect(e.offset).toBe(2);
  });

  it.each([
    ['builtins', 'getattr'],
    ['torch', 'load'],
    ['torch.storage', '_load_from_bytes'],
    ['torch._utils', '_rebuild_qtensor'],
    ['torch', 'QInt8Storage'],
    ['collections', 'defaultdict'],
    ['_codecs', 'encode'],
  ])('refuses %s.%s', (module, name) => {
    expect(refusal(bytes(op.proto(2), op.global(module, name), op.stop())).code).toBe(
      'convert-forbidden-global',
    );
  });

  it('refuses STACK_GLOBAL to a forbidden name as well', () => {
    const e = refusal(bytes(op.proto(4), op.str('os'), op.str('system'), op.stackGlobal(), op.stop()));
    expect(e.message).toContain('os.system');
  });

  it.each([
    ['INST', [0x69, ...new TextEncoder().encode('os\nsystem\n')]],
    ['OBJ', [0x6f]],
    ['NEWOBJ_EX', [0x92]],
    ['EXT1', [0x82, 1]],
    ['PERSID', [0x50, 0x30, 0x0a]],
    ['NEXT_BUFFER', [0x97]],
  ])('refuses the %s opcode', (name, code) => {
    const e = refusal(bytes(op.proto(2), op.mark(), code, op.stop()));
    expect(e.code).toBe('convert-forbidden-opcode');
    expect(e.message).toContain(name);
  });

  it('refuses SETITEMS on a list and APPENDS on a dict (type confusion)', () => {
    expect(
      refusal(bytes(op.proto(2), op.emptyList(), op.mark(), op.str('k'), op.int(1), op.setitems(), op.stop()))
        .message,
    ).toMatch(/SETITEM\(S\) on a list/);
    expect(
      refusal(bytes(op.proto(2), op.emptyDict(), op.mark(), op.int(1), op.appends(), op.stop())).message,
    ).toMatch(/APPENDS to a dict/);
  });

  it('refuses BUILD on anything but an OrderedDict, and REDUCE on a non-callable', () => {
    expect(refusal(bytes(op.proto(2), weight, op.emptyDict(), op.build(), op.stop())).message).toMatch(
      /BUILD on a tensor/,
    );
    expect(refusal(bytes(op.proto(2), op.str('x'), op.emptyTuple(), op.reduce(), op.stop())).message).toMatch(
      /not a callable/,
    );
    expect(
      refusal(bytes(op.proto(2), op.global('torch', 'FloatStorage'), op.emptyTuple(), op.reduce(), op.stop()))
        .message,
    ).toMatch(/only names it/);
  });

  it('refuses backward hooks and foreign persistent ids', () => {
    const hooks = bytes(emptyOrderedDict(), op.int(0), op.str('hook'), op.setitem());
    expect(
      refusal(stateDictPickle([['w', tensorV2({ key: '0', numel: 1, size: [1], stride: [1], hooks })]]))
        .message,
    ).toMatch(/backward_hooks is not empty/);
    const pid = bytes(
      op.proto(2),
      op.mark(),
      op.str('module'),
      op.str('x'),
      op.tuple(),
      op.binpersid(),
      op.stop(),
    );
    expect(refusal(pid).code).toBe('convert-bad-storage');
  });

  it('refuses one storage key named with two dtypes', () => {
    const e = refusal(
      stateDictPickle([
        ['a', tensorV2({ key: '0', numel: 4, size: [4], stride: [1] })],
        ['b', tensorV2({ key: '0', storageClass: 'HalfStorage', numel: 4, size: [4], stride: [1] })],
      ]),
    );
    expect(e.message).toMatch(/storage 0 is named twice/);
  });

  it.each([
    ['memo miss', bytes(op.proto(2), op.binget(3), op.stop()), /read before it is written/],
    ['stack underflow', bytes(op.proto(2), op.tuple2(), op.stop()), /empty stack/],
    ['leftover values', bytes(op.proto(2), op.none(), op.none(), op.stop()), /left over at STOP/],
    ['unclosed mark', bytes(op.proto(2), op.mark(), op.none(), op.stop()), /marks are left over/],
    ['late PROTO', bytes(op.none(), op.proto(2), op.stop()), /PROTO is not the first/],
    ['unknown opcode', bytes(op.proto(2), op.raw(0xff), op.stop()), /unknown opcode 0xff/],
    ['bad UTF-8', bytes(op.proto(2), op.raw(0x8c, 1, 0xff), op.stop()), /not valid UTF-8/],
  ])('refuses %s', (_name, pickle, message) => {
    const e = refusal(pickle);
    expect(e.code).toBe('convert-malformed-pickle');
    expect(e.message).toMatch(message);
  });

  it('never crashes or hangs on arbitrary bytes: it returns a value that flattens, or refuses', () => {
    const seed = stateDictPickle([['w', weight]]);
    fc.assert(
      fc.property(
        fc.oneof(
          fc.uint8Array({ maxLength: 200 }),
          fc
            .tuple(fc.nat(seed.length - 1), fc.uint8Array({ minLength: 1, maxLength: 8 }))
            .map(([at, patch]) => {
              const b = seed.slice();
              b.set(patch.subarray(0, b.length - at), at);
              return b;
            }),
        ),
        (input) => {
          try {
            const { value } = unpickleRestricted(input, { limits: { maxOpcodes: 10_000 } });
            flattenCheckpoint(value);
          } catch (e) {
            if (!(e instanceof ConvertError)) throw e;
          }
        },
      ),
      { numRuns: 2000 },
    );
  });
});
