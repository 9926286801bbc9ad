import { describe, expect, it } from 'vitest';
import { TokenizeError, tokenizePython } from './python-tokens.js';

const names = (src: string) =>
  tokenizePython(src).flatMap((l) => l.tokens.filter((t) => t.kind === 'name').map((t) => t.text));

describe('tokenizePython', () => {
  it('keeps strings and comments as data', () => {
    const src = 'ops.prim.RaiseException("builtins.ValueError input(", "x") # os.system(1)\n';
    expect(names(src)).toEqual(['ops', 'prim', 'RaiseException']);
    const strings = tokenizePython(src)[0]?.tokens.filter((t) => t.kind === 'string');
    expect(strings?.map((t) => t.text)).toEqual(['builtins.ValueError input(', 'x']);
  });

  it('joins bracketed and backslash-continued lines into one logical line with its indent', () => {
    const lines = tokenizePython('class A:\n  def f(self,\n      x):\n    y = 1 + \\\n      2\n');
    expect(lines.map((l) => [l.line, l.indent, l.tokens.length])).toEqual([
      [1, 0, 3],
      [2, 2, 8],
      [4, 4, 5],
    ]);
  });

  it('reads triple-quoted, prefixed and escaped strings', () => {
    const lines = tokenizePython('a = """one\nos.system("x")\n"""\nb = r"\\"q" + b\'\\\'\'\n');
    expect(lines).toHaveLength(2);
    expect(lines[1]?.line).toBe(4);
    expect(names('a = """x\ny"""\nz = 1\n')).toEqual(['a', 'z']);
  });

  it('tokenizes f-string fields as code: they run', () => {
    expect(names('s = f"{os.system(\'id\')} and {{literal}}"\n')).toEqual(['s', 'os', 'system']);
  });

  it('rejects what CPython would reject', () => {
    expect(() => tokenizePython('x = "open\n')).toThrow(TokenizeError);
    expect(() => tokenizePython('f(1, 2\n')).toThrow(/unclosed bracket/);
    expect(() => tokenizePython('x = $\n')).toThrow(/unexpected character/);
  });
});
