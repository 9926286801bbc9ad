import { describe, expect, it } from 'vitest';
import { evaluate } from './evaluate.js';
import { builtinPolicies, parsePolicy } from './policy.js';
import { bytes, dict, fileScan, int, none, StreamBuilder, str, tuple } from './test-support/scan-builder.js';

/** A state_dict-like pickle: OrderedDict of tensors rebuilt from torch storages. */
function stateDict(): StreamBuilder {
  const b = new StreamBuilder(2, ['model.pt', 'archive/data.pkl']);
  const od = b.imp('collections', 'OrderedDict');
  b.call(od, []);
  const rebuild = b.imp('torch._utils', '_rebuild_tensor_v2');
  const storage = b.imp('torch', 'FloatStorage');
  const pid = b.persid(tuple(str('storage'), storage, str('0'), str('cpu'), int(6)));
  b.call(rebuild, [
    tuple(pid, int(0), tuple(int(2), int(3)), tuple(int(3), int(1)), { kind: 'bool', value: false }, od),
  ]);
  return b;
}

describe('evaluate', () => {
  it('passes a state_dict with only safe imports as clean, without findings', () => {
    const report = evaluate(fileScan([stateDict().stream()]));
    expect(report.verdict).toBe('clean');
    expect(report.fails).toBe(false);
    expect(report.findings).toEqual([]);
    expect(report.imports.map((i) => i.tier)).toEqual(['safe', 'safe', 'safe']);
    expect(report.rulesetVersion).toMatch(/\d/);
  });

  it('fails os.system and renders the call as evidence', () => {
    const b = new StreamBuilder();
    b.call(b.imp('os', 'system'), [str('touch /tmp/brine-pwned')]);
    const report = evaluate(fileScan([b.stream()]));
    expect(report.verdict).toBe('dangerous');
    expect(report.fails).toBe(true);
    const f = report.findings[0];
    expect(f).toMatchObject({
      ruleId: 'BRINE-IMP-001',
      severity: 'critical',
      symbol: 'os.system',
      fails: true,
    });
    expect(f?.call).toBe("os.system('touch /tmp/brine-pwned')");
    expect(report.reasons[0]).toMatch(/os\.system/);
  });

  it('fails a dangerous global that is only passed to another callable', () => {
    const b = new StreamBuilder();
    const partial = b.imp('functools', 'partial');
    const sys = b.imp('os', 'system');
    b.call(partial, [sys, str('id')]);
    const report = evaluate(fileScan([b.stream()]));
    const osFinding = report.findings.find((f) => f.symbol === 'os.system');
    expect(osFinding).toMatchObject({ verdict: 'dangerous', fails: true, severity: 'high' });
    expect(osFinding?.message).toMatch(/not called directly/);
  });

  it('fails unlisted gadget-surface imports by default but only reports user classes', () => {
    const b = new StreamBuilder();
    b.call(b.imp('shlex', 'split'), [none]);
    const surface = evaluate(fileScan([b.stream()]));
    expect(surface.verdict).toBe('dangerous');
    expect(surface.findings[0]?.ruleId).toBe('BRINE-IMP-002');

    const u = new StreamBuilder();
    const cls = u.imp('mymodels.net', 'Net');
    u.call(u.imp('copyreg', '_reconstructor'), [cls, u.imp('builtins', 'object'), none]);
    const user = evaluate(fileScan([u.stream()]));
    expect(user.verdict).toBe('suspicious');
    expect(user.fails).toBe(false);
    expect(user.findings.map((f) => f.ruleId).sort()).toEqual([
      'BRINE-IMP-003',
      'BRINE-IMP-004',
      'BRINE-IMP-004',
    ]);

    const strict = evaluate(fileScan([u.stream()]), builtinPolicies.strict);
    expect(strict.verdict).toBe('dangerous');
    expect(strict.fails).toBe(true);
  });

  it('weights-only passes only the safe tier', () => {
    const b = new StreamBuilder();
    const lin = b.imp('torch.nn.modules.linear', 'Linear');
    b.call(lin, [], 'NEWOBJ');
    expect(evaluate(fileScan([b.stream()])).fails).toBe(false);
    const wo = evaluate(fileScan([b.stream()]), builtinPolicies['weights-only']);
    expect(wo.fails).toBe(true);
    expect(wo.verdict).toBe('suspicious');
    expect(evaluate(fileScan([stateDict().stream()]), builtinPolicies['weights-only']).fails).toBe(false);
  });

  it('reports unresolved STACK_GLOBAL operands as dangerous', () => {
    const b = new StreamBuilder(4);
    b.call(b.imp('<call #0>', 'system', { resolved: false, opcode: 'STACK_GLOBAL' }), [str('id')]);
    const r = evaluate(fileScan([b.stream()]));
    expect(r.findings[0]).toMatchObject({ ruleId: 'BRINE-IMP-005', verdict: 'dangerous' });
    expect(r.imports[0]?.tier).toBe('dangerous');
  });

  it('flags EXT opcodes, BUILD on a global and indirect calls', () => {
    const b = new StreamBuilder(4);
    b.call(b.ext(1), [str('id')]);
    const size = b.imp('numpy', 'size');
    b.call(size, [tuple(dict(), dict([str('shape'), b.imp('numpy', '__builtins__')]))], 'BUILD');
    const resolve = b.imp('pkgutil', 'resolve_name');
    const fn = b.call(resolve, [str('os:system')]);
    b.call(fn, [str('id')]);
    const ids = evaluate(fileScan([b.stream()])).findings.map((f) => f.ruleId);
    expect(ids).toContain('BRINE-PKL-001');
    expect(ids).toContain('BRINE-PKL-003');
    expect(ids).toContain('BRINE-PKL-006');
  });

  it('accepts torch storage persistent ids and flags any other', () => {
    const b = new StreamBuilder();
    b.persid(tuple(str('storage'), b.imp('torch', 'FloatStorage'), str('0'), str('cpu'), int(4)));
    expect(evaluate(fileScan([b.stream()])).verdict).toBe('clean');
    const c = new StreamBuilder();
    c.persid(str('run-me'));
    c.persid(tuple(str('storage'), c.imp('mypkg', 'Storage'), str('0'), str('cpu'), int(4)));
    const r = evaluate(fileScan([c.stream()]));
    expect(r.findings.filter((f) => f.ruleId === 'BRINE-PKL-002')).toHaveLength(2);
  });

  it('flags REDUCE on a literal and BUILD on a literal as suspicious', () => {
    const b = new StreamBuilder();
    b.call(str('os'), [str('id')]);
    b.call(int(3), [dict()], 'BUILD');
    const r = evaluate(fileScan([b.stream()]));
    expect(r.findings.map((f) => [f.ruleId, f.verdict])).toEqual([
      ['BRINE-PKL-005', 'suspicious'],
      ['BRINE-PKL-004', 'suspicious'],
    ]);
    expect(r.fails).toBe(false);
  });

  it('adds a nested-pickle finding when a loader is called on embedded bytes', () => {
    const b = new StreamBuilder();
    b.call(b.imp('pickle', 'loads'), [bytes(40)]);
    const inner = new StreamBuilder(4, ['model.pkl', '‹nested@20›']);
    inner.call(inner.imp('builtins', 'print'), [str('hi')]);
    const r = evaluate(fileScan([b.stream(), inner.stream('nested pickle')]));
    const nested = r.findings.find((f) => f.ruleId === 'BRINE-PKL-007');
    expect(nested?.message).toMatch(/1 embedded pickle stream/);
    expect(r.findings.some((f) => f.ruleId === 'BRINE-PKL-011')).toBe(true);
    expect(r.findings.some((f) => f.symbol === 'builtins.print' && f.path.length === 2)).toBe(true);
  });

  it('reports any non-safe callable handed pickle bytes as a nested-pickle loader', () => {
    const b = new StreamBuilder(4);
    b.call(b.imp('torch.utils._config_module', 'ConfigModule.load_config'), [
      { kind: 'dict', entries: [], truncated: false },
      bytes(43, '8002636f73'),
    ]);
    const r = evaluate(fileScan([b.stream()]));
    expect(r.findings.some((f) => f.ruleId === 'BRINE-PKL-007')).toBe(true);
    const plain = new StreamBuilder(4);
    plain.call(plain.imp('torch._utils', '_rebuild_tensor_v2'), [bytes(8, '8002000000')]);
    expect(evaluate(fileScan([plain.stream()])).findings).toEqual([]);
  });

  it('accepts NEWOBJ on the class a legacy torch module persistent id returns', () => {
    const b = new StreamBuilder(2);
    const cls = b.persid(
      tuple(str('module'), b.imp('torch.nn.modules.linear', 'Linear'), str('linear.py'), str('src')),
    );
    b.call(cls, [], 'NEWOBJ');
    const r = evaluate(fileScan([b.stream()]));
    expect(r.verdict).toBe('clean');
    const other = new StreamBuilder(2);
    other.call(other.persid(str('x')), [], 'NEWOBJ');
    expect(evaluate(fileScan([other.stream()])).findings.map((f) => f.ruleId)).toContain('BRINE-PKL-006');
  });

  it('is unscannable when a stream breaks, dangerous when a non-safe call ran before the break', () => {
    const truncated = stateDict().anomaly('truncated', true);
    const r = evaluate(fileScan([truncated.stream()]));
    expect(r.verdict).toBe('unscannable');
    expect(r.fails).toBe(true);
    expect(r.problems).toHaveLength(1);

    const b = new StreamBuilder();
    b.call(b.imp('mypkg.setup', 'Installer'), [str('x')]);
    b.anomaly('unknown-opcode', true);
    const n = evaluate(fileScan([b.stream()]));
    expect(n.verdict).toBe('dangerous');
    expect(n.findings.map((f) => f.ruleId)).toContain('BRINE-PKL-008');
    expect(n.problems[0]?.code).toBe('unknown-opcode');
  });

  it('treats FRAME tampering as dangerous and other oddities as suspicious once per code', () => {
    const b = stateDict()
      .anomaly('frame-crossing', false)
      .anomaly('trailing-bytes', false)
      .anomaly('trailing-bytes', false);
    const r = evaluate(fileScan([b.stream()]));
    expect(r.verdict).toBe('dangerous');
    expect(r.findings.filter((f) => f.ruleId === 'BRINE-PKL-010')).toHaveLength(1);
  });

  it('fails closed on engine problems and unrecognised formats, and reports container findings', () => {
    const p = evaluate(
      fileScan([], {
        problems: [{ code: 'encrypted', message: 'member is encrypted', path: ['a.zip', 'x.pkl'] }],
      }),
    );
    expect(p).toMatchObject({ verdict: 'unscannable', fails: true });
    const u = evaluate(fileScan([], { format: 'unknown' }));
    expect(u.verdict).toBe('unscannable');
    const s = evaluate(fileScan([], { format: 'safetensors' }));
    expect(s).toMatchObject({ verdict: 'clean', fails: false });
    const c = evaluate(
      fileScan([stateDict().stream()], {
        format: 'pytorch-zip',
        containerFindings: [
          { code: 'zip-crc-mismatch', message: 'crc differs', path: ['model.pt', 'archive/data.pkl'] },
        ],
      }),
    );
    expect(c.verdict).toBe('suspicious');
    expect(c.findings[0]).toMatchObject({ ruleId: 'BRINE-CTR-001', severity: 'high' });
    expect(
      evaluate(
        c.findings.length
          ? fileScan([], { containerFindings: [{ code: 'polyglot', message: 'm', path: ['x'] }] })
          : fileScan([]),
        builtinPolicies.strict,
      ).fails,
    ).toBe(true);
  });

  it('does not call a FRAME that runs past the end of input tampering: it is unscannable', () => {
    const b = stateDict()
      .anomaly('oversized-frame', false)
      .anomaly('frame-crossing', false)
      .anomaly('truncated', true);
    const r = evaluate(fileScan([b.stream()]));
    expect(r.verdict).toBe('unscannable');
    expect(r.fails).toBe(true);
  });

  it('is unscannable when the unpickler would fail mid-stream, even if the scanner went on', () => {
    const b = stateDict().anomaly('stack-underflow', false);
    const r = evaluate(fileScan([b.stream()]));
    expect(r.verdict).toBe('unscannable');
    expect(r.fails).toBe(true);
    const odd = evaluate(fileScan([stateDict().anomaly('stack-not-empty-at-stop', false).stream()]));
    expect(odd).toMatchObject({ verdict: 'suspicious', fails: false });
  });

  it('judges the operators TorchScript code calls, not the words in its strings', () => {
    const b = new StreamBuilder(2, ['m.pt', 'archive/data.pkl']);
    b.call(b.imp('__torch__.torch.nn.modules.container', 'Sequential'), [], 'NEWOBJ');
    const code = ['m.pt', 'archive/code/__torch__/m.py'];
    const call = (target: string, kind: string, extra: Record<string, string | number | boolean> = {}) => ({
      code: 'torchscript-call',
      message: `calls ${target}`,
      path: code,
      evidence: { target, kind, via: 'code', count: 1, line: 3, code: `x = ${target}(y)`, ...extra },
    });
    const benign = evaluate(
      fileScan([b.stream('torchscript data.pkl')], {
        format: 'torchscript',
        containerFindings: [
          { code: 'torchscript-code', message: 'carries code', path: ['m.pt'] },
          call('aten::linear', 'operator'),
          call('prim::RaiseException', 'operator'),
          call('getattr', 'builtin'),
          call('forward', 'method', { archiveDefined: true }),
          call('size', 'method', { archiveDefined: false }),
        ],
      }),
    );
    expect(benign).toMatchObject({ verdict: 'clean', fails: false });
    const evil = evaluate(
      fileScan([b.stream('torchscript data.pkl')], {
        format: 'torchscript',
        containerFindings: [
          call('aten::from_file', 'operator', { function: 'M.__setstate__' }),
          call('os.system', 'unresolved'),
          call('evil_ns::run', 'operator'),
        ],
      }),
    );
    expect(evil.verdict).toBe('dangerous');
    const judged = evil.findings.filter((f) => f.ruleId.startsWith('BRINE-CTR'));
    expect(judged.map((f) => [f.ruleId, f.verdict, f.symbol])).toEqual([
      ['BRINE-CTR-002', 'dangerous', 'aten::from_file'],
      ['BRINE-CTR-002', 'dangerous', 'os.system'],
      ['BRINE-CTR-003', 'dangerous', 'evil_ns::run'],
    ]);
    expect(judged[0]?.message).toMatch(/in M\.__setstate__, line 3/);
  });

  it('keeps a dangerous verdict when the stream is also incomplete, with the problem listed', () => {
    const b = new StreamBuilder();
    b.call(b.imp('os', 'system'), [str('id')]);
    b.anomaly('truncated', true);
    const r = evaluate(fileScan([b.stream()]));
    expect(r.verdict).toBe('dangerous');
    expect(r.problems.length).toBe(1);
  });

  it('applies waivers by rule, path glob and pinned SHA-256', () => {
    const b = new StreamBuilder(2, ['models/net.pkl']);
    b.call(b.imp('mymodels.net', 'Net'), [], 'NEWOBJ');
    const sha = 'a'.repeat(64);
    const policy = parsePolicy({
      extends: 'strict',
      waivers: [{ rule: 'BRINE-IMP-003', path: 'models/**/*.pkl', sha256: sha, reason: 'our own class' }],
    });
    const scan = fileScan([b.stream()], { file: 'models/net.pkl' });
    const ok = evaluate(scan, policy, { sha256: sha });
    expect(ok.fails).toBe(false);
    expect(ok.verdict).toBe('clean');
    expect(ok.findings[0]?.waived?.reason).toBe('our own class');
    const changed = evaluate(scan, policy, { sha256: 'b'.repeat(64) });
    expect(changed.fails).toBe(true);
    expect(changed.reasons.some((r) => /not applied/.test(r))).toBe(true);
    const elsewhere = evaluate(scan, policy, { sha256: sha, displayPath: 'other/net.pkl' });
    expect(elsewhere.fails).toBe(true);
  });

  it('applies policy allow and deny entries', () => {
    const b = new StreamBuilder();
    b.call(b.imp('mymodels.net', 'Net'), [], 'NEWOBJ');
    b.imp('requests_toolbelt', 'Session');
    const policy = parsePolicy({ allow: ['mymodels.net:Net'], deny: ['requests_toolbelt:*'] });
    const r = evaluate(fileScan([b.stream()]), policy);
    expect(r.imports.map((i) => i.tier)).toEqual(['known', 'dangerous']);
    expect(r.findings.map((f) => f.ruleId)).toEqual(['BRINE-IMP-004', 'BRINE-IMP-006']);
    expect(r.verdict).toBe('dangerous');
  });

  it('adds the outer-file offset when the stream is stored uncompressed', () => {
    const b = new StreamBuilder();
    b.call(b.imp('os', 'system'), [str('id')]);
    const s = { ...b.stream(), fileOffset: 1000 };
    const f = evaluate(fileScan([s])).findings[0];
    expect(f?.fileOffset).toBe(1000 + (f?.offset ?? 0));
  });
});
