import { type ByteSource, type FileScan, scan, unscannedFile } from '@brine/core';
import { builtinPolicies, evaluate, type FileReport, RULESET_VERSION } from '@brine/rules';

/**
 * What the hub needs from the engine and the rules, with the versions that key stored results:
 * `readStamp` (engine + every container reader) decides whether stored content must be read again,
 * `rulesVersion` whether a stored scan must be judged again. Tests inject other rules to play a
 * rules release without a new build.
 */
export interface HubJudge {
  readonly readStamp: string;
  readonly rulesVersion: string;
  scan(source: ByteSource, signal?: AbortSignal): Promise<FileScan>;
  judge(fileScan: FileScan): FileReport;
}

/** The engine and reader versions of this build, as one comparable string. */
export function currentReadStamp(): string {
  const probe = unscannedFile('version-probe', 'probe', 'probe');
  const readers = Object.entries(probe.readerVersions ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `engine=${probe.engineVersion ?? '?'};${readers.map(([k, v]) => `${k}=${v}`).join(',')}`;
}

/** The built-in engine and rules, judged by the default policy. */
export function defaultJudge(
  rules: { version: string; evaluate: (s: FileScan) => FileReport } = {
    version: RULESET_VERSION,
    evaluate: (s) => evaluate(s, builtinPolicies.default),
  },
): HubJudge {
  return {
    readStamp: currentReadStamp(),
    rulesVersion: rules.version,
    scan: (source, signal) => scan(source, signal ? { signal } : {}),
    judge: rules.evaluate,
  };
}

/** A verdict as the hub stores it: the rules' verdict, or `not-a-model` for files no loader reads as one. */
export type HubVerdict = FileReport['verdict'] | 'not-a-model';

/** Problems that only say "this is no model format"; any other problem keeps the file in the verdict. */
const NOT_A_MODEL = new Set(['not-a-model-format', 'empty-file']);

export function isNotAModel(fileScan: FileScan): boolean {
  return (
    fileScan.format === 'unknown' &&
    fileScan.streams.length === 0 &&
    fileScan.problems.every((p) => NOT_A_MODEL.has(p.code))
  );
}

/** The report kept per content: enough to show why, without the per-import lists. */
export function compactReport(report: FileReport): Record<string, unknown> {
  return {
    verdict: report.verdict,
    fails: report.fails,
    format: report.format,
    reasons: report.reasons.slice(0, 20),
    findings: report.findings.slice(0, 50),
    problems: report.problems.slice(0, 20),
    ...(report.findings.length > 50 ? { findingsOmitted: report.findings.length - 50 } : {}),
  };
}

/** gzip JSON (CompressionStream exists in workerd and Node 20). */
export async function packScan(fileScan: FileScan): Promise<Uint8Array> {
  const input = new Blob([JSON.stringify(fileScan)]).stream().pipeThrough(new CompressionStream('gzip'));
  return new Uint8Array(await new Response(input).arrayBuffer());
}

export async function unpackScan(bytes: Uint8Array): Promise<FileScan> {
  const input = new Blob([bytes as Uint8Array<ArrayBuffer>])
    .stream()
    .pipeThrough(new DecompressionStream('gzip'));
  return JSON.parse(await new Response(input).text()) as FileScan;
}
