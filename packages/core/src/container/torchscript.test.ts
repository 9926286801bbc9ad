import { describe, expect, it } from 'vitest';
import { readTorchScript, TorchScriptCollector } from './torchscript.js';

// Shaped like what torch.jit.save prints for scripted nn modules (torch 1.13).
const LSTM_LIKE = `class LSTM(Module):
  __parameters__ = ["weight_ih_l0", ]
  training : bool
  def forward(self: __torch__.torch.nn.modules.rnn.LSTM,
    input: Tensor,
    hx: Optional[Tuple[Tensor, Tensor]]=None) -> Tuple[Tensor, Tensor]:
    _0 = "Expected input (got {} dimensions)"
    if torch.ne(torch.dim(input), 3):
      ops.prim.RaiseException(torch.format(_0, torch.dim(input)), "builtins.ValueError")
    else:
      pass
    layers = self.layers
    _1 = getattr(layers, "1")
    out = (_1).forward(input, )
    n = len(torch.size(out))
    return (self).check_input(out, input.size(0))
  def check_input(self: __torch__.torch.nn.modules.rnn.LSTM, x: Tensor, n: int) -> Tensor:
    return x
`;

describe('readTorchScript', () => {
  it('resolves calls as torch importer does, without reading strings', () => {
    const { calls, defs } = readTorchScript(LSTM_LIKE);
    const got = calls.map((c) => `${c.kind} ${c.target}`);
    expect(new Set(got)).toEqual(
      new Set([
        'operator aten::ne',
        'operator aten::dim',
        'operator prim::RaiseException',
        'operator aten::format',
        'builtin getattr',
        'method forward',
        'builtin len',
        'operator aten::size',
        'method check_input',
        'method size',
      ]),
    );
    expect(defs).toEqual(['forward', 'check_input']);
    const raise = calls.find((c) => c.target === 'prim::RaiseException');
    expect(raise).toMatchObject({ line: 9, function: 'LSTM.forward' });
  });

  it('names what the importer cannot resolve, and imports', () => {
    const { calls } = readTorchScript(
      'import subprocess\nclass M(Module):\n  def __setstate__(self, s: int) -> None:\n    os.system("id")\n    eval("1")\n',
    );
    expect(calls.map((c) => [c.kind, c.target, c.function])).toEqual([
      ['unresolved', 'subprocess', undefined],
      ['unresolved', 'os.system', 'M.__setstate__'],
      ['unresolved', 'eval', 'M.__setstate__'],
    ]);
  });

  it('reads custom classes, ops namespaces and methods on computed values', () => {
    const { calls } = readTorchScript(
      'def f(x: __torch__.torch.classes.quantized.LinearPackedParamsBase) -> Tensor:\n  y = ops.evil.run(x)\n  return (x.unpack())[0].add(ops.quantized.linear)\n',
    );
    expect(calls.map((c) => `${c.kind} ${c.target}`)).toEqual([
      'custom-class quantized::LinearPackedParamsBase',
      'operator evil::run',
      'method unpack',
      'operator quantized::linear',
      'method add',
    ]);
  });
});

describe('TorchScriptCollector', () => {
  it('reports each target once per entry, resolving methods against every entry', () => {
    const c = new TorchScriptCollector();
    c.addSource(
      'code/a.py',
      'def f(x: Tensor) -> Tensor:\n  y = torch.relu(x)\n  return torch.relu(y).helper()\n',
    );
    c.addSource('code/b.py', 'def helper(x: Tensor) -> Tensor:\n  return x\n');
    c.addOperators('bytecode.pkl', [{ name: 'aten::from_file', overload: '' }]);
    const notes = c.notes();
    expect(
      notes.map((n) => [n.entry, n.evidence?.target, n.evidence?.count, n.evidence?.archiveDefined]),
    ).toEqual([
      ['code/a.py', 'aten::relu', 2, undefined],
      ['code/a.py', 'helper', 1, true],
      ['bytecode.pkl', 'aten::from_file', 1, undefined],
    ]);
    expect(notes[2]?.evidence?.via).toBe('bytecode');
  });

  it('reports source it cannot tokenize as a problem', () => {
    const c = new TorchScriptCollector();
    c.addSource('code/x.py', 'def f():\n  return "unterminated\n');
    expect(c.notes()).toMatchObject([
      { kind: 'problem', code: 'torchscript-unreadable', entry: 'code/x.py' },
    ]);
  });
});
