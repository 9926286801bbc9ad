import { getRule, rules } from '@brine/rules';
import type { Command } from 'commander';
import { type CliIo, UsageError, writeAll } from '../io.js';

/** `brine explain RULE_ID`: how the attack works and what to do about it. */
export function registerExplain(program: Command, io: CliIo, setExitCode: (code: number) => void): void {
  program
    .command('explain')
    .description('explain a rule: how the attack works and how to fix it')
    .argument('<rule-id>', 'a rule id such as those `brine rules` lists (case-insensitive)')
    .action(async (id: string) => {
      const rule = getRule(id.trim().toUpperCase()) ?? rules.find((r) => r.name === id.trim().toLowerCase());
      if (!rule) {
        const near = rules.filter((r) => r.id.includes(id.trim().toUpperCase())).map((r) => r.id);
        throw new UsageError(
          `unknown rule "${id}"${near.length ? ` (did you mean ${near.slice(0, 5).join(', ')}?)` : ''}; \`brine rules\` lists them`,
        );
      }
      const lines = [
        `${rule.id} ${rule.name} (${rule.severity})`,
        rule.title,
        '',
        wrap(rule.explanation),
        '',
        'What to do:',
        wrap(rule.remediation),
      ];
      if (rule.references.length) lines.push('', 'References:', ...rule.references.map((r) => `  ${r}`));
      if (rule.tags.length) lines.push('', `Tags: ${rule.tags.join(', ')}`);
      await writeAll(io.stdout, `${lines.join('\n')}\n`);
      setExitCode(0);
    });
}

/** Wraps a paragraph at 88 columns with a two-space indent, for reading in a terminal. */
function wrap(text: string, width = 88): string {
  const out: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/).filter(Boolean)) {
    if (line && line.length + 1 + word.length > width - 2) {
      out.push(`  ${line}`);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) out.push(`  ${line}`);
  return out.join('\n');
}
