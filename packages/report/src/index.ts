import type { RuleDoc } from '@brine/rules';
import { jsonWriter } from './json.js';
import type { RenderOptions, ReportFormat, ReportWriter, RunReport } from './run.js';
import { sarifWriter } from './sarif.js';
import { textWriter } from './text.js';

export { EXIT_CODES, exitCodeFor } from './exit-code.js';
export { JSON_REPORT_SCHEMA_ID, JSON_REPORT_SCHEMA_VERSION, type JsonReport, toJsonReport } from './json.js';
export {
  formatBytes,
  formatDuration,
  formatInnerPath,
  innerMembers,
  PATH_SEPARATOR,
  type RenderOptions,
  type ReportFormat,
  type ReportWriter,
  type RunReport,
  type RunSummary,
  type SkippedInput,
  summarise,
} from './run.js';
export { artifactLocation, stableHash, toSarif } from './sarif.js';
export { terminalSafe } from './text.js';

/** Every writer, by format: add a format by adding a file and a line here. */
export const writers: Readonly<Record<ReportFormat, ReportWriter>> = {
  text: textWriter,
  json: jsonWriter,
  sarif: sarifWriter,
};

/** The formats `--format` accepts. */
export const REPORT_FORMATS = Object.keys(writers) as ReportFormat[];

/** True when `s` names a report format. */
export function isReportFormat(s: string): s is ReportFormat {
  return Object.hasOwn(writers, s);
}

/**
 * Renders a run in one format.
 *
 * @example renderReport('sarif', run, { rules, repoRoot: process.cwd() })
 */
export function renderReport(
  format: ReportFormat,
  run: RunReport,
  opts: {
    color?: boolean;
    allImports?: boolean;
    quiet?: boolean;
    rules?: readonly RuleDoc[];
    repoRoot?: string;
    cwd?: string;
  } = {},
): string {
  return writers[format].render(run, opts satisfies RenderOptions);
}
