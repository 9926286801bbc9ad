import type { InnerPath } from '@brine/core';
import type { FileReport, RuleDoc, Verdict } from '@brine/rules';

/** Everything one `brine scan` invocation produced: the input of every report writer. */
export interface RunReport {
  tool: { name: 'brine'; version: string; rulesetVersion: string; engineVersion?: string };
  /** One report per input file, in the order the inputs were given (identical for serial and parallel runs). */
  files: FileReport[];
  /** ISO 8601 timestamp of the start of the run. */
  startedAt: string;
  durationMs: number;
  /** True when the run was stopped (Ctrl-C) before every input was scanned. */
  interrupted?: boolean;
  /** Name of the policy in force (`default`, `strict`, `weights-only` or a policy file's name). */
  policy: string;
  /**
   * Files found by walking a folder, a pattern or a repository whose content is no format brine
   * knows (text, images...). Listed so nothing disappears silently; named files are never skipped.
   */
  skipped?: SkippedInput[];
}

/** An input that was looked at and left out of the verdicts, with why. */
export interface SkippedInput {
  file: string;
  size: number;
  reason: string;
}

/** The output formats brine can write. */
export type ReportFormat = 'text' | 'json' | 'sarif';

/** Options shared by every writer; each writer ignores what does not apply to it. */
export interface RenderOptions {
  /** ANSI colours (text only). The frontend decides (TTY, `NO_COLOR`, `FORCE_COLOR`). */
  color?: boolean;
  /** List every import, safe ones too (text only; JSON always lists them). */
  allImports?: boolean;
  /** Only files that are not clean, and a one-line summary (text only). */
  quiet?: boolean;
  /** Rule documentation: remediation lines in text, `tool.driver.rules` in SARIF. */
  rules?: readonly RuleDoc[];
  /** Directory that SARIF artifact URIs are made relative to (usually the repository root). */
  repoRoot?: string;
  /** Directory that relative input paths are relative to (default: `repoRoot`). */
  cwd?: string;
}

/** One output format behind the common interface (the registry in `index.ts` picks one). */
export interface ReportWriter {
  readonly format: ReportFormat;
  /** Media type of the output, for frontends that serve it over HTTP. */
  readonly mediaType: string;
  render(run: RunReport, opts: RenderOptions): string;
}

/** Counts for the closing summary, the same in every format. */
export interface RunSummary {
  files: number;
  /** Total size of the inputs. */
  bytes: number;
  /** Bytes actually read (tensor data and skipped payloads are not read). */
  bytesRead: number;
  verdicts: Record<Verdict, number>;
  /** Files that fail the policy. */
  failing: number;
  findings: number;
  failingFindings: number;
}

/** Adds up the per-file results of a run. */
export function summarise(run: RunReport): RunSummary {
  const verdicts: Record<Verdict, number> = { clean: 0, suspicious: 0, dangerous: 0, unscannable: 0 };
  let bytes = 0;
  let bytesRead = 0;
  let failing = 0;
  let findings = 0;
  let failingFindings = 0;
  for (const f of run.files) {
    verdicts[f.verdict] += 1;
    bytes += f.size;
    bytesRead += f.stats.bytesRead;
    if (f.fails) failing += 1;
    findings += f.findings.length;
    for (const finding of f.findings) if (finding.fails) failingFindings += 1;
  }
  return { files: run.files.length, bytes, bytesRead, verdicts, failing, findings, failingFindings };
}

/** The separator users see between nesting levels, e.g. `model.pt › archive/data.pkl`. */
export const PATH_SEPARATOR = ' › ';

/** Renders a container path for people. */
export function formatInnerPath(path: InnerPath): string {
  return path.join(PATH_SEPARATOR);
}

/**
 * The part of a path below the input file itself (`['model.pt', 'archive/data.pkl']` →
 * `['archive/data.pkl']`). The engine puts the input's own name first; a raw pickle has no inner part.
 */
export function innerMembers(path: InnerPath): InnerPath {
  return path.slice(1);
}

/** `1536` → `1.5 KiB`: binary units, since model sizes are usually quoted that way. */
export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let i = -1;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i += 1;
  }
  return `${v >= 100 ? v.toFixed(0) : v.toFixed(1)} ${units[i]}`;
}

/** `1234` → `1.23 s`, `12` → `12 ms`. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(2)} s`;
  const m = Math.floor(ms / 60_000);
  return `${m} min ${((ms - m * 60_000) / 1000).toFixed(0)} s`;
}
