import { BrineError } from '@brine/core';
import { describe, expect, it } from 'vitest';
import { builtinPolicies, globMatches, PolicyError, parsePolicy } from './policy.js';

describe('parsePolicy', () => {
  it('extends a built-in policy and adds entries', () => {
    const p = parsePolicy({
      name: 'team',
      extends: 'strict',
      allow: ['mypkg.models:Net', { module: 'mypkg.layers', name: '*' }],
      deny: ['requests_toolbelt:*'],
      waivers: [{ rule: 'BRINE-IMP-003', path: 'models/*.pt', sha256: 'AB'.repeat(32) }],
    });
    expect(p.name).toBe('team');
    expect(p.failOn).toBe('suspicious');
    expect(p.allow).toEqual([
      { module: 'mypkg.models', name: 'Net' },
      { module: 'mypkg.layers', name: '*' },
    ]);
    expect(p.waivers[0]?.sha256).toBe('ab'.repeat(32));
    expect(builtinPolicies.strict.allow).toEqual([]);
  });

  it.each([
    [[], '(root)'],
    [{ failOn: 'sometimes' }, 'failOn'],
    [{ extends: 'lenient' }, 'extends'],
    [{ alow: [] }, 'alow'],
    [{ allow: ['os.system'] }, 'allow[0]'],
    [{ allow: ['os:system'] }, 'allow[0]'],
    [{ allow: ['builtins:eval'] }, 'allow[0]'],
    [{ tiers: { unknown: 'allow' } }, 'tiers.unknown'],
    [{ waivers: [{ rule: 'BRINE-IMP-003' }] }, 'waivers[0].path'],
    [{ waivers: [{ rule: 'IMP3', path: 'x' }] }, 'waivers[0].rule'],
    [{ waivers: [{ rule: 'BRINE-IMP-003', path: 'x', sha256: 'abc' }] }, 'waivers[0].sha256'],
    [{ waivers: [{ rule: 'BRINE-IMP-003', path: 'x', until: 'x' }] }, 'waivers[0].until'],
  ])('rejects %j naming field %s', (json, field) => {
    let err: unknown;
    try {
      parsePolicy(json);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(PolicyError);
    expect(err).toBeInstanceOf(BrineError);
    expect((err as PolicyError).field).toBe(field);
    expect((err as PolicyError).code).toBe('policy-invalid');
    expect((err as Error).message).toContain(field);
  });
});

describe('globMatches', () => {
  it.each([
    ['models/*.pt', 'models/a.pt', true],
    ['models/*.pt', 'models/sub/a.pt', false],
    ['models/**/*.pt', 'models/sub/deep/a.pt', true],
    ['models/**/*.pt', 'models/a.pt', true],
    ['*.pkl', 'deep/dir/x.pkl', true],
    ['x?.pkl', 'x1.pkl', true],
    ['x?.pkl', 'x12.pkl', false],
    ['./models/a.pt', 'models\\a.pt', true],
    ['a.b', 'axb', false],
  ])('%s vs %s -> %s', (pattern, path, want) => {
    expect(globMatches(pattern, path)).toBe(want);
  });
});
