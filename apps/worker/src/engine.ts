import {
  bufferSource,
  ConvertError,
  type ConvertStream,
  convertToSafetensorsStream,
  type FileScan,
  httpSource,
  loadScannerModule,
  scan,
  scanStream,
} from '@brine/core';
import { renderReport, writers } from '@brine/report';
import {
  builtinPolicies,
  evaluate,
  type FileReport,
  RULESET_VERSION,
  type RuleDoc,
  rules,
} from '@brine/rules';

/** Report formats the API serves (text is for terminals; the CLI has it). */
export type ReportFormat = 'json' | 'sarif';

/** Version of the worker package, reported by `/healthz` and in every report. */
export const WORKER_VERSION = '0.1.0';

/**
 * The engine, rules and report packages as the app uses them. The app never scans or classifies
 * anything itself; this is the one place it reaches into those packages.
 */
export interface Engine {
  readonly version: string;
  readonly rulesetVersion: string;
  readonly policies: string[];
  readonly rules: readonly RuleDoc[];
  /** Scans an upload as it arrives (see `scanStream` in `@brine/core`). */
  scanStream(
    body: ReadableStream<Uint8Array> | AsyncIterable<Uint8Array>,
    opts: {
      name: string;
      size?: number;
      bufferLimit: number;
      signal: AbortSignal;
      /** CPU time the scan may use, where the runtime can meter it (Node: a worker thread per scan). */
      cpuBudgetMs?: number;
    },
  ): Promise<FileScan>;
  /** Scans a remote file with Range reads through the given (policy-checked) fetch. */
  scanUrl(url: string, opts: { fetch: typeof fetch; signal: AbortSignal; name?: string }): Promise<FileScan>;
  evaluate(scan: FileScan, policyName: string): FileReport;
  /** Renders one report; `skipped` lists inputs left out as no model format (files of a Hub repo). */
  render(
    format: ReportFormat,
    files: FileReport[],
    policyName: string,
    skipped?: Array<{ file: string; size: number; reason: string }>,
  ): string;
  mediaType(format: ReportFormat): string;
  /**
   * Converts a checkpoint held in memory to safetensors, after the same gate as `brine convert`: the scan
   * must pass the weights-only policy, then the restricted interpreter must accept every opcode.
   */
  convert(bytes: Uint8Array<ArrayBuffer>, name: string, signal: AbortSignal): Promise<ConvertOutcome>;
}

/** A conversion ready to stream, or the refusal with the gate's report when the scan refused it. */
export type ConvertOutcome =
  | ({ ok: true } & ConvertStream)
  | { ok: false; code: string; message: string; report?: FileReport };

async function sha256Hex(bytes: Uint8Array<ArrayBuffer>): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));
  return Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join('');
}

/** Loads the scanner (from a precompiled module on Workers) and binds the packages together. */
export async function createEngine(wasm?: WebAssembly.Module): Promise<Engine> {
  await loadScannerModule(wasm);
  const policies = Object.keys(builtinPolicies);
  return {
    version: WORKER_VERSION,
    rulesetVersion: RULESET_VERSION,
    policies,
    rules,
    scanStream: (body, opts) =>
      scanStream(body, {
        name: opts.name,
        ...(opts.size !== undefined ? { size: opts.size } : {}),
        bufferLimit: opts.bufferLimit,
        signal: opts.signal,
      }),
    async scanUrl(url, opts) {
      const source = await httpSource(url, { fetch: opts.fetch, signal: opts.signal });
      try {
        const result = await scan(source, { signal: opts.signal });
        return opts.name ? { ...result, file: opts.name } : result;
      } finally {
        await source.close();
      }
    },
    evaluate(fileScan, policyName) {
      const policy = builtinPolicies[policyName as keyof typeof builtinPolicies];
      return evaluate(fileScan, policy);
    },
    render(format, files, policyName, skipped) {
      return renderReport(
        format,
        {
          tool: { name: 'brine', version: WORKER_VERSION, rulesetVersion: RULESET_VERSION },
          files,
          startedAt: new Date().toISOString(),
          durationMs: files.reduce((n, f) => n + f.stats.durationMs, 0),
          policy: policyName,
          ...(skipped?.length ? { skipped } : {}),
        },
        { rules },
      );
    },
    mediaType: (format) => writers[format].mediaType,
    async convert(bytes, name, signal) {
      let report: FileReport | undefined;
      try {
        const stream = await convertToSafetensorsStream(bufferSource(name, bytes), {
          brineVersion: WORKER_VERSION,
          sourceSha256: await sha256Hex(bytes),
          gate: async (source) => {
            report = evaluate(await scan(source, { signal }), builtinPolicies['weights-only']);
            const ok = !report.fails && report.verdict === 'clean';
            return { ok, reasons: ok ? [] : [`verdict ${report.verdict}`, ...report.reasons], report };
          },
        });
        return { ok: true, ...stream };
      } catch (e) {
        if (!(e instanceof ConvertError)) throw e;
        return { ok: false, code: e.code, message: e.message, ...(report ? { report } : {}) };
      }
    },
  };
}
