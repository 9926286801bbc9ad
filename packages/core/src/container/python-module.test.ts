import { describe, expect, it } from 'vitest';
import { readPythonModule } from './python-module.js';

const SRC = `"""docstring"""
import os.path as osp
from subprocess import run as go
from . import sibling
from ..pkg import thing
import torch
__all__ = ["Net"]
HIDDEN = 4
LOG = print("loading")

@torch.jit.script
def f(x):
    eval("1")
    return go(["id"])

class Net(torch.nn.Module):
    scale = 2
    handler = osp.join("a", "b")
    def forward(self, x):
        getattr(self, "fc")
        return x
`;

describe('readPythonModule', () => {
  const facts = readPythonModule(SRC, 'models.net', false);

  it('resolves imports, aliases and relative imports', () => {
    expect(facts.imports.map((i) => `${i.module}:${i.name ?? ''}`)).toEqual([
      'os.path:',
      'subprocess:run',
      'models:sibling',
      'pkg:thing',
      'torch:',
    ]);
    expect(readPythonModule('from .b import c\n', 'a', true).imports[0]?.module).toBe('a.b');
  });

  it('qualifies calls through their import aliases and builtins, with where they run', () => {
    const calls = facts.calls.map((c) => `${c.target}@${c.line}${c.onLoad ? ' load' : ''}`);
    expect(calls).toEqual([
      'torch.jit.script@11 load',
      'builtins.eval@13',
      'subprocess.run@14',
      'torch.nn.Module@16 load',
      'os.path.join@18 load',
      'builtins.getattr@20',
    ]);
  });

  it('reports escape attributes and the builtins module wherever they appear', () => {
    const calls = readPythonModule(
      'def f(self):\n  self.__dict__.update({})\n  g = f.__globals__\n  x = ().__class__.__bases__[0].__subclasses__()\n  y = getattr(__builtins__, "ev" + "al")\n',
      'm',
      false,
    ).calls.map((c) => c.target);
    expect(calls).toEqual(['.__globals__', '.__subclasses__', 'builtins.getattr', 'builtins']);
  });

  it('lists statements that run at import, not definitions or plain assignments', () => {
    expect(facts.statements.map((s) => s.line)).toEqual([9, 11, 18]);
  });
});
