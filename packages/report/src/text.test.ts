import type { RuleDoc } from '@brine/rules';
import { describe, expect, it } from 'vitest';
import { renderReport } from './index.js';
import { sampleFiles, sampleRules, sampleRun } from './test-support/sample-run.js';
import { terminalSafe } from './text.js';

// biome-ignore lint/suspicious/noControlCharactersInRegex: matches ANSI colour sequences
const SGR = /\u001b\[\d+m/g;

describe('text report', () => {
  it('matches the golden file', async () => {
    const out = renderReport('text', sampleRun(), { rules: sampleRules });
    await expect(out).toMatchFileSnapshot('./golden/sample.txt');
  });

  it('shows verdict, rule, inner path, offset, opcode, call and a one-line fix for a finding', () => {
    const out = renderReport('text', sampleRun({ files: [sampleFiles.dangerous] }), { rules: sampleRules });
    expect(out).toContain('DANGEROUS');
    expect(out).toContain('BRINE-PKL-001');
    expect(out).toContain("os.system('touch /tmp/brine-pwned')");
    expect(out).toContain('offset 2 (0x2), GLOBAL');
    expect(out).toContain('import os.system: called on load');
    expect(out).toContain('fix: Do not load this file. Ask the publisher for a safetensors version');
    expect(out).toMatch(/Scanned 1 file in 1\.23 s: 0 clean, 0 suspicious, 1 dangerous, 0 unscannable/);
    expect(out).toContain('1 file fails the policy.');
  });

  it('joins container paths with ›', () => {
    const out = renderReport('text', sampleRun({ files: [sampleFiles.broken] }), {});
    expect(out).toContain('name.pt › archive/data.pkl, offset 7 (0x7), STACK_GLOBAL');
    expect(out).toContain('could not be fully scanned');
  });

  it('never lets escape sequences or bidi overrides from the file reach the terminal', () => {
    const out = renderReport('text', sampleRun(), { color: false });
    // biome-ignore lint/suspicious/noControlCharactersInRegex: looking for control characters is the test
    expect(out).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f\u202a-\u202e]/);
    expect(out).toContain('broken \\x1b[2Jname.pt');
    expect(out).toContain('\\x1b]0;owned\\x07 \\u202egnp.');
  });

  it('colours only when asked, and only with its own escapes', () => {
    const plain = renderReport('text', sampleRun(), { color: false });
    const coloured = renderReport('text', sampleRun(), { color: true });
    expect(plain).not.toContain('\u001b[');
    expect(coloured).toContain('\u001b[31m');
    // Removing our SGR sequences gives back the plain report: nothing else differs.
    expect(coloured.replaceAll(SGR, '')).toBe(plain);
  });

  it('lists non-allowlisted imports by default and every import with allImports', () => {
    const run = sampleRun({ files: [sampleFiles.suspicious] });
    const normal = renderReport('text', run, {});
    const all = renderReport('text', run, { allImports: true });
    expect(normal).toContain('mylib.layers.Custom');
    expect(normal).not.toContain('numpy.dtype');
    expect(all).toContain('numpy.dtype');
    expect(all).toContain('STACK_GLOBAL, models/custom.joblib @ 120  called');
  });

  it('cuts a long remediation at a sentence boundary', () => {
    const long = {
      ...(sampleRules[0] as RuleDoc),
      remediation: `${'First sentence is here. '.repeat(5)}${'x'.repeat(300)}.`,
    };
    const out = renderReport('text', sampleRun({ files: [sampleFiles.dangerous] }), { rules: [long] });
    const fix = out.split('\n').find((l) => l.includes('fix:')) ?? '';
    expect(fix.trim()).toBe(`fix: ${'First sentence is here. '.repeat(5).trim()}`);
  });

  it('keeps a clean file to one line, with its reasons only when every detail is asked for', () => {
    const clean = { ...sampleFiles.clean, reasons: ['plain data: the pickle imports nothing'] };
    const run = sampleRun({ files: [clean] });
    expect(renderReport('text', run, {})).not.toContain('plain data');
    expect(renderReport('text', run, { allImports: true })).toContain(
      'why: plain data: the pickle imports nothing',
    );
  });

  it('marks waived findings', () => {
    const out = renderReport('text', sampleRun({ files: [sampleFiles.suspicious] }), {});
    expect(out).toContain('(waived: sklearn trees are reviewed)');
    expect(out).toContain('No file fails the policy.');
  });

  it('quiet hides clean files and detail lines but keeps the summary', () => {
    const out = renderReport('text', sampleRun(), { quiet: true });
    expect(out).not.toContain('resnet.pt');
    expect(out).toContain('evil.pkl');
    expect(out).toContain('Scanned 4 files');
    expect(out).not.toContain('Read ');
  });

  it('reports bytes read against file bytes and an interrupted run', () => {
    const out = renderReport('text', sampleRun({ files: [sampleFiles.clean], interrupted: true }), {});
    expect(out).toContain('Read 96.0 KiB of 3.0 GiB (0.00%)');
    expect(out).toContain('Interrupted');
    expect(out).not.toContain('No file fails the policy.');
  });

  it('counts skipped non-model files, and lists them with allImports', () => {
    const run = sampleRun({
      files: [sampleFiles.clean],
      skipped: [{ file: 'models/README.md', size: 10, reason: 'not a model format' }],
    });
    expect(renderReport('text', run, {})).toContain('Skipped 1 file found in folders or patterns');
    expect(renderReport('text', run, {})).not.toContain('README.md');
    expect(renderReport('text', run, { allImports: true })).toContain(
      'skipped models/README.md: not a model format',
    );
  });

  it('says so when nothing was scanned', () => {
    expect(renderReport('text', sampleRun({ files: [] }), {})).toContain('Nothing was scanned.');
  });
});

describe('terminalSafe', () => {
  it('escapes C0, C1, DEL and bidi controls and keeps ordinary text', () => {
    expect(terminalSafe('a\u001bb\u0085c\u007fd\u2066e\n')).toBe('a\\x1bb\\x85c\\x7fd\\u2066e\\n');
    expect(terminalSafe('os.system › ünïcode')).toBe('os.system › ünïcode');
  });
});
