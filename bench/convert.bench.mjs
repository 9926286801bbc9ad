#!/usr/bin/env node
// Conversion throughput of `convertToSafetensors` (built @brine/core) on a generated ~2 GiB PyTorch zip
// checkpoint, against this machine's sequential copy of the same bytes (`cp`, and a Node stream copy).
// The checkpoint is written under bench-data/convert/ by a small stored-zip writer here (torch's layout:
// <prefix>/data.pkl + <prefix>/data/<key>), filled with pseudo-random bytes so nothing is sparse.
// Also measured: materialising non-contiguous views (a transposed 256 MiB tensor), and peak RSS, which
// must stay far below the input size (storage-by-storage streaming).
//
//   node bench/convert.bench.mjs [--gib 2] [--keep] [--dir /dev/shm/brine-convert]
import { spawnSync } from 'node:child_process';
import { randomFillSync } from 'node:crypto';
import {
  closeSync,
  createReadStream,
  createWriteStream,
  existsSync,
  mkdirSync,
  openSync,
  rmSync,
  statSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { crc32 } from 'node:zlib';

const root = fileURLToPath(new URL('..', import.meta.url));
const coreDist = join(root, 'packages/core/dist/index.js');
const args = process.argv.slice(2);
// --dir puts every file somewhere else, e.g. /dev/shm to take the disk out of the measurement.
const dir = args.includes('--dir') ? args[args.indexOf('--dir') + 1] : join(root, 'bench-data', 'convert');
const GIB = Number(args[args.indexOf('--gib') + 1]) || 2;
const keep = args.includes('--keep');

if (!existsSync(coreDist)) {
  console.log('packages/core/dist is missing: run `npm run build` first');
  process.exit(1);
}
mkdirSync(dir, { recursive: true });

// ---- a protocol-2 pickle of {name: _rebuild_tensor_v2(storage, 0, size, stride, False, OrderedDict())} ----
const enc = new TextEncoder();
const u32le = (n) => [n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, (n >>> 24) & 0xff];
const str = (s) => {
  const b = enc.encode(s);
  return [0x58, ...u32le(b.length), ...b];
};
const int = (v) => [0x4a, ...u32le(v)];
const global = (m, n) => [0x63, ...enc.encode(`${m}\n${n}\n`)];
function tensorPickle(tensors) {
  const out = [0x80, 2, 0x7d, 0x28];
  for (const t of tensors) {
    out.push(...str(t.name), ...global('torch._utils', '_rebuild_tensor_v2'), 0x28);
    out.push(
      0x28,
      ...str('storage'),
      ...global('torch', 'FloatStorage'),
      ...str(t.key),
      ...str('cpu'),
      ...int(t.numel),
      0x74,
      0x51,
    );
    out.push(...int(0), 0x28, ...t.size.flatMap(int), 0x74, 0x28, ...t.stride.flatMap(int), 0x74);
    out.push(0x89, ...global('collections', 'OrderedDict'), 0x29, 0x52, 0x74, 0x52);
  }
  out.push(0x75, 0x2e);
  return Uint8Array.from(out);
}

// ---- a stored zip (no ZIP64: entries and offsets stay under 4 GiB) ----
function writeZip(path, entries) {
  const fd = openSync(path, 'w');
  let pos = 0;
  const write = (b) => {
    writeSync(fd, b);
    pos += b.length;
  };
  const central = [];
  for (const e of entries) {
    const name = enc.encode(e.name);
    const offset = pos;
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(0x800, 6);
    local.writeUInt32LE(e.crc, 14);
    local.writeUInt32LE(e.size, 18);
    local.writeUInt32LE(e.size, 22);
    local.writeUInt16LE(name.length, 26);
    write(local);
    write(name);
    e.write(write);
    const c = Buffer.alloc(46);
    c.writeUInt32LE(0x02014b50, 0);
    c.writeUInt16LE(20, 4);
    c.writeUInt16LE(20, 6);
    c.writeUInt16LE(0x800, 8);
    c.writeUInt32LE(e.crc, 16);
    c.writeUInt32LE(e.size, 20);
    c.writeUInt32LE(e.size, 24);
    c.writeUInt16LE(name.length, 28);
    c.writeUInt32LE(offset, 42);
    central.push(Buffer.concat([c, name]));
  }
  const cdStart = pos;
  for (const c of central) write(c);
  const eocd = Buffer.alloc(22);
  eocd.writeUInt32LE(0x06054b50, 0);
  eocd.writeUInt16LE(central.length, 8);
  eocd.writeUInt16LE(central.length, 10);
  eocd.writeUInt32LE(pos - cdStart, 12);
  eocd.writeUInt32LE(cdStart, 16);
  write(eocd);
  closeSync(fd);
  return pos;
}

function makeCheckpoint(path, prefix, tensors, storageBytes) {
  const block = Buffer.alloc(storageBytes);
  randomFillSync(block);
  const blockCrc = crc32(block);
  const pickle = tensorPickle(tensors);
  const keys = [...new Set(tensors.map((t) => t.key))];
  const entries = [
    { name: `${prefix}/data.pkl`, size: pickle.length, crc: crc32(pickle), write: (w) => w(pickle) },
    // Every storage holds the same random block: generation stays fast, the bytes stay incompressible.
    ...keys.map((k) => ({
      name: `${prefix}/data/${k}`,
      size: storageBytes,
      crc: blockCrc,
      write: (w) => w(block),
    })),
    {
      name: `${prefix}/version`,
      size: 2,
      crc: crc32(Buffer.from('3\n')),
      write: (w) => w(Buffer.from('3\n')),
    },
  ];
  return writeZip(path, entries);
}

const STORAGE = 128 * 1024 * 1024;
const mainPath = join(dir, `state-dict-${GIB}gib.pt`);
const count = Math.round((GIB * 1024 ** 3) / STORAGE);
if (!existsSync(mainPath)) {
  const t0 = performance.now();
  const numel = STORAGE / 4;
  const tensors = Array.from({ length: count }, (_, i) => ({
    name: `layers.${i}.weight`,
    key: String(i),
    numel,
    size: [8192, numel / 8192],
    stride: [numel / 8192, 1],
  }));
  makeCheckpoint(mainPath, 'state-dict', tensors, STORAGE);
  console.log(`generated ${mainPath} in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
}
const viewsPath = join(dir, 'transposed-256mib.pt');
if (!existsSync(viewsPath)) {
  const numel = STORAGE / 4;
  const rows = 4096;
  const cols = numel / rows;
  const tensors = [0, 1].map((i) => ({
    name: `proj.${i}.weight_t`,
    key: String(i),
    numel,
    size: [cols, rows],
    stride: [1, cols],
  }));
  makeCheckpoint(viewsPath, 'transposed', tensors, STORAGE);
}

// Converts in a fresh process so its peak RSS is the conversion's own. Imports the conversion modules
// of the built package directly (the package index also loads every container codec).
function convertInChild(input, output, sha) {
  const code = `
    const { openFileSource } = await import(${JSON.stringify(new URL(`file://${coreDist}/../source/file.js`).href)});
    const { convertToSafetensors } = await import(${JSON.stringify(new URL(`file://${coreDist}/../convert/convert-file.js`).href)});
    const t0 = performance.now();
    const source = await openFileSource(${JSON.stringify(input)});
    const r = await convertToSafetensors(source, ${JSON.stringify(output)}, { force: true, brineVersion: 'bench'${sha ? `, sourceSha256: '${sha}'` : ''} });
    await source.close();
    console.log(JSON.stringify({ ms: performance.now() - t0, bytes: r.totalBytes, tensors: r.tensors.length, rss: process.resourceUsage().maxRSS * 1024 }));
  `;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', code], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`conversion failed: ${r.stderr}`);
  return JSON.parse(r.stdout);
}

function time(fn) {
  const t0 = performance.now();
  const r = fn();
  return r instanceof Promise ? r.then(() => performance.now() - t0) : performance.now() - t0;
}

const size = statSync(mainPath).size;
const gbps = (bytes, ms) => bytes / 1e9 / (ms / 1000);
const out = join(dir, 'out.safetensors');
const copy = join(dir, 'copy.bin');

// Warm the page cache for every contender alike (a first pass of reads).
spawnSync('cat', [mainPath], { stdio: ['ignore', 'ignore', 'inherit'] });

const rows = [];
const RUNS = 3;
for (let run = 0; run < RUNS; run++) {
  rmSync(copy, { force: true });
  const cpMs = time(() => spawnSync('cp', [mainPath, copy]));
  rmSync(copy, { force: true });
  const streamMs = await time(() =>
    pipeline(createReadStream(mainPath, { highWaterMark: 8 << 20 }), createWriteStream(copy)),
  );
  rmSync(copy, { force: true });
  rmSync(out, { force: true });
  const conv = convertInChild(mainPath, out);
  rmSync(out, { force: true });
  // The same conversion when the caller already knows the input's SHA-256 (no second read for the hash).
  const known = convertInChild(mainPath, out, 'ab'.repeat(32));
  rows.push({ cpMs, streamMs, conv, known });
}
const best = (f) => Math.min(...rows.map(f));
const cpMs = best((r) => r.cpMs);
const streamMs = best((r) => r.streamMs);
const convMs = best((r) => r.conv.ms);
const knownMs = best((r) => r.known.ms);
const rss = Math.max(...rows.map((r) => r.conv.rss));

console.log(
  `\ninput: ${(size / 1024 ** 3).toFixed(2)} GiB zip checkpoint, ${count} float32 tensors of 128 MiB (best of ${RUNS}, warm page cache)`,
);
console.log('| what | time | throughput |');
console.log('|---|---|---|');
console.log(`| cp (sequential copy) | ${(cpMs / 1000).toFixed(2)} s | ${gbps(size, cpMs).toFixed(2)} GB/s |`);
console.log(
  `| Node stream copy (8 MiB chunks) | ${(streamMs / 1000).toFixed(2)} s | ${gbps(size, streamMs).toFixed(2)} GB/s |`,
);
console.log(
  `| brine convert (incl. SHA-256 of the input) | ${(convMs / 1000).toFixed(2)} s | ${gbps(size, convMs).toFixed(2)} GB/s |`,
);
console.log(
  `| brine convert, SHA-256 supplied by the caller | ${(knownMs / 1000).toFixed(2)} s | ${gbps(size, knownMs).toFixed(2)} GB/s |`,
);
console.log(
  `ratio convert / cp: ${(cpMs / convMs).toFixed(2)} (1.00 = as fast as cp); convert / stream copy: ${(streamMs / convMs).toFixed(2)}; hash supplied / cp: ${(cpMs / knownMs).toFixed(2)}`,
);
console.log(
  `peak RSS of the converting process: ${(rss / 1024 ** 2).toFixed(0)} MiB (input ${(size / 1024 ** 2).toFixed(0)} MiB)`,
);

const tSize = statSync(viewsPath).size;
rmSync(out, { force: true });
const t = convertInChild(viewsPath, out);
console.log(
  `non-contiguous: 2 transposed float32 views of 128 MiB materialised in ${(t.ms / 1000).toFixed(2)} s (${gbps(tSize, t.ms).toFixed(2)} GB/s)`,
);

rmSync(out, { force: true });
rmSync(copy, { force: true });
if (!keep) {
  rmSync(mainPath, { force: true });
  rmSync(viewsPath, { force: true });
}
