#!/usr/bin/env node
// Bulk and big-file throughput of the built CLI (apps/cli/dist/bin.js), next to Python's pickletools
// over the same inputs when python3 is present. Goals: 10,000 files/s on 5,000 small files, and at
// least 20x the Python baseline on every input. Inputs are generated under bench-data/cli/ (sparse
// where they are mostly zeros, so the 2 GiB checkpoint costs almost no disk) and reused.
//
//   node bench/cli.bench.mjs [--files 5000] [--skip-big] [--skip-python]
import { spawnSync } from 'node:child_process';
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  rmSync,
  statSync,
  writeSync,
} from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { crc32 } from 'node:zlib';

const root = fileURLToPath(new URL('..', import.meta.url));
const bin = join(root, 'apps/cli/dist/bin.js');
const data = join(root, 'bench-data', 'cli');
const args = process.argv.slice(2);
const FILES = Number(args[args.indexOf('--files') + 1]) || 5000;
const skipBig = args.includes('--skip-big');
const skipPython = args.includes('--skip-python');
const cores = availableParallelism();

// ---- input generation (deterministic: a fixed LCG, no Math.random) ----
let seed = 0x2545f491;
const rand = () => {
  seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
  return seed / 2 ** 32;
};

/** A protocol-2 pickle of a dict of short strings and ints, about `target` bytes long. */
function densePickle(target) {
  const parts = [Buffer.from([0x80, 0x02, 0x7d, 0x71, 0x00, 0x28])]; // PROTO 2, EMPTY_DICT, BINPUT 0, MARK
  let size = 6;
  let i = 0;
  while (size < target - 2) {
    const key = Buffer.from(`k${i++}`);
    const val = Math.floor(rand() * 200);
    const item = Buffer.concat([Buffer.from([0x58]), u32(key.length), key, Buffer.from([0x4b, val])]);
    parts.push(item);
    size += item.length;
  }
  parts.push(Buffer.from([0x75, 0x2e])); // SETITEMS, STOP
  return Buffer.concat(parts);
}

function u16(n) {
  const b = Buffer.alloc(2);
  b.writeUInt16LE(n);
  return b;
}
function u32(n) {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n >>> 0);
  return b;
}

/**
 * A PyTorch-style zip (stored entries). Entry data given as Buffers, or as `{ zeros: n }`, which is
 * left as a hole in the file (sparse) with the CRC of n zero bytes.
 */
function writeZip(path, entries) {
  const fd = openSync(path, 'w');
  let pos = 0;
  const put = (b) => {
    writeSync(fd, b, 0, b.length, pos);
    pos += b.length;
  };
  const central = [];
  for (const e of entries) {
    const name = Buffer.from(e.name);
    const size = Buffer.isBuffer(e.data) ? e.data.length : e.data.zeros;
    const crc = Buffer.isBuffer(e.data) ? crc32(e.data) : zeroCrc(size);
    const offset = pos;
    put(
      Buffer.concat([
        u32(0x04034b50),
        u16(20),
        u16(0),
        u16(0),
        u16(0),
        u16(0),
        u32(crc),
        u32(size),
        u32(size),
        u16(name.length),
        u16(0),
        name,
      ]),
    );
    if (Buffer.isBuffer(e.data)) put(e.data);
    else pos += size;
    central.push(
      Buffer.concat([
        u32(0x02014b50),
        u16(20),
        u16(20),
        u16(0),
        u16(0),
        u16(0),
        u16(0),
        u32(crc),
        u32(size),
        u32(size),
        u16(name.length),
        u16(0),
        u16(0),
        u16(0),
        u16(0),
        u32(0),
        u32(offset),
        name,
      ]),
    );
  }
  const cdStart = pos;
  for (const c of central) put(c);
  put(
    Buffer.concat([
      u32(0x06054b50),
      u16(0),
      u16(0),
      u16(entries.length),
      u16(entries.length),
      u32(pos - cdStart),
      u32(cdStart),
      u16(0),
    ]),
  );
  closeSync(fd);
  return pos;
}

const zeroCrcCache = new Map();
function zeroCrc(n) {
  if (zeroCrcCache.has(n)) return zeroCrcCache.get(n);
  const block = Buffer.alloc(Math.min(n, 1 << 24));
  let crc = 0;
  for (let left = n; left > 0; left -= block.length)
    crc = crc32(block.subarray(0, Math.min(block.length, left)), crc);
  zeroCrcCache.set(n, crc);
  return crc;
}

/** The pickle torch writes for a state dict of one tensor (persistent id into archive/data/0). */
function torchPickle(numel) {
  const s = (t) => {
    const b = Buffer.from(t);
    return Buffer.concat([Buffer.from([0x58]), u32(b.length), b]);
  };
  return Buffer.concat([
    Buffer.from([0x80, 0x02]),
    Buffer.from('ccollections\nOrderedDict\nq\x00)Rq\x01', 'latin1'),
    s('weight'),
    Buffer.from('ctorch._utils\n_rebuild_tensor_v2\nq\x02(', 'latin1'),
    Buffer.from('(', 'latin1'),
    s('storage'),
    Buffer.from('ctorch\nFloatStorage\nq\x03', 'latin1'),
    s('0'),
    s('cpu'),
    Buffer.from([0x4a]),
    u32(numel),
    Buffer.from('tq\x04QK\x00', 'latin1'),
    Buffer.from([0x4a]),
    u32(numel),
    Buffer.from([0x85, 0x4b, 0x01, 0x85, 0x89]),
    Buffer.from('ccollections\nOrderedDict\n)Rtq\x05Rq\x06s.', 'latin1'),
  ]);
}

function generateBulk(dir) {
  if (existsSync(dir) && readdirSync(dir).length === FILES) return;
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  for (let i = 0; i < FILES; i++) {
    const target = 1024 + Math.floor(rand() * 49 * 1024);
    const name = join(dir, `f${String(i).padStart(5, '0')}`);
    if (i % 2 === 0) {
      const fd = openSync(`${name}.pkl`, 'w');
      writeSync(fd, densePickle(target));
      closeSync(fd);
    } else {
      const numel = Math.max(1, Math.floor((target - 600) / 4));
      writeZip(`${name}.pt`, [
        { name: 'archive/data.pkl', data: torchPickle(numel) },
        { name: 'archive/version', data: Buffer.from('3\n') },
        { name: 'archive/data/0', data: Buffer.alloc(numel * 4, 1) },
      ]);
    }
  }
}

function generateBigCheckpoint(path, bytes) {
  if (existsSync(path) && statSync(path).size > bytes) return;
  const numel = Math.floor(bytes / 4);
  writeZip(path, [
    { name: 'archive/data.pkl', data: torchPickle(numel) },
    { name: 'archive/version', data: Buffer.from('3\n') },
    { name: 'archive/data/0', data: { zeros: numel * 4 } },
  ]);
}

/** A protocol-4 pickle: a list of 16 BINBYTES8 blobs of 64 MiB (holes on disk). */
function generateBigPickle(path, blobs, blobSize) {
  if (existsSync(path) && statSync(path).size === 2 + 2 + blobs * (9 + blobSize) + 2) return;
  const fd = openSync(path, 'w');
  let pos = 0;
  const put = (b) => {
    writeSync(fd, b, 0, b.length, pos);
    pos += b.length;
  };
  put(Buffer.from([0x80, 0x04, 0x5d, 0x28])); // PROTO 4, EMPTY_LIST, MARK
  for (let i = 0; i < blobs; i++) {
    const h = Buffer.alloc(9);
    h[0] = 0x8e; // BINBYTES8
    h.writeBigUInt64LE(BigInt(blobSize), 1);
    put(h);
    pos += blobSize;
  }
  put(Buffer.from([0x65, 0x2e])); // APPENDS, STOP
  closeSync(fd);
}

// ---- measurement ----
function timed(cmd, argv, label) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync('/usr/bin/time', ['-f', '%M %U %S', cmd, ...argv], {
    encoding: 'utf8',
    maxBuffer: 1 << 30,
  });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  const lines = r.stderr.trim().split('\n');
  const [rssKb, user, sys] = (lines[lines.length - 1] ?? '').split(' ').map(Number);
  if (r.status !== 0 && r.status !== 1) {
    console.log(`  ${label}: exit ${r.status}\n${r.stderr.slice(0, 2000)}`);
  }
  // CPU seconds (user + system) tell more than wall time on a machine shared with other work.
  return { ms, rssMb: rssKb / 1024, cpuS: user + sys, status: r.status, stdout: r.stdout };
}

const PY_BULK = `
import pickletools, sys, os, zipfile, io
n = 0
root = sys.argv[1]
for name in sorted(os.listdir(root)):
    p = os.path.join(root, name)
    with open(p, 'rb') as f:
        head = f.read(4); f.seek(0)
        if head == b'PK\\x03\\x04':
            with zipfile.ZipFile(f) as z:
                for info in z.infolist():
                    if info.filename.endswith('.pkl'):
                        for _ in pickletools.genops(z.read(info)): n += 1
        else:
            for _ in pickletools.genops(f): n += 1
print(n)
`;
const PY_ONE = `
import pickletools, sys, zipfile
p = sys.argv[1]; n = 0
with open(p, 'rb') as f:
    if f.read(4) == b'PK\\x03\\x04':
        f.seek(0)
        with zipfile.ZipFile(f) as z:
            for info in z.infolist():
                if info.filename.endswith('.pkl'):
                    for _ in pickletools.genops(z.read(info)): n += 1
    else:
        f.seek(0)
        for _ in pickletools.genops(f): n += 1
print(n)
`;

const python = skipPython
  ? undefined
  : ['/usr/bin/python3', 'python3'].find((p) => spawnSync(p, ['-c', '0']).status === 0);
if (!existsSync(bin)) {
  console.log('apps/cli/dist/bin.js is missing: run `npm run build` first');
  process.exit(0);
}

const rows = [];
const bulkDir = join(data, 'bulk');
console.log(`generating ${FILES} small files in ${bulkDir} (once)...`);
generateBulk(bulkDir);
const bulkBytes = readdirSync(bulkDir).reduce((n, f) => n + statSync(join(bulkDir, f)).size, 0);

for (const jobs of [1, cores]) {
  const r = timed(
    process.execPath,
    [bin, 'scan', '--quiet', '--no-progress', '--jobs', String(jobs), bulkDir],
    `bulk jobs ${jobs}`,
  );
  rows.push({
    input: `bulk ${FILES} files, ${(bulkBytes / 2 ** 20).toFixed(0)} MiB`,
    tool: `brine --jobs ${jobs}`,
    ms: r.ms,
    rssMb: r.rssMb,
    cpuS: r.cpuS,
    filesPerS: (FILES / r.ms) * 1000,
  });
}
if (python) {
  const r = timed(python, ['-c', PY_BULK, bulkDir], 'python bulk');
  rows.push({
    input: `bulk ${FILES} files`,
    tool: 'python pickletools',
    ms: r.ms,
    rssMb: r.rssMb,
    cpuS: r.cpuS,
    filesPerS: (FILES / r.ms) * 1000,
  });
}

if (!skipBig) {
  const ckpt = join(data, 'big-2g.pt');
  const pkl = join(data, 'big-1g.pkl');
  console.log('generating the 2 GiB checkpoint and 1 GiB pickle (sparse, once)...');
  generateBigCheckpoint(ckpt, 2 * 2 ** 30);
  generateBigPickle(pkl, 16, 64 * 2 ** 20);
  for (const [label, file] of [
    ['2 GiB checkpoint', ckpt],
    ['1 GiB raw pickle', pkl],
  ]) {
    const r = timed(
      process.execPath,
      [bin, 'scan', '--format', 'json', '--no-progress', '--jobs', '1', file],
      label,
    );
    let note = '';
    try {
      const f = JSON.parse(r.stdout).files[0];
      note = `scan ${f.stats.durationMs.toFixed(0)} ms in-process, read ${(f.stats.bytesRead / 2 ** 20).toFixed(2)} MiB of ${(f.size / 2 ** 30).toFixed(2)} GiB, ${f.verdict}`;
    } catch {}
    rows.push({ input: label, tool: 'brine', ms: r.ms, rssMb: r.rssMb, cpuS: r.cpuS, note });
    if (python) {
      const p = timed(python, ['-c', PY_ONE, file], `python ${label}`);
      rows.push({ input: label, tool: 'python pickletools', ms: p.ms, rssMb: p.rssMb, cpuS: p.cpuS });
    }
  }
}

{
  const floor = timed(process.execPath, [bin, '--version'], 'start-up');
  rows.push({
    input: 'start-up floor',
    tool: 'brine --version',
    ms: floor.ms,
    rssMb: floor.rssMb,
    cpuS: floor.cpuS,
  });
}
console.log('\n| input | tool | wall ms | CPU s | peak RSS MiB | files/s (wall) | files per CPU-s | note |');
console.log('|---|---|---:|---:|---:|---:|---:|---|');
for (const r of rows) {
  const perCpu = r.filesPerS ? (FILES / r.cpuS).toFixed(0) : '';
  const wall = r.filesPerS ? r.filesPerS.toFixed(0) : '';
  console.log(
    `| ${r.input} | ${r.tool} | ${r.ms.toFixed(0)} | ${r.cpuS.toFixed(2)} | ${r.rssMb.toFixed(0)} | ${wall} | ${perCpu} | ${r.note ?? ''} |`,
  );
}
if (python) {
  console.log(
    `\nspeed-up over python pickletools (load average now ${loadavg()[0].toFixed(1)} on ${cores} cores):`,
  );
  const byInput = new Map();
  for (const r of rows) {
    const key = r.input.split(',')[0];
    if (!byInput.has(key)) byInput.set(key, []);
    byInput.get(key).push(r);
  }
  for (const [input, rs] of byInput) {
    const py = rs.find((r) => r.tool === 'python pickletools');
    if (!py) continue;
    for (const r of rs) {
      if (r !== py)
        console.log(
          `  ${input}: ${r.tool} ${(py.ms / r.ms).toFixed(1)}x wall, ${(py.cpuS / r.cpuS).toFixed(1)}x CPU`,
        );
    }
  }
}
