import { describe, expect, it } from 'vitest';
import { exitCodeFor } from './exit-code.js';
import { sampleFiles, sampleRun } from './test-support/sample-run.js';

describe('exitCodeFor', () => {
  const { clean, suspicious, dangerous, broken } = sampleFiles;
  it('is 0 when nothing fails the policy, suspicious-but-passing files included', () => {
    expect(exitCodeFor(sampleRun({ files: [clean, suspicious] }))).toBe(0);
  });
  it('is 1 when a finding fails the policy', () => {
    expect(exitCodeFor(sampleRun({ files: [clean, dangerous] }))).toBe(1);
    expect(exitCodeFor(sampleRun({ files: [{ ...suspicious, fails: true }] }))).toBe(1);
  });
  it('is 2 when a file could not be scanned, even next to findings', () => {
    expect(exitCodeFor(sampleRun({ files: [clean, broken] }))).toBe(2);
    expect(exitCodeFor(sampleRun({ files: [dangerous, broken] }))).toBe(2);
    expect(exitCodeFor(sampleRun({ files: [{ ...broken, fails: false }] }))).toBe(2);
  });
  it('is 2 for an interrupted run, an empty run and a usage error', () => {
    expect(exitCodeFor(sampleRun({ files: [clean], interrupted: true }))).toBe(2);
    expect(exitCodeFor(sampleRun({ files: [] }))).toBe(2);
    expect(exitCodeFor(sampleRun({ files: [clean] }), { usageError: true })).toBe(2);
  });
});
