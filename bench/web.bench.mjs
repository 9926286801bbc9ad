// The browser page on a 20 GiB checkpoint: how long Chromium takes from "file picked" to verdict,
// and how many bytes the page read with File.slice (the point of the page: the tensor data is
// never touched). Also prints the size of what a visitor downloads. Needs Debian's chromium and
// a built scanner.wasm; the page is built into bench-data/ (gitignored), the checkpoint is a
// sparse file there (no disk cost).
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { mkdir, mkdtemp, open, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { chromium } from 'playwright-core';

const root = fileURLToPath(new URL('..', import.meta.url));
const data = join(root, 'bench-data');
const dist = join(data, 'web-dist');
const CHROMIUM = '/usr/bin/chromium';
const RUNS = 5;
const TENSOR_BYTES = 20 * 2 ** 30;

if (!existsSync(CHROMIUM)) {
  console.log('chromium is not installed (apt-get install -y chromium): skipped');
  process.exit(0);
}
await mkdir(data, { recursive: true });
execFileSync(process.execPath, [join(root, 'apps/web/build.mjs'), '--outdir', dist], { stdio: 'inherit' });

// --- CRC-32 of n zero bytes without reading them: the CRC register is linear over GF(2), so
// n zero bytes apply the "one zero bit" operator 8n times; square-and-multiply gets there in log n.
function matTimes(mat, vec) {
  let sum = 0;
  for (let i = 0; vec; i++, vec >>>= 1) if (vec & 1) sum ^= mat[i];
  return sum >>> 0;
}
function matSquare(mat) {
  return mat.map((_, i) => matTimes(mat, mat[i]));
}
function crcOfZeros(n) {
  let op = [0xedb88320];
  for (let i = 1, row = 1; i < 32; i++, row <<= 1) op.push(row >>> 0);
  let crc = 0xffffffff;
  let bits = BigInt(n) * 8n;
  while (bits > 0n) {
    if (bits & 1n) crc = matTimes(op, crc);
    op = matSquare(op);
    bits >>= 1n;
  }
  return (crc ^ 0xffffffff) >>> 0;
}

/** A torch.save-shaped ZIP64 archive: data.pkl, one huge stored tensor entry (a hole), version. */
async function writeCheckpoint(path) {
  const pickle = readFileSync(join(root, 'fixtures/pickles/benign/data-p2.pkl'));
  const { crc32 } = await import('node:zlib');
  const entries = [
    { name: 'big/data.pkl', data: pickle, size: pickle.length, crc: crc32(pickle) },
    { name: 'big/data/0', size: TENSOR_BYTES, crc: crcOfZeros(TENSOR_BYTES) },
    { name: 'big/version', data: Buffer.from('3\n'), size: 2, crc: crc32(Buffer.from('3\n')) },
  ];
  const fh = await open(path, 'w');
  let pos = 0;
  const central = [];
  for (const e of entries) {
    const name = Buffer.from(e.name);
    const big = e.size >= 0xffffffff;
    const extra = Buffer.alloc(big ? 20 : 0);
    if (big) {
      extra.writeUInt16LE(1, 0);
      extra.writeUInt16LE(16, 2);
      extra.writeBigUInt64LE(BigInt(e.size), 4);
      extra.writeBigUInt64LE(BigInt(e.size), 12);
    }
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(45, 4);
    local.writeUInt32LE(e.crc, 14);
    local.writeUInt32LE(big ? 0xffffffff : e.size, 18);
    local.writeUInt32LE(big ? 0xffffffff : e.size, 22);
    local.writeUInt16LE(name.length, 26);
    local.writeUInt16LE(extra.length, 28);
    const head = Buffer.concat([local, name, extra]);
    await fh.write(head, 0, head.length, pos);
    if (e.data) await fh.write(e.data, 0, e.data.length, pos + head.length);
    // Central-directory ZIP64 extra: only the fields whose 32-bit slot is saturated, in order.
    const z = [];
    if (big) z.push(BigInt(e.size), BigInt(e.size));
    if (pos >= 0xffffffff) z.push(BigInt(pos));
    const cdExtra = Buffer.alloc(z.length ? 4 + 8 * z.length : 0);
    if (z.length) {
      cdExtra.writeUInt16LE(1, 0);
      cdExtra.writeUInt16LE(8 * z.length, 2);
      for (const [i, v] of z.entries()) cdExtra.writeBigUInt64LE(v, 4 + 8 * i);
    }
    const cd = Buffer.alloc(46);
    cd.writeUInt32LE(0x02014b50, 0);
    cd.writeUInt16LE(45, 4);
    cd.writeUInt16LE(45, 6);
    cd.writeUInt32LE(e.crc, 16);
    cd.writeUInt32LE(big ? 0xffffffff : e.size, 20);
    cd.writeUInt32LE(big ? 0xffffffff : e.size, 24);
    cd.writeUInt16LE(name.length, 28);
    cd.writeUInt16LE(cdExtra.length, 30);
    cd.writeUInt32LE(Math.min(pos, 0xffffffff), 42);
    central.push(Buffer.concat([cd, name, cdExtra]));
    pos += head.length + e.size;
  }
  const dir = Buffer.concat(central);
  const eocd64 = Buffer.alloc(56);
  eocd64.writeUInt32LE(0x06064b50, 0);
  eocd64.writeBigUInt64LE(44n, 4);
  eocd64.writeUInt16LE(45, 12);
  eocd64.writeUInt16LE(45, 14);
  eocd64.writeBigUInt64LE(BigInt(entries.length), 24);
  eocd64.writeBigUInt64LE(BigInt(entries.length), 32);
  eocd64.writeBigUInt64LE(BigInt(dir.length), 40);
  eocd64.writeBigUInt64LE(BigInt(pos), 48);
  const locator = Buffer.alloc(20);
  locator.writeUInt32LE(0x07064b50, 0);
  locator.writeBigUInt64LE(BigInt(pos + dir.length), 8);
  locator.writeUInt32LE(1, 16);
  const eocd = Buffer.alloc(22);
  eocd.writeUInt32LE(0x06054b50, 0);
  eocd.writeUInt16LE(0xffff, 8);
  eocd.writeUInt16LE(0xffff, 10);
  eocd.writeUInt32LE(0xffffffff, 12);
  eocd.writeUInt32LE(0xffffffff, 16);
  const tail = Buffer.concat([dir, eocd64, locator, eocd]);
  await fh.write(tail, 0, tail.length, pos);
  await fh.close();
}

const checkpoint = join(data, 'web-20g.pt');
await writeCheckpoint(checkpoint);

const MIME = {
  '.html': 'text/html',
  '.js': 'text/javascript',
  '.css': 'text/css',
  '.wasm': 'application/wasm',
};
let served = 0;
const server = createServer(async (req, res) => {
  const path = new URL(req.url, 'http://x').pathname;
  try {
    const body = await readFile(join(dist, path === '/' ? 'index.html' : path));
    served += body.length;
    res.writeHead(200, {
      'content-type': MIME[extname(path === '/' ? 'index.html' : path)] ?? 'application/octet-stream',
    });
    res.end(body);
  } catch {
    res.writeHead(404).end();
  }
});
await new Promise((r) => server.listen(0, '127.0.0.1', r));
const origin = `http://127.0.0.1:${server.address().port}`;

const profile = await mkdtemp(join(tmpdir(), 'brine-web-bench-'));
const context = await chromium.launchPersistentContext(profile, {
  executablePath: CHROMIUM,
  args: [
    '--headless',
    '--no-sandbox',
    '--disable-gpu',
    '--disable-quic',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
  ],
});
try {
  const page = await context.newPage();
  const loadStart = performance.now();
  await page.goto(`${origin}/`);
  await page.waitForFunction(() => document.getElementById('status')?.textContent?.startsWith('Ready'));
  const loadMs = performance.now() - loadStart;

  const times = [];
  let bytesRead = 0;
  let verdict = '';
  for (let i = 0; i < RUNS; i++) {
    if (i > 0) await page.click('#clear');
    const t0 = performance.now();
    await page.locator('#file-input').setInputFiles(checkpoint);
    await page.waitForSelector('article.report[data-verdict]', { timeout: 120_000 });
    times.push(performance.now() - t0);
    const card = page.locator('article.report[data-verdict]');
    bytesRead = Number(await card.getAttribute('data-bytes-read'));
    verdict = (await card.getAttribute('data-verdict')) ?? '';
  }
  times.sort((a, b) => a - b);
  const size = statSync(checkpoint).size;
  console.log(`page load to "Ready" (scanner compiled): ${loadMs.toFixed(0)} ms, ${served} bytes served`);
  console.log(
    `${(size / 2 ** 30).toFixed(1)} GiB ZIP64 checkpoint: verdict ${verdict}, read ${bytesRead} bytes ` +
      `(${((bytesRead / size) * 100).toExponential(2)} % of the file), ` +
      `pick-to-verdict median ${times[Math.floor(RUNS / 2)].toFixed(0)} ms (min ${times[0].toFixed(0)}, max ${times.at(-1).toFixed(0)}, ${RUNS} runs)`,
  );
  console.log('what a visitor downloads (raw / gzip):');
  for (const f of readdirSync(dist).filter((f) => !f.endsWith('.map') && f !== 'build.json')) {
    const b = readFileSync(join(dist, f));
    console.log(
      `  ${f.padEnd(16)} ${String(b.length).padStart(9)} B  ${String(gzipSync(b).length).padStart(9)} B`,
    );
  }
} finally {
  await context.close();
  server.close();
  await rm(profile, { recursive: true, force: true });
  await rm(checkpoint, { force: true });
}
