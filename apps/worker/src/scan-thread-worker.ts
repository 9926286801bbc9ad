/**
 * Entry of the thread that scans one upload for the Node server (see `scan-thread.ts`). The upload
 * arrives as messages, pulled one batch at a time so the main thread never buffers ahead of the
 * scan; the result (plain data) goes back as one message.
 */
import { readlinkSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import { BrineError, loadScannerModule, scanStream } from '@brine/core';
import type { FromThread, ThreadSetup, ToThread } from './scan-thread.js';

const port = parentPort;
if (!port) throw new Error('scan-thread-worker runs only as a worker thread');
const { wasm } = workerData as { wasm: WebAssembly.Module };
const send = (m: FromThread) => port.postMessage(m);

const waiting: Array<(m: ToThread) => void> = [];
port.on('message', (m: ToThread) => waiting.shift()?.(m));
const receive = () => new Promise<ToThread>((resolve) => waiting.push(resolve));

async function* upload(): AsyncGenerator<Uint8Array> {
  for (;;) {
    const m = await new Promise<ToThread>((resolve) => {
      waiting.push(resolve);
      send({ t: 'pull' });
    });
    if (m.t === 'end') return;
    if (m.t === 'chunk') yield m.bytes;
  }
}

try {
  // Ready before any request arrives: the server keeps one thread started ahead.
  await loadScannerModule(wasm);
  // The OS thread id lets the main thread read this thread's CPU time (Linux: /proc/thread-self).
  let tid: number | undefined;
  try {
    tid = Number(readlinkSync('/proc/thread-self').split('/').pop()) || undefined;
  } catch {
    tid = undefined;
  }
  send({ t: 'ready', tid });
  const first = await receive();
  if (first.t !== 'start') throw new Error('scan thread: expected the scan setup first');
  const setup: ThreadSetup = first.setup;
  const scan = await scanStream(upload(), {
    name: setup.name,
    ...(setup.size !== undefined ? { size: setup.size } : {}),
    bufferLimit: setup.bufferLimit,
  });
  send({ t: 'done', scan });
} catch (e) {
  send({
    t: 'fail',
    code: e instanceof BrineError ? e.code : undefined,
    message: e instanceof Error ? e.message : String(e),
  });
}
