import type { EvidenceValue, StreamScan } from '@brine/core';
import { describe, expect, it } from 'vitest';
import { evaluate } from './evaluate.js';
import { policyNamed } from './policy.js';
import { bytes, dict, fileScan, int, none, StreamBuilder, str, tuple } from './test-support/scan-builder.js';
import type { FileReport } from './types.js';

const list = (...items: EvidenceValue[]): EvidenceValue => ({ kind: 'list', items, truncated: false });

function judge(build: (b: StreamBuilder) => void, extra: StreamScan[] = []): FileReport {
  const b = new StreamBuilder(2);
  build(b);
  return evaluate(fileScan([b.stream(), ...extra]));
}

const tierOf = (r: FileReport, name: string) => r.imports.find((i) => i.name === name)?.tier;

describe('evidence-aware verdicts (BRINE-IMP-007)', () => {
  it('clears getattr(<known class>, <reconstructor>) called with literals, as every ZoneInfo pickles', () => {
    const r = judge((b) => {
      const un = b.call(b.imp('builtins', 'getattr'), [b.imp('zoneinfo', 'ZoneInfo'), str('_unpickle')]);
      b.call(un, [str('UTC'), int(1)]);
    });
    expect(r.verdict).toBe('clean');
    expect(r.fails).toBe(false);
    expect(r.findings.find((f) => f.symbol === 'builtins.getattr')?.ruleId).toBe('BRINE-IMP-007');
    expect(r.findings.some((f) => f.ruleId === 'BRINE-PKL-006')).toBe(false);
  });

  it('keeps the reconstructor shape strict: computed arguments, other attributes, result passed on', () => {
    const computed = judge((b) => {
      const un = b.call(b.imp('builtins', 'getattr'), [b.imp('zoneinfo', 'ZoneInfo'), str('_unpickle')]);
      b.call(un, [b.call(b.imp('os', 'getcwd'), []), int(1)]);
    });
    expect(tierOf(computed, 'getattr')).toBe('dangerous');
    expect(computed.findings.some((f) => f.ruleId === 'BRINE-PKL-006')).toBe(true);
    const other = judge((b) => {
      const f = b.call(b.imp('builtins', 'getattr'), [b.imp('zoneinfo', 'ZoneInfo'), str('from_file')]);
      b.call(f, [str('/etc/passwd')]);
    });
    expect(other.fails).toBe(true);
    expect(tierOf(other, 'getattr')).toBe('dangerous');
    const passed = judge((b) => {
      const un = b.call(b.imp('builtins', 'getattr'), [b.imp('zoneinfo', 'ZoneInfo'), str('_unpickle')]);
      b.call(un, [str('UTC'), int(1)]);
      b.call(b.imp('copyreg', '_reconstructor'), [un]);
    });
    expect(tierOf(passed, 'getattr')).toBe('dangerous');
  });

  it('clears enum members read with getattr, and only while they are not called', () => {
    const member = judge((b) => {
      const m = b.call(b.imp('builtins', 'getattr'), [b.imp('re', 'RegexFlag'), str('IGNORECASE')]);
      b.call(b.imp('collections', 'OrderedDict'), [list(tuple(str('flag'), m))]);
    });
    expect(member.fails).toBe(false);
    expect(tierOf(member, 'getattr')).toBe('known');
    const called = judge((b) => {
      const m = b.call(b.imp('builtins', 'getattr'), [b.imp('re', 'RegexFlag'), str('IGNORECASE')]);
      b.call(m, [str('x')]);
    });
    expect(called.fails).toBe(true);
    const onModule = judge((b) => {
      b.call(b.imp('builtins', 'getattr'), [b.imp('os', 'path'), str('join')]);
    });
    expect(onModule.fails).toBe(true);
  });

  it('clears type() with one data argument and nothing else', () => {
    expect(judge((b) => b.call(b.imp('builtins', 'type'), [none])).verdict).toBe('clean');
    expect(judge((b) => b.call(b.imp('builtins', 'type'), [b.imp('builtins', 'Ellipsis')])).verdict).toBe(
      'clean',
    );
    const threeArgs = judge((b) =>
      b.call(b.imp('builtins', 'type'), [
        str('X'),
        tuple(b.imp('builtins', 'object')),
        dict([str('__reduce__'), b.imp('builtins', 'print')]),
      ]),
    );
    expect(tierOf(threeArgs, 'type')).toBe('dangerous');
    const computed = judge((b) => b.call(b.imp('builtins', 'type'), [b.call(b.imp('os', 'getcwd'), [])]));
    expect(tierOf(computed, 'type')).toBe('dangerous');
    const asValue = judge((b) => {
      const t = b.imp('builtins', 'type');
      b.call(t, [none]);
      b.call(b.imp('collections', 'defaultdict'), [t]);
    });
    expect(tierOf(asValue, 'type')).toBe('dangerous');
  });

  it('clears pure builtins applied to literals only', () => {
    expect(judge((b) => b.call(b.imp('builtins', 'len'), [list(int(1), int(2))])).verdict).toBe('clean');
    const onCall = judge((b) =>
      b.call(b.imp('builtins', 'len'), [b.call(b.imp('builtins', 'map'), [b.imp('os', 'system'), list()])]),
    );
    expect(tierOf(onCall, 'len')).not.toBe('known');
    expect(onCall.fails).toBe(true);
  });

  it('clears functools.partial of a known callable with literal arguments and state', () => {
    const r = judge((b) => {
      const clip = b.imp('numpy', 'clip');
      const p = b.call(b.imp('functools', 'partial'), [clip]);
      b.call(p, [tuple(clip, tuple(), dict([str('a_min'), int(0)]), none)], 'BUILD');
    });
    expect(r.verdict).toBe('clean');
    expect(r.findings.find((f) => f.symbol === 'functools.partial')?.ruleId).toBe('BRINE-IMP-007');
  });

  it('keeps functools.partial dangerous when the callable is not known, the state swaps it or the result is called', () => {
    const dangerousFn = judge((b) =>
      b.call(b.imp('functools', 'partial'), [b.imp('os', 'system'), str('id')]),
    );
    expect(tierOf(dangerousFn, 'partial')).toBe('dangerous');
    const unknownFn = judge((b) => b.call(b.imp('functools', 'partial'), [b.imp('shlex', 'split')]));
    expect(tierOf(unknownFn, 'partial')).toBe('dangerous');
    const swapped = judge((b) => {
      const p = b.call(b.imp('functools', 'partial'), [b.imp('numpy', 'clip')]);
      b.call(p, [tuple(b.imp('shlex', 'split'), tuple(), dict(), none)], 'BUILD');
    });
    expect(tierOf(swapped, 'partial')).toBe('dangerous');
    const called = judge((b) => {
      const p = b.call(b.imp('functools', 'partial'), [b.imp('numpy', 'clip'), int(1)]);
      b.call(p, []);
    });
    expect(tierOf(called, 'partial')).toBe('dangerous');
    expect(called.fails).toBe(true);
  });

  it('clears torch.storage._load_from_bytes only when its bytes were scanned as a stream of their own', () => {
    const build = (b: StreamBuilder) => b.call(b.imp('torch.storage', '_load_from_bytes'), [bytes(300)]);
    const unscanned = judge(build);
    expect(unscanned.fails).toBe(true);
    expect(tierOf(unscanned, '_load_from_bytes')).toBe('dangerous');
    const nested = new StreamBuilder(2, ['model.pkl', '‹nested@0›']);
    nested.call(nested.imp('collections', 'OrderedDict'), []);
    const scanned = judge(build, [nested.stream()]);
    expect(scanned.fails).toBe(false);
    expect(tierOf(scanned, '_load_from_bytes')).toBe('known');
    expect(scanned.findings.some((f) => f.ruleId === 'BRINE-PKL-007')).toBe(false);
  });

  it('still lets a policy deny what the evidence clears, and weights-only still refuses it', () => {
    const b = new StreamBuilder(2);
    b.call(b.imp('builtins', 'type'), [none]);
    expect(evaluate(fileScan([b.stream()]), policyNamed('weights-only')).fails).toBe(true);
  });

  it('trusts nothing when evidence was cut short', () => {
    const r = judge((b) => {
      b.call(b.imp('builtins', 'type'), [none]);
      b.call(b.imp('collections', 'OrderedDict'), [{ kind: 'opaque', what: 'limit' }]);
    });
    expect(tierOf(r, 'type')).toBe('dangerous');
  });
});
