import { BrineError } from '@brine/core';
import type { FileReport, Verdict } from './types.js';

/**
 * Scoring of the fixture corpus (`fixtures/<set>/manifest.json`), shared by `npm run eval` and the
 * corpus test so the scoreboard and the test can never disagree. Pure: the caller scans the files.
 */

/** Verdicts a manifest may expect. */
export const CORPUS_VERDICTS: readonly Verdict[] = ['clean', 'suspicious', 'dangerous', 'unscannable'];

/** One manifest row. Anything expected other than `clean` is malicious (or must at least fail). */
export interface CorpusEntry {
  /** Path relative to the manifest's folder. */
  file: string;
  expect: Verdict;
  category: string;
  technique: string;
  refs: string[];
  /** Defaults to `malicious` unless `expect` is `clean`; a benign fixture may expect `suspicious` (a user's class). */
  kind?: 'malicious' | 'benign';
  /** Built-in policy to judge this fixture under (default `default`). */
  policy?: 'default' | 'strict' | 'weights-only';
}

/** Is this row a malicious fixture (must fail its policy) rather than a benign one (must pass)? */
export function isMaliciousEntry(e: CorpusEntry): boolean {
  return e.kind ? e.kind === 'malicious' : e.expect !== 'clean';
}

/** Validates a manifest's parsed JSON. Throws a {@link BrineError} naming the manifest and the row. */
export function parseManifest(json: unknown, source: string): CorpusEntry[] {
  if (!Array.isArray(json))
    throw new BrineError('manifest-invalid', 'expected a JSON array of entries', source);
  return json.map((row, i) => {
    const bad = (what: string) => new BrineError('manifest-invalid', `entry ${i}: ${what}`, source);
    if (typeof row !== 'object' || row === null) throw bad('expected an object');
    const r = row as Record<string, unknown>;
    if (typeof r.file !== 'string' || r.file === '') throw bad('"file" must be a non-empty string');
    if (typeof r.expect !== 'string' || !(CORPUS_VERDICTS as readonly string[]).includes(r.expect)) {
      throw bad(`"expect" must be one of ${CORPUS_VERDICTS.join(', ')}`);
    }
    const refs = r.refs === undefined ? [] : r.refs;
    if (!Array.isArray(refs) || refs.some((x) => typeof x !== 'string'))
      throw bad('"refs" must be an array of strings');
    if (r.kind !== undefined && r.kind !== 'malicious' && r.kind !== 'benign') {
      throw bad('"kind" must be "malicious" or "benign"');
    }
    if (
      r.policy !== undefined &&
      r.policy !== 'default' &&
      r.policy !== 'strict' &&
      r.policy !== 'weights-only'
    ) {
      throw bad('"policy" must be "default", "strict" or "weights-only"');
    }
    const entry: CorpusEntry = {
      file: r.file,
      expect: r.expect as Verdict,
      category: typeof r.category === 'string' ? r.category : 'uncategorised',
      technique: typeof r.technique === 'string' ? r.technique : r.file,
      refs: refs as string[],
    };
    if (r.kind) entry.kind = r.kind;
    if (r.policy) entry.policy = r.policy;
    return entry;
  });
}

/** How one fixture fared. */
export interface CorpusOutcome {
  entry: CorpusEntry;
  /** Which manifest it came from (e.g. `techniques`). */
  set: string;
  malicious: boolean;
  /** `caught` = dangerous; `unscannable` still fails; `suspicious`/`missed` did not fail a malicious file. */
  result: 'caught' | 'unscannable' | 'suspicious' | 'missed' | 'passed' | 'false-alarm';
  verdict: Verdict | 'error';
  fails: boolean;
  /** Did the verdict equal the manifest's `expect`? */
  asExpected: boolean;
  /**
   * Good enough for the corpus test: a benign fixture does not fail its policy; a malicious one
   * fails it, or, when the manifest only expects `suspicious`, is reported at least suspicious.
   */
  ok: boolean;
  /** Top reason from the report, or the error message. */
  note: string;
}

/** Judges one report (or the error scanning it raised) against its manifest row. */
export function judgeCorpusEntry(set: string, entry: CorpusEntry, report: FileReport | Error): CorpusOutcome {
  const malicious = isMaliciousEntry(entry);
  if (report instanceof Error) {
    return {
      entry,
      set,
      malicious,
      result: malicious ? 'missed' : 'false-alarm',
      verdict: 'error',
      fails: false,
      asExpected: false,
      ok: false,
      note: `scan threw: ${report.message}`,
    };
  }
  let result: CorpusOutcome['result'];
  if (malicious) {
    if (report.verdict === 'dangerous') result = 'caught';
    else if (report.verdict === 'unscannable') result = 'unscannable';
    else if (report.fails) result = 'caught';
    else result = report.verdict === 'suspicious' ? 'suspicious' : 'missed';
  } else result = report.fails ? 'false-alarm' : 'passed';
  return {
    entry,
    set,
    malicious,
    result,
    verdict: report.verdict,
    fails: report.fails,
    asExpected: report.verdict === entry.expect,
    ok: malicious
      ? report.fails || (entry.expect === 'suspicious' && report.verdict !== 'clean')
      : !report.fails,
    note: report.reasons[0] ?? '',
  };
}

/** Counts per category, plus the rows a test must fail on. */
export interface CorpusTally {
  rows: Array<{ category: string; counts: Record<CorpusOutcome['result'], number> }>;
  total: Record<CorpusOutcome['result'], number>;
  /** Outcomes that are not {@link CorpusOutcome.ok}: missed malicious fixtures, benign ones that fail. */
  failures: CorpusOutcome[];
  /** Outcomes whose verdict differs from `expect` (informational when the pass/fail is right). */
  unexpected: CorpusOutcome[];
}

const zero = (): Record<CorpusOutcome['result'], number> => ({
  caught: 0,
  unscannable: 0,
  suspicious: 0,
  missed: 0,
  passed: 0,
  'false-alarm': 0,
});

/** Groups outcomes by `set/category`. */
export function tallyCorpus(outcomes: readonly CorpusOutcome[]): CorpusTally {
  const byCat = new Map<string, Record<CorpusOutcome['result'], number>>();
  const total = zero();
  for (const o of outcomes) {
    const key = `${o.set}/${o.entry.category}`;
    const c = byCat.get(key) ?? zero();
    byCat.set(key, c);
    c[o.result]++;
    total[o.result]++;
  }
  return {
    rows: [...byCat.entries()]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([category, counts]) => ({ category, counts })),
    total,
    failures: outcomes.filter((o) => !o.ok),
    unexpected: outcomes.filter((o) => !o.asExpected),
  };
}

/** Renders the confusion table printed by `npm run eval`. */
export function formatCorpusTable(t: CorpusTally): string {
  const cols = ['caught', 'unscannable', 'suspicious', 'missed', 'benign ok', 'false alarm'];
  const width = 12;
  const line = (name: string, cells: Array<string | number>) =>
    name.padEnd(36) + cells.map((c, i) => (i === 4 ? ' |' : '') + String(c).padStart(width)).join('');
  const rule = '-'.repeat(36 + cols.length * width + 2);
  const row = (name: string, c: Record<CorpusOutcome['result'], number>) =>
    line(name, [c.caught, c.unscannable, c.suspicious, c.missed, c.passed, c['false-alarm']]);
  const out = [line('category', cols), rule];
  for (const r of t.rows) out.push(row(r.category, r.counts));
  out.push(rule, row('total', t.total));
  out.push(
    '',
    'malicious: caught = dangerous; unscannable also fails; suspicious/missed do not fail the policy.',
  );
  if (t.failures.length) {
    out.push('', 'FAILURES (malicious not caught, or benign failing its policy):');
    for (const o of t.failures) out.push(`  ${o.set}/${o.entry.file}: ${o.result} (${o.verdict}) ${o.note}`);
  }
  if (t.unexpected.length) {
    out.push('', 'verdict differs from manifest "expect" (pass/fail is right):');
    for (const o of t.unexpected) {
      if (o.ok) out.push(`  ${o.set}/${o.entry.file}: expected ${o.entry.expect}, got ${o.verdict}`);
    }
  }
  return out.join('\n');
}

/** The two figures the project is judged by: attacks caught and ordinary files passed. */
export interface HeadlineFigures {
  /** Malicious rows of the `techniques` set, and how many of them fail their policy. */
  techniques: { total: number; failing: number };
  /** Rows of the `realworld` set (files the real libraries wrote), and how many fail their policy. */
  realWorld: { total: number; falseAlarms: number };
}

/** Counts the headline figures from corpus outcomes (sets `techniques` and `realworld`). */
export function headlineFigures(outcomes: readonly CorpusOutcome[]): HeadlineFigures {
  const attacks = outcomes.filter((o) => o.set === 'techniques' && o.malicious);
  const ordinary = outcomes.filter((o) => o.set === 'realworld');
  return {
    techniques: { total: attacks.length, failing: attacks.filter((o) => o.fails).length },
    realWorld: {
      total: ordinary.length,
      falseAlarms: ordinary.filter((o) => o.result === 'false-alarm').length,
    },
  };
}

/** Two lines for `npm run eval`. */
export function formatHeadlineFigures(h: HeadlineFigures): string {
  return [
    `technique fixtures: ${h.techniques.failing} of ${h.techniques.total} attacks fail the policy (every one must)`,
    `real-world corpus:  ${h.realWorld.falseAlarms} false alarm(s) on ${h.realWorld.total} files the libraries wrote (must be 0)`,
  ].join('\n');
}
