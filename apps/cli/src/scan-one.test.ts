import { bufferSource } from '@brine/core';
import { builtinPolicies } from '@brine/rules';
import { describe, expect, it } from 'vitest';
import { type ScanOutcome, scanInput, scanSource } from './scan-one.js';
import { PICKLES } from './test-support/checkpoint.js';

const settings = { policy: builtinPolicies.default };

function report(o: ScanOutcome) {
  if (!('report' in o)) throw new Error(`expected a report, got skipped ${o.skipped.file}`);
  return o.report;
}

describe('scanSource', () => {
  it('scans and applies the policy, under the name the user gave', async () => {
    const r = report(
      await scanSource(
        bufferSource('http://x.test/resolve/a.pkl', PICKLES.evil),
        'hf://o/r@main/a.pkl',
        settings,
      ),
    );
    expect(r.verdict).toBe('dangerous');
    expect(r.file).toBe('hf://o/r@main/a.pkl');
    expect(r.findings.find((f) => f.symbol === 'os.system')?.path[0]).toBe('hf://o/r@main/a.pkl');
  });

  it('skips non-model content only when the file was found by a walk', async () => {
    const text = new TextEncoder().encode('# README\nnot a model\n');
    const walked = await scanSource(bufferSource('README.md', text), 'README.md', settings, {
      discovered: true,
    });
    expect(walked).toEqual({
      skipped: { file: 'README.md', size: text.length, reason: 'content is not a format brine scans' },
    });
    const named = report(await scanSource(bufferSource('README.md', text), 'README.md', settings));
    expect(named.verdict).toBe('unscannable');
    const empty = await scanSource(bufferSource('e.pkl', new Uint8Array(0)), 'e.pkl', settings, {
      discovered: true,
    });
    expect(empty).toHaveProperty('skipped');
  });

  it('never skips a walked file that has a pickle in it, even a broken one', async () => {
    const o = await scanSource(bufferSource('t.bin', PICKLES.truncatedBenign), 't.bin', settings, {
      discovered: true,
    });
    expect(report(o).verdict).toBe('unscannable');
  });

  it('reports a file over --max-file-size without scanning it', async () => {
    const r = report(
      await scanSource(bufferSource('big.pkl', PICKLES.evil), 'big.pkl', { ...settings, maxFileSize: 10 }),
    );
    expect(r.verdict).toBe('unscannable');
    expect(r.problems[0]?.code).toBe('too-large');
    expect(r.findings.some((f) => f.symbol === 'os.system')).toBe(false);
  });
});

describe('scanInput', () => {
  it('turns a missing file and a bad argument into unscannable reports', async () => {
    const missing = report(
      await scanInput({ kind: 'file', name: '/nope/x.pkl', path: '/nope/x.pkl' }, settings),
    );
    expect(missing.verdict).toBe('unscannable');
    expect(missing.problems[0]).toMatchObject({ code: 'not-found' });
    const bad = report(
      await scanInput({ kind: 'missing', name: 'hf://x', code: 'bad-argument', message: 'nope' }, settings),
    );
    expect(bad.problems[0]).toMatchObject({ code: 'bad-argument', message: 'nope' });
    expect(bad.fails).toBe(true);
  });
});
