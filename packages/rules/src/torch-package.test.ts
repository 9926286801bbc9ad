import type { ContainerFinding } from '@brine/core';
import { describe, expect, it } from 'vitest';
import { evaluate } from './evaluate.js';
import { fileScan, int, StreamBuilder, str, tuple } from './test-support/scan-builder.js';
import { torchPackageDraft } from './torch-package.js';

const f = (code: string, evidence: Record<string, string | number | boolean>): ContainerFinding => ({
  code,
  message: code,
  path: ['p.pt', 'p/models/net.py'],
  evidence,
});

describe('torchPackageDraft', () => {
  it('extern modules: host access is dangerous, stdlib/torch pass, others are suspicious', () => {
    expect(torchPackageDraft(f('torch-package-extern', { module: 'subprocess' }))).toMatchObject({
      ruleId: 'BRINE-CTR-004',
      verdict: 'dangerous',
    });
    expect(torchPackageDraft(f('torch-package-extern', { module: 'torch.nn' }))).toBeUndefined();
    expect(torchPackageDraft(f('torch-package-extern', { module: 'torch.jit._script' }))).toBeUndefined();
    expect(torchPackageDraft(f('torch-package-extern', { module: 'builtins' }))).toBeUndefined();
    expect(torchPackageDraft(f('torch-package-extern', { module: 'transformers' }))).toMatchObject({
      ruleId: 'BRINE-CTR-005',
      verdict: 'suspicious',
    });
  });

  it('calls that reach the host are dangerous with their line; reflection in source is not', () => {
    const d = torchPackageDraft(
      f('torch-package-call', { target: 'os.system', line: 6, code: 'os.system("x")', onLoad: true }),
    );
    expect(d).toMatchObject({ ruleId: 'BRINE-CTR-004', verdict: 'dangerous', severity: 'critical' });
    expect(d?.message).toMatch(/runs at import\) \(line 6: os\.system\("x"\)\)/);
    expect(torchPackageDraft(f('torch-package-call', { target: 'builtins.eval', line: 2 }))?.verdict).toBe(
      'dangerous',
    );
    expect(torchPackageDraft(f('torch-package-call', { target: 'importlib.import_module' }))?.verdict).toBe(
      'dangerous',
    );
    expect(torchPackageDraft(f('torch-package-call', { target: 'functools.partial' }))).toBeUndefined();
    for (const walk of ['.__globals__', '.__subclasses__', 'builtins', 'builtins.globals']) {
      expect(torchPackageDraft(f('torch-package-call', { target: walk }))?.verdict, walk).toBe('dangerous');
    }
    expect(torchPackageDraft(f('torch-package-call', { target: 'builtins.getattr' }))).toBeUndefined();
    expect(torchPackageDraft(f('torch-package-call', { target: 'torch.nn.Linear' }))).toBeUndefined();
  });

  it('imports of host modules are dangerous; other load-time code is suspicious', () => {
    expect(torchPackageDraft(f('torch-package-import', { module: 'socket', line: 1 }))?.verdict).toBe(
      'dangerous',
    );
    expect(torchPackageDraft(f('torch-package-import', { module: 'torch', name: 'nn' }))).toBeUndefined();
    expect(
      torchPackageDraft(f('torch-package-load-code', { module: 'm', line: 3, code: 'x = f()' })),
    ).toMatchObject({ ruleId: 'BRINE-CTR-005', verdict: 'suspicious' });
    expect(torchPackageDraft(f('zip-crc-mismatch', {}))).toBeNull();
  });
});

describe('packaged ScriptModules in a torch.package pickle', () => {
  it("accept unpackage_script_module only as a ('reduce_package', id, fn, args) persistent id", () => {
    const b = new StreamBuilder(3, ['p.pt', 'p/model/model.pkl']);
    const fn = b.imp('torch.jit._script', 'unpackage_script_module');
    b.persid(tuple(str('reduce_package'), int(7), fn, tuple(str('0'))));
    const ok = evaluate(fileScan([b.stream('torch.package pickle')]));
    expect(ok).toMatchObject({ verdict: 'clean', fails: false });

    const called = new StreamBuilder(3, ['p.pt', 'p/model/model.pkl']);
    called.call(called.imp('torch.jit._script', 'unpackage_script_module'), [str('0')]);
    expect(evaluate(fileScan([called.stream()])).verdict).toBe('dangerous');
  });
});
