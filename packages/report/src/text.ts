import type { ClassifiedImport, FileReport, Finding, RuleDoc, Verdict } from '@brine/rules';
import { createColors } from 'picocolors';
import {
  formatBytes,
  formatDuration,
  formatInnerPath,
  type RenderOptions,
  type ReportWriter,
  type RunReport,
  summarise,
} from './run.js';

type Colors = ReturnType<typeof createColors>;

/**
 * Makes attacker-controlled text safe to print on a terminal. Evidence strings come straight out of
 * the scanned file, so an ANSI escape or a bidi override in a pickle string could otherwise rewrite
 * the screen or make `os.system` read as something harmless (Trojan Source, CVE-2021-42574).
 */
export function terminalSafe(s: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
  return s.replace(/[\u0000-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/g, (c) => {
    const code = c.charCodeAt(0);
    if (c === '\n') return '\\n';
    if (c === '\t') return '\\t';
    if (c === '\r') return '\\r';
    return code <= 0xff
      ? `\\x${code.toString(16).padStart(2, '0')}`
      : `\\u${code.toString(16).padStart(4, '0')}`;
  });
}

const VERDICT_LABEL: Record<Verdict, string> = {
  clean: 'CLEAN',
  suspicious: 'SUSPICIOUS',
  dangerous: 'DANGEROUS',
  unscannable: 'UNSCANNABLE',
};

function paintVerdict(c: Colors, v: Verdict, text: string): string {
  switch (v) {
    case 'clean':
      return c.green(text);
    case 'suspicious':
      return c.yellow(text);
    case 'dangerous':
      return c.bold(c.red(text));
    case 'unscannable':
      return c.magenta(text);
  }
}

function findingMark(c: Colors, f: Finding): string {
  if (f.verdict === 'dangerous') return c.red('✖ dangerous ');
  if (f.verdict === 'suspicious') return c.yellow('▲ suspicious');
  return c.cyan('ℹ info      ');
}

function offsetText(offset: number | undefined): string {
  return offset === undefined ? '' : `offset ${offset} (0x${offset.toString(16)})`;
}

function renderFinding(c: Colors, f: Finding, docs: Map<string, RuleDoc>, lines: string[]): void {
  const what = f.call ?? f.symbol;
  const head = [findingMark(c, f), c.bold(f.ruleId)];
  if (what !== undefined) head.push(terminalSafe(what));
  if (f.waived) head.push(c.dim(`(waived: ${terminalSafe(f.waived.reason)})`));
  lines.push(`  ${head.join('  ')}`);
  const where = [formatInnerPath(f.path.map(terminalSafe)), offsetText(f.offset), f.opcode ?? ''].filter(
    (s) => s !== '',
  );
  lines.push(`      ${c.dim('at')} ${where.join(', ')}`);
  if (f.symbol !== undefined) {
    lines.push(
      `      ${c.dim('import')} ${terminalSafe(f.symbol)}: ${f.call !== undefined ? 'called on load' : 'imported, not called'}`,
    );
  }
  lines.push(`      ${terminalSafe(f.message)}`);
  const doc = docs.get(f.ruleId);
  if (doc) lines.push(`      ${c.dim('fix:')} ${oneLine(doc.remediation)}`);
}

/** Remediation in the text report is one line (whole sentences); `brine explain` shows all of it. */
function oneLine(s: string, max = 200): string {
  const flat = s.replace(/\s+/g, ' ').trim();
  if (flat.length <= max) return flat;
  let cut = -1;
  for (const m of flat.matchAll(/\.(?=\s)/g)) {
    if (m.index + 1 > max) break;
    cut = m.index + 1;
  }
  return cut > 0 ? flat.slice(0, cut) : `${flat.slice(0, max - 1)}…`;
}

function renderImport(c: Colors, i: ClassifiedImport): string {
  const tier =
    i.tier === 'dangerous'
      ? c.red(i.tier.padEnd(9))
      : i.tier === 'unknown'
        ? c.yellow(i.tier.padEnd(9))
        : c.dim(i.tier.padEnd(9));
  const where = `${formatInnerPath(i.path.map(terminalSafe))} @ ${i.offset}`;
  return `      ${tier} ${terminalSafe(`${i.module}.${i.name}`)}  ${c.dim(`${i.opcode}, ${where}`)}${i.called ? '  called' : ''}`;
}

function renderFile(c: Colors, f: FileReport, opts: RenderOptions, docs: Map<string, RuleDoc>): string[] {
  const lines: string[] = [];
  const facts = `${f.format}, ${formatBytes(f.size)}, read ${formatBytes(f.stats.bytesRead)}`;
  const label = paintVerdict(c, f.verdict, VERDICT_LABEL[f.verdict].padEnd(11));
  lines.push(`${label} ${c.bold(terminalSafe(f.file))}  ${c.dim(`(${facts})`)}`);
  // Reasons restate the findings; they are only worth a line when there is no finding to show, and
  // a clean file stays one line in a bulk scan unless every detail was asked for.
  if (f.findings.length === 0 && (f.verdict !== 'clean' || opts.allImports))
    for (const reason of f.reasons) lines.push(`  ${c.dim('why:')} ${terminalSafe(reason)}`);
  for (const finding of f.findings) renderFinding(c, finding, docs, lines);
  for (const p of f.problems) {
    const at = [formatInnerPath(p.path.map(terminalSafe)), offsetText(p.offset)].filter((s) => s !== '');
    lines.push(
      `  ${c.magenta('! problem')}  ${p.code}: ${terminalSafe(p.message)}${at.length ? ` (${at.join(', ')})` : ''}`,
    );
  }
  if (!opts.quiet) {
    const shown = opts.allImports
      ? f.imports
      : f.imports.filter((i) => i.tier === 'dangerous' || i.tier === 'unknown');
    if (shown.length > 0) {
      lines.push(`  ${c.dim(opts.allImports ? 'imports:' : 'imports not on the allowlist:')}`);
      for (const i of shown) lines.push(renderImport(c, i));
    }
  }
  return lines;
}

/** Human-readable report: grouped by file, findings with evidence and a fix, then a summary. */
export const textWriter: ReportWriter = {
  format: 'text',
  mediaType: 'text/plain; charset=utf-8',
  render(run: RunReport, opts: RenderOptions): string {
    const c = createColors(opts.color ?? false);
    const docs = new Map((opts.rules ?? []).map((r) => [r.id, r] as const));
    const out: string[] = [];
    for (const f of run.files) {
      if (opts.quiet && f.verdict === 'clean' && !f.fails) continue;
      out.push(...renderFile(c, f, opts, docs));
      if (f.findings.length > 0 || f.problems.length > 0) out.push('');
    }
    const s = summarise(run);
    const counts = [
      c.green(`${s.verdicts.clean} clean`),
      c.yellow(`${s.verdicts.suspicious} suspicious`),
      c.red(`${s.verdicts.dangerous} dangerous`),
      c.magenta(`${s.verdicts.unscannable} unscannable`),
    ].join(', ');
    if (out.length > 0 && out[out.length - 1] !== '') out.push('');
    out.push(
      `${c.bold('Scanned')} ${s.files} file${s.files === 1 ? '' : 's'} in ${formatDuration(run.durationMs)}: ${counts}`,
    );
    if (!opts.quiet) {
      const ratio =
        s.bytes > 0
          ? ` (${((100 * s.bytesRead) / s.bytes).toFixed(s.bytesRead < s.bytes / 10 ? 2 : 0)}%)`
          : '';
      out.push(
        `Read ${formatBytes(s.bytesRead)} of ${formatBytes(s.bytes)}${ratio}; ${s.findings} finding(s).`,
      );
      out.push(
        `Policy ${terminalSafe(run.policy)}, rules ${run.tool.rulesetVersion}, brine ${run.tool.version}${
          run.tool.engineVersion ? `, engine ${run.tool.engineVersion}` : ''
        }.`,
      );
    }
    const skipped = run.skipped ?? [];
    if (skipped.length > 0) {
      const n = skipped.length;
      out.push(
        c.dim(`Skipped ${n} file${n === 1 ? '' : 's'} found in folders or patterns: not a model format.`),
      );
      if (opts.allImports && !opts.quiet) {
        for (const k of skipped)
          out.push(c.dim(`  skipped ${terminalSafe(k.file)}: ${terminalSafe(k.reason)}`));
      }
    }
    if (run.interrupted)
      out.push(
        c.magenta('Interrupted: the scan was stopped before every input was read; results are partial.'),
      );
    const u = s.verdicts.unscannable;
    if (s.failing > 0)
      out.push(
        c.red(`${s.failing} file${s.failing === 1 ? '' : 's'} fail${s.failing === 1 ? 's' : ''} the policy.`),
      );
    if (u > 0)
      out.push(
        c.magenta(
          `${u} file${u === 1 ? '' : 's'} could not be fully scanned: do not treat ${u === 1 ? 'it' : 'them'} as safe.`,
        ),
      );
    if (s.files === 0) out.push(c.magenta('Nothing was scanned.'));
    else if (s.failing === 0 && u === 0 && !run.interrupted) out.push(c.green('No file fails the policy.'));
    return `${out.join('\n')}\n`;
  },
};
