import { describe, expect, it } from 'vitest';
import { renderReport } from './index.js';
import { JSON_REPORT_SCHEMA_VERSION } from './json.js';
import { sampleFiles, sampleRun } from './test-support/sample-run.js';
import { jsonReportErrors } from './test-support/schemas.js';

describe('json report', () => {
  it('matches the golden file', async () => {
    await expect(renderReport('json', sampleRun())).toMatchFileSnapshot('./golden/sample.json.snap');
  });

  it('validates against the published schema', () => {
    const doc = JSON.parse(renderReport('json', sampleRun()));
    expect(jsonReportErrors(doc)).toEqual([]);
    expect(doc.schemaVersion).toBe(JSON_REPORT_SCHEMA_VERSION);
  });

  it('the schema rejects what it should (so the validation above means something)', () => {
    const doc = JSON.parse(renderReport('json', sampleRun()));
    doc.files[0].verdict = 'fine';
    delete doc.files[1].imports;
    doc.files[2].findings[0].extra = 1;
    const errors = jsonReportErrors(doc);
    expect(errors.some((e) => e.startsWith('/files/0/verdict'))).toBe(true);
    expect(errors.some((e) => e.includes("must have required property 'imports'"))).toBe(true);
    expect(errors.some((e) => e.includes('must NOT have additional properties'))).toBe(true);
  });

  it('lists every import with its tier, safe ones included, plus problems, stats and summary', () => {
    const doc = JSON.parse(renderReport('json', sampleRun(), { allImports: false }));
    expect(doc.files[1].imports.map((i: { tier: string }) => i.tier)).toEqual(['safe', 'safe']);
    expect(doc.files[3].problems[0]).toEqual({
      code: 'truncated',
      message: 'pickle stream ends without STOP',
      path: ['models/broken \u001b[2Jname.pt', 'archive/data.pkl'],
      offset: 77,
    });
    expect(doc.summary).toEqual({
      files: 4,
      bytes: 61 + 3 * 1024 ** 3 + 2048 + 5000,
      bytesRead: 61 + 96 * 1024 + 2048 + 5000,
      verdicts: { clean: 1, suspicious: 1, dangerous: 1, unscannable: 1 },
      failing: 2,
      findings: 4,
      failingFindings: 2,
    });
    expect(doc.interrupted).toBe(false);
  });

  it('lists skipped inputs', () => {
    const run = sampleRun({ skipped: [{ file: 'a/notes.txt', size: 3, reason: 'not a model format' }] });
    const doc = JSON.parse(renderReport('json', run));
    expect(doc.skipped).toEqual([{ file: 'a/notes.txt', size: 3, reason: 'not a model format' }]);
    expect(jsonReportErrors(doc)).toEqual([]);
  });

  it('keeps only documented fields, whatever else the in-memory report carries', () => {
    const file = { ...sampleFiles.dangerous, internalCache: { x: 1 } };
    const doc = JSON.parse(renderReport('json', sampleRun({ files: [file] })));
    expect(doc.files[0].internalCache).toBeUndefined();
    expect(jsonReportErrors(doc)).toEqual([]);
  });
});
