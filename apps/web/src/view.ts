import { formatBytes, PATH_SEPARATOR } from '@brine/report';
import type { ClassifiedImport, FileReport, Finding, ImportTier, RuleDoc, Verdict } from '@brine/rules';
import { type Child, h } from './dom.js';

/** How the page finds the documentation of a rule (`getRule` from `@brine/rules`). */
export type RuleLookup = (id: string) => RuleDoc | undefined;

/** Verdicts in plain words: a headline and one sentence of what it means for the person. */
export const VERDICT_WORDS: Record<Verdict, { headline: string; meaning: string }> = {
  clean: {
    headline: 'No code runs when this file is loaded',
    meaning:
      'brine found only data in this file: loading it does not import or call anything that runs code.',
  },
  suspicious: {
    headline: 'Suspicious: check before loading',
    meaning:
      'Loading this file imports classes or functions brine does not recognise. They may be your own model code; load it only if you trust where it came from.',
  },
  dangerous: {
    headline: 'Dangerous: do not load this file',
    meaning: 'Loading this file (torch.load, pickle.load, joblib.load…) would run code on your machine.',
  },
  unscannable: {
    headline: 'Could not be fully checked',
    meaning:
      'brine could not read all of this file, so it cannot say loading it is safe. Treat it as unsafe until it can be checked.',
  },
};

const TIER_WORDS: Record<ImportTier, { title: string; meaning: string }> = {
  dangerous: {
    title: 'Dangerous imports',
    meaning: 'These run commands, evaluate code or reach the system.',
  },
  unknown: {
    title: 'Unknown imports',
    meaning: 'brine does not know what these do; a loader would import them.',
  },
  known: {
    title: 'Known framework classes',
    meaning: 'Ordinary classes of torch, scikit-learn and the like.',
  },
  safe: { title: 'Safe imports', meaning: 'Data-only types, as torch.load(weights_only=True) accepts.' },
};

const TIER_ORDER: ImportTier[] = ['dangerous', 'unknown', 'known', 'safe'];

/**
 * Where something is: the path inside nested containers and the byte offset in the innermost
 * stream, plus the offset in the file itself when the stream is stored there as-is (a hex editor
 * or `dd` can then go straight to it).
 */
function where(path: readonly string[], offset: number | undefined, fileOffset?: number): Child[] {
  const parts: Child[] = [h('span', { class: 'path' }, path.join(PATH_SEPARATOR) || '(whole file)')];
  if (offset !== undefined) parts.push(', byte offset ', h('span', { class: 'offset' }, String(offset)));
  if (fileOffset !== undefined && path.length > 1) {
    parts.push(' (byte ', h('span', { class: 'file-offset' }, String(fileOffset)), ' of the file)');
  }
  return parts;
}

function field(term: string, ...value: Child[]): Child[] {
  return [h('dt', null, term), h('dd', null, ...value)];
}

function renderFinding(finding: Finding, lookup: RuleLookup): HTMLElement {
  const rule = lookup(finding.ruleId);
  const title = rule?.title ?? finding.ruleId;
  const refs = rule?.references ?? [];
  return h(
    'li',
    { class: 'finding', 'data-severity': finding.severity, 'data-rule': finding.ruleId },
    h(
      'h4',
      null,
      h('span', { class: `severity-badge severity-${finding.severity}` }, finding.severity),
      ' ',
      title,
      ' ',
      h('span', { class: 'rule-id' }, `(${finding.ruleId})`),
    ),
    h('p', { class: 'finding-message' }, finding.message),
    h(
      'dl',
      { class: 'facts' },
      field('Where', ...where(finding.path, finding.offset, finding.fileOffset)),
      finding.symbol ? field('Import', h('code', null, finding.symbol)) : null,
      finding.call ? field('Call', h('code', null, finding.call)) : null,
      finding.opcode ? field('Opcode', h('code', null, finding.opcode)) : null,
      field('Fails the policy', finding.fails ? 'yes' : 'no'),
      finding.waived ? field('Waived', finding.waived.reason) : null,
    ),
    rule
      ? h(
          'div',
          { class: 'rule-doc' },
          h('h5', null, 'How the attack works'),
          h('p', { class: 'explanation' }, rule.explanation),
          h('h5', null, 'What to do'),
          h('p', { class: 'remediation' }, rule.remediation),
          refs.length > 0
            ? h(
                'p',
                { class: 'references' },
                'References: ',
                refs.map((r, i) => [
                  i > 0 ? ', ' : null,
                  /^https:\/\//.test(r)
                    ? h('a', { href: r, rel: 'noreferrer noopener', target: '_blank' }, r)
                    : r,
                ]),
              )
            : null,
        )
      : null,
  );
}

interface ImportRow {
  symbol: string;
  path: string;
  offsets: number[];
  opcode: string;
  called: boolean;
  family?: string;
}

/** Identical imports (same symbol, same stream) collapse into one row with every offset counted. */
function groupImports(imports: ClassifiedImport[]): Map<ImportTier, ImportRow[]> {
  const byTier = new Map<ImportTier, Map<string, ImportRow>>();
  for (const imp of imports) {
    const symbol = `${imp.module}.${imp.name}`;
    const path = imp.path.join(PATH_SEPARATOR);
    const key = `${symbol}\u0000${path}`;
    let rows = byTier.get(imp.tier);
    if (!rows) {
      rows = new Map();
      byTier.set(imp.tier, rows);
    }
    const row = rows.get(key);
    if (row) {
      row.offsets.push(imp.offset);
      row.called ||= imp.called;
    } else {
      rows.set(key, {
        symbol,
        path,
        offsets: [imp.offset],
        opcode: imp.opcode,
        called: imp.called,
        ...(imp.family ? { family: imp.family } : {}),
      });
    }
  }
  return new Map([...byTier].map(([tier, rows]) => [tier, [...rows.values()]]));
}

/** Rows shown per tier; the downloaded JSON report always has them all. */
const MAX_ROWS = 200;

function renderImports(report: FileReport): HTMLElement {
  const grouped = groupImports(report.imports);
  const total = report.imports.length;
  return h(
    'section',
    { class: 'imports' },
    h('h4', null, `Every import (${total})`),
    total === 0
      ? h(
          'p',
          null,
          report.verdict === 'unscannable' || report.problems.length > 0
            ? 'No imports were found in the parts brine could read.'
            : 'This file imports nothing: loading it cannot call any function.',
        )
      : null,
    TIER_ORDER.map((tier) => {
      const rows = grouped.get(tier);
      if (!rows || rows.length === 0) return null;
      const count = rows.reduce((n, r) => n + r.offsets.length, 0);
      const shown = rows.slice(0, MAX_ROWS);
      return h(
        'details',
        { class: `tier tier-${tier}`, open: tier === 'dangerous' || tier === 'unknown', 'data-tier': tier },
        h('summary', null, `${TIER_WORDS[tier].title} (${count})`),
        h('p', { class: 'hint' }, TIER_WORDS[tier].meaning),
        h(
          'div',
          { class: 'table-scroll', tabindex: 0, role: 'region', 'aria-label': `${TIER_WORDS[tier].title}` },
          h(
            'table',
            null,
            h(
              'thead',
              null,
              h(
                'tr',
                null,
                h('th', { scope: 'col' }, 'Import'),
                h('th', { scope: 'col' }, 'Where'),
                h('th', { scope: 'col' }, 'Byte offset'),
                h('th', { scope: 'col' }, 'Called'),
              ),
            ),
            h(
              'tbody',
              null,
              shown.map((r) =>
                h(
                  'tr',
                  null,
                  h(
                    'td',
                    { 'data-label': 'Import' },
                    h('code', null, r.symbol),
                    r.family ? h('span', { class: 'family' }, ` ${r.family}`) : null,
                  ),
                  h('td', { class: 'path', 'data-label': 'Where' }, r.path),
                  h(
                    'td',
                    { class: 'offset', 'data-label': 'Byte offset' },
                    r.offsets.slice(0, 5).join(', ') +
                      (r.offsets.length > 5 ? ` (+${r.offsets.length - 5})` : ''),
                  ),
                  h('td', { 'data-label': 'Called' }, r.called ? 'yes' : 'no'),
                ),
              ),
            ),
          ),
        ),
        rows.length > MAX_ROWS
          ? h(
              'p',
              { class: 'hint' },
              `${rows.length - MAX_ROWS} more rows are in the downloaded JSON report.`,
            )
          : null,
      );
    }),
  );
}

/** The result card of one scanned file. */
export function renderReport(
  report: FileReport,
  lookup: RuleLookup,
  headingId: string,
  policy?: string,
): HTMLElement {
  const words = VERDICT_WORDS[report.verdict];
  const readShare = report.size > 0 ? (report.stats.bytesRead / report.size) * 100 : 100;
  return h(
    'article',
    {
      class: `report verdict-${report.verdict}`,
      'data-verdict': report.verdict,
      'data-bytes-read': report.stats.bytesRead,
      'aria-labelledby': headingId,
    },
    h('h3', { id: headingId, class: 'file-name' }, report.file),
    h(
      'div',
      { class: 'verdict' },
      h('p', { class: 'verdict-headline' }, words.headline),
      h('p', null, words.meaning),
      report.reasons.length > 0
        ? h(
            'ul',
            { class: 'reasons' },
            report.reasons.map((r) => h('li', null, r)),
          )
        : null,
    ),
    h(
      'p',
      { class: 'stats' },
      `Format: ${report.format} · ${formatBytes(report.size)} · read ${formatBytes(report.stats.bytesRead)}`,
      readShare < 99.5 ? ` (${readShare < 0.1 ? '<0.1' : readShare.toFixed(1)}%)` : '',
      ` · ${report.stats.pickles} pickle${report.stats.pickles === 1 ? '' : 's'}`,
      ` · ${Math.round(report.stats.durationMs)} ms`,
      policy ? ` · ${policy} policy` : '',
    ),
    report.problems.length > 0
      ? h(
          'section',
          { class: 'problems' },
          h('h4', null, `Parts that could not be read (${report.problems.length})`),
          h(
            'ul',
            null,
            report.problems.map((p) =>
              h('li', null, h('code', null, p.code), ': ', p.message, ' (', ...where(p.path, p.offset), ')'),
            ),
          ),
        )
      : null,
    report.findings.length > 0
      ? h(
          'section',
          { class: 'findings' },
          h('h4', null, `Findings (${report.findings.length})`),
          h(
            'ol',
            { class: 'finding-list' },
            report.findings.map((f) => renderFinding(f, lookup)),
          ),
        )
      : null,
    renderImports(report),
  );
}

/** The placeholder card shown while a file waits or is being read. */
export function renderPending(name: string, size: number, headingId: string): HTMLElement {
  return h(
    'article',
    { class: 'report pending', 'aria-labelledby': headingId, 'aria-busy': 'true' },
    h('h3', { id: headingId, class: 'file-name' }, name),
    h(
      'p',
      { class: 'progress-line' },
      h('progress', { 'aria-label': `Scanning ${name}` }),
      ' ',
      h('span', { class: 'progress-text' }, `Waiting… (${formatBytes(size)})`),
    ),
  );
}
