import { describe, expect, it } from 'vitest';
import { BytecodeError, bytecodeOperators } from './torchscript-bytecode.js';

/** A protocol-2 pickle of nested tuples of strings and ints, as the lite interpreter's writer emits. */
function pickleOf(v: unknown): Uint8Array {
  const out: number[] = [0x80, 2];
  const enc = new TextEncoder();
  let memo = 0;
  const emit = (x: unknown) => {
    if (typeof x === 'string') {
      const b = enc.encode(x);
      out.push(0x58, b.length & 0xff, (b.length >> 8) & 0xff, 0, 0, ...b);
      out.push(0x71, memo++ & 0xff); // BINPUT, so BINGET can reuse it
    } else if (typeof x === 'number') out.push(0x4b, x);
    else if (Array.isArray(x)) {
      out.push(0x28);
      for (const y of x) emit(y);
      out.push(0x74);
    }
  };
  emit(v);
  out.push(0x2e);
  return new Uint8Array(out);
}

describe('bytecodeOperators', () => {
  it('lists the operators table of every method', () => {
    const bytes = pickleOf([
      6,
      [
        '__torch__.M.forward',
        [
          [
            'instructions',
            [
              ['STOREN', 1, 2],
              ['OP', 0, 0],
            ],
          ],
          [
            'operators',
            [
              ['aten::linear', '', 3],
              ['aten::from_file', '', 3],
            ],
          ],
          ['constants', []],
        ],
      ],
    ]);
    expect(bytecodeOperators(bytes)).toEqual([
      { name: 'aten::linear', overload: '' },
      { name: 'aten::from_file', overload: '' },
    ]);
  });

  it('follows the memo (BINGET of an operator name written once)', () => {
    const base = pickleOf(['operators', [['aten::save', 'x', 2]]]);
    // replace the STOP with: BINGET 1 ('aten::save'), rebuild ('operators', ((get1, '', 1),))
    const extra = [0x30, 0x28, 0x68, 0x00, 0x28, 0x68, 0x01, 0x68, 0x02, 0x4b, 1, 0x74, 0x85, 0x74, 0x2e];
    const bytes = new Uint8Array([...base.subarray(0, base.length - 1), ...extra]);
    expect(bytecodeOperators(bytes).map((o) => o.name)).toEqual(['aten::save']);
  });

  it('refuses truncated or foreign input with a typed error', () => {
    const bytes = pickleOf(['operators', [['aten::save', '', 2]]]);
    expect(() => bytecodeOperators(bytes.subarray(0, 10))).toThrow(BytecodeError);
    expect(() => bytecodeOperators(new Uint8Array([0x80, 2, 0xff]))).toThrow(/opcode 0xff/);
  });
});
