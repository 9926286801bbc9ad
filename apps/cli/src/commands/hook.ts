import { realpathSync } from 'node:fs';
import { BrineError } from '@brine/core';
import { coreEngine, defaultHookCommand, installHook, runHook, uninstallHook } from '@brine/precommit';
import type { Command } from 'commander';
import type { CliIo } from '../io.js';
import { wantsColor } from '../terminal.js';
import { CLI_VERSION } from '../version.js';

const HELP = `
Examples:
  $ brine hook install      add brine to this repository's pre-commit hook (core.hooksPath honoured;
                            an existing hook is kept and run first)
  $ brine hook run          check what is staged now (what the hook runs; husky/lefthook call this)
  $ brine hook uninstall    remove brine's hook and put back the one it chained

Exit codes of run: 0 the commit may go ahead, 1 a staged file fails the policy,
                   2 something could not be judged (missing LFS object, broken .brine.json, ...).`;

/** `brine hook install|uninstall|run`: the git pre-commit integration (`@brine/precommit`). */
export function registerHook(program: Command, io: CliIo, setExitCode: (code: number) => void): void {
  const hook = program
    .command('hook')
    .description('git pre-commit hook: block commits that stage model files which run code when loaded')
    .addHelpText('after', HELP);

  const guarded = (fn: () => Promise<number>) => async () => {
    try {
      setExitCode(await fn());
    } catch (e) {
      if (!(e instanceof BrineError)) throw e;
      io.stderr.write(`brine: ${e.message}\n`);
      setExitCode(2);
    }
  };

  hook
    .command('install')
    .description('write a pre-commit hook that runs brine on staged files')
    .action(
      guarded(async () => {
        // The real file behind a bin symlink, so the hook never depends on a link the repository could supply.
        const script = process.argv[1] ? realpathSync(process.argv[1]) : undefined;
        const r = await installHook({
          cwd: io.cwd,
          command: defaultHookCommand(process.execPath, script),
          executables: script ? [process.execPath, script] : [process.execPath],
        });
        const what = { created: 'installed', updated: 'updated', chained: 'installed' }[r.action];
        io.stdout.write(`brine: pre-commit hook ${what} at ${r.hookPath}\n`);
        if (r.action === 'chained' && r.chainedPath) {
          io.stdout.write(`brine: the existing hook was kept as ${r.chainedPath} and runs first\n`);
        }
        return 0;
      }),
    );

  hook
    .command('uninstall')
    .description("remove brine's pre-commit hook (restoring a hook it had chained)")
    .action(
      guarded(async () => {
        const r = await uninstallHook(io.cwd);
        const msg = {
          removed: `removed ${r.hookPath}`,
          restored: `removed brine's hook; the previous hook is back at ${r.hookPath}`,
          absent: `no brine hook at ${r.hookPath}; nothing changed`,
        }[r.action];
        io.stdout.write(`brine: ${msg}\n`);
        return 0;
      }),
    );

  hook
    .command('run')
    .description('check the staged content now (files: only these index entries, as pre-commit passes them)')
    .argument(
      '[files...]',
      'paths relative to the repository root (default: every staged addition/modification)',
    )
    .option('--no-color', 'never colour the report')
    .action(async (files: string[], flags: { color: boolean }) => {
      const r = await runHook({
        cwd: io.cwd,
        ...(files.length > 0 ? { files } : {}),
        engine: coreEngine,
        out: (s) => io.stdout.write(s),
        err: (s) => io.stderr.write(s),
        color: flags.color && wantsColor(io.stdout, io.env),
        version: CLI_VERSION,
      });
      setExitCode(r.exitCode);
    });
}
