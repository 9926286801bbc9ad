#!/usr/bin/env node
// `npm run hub:sim -- [--hf-endpoint URL --repos FILE] [--out FILE] [--generate N] [--seed N]
//   [--consumers N] [--timeout-ms N]`
// Runs the hub consumer (the code the Worker's queue() runs) in Node against a Hub-compatible
// endpoint, with the worker's D1 migrations on an in-memory SQLite (sql.js). Without
// --hf-endpoint it starts the local Hub stand-in on 127.0.0.1 with N generated repositories
// (default 2000) and checks that every planted malicious file is reported.
// Output: one JSON line per repository, then a summary line (stdout, or --out FILE).
import { createWriteStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { runSimulation } from '../dist/hub/simulation.js';
import { openSqlJsDatabase } from '../dist/hub/sqljs-database.js';
import { createStandinHandler, generateHub } from '../dist/hub/standin.js';
import { serveLoopback } from '../dist/hub/standin-server.js';

const { values } = parseArgs({
  options: {
    'hf-endpoint': { type: 'string' },
    repos: { type: 'string' },
    out: { type: 'string' },
    generate: { type: 'string', default: '2000' },
    seed: { type: 'string', default: '1' },
    consumers: { type: 'string', default: '8' },
    'timeout-ms': { type: 'string', default: '10000' },
  },
});

const fail = (message) => {
  process.stderr.write(`hub:sim: ${message}\n`);
  process.exit(2);
};

let endpoint = values['hf-endpoint'];
let repos;
let planted = [];
let server;
if (endpoint) {
  if (!values.repos) fail('--hf-endpoint needs --repos FILE (owner/name[@revision], one a line)');
  const text = await readFile(values.repos, 'utf8').catch((e) =>
    fail(`cannot read ${values.repos}: ${e.message}`),
  );
  repos = text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'))
    .map((l) => {
      const at = l.indexOf('@');
      return at === -1 ? { repo: l, revision: 'main' } : { repo: l.slice(0, at), revision: l.slice(at + 1) };
    });
} else {
  const n = Number(values.generate);
  if (!Number.isInteger(n) || n <= 0) fail('--generate takes a positive number of repositories');
  const hub = await generateHub({
    repos: n,
    seed: Number(values.seed),
    sharedBases: Math.max(4, Math.round(n / 50)),
    maliciousEvery: 25,
    slowEvery: 17,
    slowDelayMs: 20,
    flakyEvery: 13,
    brokenEvery: 97,
  });
  const standin = createStandinHandler(hub, { hangMs: Number(values['timeout-ms']) * 2 });
  server = await serveLoopback(standin.handle);
  endpoint = server.url;
  repos = hub.repos.map((r) => ({ repo: r.repo, revision: 'main' }));
  planted = hub.planted;
  process.stderr.write(
    `hub stand-in on ${endpoint}: ${n} repositories, ${(hub.hostedBytes / 1e12).toFixed(2)} TB hosted, ${planted.length} malicious files planted\n`,
  );
}

const out = values.out ? createWriteStream(values.out) : process.stdout;
const db = await openSqlJsDatabase();
const summary = await runSimulation({
  db,
  hfEndpoint: endpoint,
  repos,
  planted,
  consumers: Number(values.consumers),
  limits: { fileTimeoutMs: Number(values['timeout-ms']) },
  write: (line) => out.write(`${line}\n`),
});
if (out !== process.stdout) await new Promise((r) => out.end(r));
await server?.close();
db.close();

const s = summary;
process.stderr.write(
  `${[
    `${s.repos} repositories, ${s.files} files in ${s.seconds} s: ${s.reposPerSecond} repos/s, ${s.filesPerSecond} files/s`,
    `distinct contents scanned: ${s.scans}; dedup ratio ${s.dedupRatio} files per scan; re-judged ${s.rejudged}`,
    `bytes fetched: ${s.bytesFetched} for ${(s.hostedBytes / 1e9).toFixed(1)} GB hosted = ${s.bytesFetchedPerGBHosted} bytes per GB`,
    `subrequests: ${s.subrequests}; retries: ${s.retries}; dead letters: ${s.deadLetters}; unscannable files: ${s.unscannableFiles}; failed repos: ${s.failedRepos}`,
    `verdicts by repository: ${JSON.stringify(s.verdicts)}`,
    planted.length ? `planted malicious files reported: ${s.plantedReported}/${s.planted}` : '',
  ]
    .filter(Boolean)
    .join('\n')}\n`,
);
if (s.missed.length > 0) {
  process.stderr.write(`MISSED: ${JSON.stringify(s.missed)}\n`);
  process.exit(1);
}
