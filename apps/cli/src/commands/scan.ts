import { type FileHandle, open } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { ENGINE_VERSION } from '@brine/core';
import { exitCodeFor, isReportFormat, REPORT_FORMATS, type RunReport, renderReport } from '@brine/report';
import { RULESET_VERSION, rules } from '@brine/rules';
import type { Command } from 'commander';
import { parseByteSize } from '../byte-size.js';
import { DEFAULT_HF_ENDPOINT } from '../hf.js';
import { expandInputs, type ScanInput } from '../inputs.js';
import { type CliIo, UsageError, writeAll } from '../io.js';
import { choosePolicy } from '../policy-choice.js';
import { createProgress } from '../progress.js';
import { type ScanOutcome, type ScanSettings, scanSource } from '../scan-one.js';
import { runScan } from '../scan-pool.js';
import { stdinSource } from '../stdin.js';
import { wantsColor } from '../terminal.js';
import { CLI_VERSION } from '../version.js';

interface ScanFlags {
  format: string;
  output?: string;
  policy: string;
  failOn?: string;
  include?: string[];
  exclude?: string[];
  jobs?: string;
  allImports?: boolean;
  maxFileSize?: string;
  quiet?: boolean;
  hfEndpoint?: string;
  color?: boolean;
  progress?: boolean;
}

const collect = (value: string, previous: string[] | undefined) => [...(previous ?? []), value];

const EXAMPLES = `
Examples:
  $ brine scan model.pt                       scan one checkpoint
  $ brine scan models/ --jobs 4               scan a folder (recursively) on 4 threads
  $ brine scan 'runs/**/*.pkl' --exclude '*.tmp'
  $ cat model.pkl | brine scan -              scan standard input
  $ brine scan https://example.org/model.bin  read only the bytes that matter (HTTP Range)
  $ brine scan hf://owner/repo@main           scan a Hugging Face model repository
  $ brine scan . --format sarif -o brine.sarif
  $ brine scan models/ --policy strict --fail-on suspicious

Exit codes: 0 nothing fails the policy, 1 a finding fails the policy,
            2 a file could not be scanned, the scan was interrupted, or a usage error.`;

/** `brine scan [paths...]`: the bulk scanner. */
export function registerScan(program: Command, io: CliIo, setExitCode: (code: number) => void): void {
  program
    .command('scan')
    .description(
      'scan model files, folders, globs, URLs, hf:// repositories or - (stdin) for code that runs on load',
    )
    .argument('[paths...]', 'files, directories, globs, https:// URLs, hf://owner/repo[@revision], or -')
    .option('-f, --format <format>', `output format: ${REPORT_FORMATS.join(', ')}`, 'text')
    .option('-o, --output <file>', 'write the report to a file instead of standard output')
    .option('--policy <policy>', 'default, strict, weights-only, or a policy JSON file', 'default')
    .option('--fail-on <verdict>', 'lowest finding verdict that fails: dangerous or suspicious')
    .option(
      '--include <glob>',
      'only scan matching files in folders, patterns and repos (repeatable)',
      collect,
    )
    .option('--exclude <glob>', 'skip matching files in folders, patterns and repos (repeatable)', collect)
    .option('-j, --jobs <n>', 'scanning threads, the main one included (default: available parallelism)')
    .option('--all-imports', 'list every import, safe ones too')
    .option(
      '--max-file-size <size>',
      'report larger files as unscannable instead of scanning them (e.g. 10GiB)',
    )
    .option('-q, --quiet', 'only list files that are not clean')
    .option('--hf-endpoint <url>', 'Hugging Face Hub base URL (default: $HF_ENDPOINT or the public Hub)')
    .option('--no-color', 'never colour the text report')
    .option('--no-progress', 'never show the progress bar')
    .addHelpText('after', EXAMPLES)
    .action(async (paths: string[], flags: ScanFlags) => {
      setExitCode(await scanCommand(paths, flags, io));
    });
}

async function scanCommand(paths: string[], flags: ScanFlags, io: CliIo): Promise<number> {
  const startedAt = new Date();
  const t0 = performance.now();
  if (paths.length === 0)
    throw new UsageError('nothing to scan: give files, folders, globs, URLs, hf:// repos or -');
  if (!isReportFormat(flags.format)) {
    throw new UsageError(`--format must be one of ${REPORT_FORMATS.join(', ')}, not "${flags.format}"`);
  }
  const format = flags.format;
  let jobs = availableParallelism();
  if (flags.jobs !== undefined) {
    jobs = Number(flags.jobs);
    if (!Number.isInteger(jobs) || jobs < 1 || jobs > 256)
      throw new UsageError('--jobs must be a whole number from 1 to 256');
  }
  let maxFileSize: number | undefined;
  if (flags.maxFileSize !== undefined) {
    maxFileSize = parseByteSize(flags.maxFileSize);
    if (maxFileSize === undefined)
      throw new UsageError(`--max-file-size: "${flags.maxFileSize}" is not a size such as 500MB or 2GiB`);
  }
  if (paths.filter((p) => p === '-').length > 1)
    throw new UsageError('standard input (-) can be scanned only once');
  const policy = await choosePolicy(flags.policy, flags.failOn);
  // Opened before scanning, so a bad --output path fails in a second, not after an hour of scanning.
  let outFile: FileHandle | undefined;
  if (flags.output !== undefined) {
    try {
      outFile = await open(flags.output, 'w');
    } catch (e) {
      throw new UsageError(`--output ${flags.output}: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  const settings: ScanSettings = { policy, ...(maxFileSize !== undefined ? { maxFileSize } : {}) };

  const endpoint = flags.hfEndpoint ?? io.env.HF_ENDPOINT ?? DEFAULT_HF_ENDPOINT;
  const token = io.env.HF_TOKEN;
  const inputs = await expandInputs(paths, {
    include: flags.include ?? [],
    exclude: flags.exclude ?? [],
    hub: { endpoint, ...(token ? { token } : {}) },
  });

  // First Ctrl-C: stop handing out files and report what is done. Second: leave at once.
  const abort = new AbortController();
  const onSigint = () => {
    if (abort.signal.aborted) process.exit(130);
    abort.abort();
  };
  io.signals.on('SIGINT', onSigint);

  const progress = createProgress(
    inputs.length,
    io.stderr,
    flags.progress !== false && io.stderr.isTTY === true,
  );
  let bytes = 0;
  const scanLocal = async (input: ScanInput): Promise<ScanOutcome> => {
    const { source, dispose } = await stdinSource(io.stdin);
    try {
      return await scanSource(source, input.name, settings);
    } finally {
      await source.close().catch(() => {});
      await dispose();
    }
  };
  let result: Awaited<ReturnType<typeof runScan>>;
  try {
    result = await runScan(inputs, {
      jobs,
      settings,
      signal: abort.signal,
      scanLocal,
      onResult: (outcome, done) => {
        if ('report' in outcome) bytes += outcome.report.stats.bytesRead;
        progress.update(done, bytes);
      },
    });
  } finally {
    progress.stop();
    io.signals.off('SIGINT', onSigint);
  }

  const run: RunReport = {
    tool: {
      name: 'brine',
      version: CLI_VERSION,
      rulesetVersion: RULESET_VERSION,
      engineVersion: ENGINE_VERSION,
    },
    files: result.reports,
    startedAt: startedAt.toISOString(),
    durationMs: performance.now() - t0,
    policy: policy.name,
    ...(result.skipped.length ? { skipped: result.skipped } : {}),
    ...(result.interrupted ? { interrupted: true } : {}),
  };
  const toFile = flags.output !== undefined;
  const color = format === 'text' && !toFile && flags.color !== false && wantsColor(io.stdout, io.env);
  const text = renderReport(format, run, {
    color,
    allImports: flags.allImports === true,
    quiet: flags.quiet === true,
    rules,
    repoRoot: io.cwd,
    cwd: io.cwd,
  });
  if (outFile) {
    try {
      await outFile.writeFile(text);
    } finally {
      await outFile.close();
    }
  } else {
    await writeAll(io.stdout, text);
  }
  return exitCodeFor(run);
}
