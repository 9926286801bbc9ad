/**
 * Entry of a thread that scans one upload or one remote file for the Node server (see
 * `scan-thread.ts`). An upload arrives as messages, pulled one batch at a time so the main thread
 * never buffers ahead of the scan; a remote file is read through HTTP requests the main thread makes
 * with its policy-checked fetch. The result (plain data) goes back as one message.
 */
import { readlinkSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import { BrineError, httpSource, loadScannerModule, scan, scanStream } from '@brine/core';
import type { FromThread, ToThread } from './scan-thread.js';

const port = parentPort;
if (!port) throw new Error('scan-thread-worker runs only as a worker thread');
const { wasm } = workerData as { wasm: WebAssembly.Module };
const send = (m: FromThread) => port.postMessage(m);

// Upload batches and the replies to each fetch arrive on the same port, in order per stream.
const uploadWaiting: Array<(m: ToThread) => void> = [];
const byRequest = new Map<number, Array<(m: ToThread) => void>>();
let first: ((m: ToThread) => void) | undefined;
port.on('message', (m: ToThread) => {
  if (first) {
    const f = first;
    first = undefined;
    f(m);
  } else if ('id' in m) byRequest.get(m.id)?.shift()?.(m);
  else uploadWaiting.shift()?.(m);
});

async function* upload(): AsyncGenerator<Uint8Array> {
  for (;;) {
    const m = await new Promise<ToThread>((resolve) => {
      uploadWaiting.push(resolve);
      send({ t: 'pull' });
    });
    if (m.t === 'end') return;
    if (m.t === 'chunk') yield m.bytes;
  }
}

let nextId = 0;
/** One reply to request `id`, asked for by `ask`. */
function reply(id: number, ask: FromThread): Promise<ToThread> {
  return new Promise((resolve) => {
    const queue = byRequest.get(id) ?? [];
    queue.push(resolve);
    byRequest.set(id, queue);
    send(ask);
  });
}

/** fetch for httpSource, made by the main thread (URL policy, pinning, transfer cap live there). */
const proxiedFetch = (async (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
  const id = nextId++;
  const head = await reply(id, {
    t: 'fetch',
    id,
    url: String(input),
    method: init?.method ?? 'GET',
    headers: [...new Headers(init?.headers)],
  });
  if (head.t === 'fetch-error') throw new TypeError(head.message);
  if (head.t !== 'response') throw new TypeError('scan thread: unexpected reply to a fetch');
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      const m = await reply(id, { t: 'body-pull', id });
      if (m.t === 'body') controller.enqueue(m.bytes);
      else if (m.t === 'body-error') controller.error(new TypeError(m.message));
      else {
        byRequest.delete(id);
        controller.close();
      }
    },
    cancel() {
      byRequest.delete(id);
      send({ t: 'body-cancel', id });
    },
  });
  const noBody = head.status === 204 || head.status === 304 || init?.method === 'HEAD';
  return new Response(noBody ? null : body, {
    status: head.status,
    statusText: head.statusText,
    headers: head.headers,
  });
}) as typeof fetch;

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
  const start = await new Promise<ToThread>((resolve) => {
    first = resolve;
    send({ t: 'ready', tid });
  });
  if (start.t === 'start') {
    const { setup } = start;
    const result = await scanStream(upload(), {
      name: setup.name,
      ...(setup.size !== undefined ? { size: setup.size } : {}),
      bufferLimit: setup.bufferLimit,
    });
    send({ t: 'done', scan: result });
  } else if (start.t === 'start-url') {
    const source = await httpSource(start.url, { fetch: proxiedFetch });
    try {
      const result = await scan(source);
      send({ t: 'done', scan: start.name ? { ...result, file: start.name } : result });
    } finally {
      await source.close();
    }
  } else throw new Error('scan thread: expected a scan to start');
} catch (e) {
  send({
    t: 'fail',
    code: e instanceof BrineError ? e.code : undefined,
    message: e instanceof Error ? e.message : String(e),
  });
}
