import type { ContainerFinding } from '@brine/core';
import { describe, expect, it } from 'vitest';
import { CLASSIFIED_OPERATORS, classifyOperator, torchScriptCallDraft } from './torchscript.js';

const fact = (
  target: string,
  kind: string,
  extra: Record<string, string | number | boolean> = {},
): ContainerFinding => ({
  code: 'torchscript-call',
  message: `calls ${target}`,
  path: ['m.pt', 'archive/code/__torch__.py'],
  evidence: {
    target,
    kind,
    via: 'code',
    count: 1,
    line: 7,
    code: `y = ${target}(x)`,
    function: 'M.forward',
    ...extra,
  },
});

describe('the generated TorchScript operator classification', () => {
  it('covers the registry and sorts operators by what they do', () => {
    expect(CLASSIFIED_OPERATORS).toBeGreaterThan(2000);
    expect(classifyOperator('aten::linear')).toMatchObject({ class: 'compute', fine: true });
    expect(classifyOperator('prim::RaiseException')).toMatchObject({ class: 'language', fine: true });
    expect(classifyOperator('aten::from_file')).toMatchObject({ class: 'memory-mapping', fine: false });
    expect(classifyOperator('aten::save')).toMatchObject({ class: 'file-system', fine: false });
    expect(classifyOperator('c10d::send')).toMatchObject({ class: 'network', fine: false });
    expect(classifyOperator('prim::rpc_async')).toMatchObject({ class: 'network', fine: false });
    expect(classifyOperator('brine_native::run')).toBeUndefined();
  });
});

describe('torchScriptCallDraft', () => {
  it('passes computing operators, builtins, archive methods and registered methods', () => {
    expect(torchScriptCallDraft(fact('aten::relu', 'operator'))).toBeUndefined();
    expect(torchScriptCallDraft(fact('getattr', 'builtin'))).toBeUndefined();
    expect(torchScriptCallDraft(fact('_sa_block', 'method', { archiveDefined: true }))).toBeUndefined();
    expect(torchScriptCallDraft(fact('append', 'method', { archiveDefined: false }))).toBeUndefined();
    expect(torchScriptCallDraft(fact('unpack', 'method', { archiveDefined: false }))).toBeUndefined();
    expect(torchScriptCallDraft(fact('quantized::LinearPackedParamsBase', 'custom-class'))).toBeUndefined();
  });

  it('names the operator, the function and the line of host access', () => {
    const d = torchScriptCallDraft(fact('aten::from_file', 'operator'));
    expect(d).toMatchObject({ ruleId: 'BRINE-CTR-002', verdict: 'dangerous', symbol: 'aten::from_file' });
    expect(d?.message).toMatch(
      /aten::from_file \[memory-mapping\] in M\.forward, line 7: y = aten::from_file\(x\)/,
    );
    const bytecode = torchScriptCallDraft(fact('aten::save', 'operator', { via: 'bytecode' }));
    expect(bytecode?.message).toMatch(/bytecode runs aten::save .*operator table/);
    // an archive method named like a host-reaching operator is still reported
    expect(torchScriptCallDraft(fact('save', 'method', { archiveDefined: true }))?.verdict).toBe('dangerous');
  });

  it('fails what torch does not register or cannot resolve', () => {
    expect(torchScriptCallDraft(fact('evil_ns::run', 'operator'))).toMatchObject({
      ruleId: 'BRINE-CTR-003',
      verdict: 'dangerous',
    });
    expect(torchScriptCallDraft(fact('mystery', 'method', { archiveDefined: false }))?.ruleId).toBe(
      'BRINE-CTR-003',
    );
    expect(torchScriptCallDraft(fact('evil::Thing', 'custom-class'))?.ruleId).toBe('BRINE-CTR-003');
    expect(torchScriptCallDraft(fact('os.system', 'unresolved'))).toMatchObject({
      ruleId: 'BRINE-CTR-002',
      verdict: 'dangerous',
    });
    expect(torchScriptCallDraft(fact('helper.thing', 'unresolved'))).toMatchObject({
      ruleId: 'BRINE-CTR-003',
      verdict: 'dangerous',
    });
  });
});
