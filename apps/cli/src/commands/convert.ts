import {
  type ByteSource,
  ConvertError,
  type ConvertGate,
  type ConvertResult,
  convertToSafetensors,
  openFileSource,
} from '@brine/core';
import { exitCodeFor, type RunReport, renderReport } from '@brine/report';
import { builtinPolicies, type FileReport, RULESET_VERSION, rules } from '@brine/rules';
import type { Command } from 'commander';
import { type CliIo, UsageError, writeAll } from '../io.js';
import { scanSource } from '../scan-one.js';
import { wantsColor } from '../terminal.js';
import { CLI_VERSION } from '../version.js';

interface ConvertFlags {
  force?: boolean;
  format: string;
  color?: boolean;
}

const EXAMPLES = `
Examples:
  $ brine convert pytorch_model.bin model.safetensors
  $ brine convert checkpoint.pt out.safetensors --force --format json

Only state dicts of tensors convert: the file is first scanned under the weights-only policy, then
its pickle is interpreted by a restricted evaluator that knows nothing but torch's tensor rebuild
functions, OrderedDict, torch.Size and Parameter. Anything else refuses, and nothing is written.

Exit codes: 0 converted, 1 refused (unsafe, or not a data-only checkpoint),
            2 the input could not be read, the output exists (use --force), or a usage error.`;

/** `brine convert <in> <out.safetensors>`: safe conversion of a PyTorch checkpoint without unpickling it. */
export function registerConvert(program: Command, io: CliIo, setExitCode: (code: number) => void): void {
  program
    .command('convert')
    .description('convert a PyTorch checkpoint to safetensors without unpickling it (state dicts only)')
    .argument('<input>', 'a PyTorch checkpoint: zip (torch >= 1.6) or legacy format')
    .argument('<output>', 'the .safetensors file to write')
    .option('--force', 'replace the output file if it exists')
    .option('-f, --format <format>', 'what to print: text or json', 'text')
    .option('--no-color', 'never colour the refusal report')
    .addHelpText('after', EXAMPLES)
    .action(async (input: string, output: string, flags: ConvertFlags) => {
      setExitCode(await convertCommand(input, output, flags, io));
    });
}

/** The scan gate: the real scanner and the weights-only policy, exactly as `brine scan --policy weights-only`. */
function scanGate(name: string, onReport: (r: FileReport) => void): ConvertGate {
  return async (source: ByteSource) => {
    const outcome = await scanSource(source, name, { policy: builtinPolicies['weights-only'] });
    if (!('report' in outcome)) return { ok: false, reasons: [outcome.skipped.reason] };
    const report = outcome.report;
    onReport(report);
    const ok = !report.fails && report.verdict === 'clean';
    return { ok, reasons: ok ? [] : [`verdict ${report.verdict}`, ...report.reasons], report };
  };
}

async function convertCommand(
  input: string,
  output: string,
  flags: ConvertFlags,
  io: CliIo,
): Promise<number> {
  if (flags.format !== 'text' && flags.format !== 'json') {
    throw new UsageError(`--format must be text or json, not "${flags.format}"`);
  }
  const t0 = performance.now();
  let source: ByteSource;
  try {
    source = await openFileSource(input);
  } catch (e) {
    await writeAll(io.stderr, `brine: ${e instanceof Error ? e.message : String(e)}\n`);
    return 2;
  }
  let gateReport: FileReport | undefined;
  // First Ctrl-C: stop and remove the temporary file. Second: leave at once.
  const abort = new AbortController();
  const onSigint = () => {
    if (abort.signal.aborted) process.exit(130);
    abort.abort();
  };
  io.signals.on('SIGINT', onSigint);
  try {
    const result = await convertToSafetensors(source, output, {
      force: flags.force === true,
      brineVersion: CLI_VERSION,
      signal: abort.signal,
      gate: scanGate(input, (r) => {
        gateReport = r;
      }),
    });
    await writeAll(
      io.stdout,
      flags.format === 'json'
        ? `${JSON.stringify(resultJson(result, gateReport), null, 2)}\n`
        : summary(result),
    );
    return 0;
  } catch (e) {
    if (!(e instanceof ConvertError)) {
      await writeAll(io.stderr, `brine: ${input}: ${e instanceof Error ? e.message : String(e)}\n`);
      return 2;
    }
    if (flags.format === 'json') {
      await writeAll(io.stdout, `${JSON.stringify(refusalJson(e, input, gateReport), null, 2)}\n`);
    } else if (e.code === 'convert-refused-by-scan' && gateReport) {
      const run: RunReport = {
        tool: { name: 'brine', version: CLI_VERSION, rulesetVersion: RULESET_VERSION },
        files: [gateReport],
        startedAt: new Date().toISOString(),
        durationMs: performance.now() - t0,
        policy: 'weights-only',
      };
      const color = flags.color !== false && wantsColor(io.stdout, io.env);
      await writeAll(io.stdout, renderReport('text', run, { color, rules, repoRoot: io.cwd, cwd: io.cwd }));
    }
    await writeAll(io.stderr, `brine: not converted, nothing written: ${e.message}\n`);
    return exitCodeForRefusal(e, gateReport);
  } finally {
    io.signals.off('SIGINT', onSigint);
    await source.close().catch(() => {});
  }
}

function exitCodeForRefusal(e: ConvertError, report: FileReport | undefined): number {
  switch (e.code) {
    case 'convert-output-exists':
    case 'convert-io':
      return 2;
    case 'convert-refused-by-scan':
      // An unscannable input is an error (2), not a finding, as in `brine scan`.
      if (report) {
        const code = exitCodeFor({
          tool: { name: 'brine', version: CLI_VERSION, rulesetVersion: RULESET_VERSION },
          files: [report],
          startedAt: '',
          durationMs: 0,
          policy: 'weights-only',
        });
        return code === 0 ? 1 : code;
      }
      return 1;
    default:
      return 1;
  }
}

function summary(r: ConvertResult): string {
  const data = r.totalBytes - r.headerBytes;
  const lines = [
    `converted ${r.file} (${r.format}) → ${r.output}`,
    `  ${r.tensors.length} tensors, ${data} bytes of data, ${r.tensors.filter((t) => t.materialised).length} non-contiguous views materialised`,
    `  source sha256 ${r.sourceSha256}`,
  ];
  const meta = Object.entries(r.metadata);
  if (meta.length) lines.push(`  kept as metadata: ${meta.map(([k, v]) => `${k}=${v}`).join(', ')}`);
  if (r.dropped.length)
    lines.push(`  dropped: ${r.dropped.map((d) => `${d.name} (${d.reason})`).join(', ')}`);
  return `${lines.join('\n')}\n`;
}

function resultJson(r: ConvertResult, report: FileReport | undefined) {
  return {
    converted: true,
    input: r.file,
    output: r.output,
    format: r.format,
    sourceSha256: r.sourceSha256,
    bytes: r.totalBytes,
    tensors: r.tensors,
    metadata: r.metadata,
    dropped: r.dropped,
    scan: report ? { verdict: report.verdict, findings: report.findings.length } : undefined,
    durationMs: Math.round(r.durationMs),
  };
}

function refusalJson(e: ConvertError, input: string, report: FileReport | undefined) {
  return {
    converted: false,
    input,
    error: { code: e.code, message: e.message, ...(e.offset !== undefined ? { offset: e.offset } : {}) },
    scan: report
      ? { verdict: report.verdict, reasons: report.reasons, findings: report.findings }
      : undefined,
  };
}
