#!/usr/bin/env node
// The scan API on Node (apps/worker, built): requests per second for small models, MB/s for a
// streamed upload, and the server's peak RSS during a 4 GiB streamed upload. The server runs as
// its own process on 127.0.0.1 so its memory is measured alone (VmHWM from /proc). Bounded: a fixed
// number of requests and bytes; nothing but loopback traffic.
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { fileURLToPath } from 'node:url';
import { CLEAN_PICKLE, EVIL_PICKLE, torchZipStream } from '../apps/worker/scripts/model-stream.mjs';

const entry = fileURLToPath(new URL('../apps/worker/dist/node.js', import.meta.url));
const GiB = 1024 ** 3;
const MiB = 1024 ** 2;

async function startServer() {
  const child = spawn(process.execPath, [entry], {
    env: { ...process.env, PORT: '0', HOST: '127.0.0.1', BRINE_TOKEN: '', BRINE_MAX_CONCURRENT_SCANS: '64' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const url = await new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m) resolve(m[1]);
    });
    child.once('exit', (code) => reject(new Error(`server exited with ${code}`)));
  });
  // Request log lines go to stdout; drain them so the pipe never blocks the server.
  child.stdout.resume();
  return { url, child };
}

function peakRssMiB(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const hwm = /VmHWM:\s+(\d+) kB/.exec(status);
  return hwm ? Number(hwm[1]) / 1024 : Number.NaN;
}

function currentRssMiB(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? Number.NaN) / 1024;
}

async function requestsPerSecond(url, body, { total, concurrency }) {
  let next = 0;
  let failed = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < total) {
        next++;
        const res = await fetch(`${url}/v1/scan`, { method: 'POST', body });
        await res.arrayBuffer();
        if (res.status !== 200) failed++;
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  return { rps: total / seconds, failed };
}

function streamUpload(url, model) {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const req = request(`${url}/v1/scan?filename=big.pt`, { method: 'POST' }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d) => {
        text += d;
      });
      res.on('end', () => {
        const seconds = (performance.now() - started) / 1000;
        let verdict = '?';
        try {
          verdict = JSON.parse(text).files?.[0]?.verdict ?? JSON.parse(text).error?.code;
        } catch {}
        resolve({ status: res.statusCode, seconds, verdict });
      });
    });
    req.on('error', reject);
    const chunks = model.chunks();
    const pump = () => {
      for (;;) {
        const n = chunks.next();
        if (n.done) return req.end();
        if (!req.write(n.value)) return req.once('drain', pump);
      }
    };
    pump();
  });
}

const { url, child } = await startServer();
try {
  const idle = currentRssMiB(child.pid);
  const smallZip = [...torchZipStream({ tensorBytes: 64 * 1024, pickle: CLEAN_PICKLE }).chunks()];
  const zipBody = new Uint8Array(smallZip.reduce((n, c) => n + c.length, 0));
  let o = 0;
  for (const c of smallZip) {
    zipBody.set(c, o);
    o += c.length;
  }
  // Warm up the JIT and the scanner.
  await requestsPerSecond(url, EVIL_PICKLE, { total: 200, concurrency: 4 });

  const rows = [];
  for (const [name, body] of [
    ['raw pickle (55 B, dangerous)', EVIL_PICKLE],
    [`torch zip (${(zipBody.length / 1024).toFixed(0)} KiB, clean)`, zipBody],
  ]) {
    const r = await requestsPerSecond(url, body, { total: 2000, concurrency: 16 });
    rows.push({ input: name, 'requests/s': r.rps.toFixed(0), failed: r.failed });
  }
  console.log('Small models, 2000 POST /v1/scan each, 16 concurrent (one Node process):');
  console.table(rows);

  const oneGiB = torchZipStream({ tensorBytes: GiB });
  const up1 = await streamUpload(url, oneGiB);
  console.log(
    `Streamed upload 1 GiB torch zip: ${up1.seconds.toFixed(2)} s, ${(oneGiB.size / MiB / up1.seconds).toFixed(0)} MB/s, status ${up1.status}, verdict ${up1.verdict}`,
  );

  // Peak RSS of the 4 GiB upload alone: writing 5 to clear_refs resets VmHWM to the current RSS.
  let hwmReset = true;
  try {
    writeFileSync(`/proc/${child.pid}/clear_refs`, '5');
  } catch {
    hwmReset = false;
  }
  const before4 = currentRssMiB(child.pid);
  const fourGiB = torchZipStream({ tensorBytes: 4 * GiB });
  const up4 = await streamUpload(url, fourGiB);
  console.log(
    `Streamed upload 4 GiB torch zip (ZIP64): ${up4.seconds.toFixed(2)} s, ${(fourGiB.size / MiB / up4.seconds).toFixed(0)} MB/s, status ${up4.status}, verdict ${up4.verdict}`,
  );
  console.log(
    `Server RSS: idle ${idle.toFixed(0)} MiB; before the 4 GiB upload ${before4.toFixed(0)} MiB; peak during it ${peakRssMiB(child.pid).toFixed(0)} MiB (VmHWM${hwmReset ? ', reset before the upload' : ', not resettable here: peak of the whole run'})`,
  );
} finally {
  child.kill('SIGTERM');
}
