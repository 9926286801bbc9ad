import { describe, expect, it } from 'vitest';
import { defaultHookConfig, parseHookConfig } from './config.js';
import { describeConfigChange } from './config-change.js';

const cfg = (v: object) => parseHookConfig(v, '.brine.json (staged)');
const W = { rule: 'BRINE-IMP-003', path: 'models/a.pkl', sha256: 'ab'.repeat(32) };

describe('describeConfigChange', () => {
  it('is empty when both mean the same, whatever the key order', () => {
    expect(
      describeConfigChange(
        cfg({ extends: 'strict', waivers: [{ ...W, reason: 'r' }] }),
        cfg({ waivers: [{ reason: 'r', sha256: W.sha256, path: W.path, rule: W.rule }], extends: 'strict' }),
      ),
    ).toEqual([]);
    expect(describeConfigChange(defaultHookConfig(), defaultHookConfig())).toEqual([]);
  });

  it('lists added and removed waivers first, then other keys, an unpinned waiver called out', () => {
    const lines = describeConfigChange(
      cfg({ exclude: ['vendor/**'], waivers: [W] }),
      cfg({
        extends: 'strict',
        failOn: ['dangerous'],
        waivers: [{ rule: 'BRINE-IMP-001', path: 'models/**' }],
      }),
    );
    expect(lines).toEqual([
      '+ waiver "BRINE-IMP-001" for "models/**" (any content: no sha256)',
      `- waiver "BRINE-IMP-003" for "models/a.pkl" sha256 "${W.sha256}"`,
      '- exclude: "vendor/**"',
      '~ extends: undefined → "strict"',
      '+ failOn: "dangerous"',
    ]);
  });

  it('reports a reordering, and a configuration HEAD could not parse, as changes', () => {
    const two = [W, { ...W, path: 'b.pkl' }];
    expect(describeConfigChange(cfg({ waivers: two }), cfg({ waivers: [...two].reverse() }))[0]).toMatch(
      /^~ waivers:/,
    );
    expect(describeConfigChange(undefined, cfg({ waivers: [W] }))[0]).toMatch(/^\+ waiver/);
  });

  it('never passes terminal control characters or direction overrides through', () => {
    const [line] = describeConfigChange(
      defaultHookConfig(),
      cfg({ waivers: [{ ...W, reason: 'ok\u001b[2K\r\u202eevil\u009b' }] }),
    );
    expect(
      [...(line ?? '')].filter(
        (c) => c.charCodeAt(0) < 0x20 || (c >= '\u007f' && c <= '\u009f') || c === '\u202e',
      ),
    ).toEqual([]);
    expect(line).toContain('\\u001b[2K');
    expect(line).toContain('\\u202e');
  });
});
