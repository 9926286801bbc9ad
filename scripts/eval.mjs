#!/usr/bin/env node
// The scoreboard: scans every fixtures/<set>/manifest.json with the built engine and rules and prints
// a confusion table by category. `npm run eval` builds first; the judging logic is the same module the
// corpus test uses (@brine/rules corpus.ts), so the table and the test cannot disagree.
// Exit code 1 when a malicious fixture is missed or a benign one fails its policy.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openFileSource, scan } from '@brine/core';
import {
  evaluate,
  formatCorpusTable,
  formatHeadlineFigures,
  headlineFigures,
  judgeCorpusEntry,
  parseManifest,
  policyNamed,
  RULESET_VERSION,
  tallyCorpus,
} from '@brine/rules';

// Usage: node scripts/eval.mjs [-v] [set ...] [--benign-dir DIR]
// --benign-dir scores every file of DIR as benign (any folder of ordinary artefacts you trust).
// The committed real-world corpus is the `realworld` set (fixtures/generators/realworld.py).
const fixtures = fileURLToPath(new URL('../fixtures/', import.meta.url));
const args = process.argv.slice(2);
const verbose = args.includes('-v');
const benignAt = args.indexOf('--benign-dir');
const benignDir = benignAt >= 0 ? args[benignAt + 1] : undefined;
const only = args.filter((a, i) => a !== '-v' && (benignAt < 0 || (i !== benignAt && i !== benignAt + 1)));
const sets = benignDir
  ? []
  : readdirSync(fixtures)
      .filter((s) => !only.length || only.includes(s))
      .sort();

const outcomes = [];
const started = performance.now();
if (benignDir) {
  for (const file of readdirSync(benignDir).sort()) {
    const entry = { file, expect: 'clean', category: 'real-world', technique: file, refs: [] };
    let result;
    try {
      const source = await openFileSource(join(benignDir, file));
      try {
        result = evaluate(await scan(source), policyNamed('default'), { displayPath: file });
      } finally {
        await source.close();
      }
    } catch (err) {
      result = err instanceof Error ? err : new Error(String(err));
    }
    const o = judgeCorpusEntry(benignDir, entry, result);
    outcomes.push(o);
    if (verbose || !o.ok) console.log(`${o.ok ? 'ok  ' : 'FAIL'} ${file}: ${o.verdict} — ${o.note}`);
  }
}
for (const set of sets) {
  let text;
  try {
    text = readFileSync(join(fixtures, set, 'manifest.json'), 'utf8');
  } catch {
    continue;
  }
  for (const entry of parseManifest(JSON.parse(text), `fixtures/${set}/manifest.json`)) {
    let result;
    try {
      const source = await openFileSource(join(fixtures, set, entry.file));
      try {
        result = evaluate(await scan(source), policyNamed(entry.policy ?? 'default'), {
          displayPath: `fixtures/${set}/${entry.file}`,
        });
      } finally {
        await source.close();
      }
    } catch (err) {
      result = err instanceof Error ? err : new Error(String(err));
    }
    const o = judgeCorpusEntry(set, entry, result);
    outcomes.push(o);
    if (verbose) console.log(`${o.ok ? 'ok  ' : 'FAIL'} ${set}/${entry.file}: ${o.verdict} — ${o.note}`);
  }
}
const tally = tallyCorpus(outcomes);
console.log(
  `brine fixture corpus (rules ${RULESET_VERSION}), ${outcomes.length} files in ${Math.round(performance.now() - started)} ms\n`,
);
console.log(formatCorpusTable(tally));
console.log(`\n${formatHeadlineFigures(headlineFigures(outcomes))}`);
process.exitCode = tally.failures.length ? 1 : 0;
