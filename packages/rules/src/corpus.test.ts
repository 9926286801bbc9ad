import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BrineError, openFileSource, scan } from '@brine/core';
import { describe, expect, it } from 'vitest';
import {
  type CorpusEntry,
  type CorpusOutcome,
  formatCorpusTable,
  formatHeadlineFigures,
  headlineFigures,
  judgeCorpusEntry,
  parseManifest,
  tallyCorpus,
} from './corpus.js';
import { evaluate } from './evaluate.js';
import { policyNamed } from './policy.js';
import type { FileReport } from './types.js';

const FIXTURES = fileURLToPath(new URL('../../../fixtures/', import.meta.url));

function report(verdict: FileReport['verdict'], fails: boolean): FileReport {
  return {
    file: 'x',
    size: 1,
    format: 'pickle',
    verdict,
    reasons: [`because ${verdict}`],
    findings: [],
    imports: [],
    problems: [],
    stats: { bytesRead: 1, durationMs: 0, pickles: 1, opcodes: 1 },
    fails,
  };
}

const entry = (expect: CorpusEntry['expect'], extra: Partial<CorpusEntry> = {}): CorpusEntry => ({
  file: 'f.pkl',
  expect,
  category: 'cat',
  technique: 't',
  refs: [],
  ...extra,
});

describe('corpus scoring', () => {
  it('validates manifests and names the bad row', () => {
    expect(
      parseManifest(
        [{ file: 'a.pkl', expect: 'dangerous', category: 'c', technique: 't', refs: ['x'] }],
        'm.json',
      ),
    ).toHaveLength(1);
    expect(() => parseManifest({}, 'm.json')).toThrow(BrineError);
    expect(() => parseManifest([{ file: 'a', expect: 'evil' }], 'm.json')).toThrow(
      /m\.json: entry 0: "expect"/,
    );
    expect(() => parseManifest([{ file: 'a', expect: 'clean', kind: 'nice' }], 'm.json')).toThrow(/kind/);
  });

  it('judges malicious and benign fixtures', () => {
    expect(judgeCorpusEntry('s', entry('dangerous'), report('dangerous', true)).result).toBe('caught');
    expect(judgeCorpusEntry('s', entry('dangerous'), report('unscannable', true)).result).toBe('unscannable');
    expect(judgeCorpusEntry('s', entry('dangerous'), report('suspicious', false))).toMatchObject({
      result: 'suspicious',
      ok: false,
    });
    expect(judgeCorpusEntry('s', entry('suspicious'), report('suspicious', false))).toMatchObject({
      result: 'suspicious',
      ok: true,
    });
    expect(judgeCorpusEntry('s', entry('suspicious'), report('clean', false)).ok).toBe(false);
    expect(judgeCorpusEntry('s', entry('dangerous'), report('clean', false)).result).toBe('missed');
    expect(judgeCorpusEntry('s', entry('dangerous'), new Error('boom')).result).toBe('missed');
    expect(judgeCorpusEntry('s', entry('clean'), report('clean', false)).result).toBe('passed');
    expect(judgeCorpusEntry('s', entry('clean'), report('dangerous', true)).result).toBe('false-alarm');
    const userClass = judgeCorpusEntry(
      's',
      entry('suspicious', { kind: 'benign' }),
      report('suspicious', false),
    );
    expect(userClass).toMatchObject({ result: 'passed', asExpected: true, malicious: false });
  });

  it('tallies by category and lists failures', () => {
    const t = tallyCorpus([
      judgeCorpusEntry('s', entry('dangerous'), report('dangerous', true)),
      judgeCorpusEntry('s', entry('dangerous', { file: 'm.pkl' }), report('clean', false)),
      judgeCorpusEntry('s', entry('clean', { category: 'b' }), report('clean', false)),
    ]);
    expect(t.total).toMatchObject({ caught: 1, missed: 1, passed: 1 });
    expect(t.rows.map((r) => r.category)).toEqual(['s/b', 's/cat']);
    expect(t.failures.map((o) => o.entry.file)).toEqual(['m.pkl']);
    expect(formatCorpusTable(t)).toMatch(/FAILURES[\s\S]*s\/m\.pkl: missed/);
  });

  it('counts the headline figures from the techniques and realworld sets only', () => {
    const h = headlineFigures([
      judgeCorpusEntry('techniques', entry('dangerous'), report('dangerous', true)),
      judgeCorpusEntry('techniques', entry('dangerous'), report('suspicious', false)),
      judgeCorpusEntry('techniques', entry('clean', { kind: 'benign' }), report('clean', false)),
      judgeCorpusEntry('realworld', entry('clean', { kind: 'benign' }), report('dangerous', true)),
      judgeCorpusEntry('realworld', entry('clean', { kind: 'benign' }), report('clean', false)),
      judgeCorpusEntry('pickles', entry('clean'), report('dangerous', true)),
    ]);
    expect(h).toEqual({ techniques: { total: 2, failing: 1 }, realWorld: { total: 2, falseAlarms: 1 } });
    expect(formatHeadlineFigures(h)).toMatch(/1 of 2 attacks[\s\S]*1 false alarm\(s\) on 2 files/);
  });
});

/** Every `fixtures/<set>/manifest.json`, scanned by the real engine and judged by the rules. */
async function runCorpus(): Promise<CorpusOutcome[]> {
  const outcomes: CorpusOutcome[] = [];
  for (const set of readdirSync(FIXTURES).sort()) {
    let manifest: string;
    try {
      manifest = readFileSync(join(FIXTURES, set, 'manifest.json'), 'utf8');
    } catch {
      continue;
    }
    for (const e of parseManifest(JSON.parse(manifest), `fixtures/${set}/manifest.json`)) {
      let result: FileReport | Error;
      try {
        const source = await openFileSource(join(FIXTURES, set, e.file));
        try {
          result = evaluate(await scan(source), policyNamed(e.policy ?? 'default'), {
            displayPath: `fixtures/${set}/${e.file}`,
          });
        } finally {
          await source.close();
        }
      } catch (err) {
        result = err instanceof Error ? err : new Error(String(err));
      }
      outcomes.push(judgeCorpusEntry(set, e, result));
    }
  }
  return outcomes;
}

describe('fixture corpus through the real engine', () => {
  it('catches every malicious fixture and passes every benign one under its policy', async () => {
    const outcomes = await runCorpus();
    const t = tallyCorpus(outcomes);
    expect(outcomes.filter((o) => o.set === 'techniques').length).toBeGreaterThan(150);
    expect(t.failures.map((o) => `${o.set}/${o.entry.file}: ${o.result} (${o.verdict}) ${o.note}`)).toEqual(
      [],
    );
    // The technique corpus states the exact verdict brine must give.
    const techniques = outcomes.filter((o) => o.set === 'techniques' && !o.asExpected);
    expect(
      techniques.map((o) => `${o.entry.file}: expected ${o.entry.expect}, got ${o.verdict} ${o.note}`),
    ).toEqual([]);
    // The two headline figures `npm run eval` prints: every attack fails, no ordinary file does.
    const h = headlineFigures(outcomes);
    expect(h.techniques.total).toBeGreaterThan(170);
    expect(h.techniques.failing).toBe(h.techniques.total);
    expect(h.realWorld.total).toBeGreaterThan(1300);
    expect(h.realWorld.falseAlarms).toBe(0);
    expect(formatHeadlineFigures(h)).toMatch(/0 false alarm\(s\) on \d+ files/);
  });
});

describe('built-in policies on real files', () => {
  async function judge(rel: string, policy: 'default' | 'strict' | 'weights-only'): Promise<FileReport> {
    const source = await openFileSource(join(FIXTURES, rel));
    try {
      return evaluate(await scan(source), policyNamed(policy));
    } finally {
      await source.close();
    }
  }

  it('weights-only accepts a torch.save state_dict and refuses a whole-module save', async () => {
    expect((await judge('containers/torch-state-dict.pt', 'weights-only')).fails).toBe(false);
    const whole = await judge('containers/torch-whole-module.pt', 'weights-only');
    expect(whole.fails).toBe(true);
    expect(whole.findings.some((f) => f.ruleId === 'BRINE-IMP-004' && f.fails)).toBe(true);
    expect((await judge('containers/torch-whole-module.pt', 'default')).fails).toBe(false);
  });

  it('strict passes every benign technique fixture except a user class', async () => {
    const manifest = parseManifest(
      JSON.parse(readFileSync(join(FIXTURES, 'techniques/manifest.json'), 'utf8')),
      'techniques',
    );
    const failing: string[] = [];
    for (const e of manifest.filter((x) => x.kind === 'benign')) {
      if ((await judge(`techniques/${e.file}`, 'strict')).fails) failing.push(e.file);
    }
    expect(failing).toEqual(['benign/user-class-whole-object.pkl']);
  });
});
