import type { FileReport, Finding } from '@brine/rules';
import {
  type RenderOptions,
  type ReportWriter,
  type RunReport,
  type RunSummary,
  type SkippedInput,
  summarise,
} from './run.js';

/**
 * Version of the JSON report layout (`packages/report/schema/brine-report.schema.json`).
 * Semantic versioning: a new optional field is a minor bump, anything that can break a reader is major.
 */
export const JSON_REPORT_SCHEMA_VERSION = '1.0.0';

/** Identifier of the schema, matching its `$id`. */
export const JSON_REPORT_SCHEMA_ID = 'urn:brine:report:1';

/** The JSON report, exactly as documented by the schema file. */
export interface JsonReport {
  $schema: string;
  schemaVersion: string;
  tool: RunReport['tool'];
  policy: string;
  startedAt: string;
  durationMs: number;
  interrupted: boolean;
  summary: RunSummary;
  files: JsonFile[];
  skipped: SkippedInput[];
}

type JsonFinding = Pick<
  Finding,
  | 'ruleId'
  | 'severity'
  | 'verdict'
  | 'fails'
  | 'message'
  | 'path'
  | 'offset'
  | 'length'
  | 'fileOffset'
  | 'opcode'
  | 'symbol'
  | 'call'
  | 'waived'
>;

type JsonFile = Pick<
  FileReport,
  'file' | 'size' | 'format' | 'verdict' | 'fails' | 'reasons' | 'imports' | 'problems' | 'stats'
> & {
  findings: JsonFinding[];
};

// Fields are copied one by one so the output is what the schema documents, even when the
// in-memory types gain fields for other stages.
function jsonFinding(f: Finding): JsonFinding {
  const out: JsonFinding = {
    ruleId: f.ruleId,
    severity: f.severity,
    verdict: f.verdict,
    fails: f.fails,
    message: f.message,
    path: [...f.path],
  };
  if (f.offset !== undefined) out.offset = f.offset;
  if (f.length !== undefined) out.length = f.length;
  if (f.fileOffset !== undefined) out.fileOffset = f.fileOffset;
  if (f.opcode !== undefined) out.opcode = f.opcode;
  if (f.symbol !== undefined) out.symbol = f.symbol;
  if (f.call !== undefined) out.call = f.call;
  if (f.waived !== undefined) out.waived = { reason: f.waived.reason };
  return out;
}

function jsonFile(f: FileReport): JsonFile {
  return {
    file: f.file,
    size: f.size,
    format: f.format,
    verdict: f.verdict,
    fails: f.fails,
    reasons: [...f.reasons],
    findings: f.findings.map(jsonFinding),
    imports: f.imports.map((i) => {
      const out: FileReport['imports'][number] = {
        module: i.module,
        name: i.name,
        tier: i.tier,
        path: [...i.path],
        offset: i.offset,
        opcode: i.opcode,
        called: i.called,
      };
      if (i.family !== undefined) out.family = i.family;
      return out;
    }),
    problems: f.problems.map((p) => {
      const out: FileReport['problems'][number] = { code: p.code, message: p.message, path: [...p.path] };
      if (p.offset !== undefined) out.offset = p.offset;
      return out;
    }),
    stats: {
      bytesRead: f.stats.bytesRead,
      durationMs: f.stats.durationMs,
      pickles: f.stats.pickles,
      opcodes: f.stats.opcodes,
    },
  };
}

/** Builds the JSON report object (for frontends that embed it rather than print it). */
export function toJsonReport(run: RunReport): JsonReport {
  return {
    $schema: JSON_REPORT_SCHEMA_ID,
    schemaVersion: JSON_REPORT_SCHEMA_VERSION,
    tool: { ...run.tool },
    policy: run.policy,
    startedAt: run.startedAt,
    durationMs: run.durationMs,
    interrupted: run.interrupted ?? false,
    summary: summarise(run),
    files: run.files.map(jsonFile),
    skipped: (run.skipped ?? []).map((k) => ({ file: k.file, size: k.size, reason: k.reason })),
  };
}

/** Machine-readable report; every import is listed, with its tier, whatever `allImports` says. */
export const jsonWriter: ReportWriter = {
  format: 'json',
  mediaType: 'application/json',
  render(run: RunReport, _opts: RenderOptions): string {
    return `${JSON.stringify(toJsonReport(run), null, 2)}\n`;
  },
};
