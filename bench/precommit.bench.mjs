#!/usr/bin/env node
// Hook time of the pre-commit bundle (apps/precommit/dist-bundle/hook.cjs), the file the pre-commit
// framework and `brine hook run` users execute on every commit. Goal: a commit that touches no model
// file costs < 150 ms of hook time (node start-up included). Measured by running the hook exactly as
// git would (cwd = repository root, staged index), in a throw-away repository under bench-data/.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const bundle = join(root, 'apps/precommit/dist-bundle/hook.cjs');
const dir = join(root, 'bench-data', 'precommit-repo');
const RUNS = 15;

const env = {
  ...process.env,
  GIT_CONFIG_NOSYSTEM: '1',
  GIT_CONFIG_GLOBAL: '/dev/null',
  GIT_AUTHOR_NAME: 'bench',
  GIT_AUTHOR_EMAIL: 'bench@example.invalid',
  GIT_COMMITTER_NAME: 'bench',
  GIT_COMMITTER_EMAIL: 'bench@example.invalid',
  NO_COLOR: '1',
};
const git = (...args) => {
  const r = spawnSync('git', args, { cwd: dir, env, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`git ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
};

// CPU time (user + sys of the hook and the git processes it waits for) says what the hook costs
// even when other work crowds the two cores and wall time balloons. From GNU time when present.
const GNU_TIME = existsSync('/usr/bin/time') ? '/usr/bin/time' : undefined;
const cpuFile = join(root, 'bench-data', 'precommit-cpu.txt');

function runOnce(args) {
  const t0 = process.hrtime.bigint();
  const r = GNU_TIME
    ? spawnSync(GNU_TIME, ['-f', '%U %S', '-o', cpuFile, process.execPath, ...args], {
        cwd: dir,
        env,
        encoding: 'utf8',
      })
    : spawnSync(process.execPath, args, { cwd: dir, env, encoding: 'utf8' });
  const wall = Number(process.hrtime.bigint() - t0) / 1e6;
  let cpu = Number.NaN;
  if (GNU_TIME) {
    const [u, s] = readFileSync(cpuFile, 'utf8').trim().split('\n').at(-1).split(' ').map(Number);
    cpu = (u + s) * 1000;
  }
  return { r, wall, cpu };
}

function summarise(label, runs) {
  const q = (xs, p) => {
    const v = [...xs].sort((a, b) => a - b);
    return v[Math.min(v.length - 1, Math.floor(p * v.length))];
  };
  const wall = runs.map((x) => x.wall);
  const cpu = runs.map((x) => x.cpu);
  return {
    label,
    'wall median': q(wall, 0.5).toFixed(1),
    'wall p90': q(wall, 0.9).toFixed(1),
    'wall min': q(wall, 0).toFixed(1),
    'cpu median': Number.isNaN(cpu[0]) ? 'n/a' : q(cpu, 0.5).toFixed(0),
  };
}

function time(label, expectCode) {
  const runs = [];
  for (let i = 0; i < RUNS; i++) {
    const x = runOnce([bundle]);
    if (x.r.status !== expectCode) {
      throw new Error(`${label}: exit ${x.r.status}, expected ${expectCode}\n${x.r.stdout}${x.r.stderr}`);
    }
    runs.push(x);
  }
  return summarise(label, runs);
}

function nodeBaseline() {
  const runs = [];
  for (let i = 0; i < RUNS; i++) runs.push(runOnce(['-e', '0']));
  return summarise('node -e 0 (start-up floor)', runs);
}

rmSync(dir, { recursive: true, force: true });
mkdirSync(dir, { recursive: true });
git('init', '-q', '-b', 'main');
writeFileSync(join(dir, 'README.md'), '# bench\n');
git('add', '.');
git('commit', '-q', '-m', 'init');

const rows = [nodeBaseline()];

// 1. A typical code commit: 40 source/text files staged, no model.
for (let i = 0; i < 40; i++) {
  mkdirSync(join(dir, 'src'), { recursive: true });
  writeFileSync(join(dir, 'src', `module${i}.py`), `import os\n\ndef f${i}():\n    return ${i}\n`.repeat(50));
}
writeFileSync(join(dir, 'data.csv'), 'a,b,c\n1,2,3\n'.repeat(20_000));
git('add', '.');
rows.push(time('40 source files + 240 KB CSV staged, no model (goal < 150 ms)', 0));

// 2. The same plus one small clean pickle (the engine and WASM scanner start).
writeFileSync(
  join(dir, 'weights.pkl'),
  Buffer.from('\x80\x02}q\x00(X\x07\x00\x00\x00weightsq\x01]q\x02(K\x01K\x02eu.', 'latin1'),
);
git('add', 'weights.pkl');
rows.push(time('... + one clean pickle (scanned)', 0));

// 3. One malicious pickle: the blocked path, report rendering included.
writeFileSync(
  join(dir, 'evil.pkl'),
  Buffer.from(
    '\x80\x02cposix\nsystem\nq\x00X\x16\x00\x00\x00touch /tmp/brine-pwnedq\x01\x85q\x02Rq\x03.',
    'latin1',
  ),
);
git('add', 'evil.pkl');
rows.push(time('... + one malicious pickle (blocked, exit 1)', 1));

// Node's own start-up is paid by any hook written in JavaScript; the rest is brine's.
const floor = Number(rows[0]['wall median']);
for (const r of rows.slice(1)) r['wall over floor'] = (Number(r['wall median']) - floor).toFixed(1);
console.log(`hook: ${bundle}`);
console.log(
  `runs per row: ${RUNS}; milliseconds per run (load average ${os.loadavg()[0].toFixed(1)} on ${os.availableParallelism()} cores)`,
);
console.table(rows);
rmSync(dir, { recursive: true, force: true });
