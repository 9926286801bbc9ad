import type { Finding } from '@brine/rules';
import { describe, expect, it } from 'vitest';
import { renderReport } from './index.js';
import { artifactLocation, stableHash } from './sarif.js';
import { sampleFiles, sampleRules, sampleRun } from './test-support/sample-run.js';
import { sarifErrors } from './test-support/schemas.js';

const opts = { rules: sampleRules, repoRoot: '/repo', cwd: '/repo' };

describe('sarif report', () => {
  it('matches the golden file', async () => {
    await expect(renderReport('sarif', sampleRun(), opts)).toMatchFileSnapshot('./golden/sample.sarif.snap');
  });

  it('is valid against the official SARIF 2.1.0 schema', () => {
    expect(sarifErrors(JSON.parse(renderReport('sarif', sampleRun(), opts)))).toEqual([]);
    expect(sarifErrors(JSON.parse(renderReport('sarif', sampleRun({ files: [] }), {})))).toEqual([]);
  });

  it('the schema check catches a broken log', () => {
    const log = JSON.parse(renderReport('sarif', sampleRun(), opts));
    delete log.runs[0].tool.driver.name;
    log.runs[0].results[0].level = 'fatal';
    expect(sarifErrors(log).length).toBeGreaterThan(0);
  });

  it('has what GitHub code scanning requires for rules', () => {
    const log = JSON.parse(renderReport('sarif', sampleRun(), opts));
    const rules = log.runs[0].tool.driver.rules;
    expect(rules.map((r: { id: string }) => r.id)).toEqual(['BRINE-PKL-001', 'BRINE-PKL-010']);
    for (const r of rules) {
      expect(r.shortDescription.text.length).toBeGreaterThan(0);
      expect(r.fullDescription.text.length).toBeLessThanOrEqual(1024);
      expect(r.help.text).toContain('Remediation:');
      expect(r.help.markdown).toContain('**Remediation:**');
      expect(r.properties.tags[0]).toBe('security');
      expect(typeof r.properties['security-severity']).toBe('string');
    }
    expect(rules[0].properties['security-severity']).toBe('9.8');
    expect(rules[0].defaultConfiguration.level).toBe('error');
    expect(rules[1].defaultConfiguration.level).toBe('warning');
  });

  it('puts results on line 1 of the repo-relative file with a byte region and the member as a logical location', () => {
    const log = JSON.parse(renderReport('sarif', sampleRun(), opts));
    const [evil, , , broken] = log.runs[0].results;
    expect(evil.ruleId).toBe('BRINE-PKL-001');
    expect(evil.level).toBe('error');
    expect(evil.locations[0].physicalLocation).toEqual({
      artifactLocation: { uri: 'models/evil.pkl', uriBaseId: '%SRCROOT%' },
      region: { startLine: 1, byteOffset: 2, byteLength: 11 },
    });
    expect(evil.locations[0].logicalLocations).toBeUndefined();
    expect(broken.locations[0].physicalLocation.artifactLocation.uri).toBe('models/broken%20%1B%5B2Jname.pt');
    expect(broken.locations[0].physicalLocation.region).toEqual({
      startLine: 1,
      byteOffset: 107,
      byteLength: 1,
    });
    expect(broken.locations[0].logicalLocations[0].fullyQualifiedName).toBe('archive/data.pkl');
  });

  it('marks waived findings as suppressed and reports problems as notifications', () => {
    const log = JSON.parse(renderReport('sarif', sampleRun(), opts));
    const waived = log.runs[0].results[2];
    expect(waived.suppressions).toEqual([
      { kind: 'external', status: 'accepted', justification: 'sklearn trees are reviewed' },
    ]);
    const inv = log.runs[0].invocations[0];
    expect(inv.executionSuccessful).toBe(false);
    expect(inv.toolExecutionNotifications[0].descriptor.id).toBe('truncated');
    expect(inv.endTimeUtc).toBe('2026-11-25T18:00:01.234Z');
  });

  it('gives stable fingerprints that survive offset changes and tell repeated findings apart', () => {
    const a = JSON.parse(renderReport('sarif', sampleRun(), opts)).runs[0].results;
    const moved = sampleRun();
    const first = sampleFiles.dangerous.findings[0] as Finding;
    moved.files[0] = {
      ...sampleFiles.dangerous,
      findings: [
        { ...first, offset: 50 },
        { ...first, offset: 90 },
      ],
    };
    const b = JSON.parse(renderReport('sarif', moved, opts)).runs[0].results;
    expect(b[0].partialFingerprints).toEqual(a[0].partialFingerprints);
    expect(b[1].partialFingerprints.primaryLocationLineHash).not.toBe(
      a[0].partialFingerprints.primaryLocationLineHash,
    );
    const hashes = a.map(
      (r: { partialFingerprints: { primaryLocationLineHash: string } }) =>
        r.partialFingerprints.primaryLocationLineHash,
    );
    expect(new Set(hashes).size).toBe(hashes.length);
  });

  it('adds a rule entry for a finding whose rule has no documentation', () => {
    const log = JSON.parse(renderReport('sarif', sampleRun({ files: [sampleFiles.dangerous] }), {}));
    expect(log.runs[0].tool.driver.rules).toHaveLength(1);
    expect(log.runs[0].results[0].ruleIndex).toBe(0);
    expect(sarifErrors(log)).toEqual([]);
  });
});

describe('artifactLocation', () => {
  it('makes paths inside the repo relative and leaves others absolute', () => {
    expect(artifactLocation('/repo/a/b.pt', '/repo', undefined)).toEqual({
      uri: 'a/b.pt',
      uriBaseId: '%SRCROOT%',
    });
    expect(artifactLocation('sub/../x.pkl', '/repo', '/repo/dir')).toEqual({
      uri: 'dir/x.pkl',
      uriBaseId: '%SRCROOT%',
    });
    expect(artifactLocation('/elsewhere/x.pkl', '/repo', undefined)).toEqual({
      uri: 'file:///elsewhere/x.pkl',
    });
    expect(artifactLocation('/repository/x.pkl', '/repo', undefined)).toEqual({
      uri: 'file:///repository/x.pkl',
    });
    expect(artifactLocation('C:\\m\\x.pkl', 'C:\\m', undefined)).toEqual({
      uri: 'x.pkl',
      uriBaseId: '%SRCROOT%',
    });
    expect(artifactLocation('https://h.test/a b.pt', '/repo', undefined)).toEqual({
      uri: 'https://h.test/a%20b.pt',
    });
    expect(artifactLocation('hf://acme/net@main/sub dir/m.pkl', undefined, undefined)).toEqual({
      uri: 'hf://acme/net@main/sub%20dir/m.pkl',
    });
    expect(artifactLocation('<stdin>', '/repo', undefined)).toEqual({ uri: 'stdin' });
  });
});

describe('stableHash', () => {
  it('is deterministic and spreads', () => {
    expect(stableHash('abc')).toBe(stableHash('abc'));
    expect(stableHash('abc')).not.toBe(stableHash('abd'));
    expect(stableHash('')).toMatch(/^[0-9a-f]{16}$/);
  });
});
