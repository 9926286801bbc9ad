import type { RunReport } from './run.js';

/** Process exit codes, the ClamAV/picklescan convention CI pipelines already understand. */
export const EXIT_CODES = {
  /** Every input was scanned and nothing fails the policy. */
  ok: 0,
  /** At least one finding fails the policy. */
  findings: 1,
  /** An input could not be (fully) scanned, the run was interrupted, nothing was scanned, or a usage error. */
  error: 2,
} as const;

/**
 * The exit code of a run.
 *
 * An incomplete scan (an unscannable file, an interrupted run, no input at all) wins over findings:
 * a gate that sees 1 may assume the rest was looked at, and with 2 it was not. The report still lists
 * every finding made before the problem.
 */
export function exitCodeFor(run: RunReport, opts?: { usageError?: boolean }): 0 | 1 | 2 {
  if (opts?.usageError) return EXIT_CODES.error;
  if (run.interrupted) return EXIT_CODES.error;
  if (run.files.length === 0) return EXIT_CODES.error;
  if (run.files.some((f) => f.verdict === 'unscannable')) return EXIT_CODES.error;
  if (run.files.some((f) => f.fails)) return EXIT_CODES.findings;
  return EXIT_CODES.ok;
}
