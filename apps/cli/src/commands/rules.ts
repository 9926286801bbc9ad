import { RULESET_VERSION, rules } from '@brine/rules';
import type { Command } from 'commander';
import { type CliIo, UsageError, writeAll } from '../io.js';

/** `brine rules`: the rule catalogue, as a table or JSON. */
export function registerRules(program: Command, io: CliIo, setExitCode: (code: number) => void): void {
  program
    .command('rules')
    .description('list the detection rules')
    .option('-f, --format <format>', 'text or json', 'text')
    .action(async (flags: { format: string }) => {
      if (flags.format === 'json') {
        await writeAll(io.stdout, `${JSON.stringify({ rulesetVersion: RULESET_VERSION, rules }, null, 2)}\n`);
      } else if (flags.format === 'text') {
        const idWidth = Math.max(...rules.map((r) => r.id.length), 2);
        const lines = rules.map((r) => `${r.id.padEnd(idWidth)}  ${r.severity.padEnd(8)}  ${r.title}`);
        lines.push(
          '',
          `${rules.length} rules, rule set ${RULESET_VERSION}. \`brine explain <id>\` tells more.`,
        );
        await writeAll(io.stdout, `${lines.join('\n')}\n`);
      } else {
        throw new UsageError(`--format must be text or json, not "${flags.format}"`);
      }
      setExitCode(0);
    });
}
