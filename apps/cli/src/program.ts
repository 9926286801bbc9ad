import { Command, CommanderError } from 'commander';
import { registerConvert } from './commands/convert.js';
import { registerExplain } from './commands/explain.js';
import { registerHook } from './commands/hook.js';
import { registerRules } from './commands/rules.js';
import { registerScan } from './commands/scan.js';
import { type CliIo, processIo, UsageError } from './io.js';
import { CLI_VERSION } from './version.js';

/** A subcommand: one file under `commands/`, added to the program by one line below. */
export type RegisterCommand = (program: Command, io: CliIo, setExitCode: (code: number) => void) => void;

const COMMANDS: RegisterCommand[] = [
  registerScan,
  registerConvert,
  registerRules,
  registerExplain,
  registerHook,
];

/**
 * Runs the CLI with `argv` (as `process.argv`) and returns the exit code. Usage errors, including
 * commander's own (unknown option, missing argument), exit 2 like a failed scan, never 1: 1 means
 * "a finding fails the policy" to every CI pipeline reading it.
 */
export async function main(argv: readonly string[], io: CliIo = processIo()): Promise<number> {
  let exitCode = 0;
  const program = new Command('brine')
    .description('find code that runs when an ML model file (pickle, PyTorch, joblib, NumPy) is loaded')
    .version(CLI_VERSION, '-V, --version')
    .showHelpAfterError('(run with --help for usage)')
    .configureOutput({
      writeOut: (s) => io.stdout.write(s),
      writeErr: (s) => io.stderr.write(s),
    })
    .exitOverride();
  for (const register of COMMANDS) {
    register(program, io, (code) => {
      exitCode = code;
    });
  }
  program.commands.forEach((c) => {
    c.exitOverride();
  });
  try {
    await program.parseAsync([...argv]);
    return exitCode;
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version') return 0;
      return 2;
    }
    if (e instanceof UsageError) {
      io.stderr.write(`brine: ${e.message}\n`);
      return 2;
    }
    io.stderr.write(`brine: internal error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    return 2;
  }
}
