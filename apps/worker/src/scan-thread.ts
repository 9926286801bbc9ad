import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { BrineError, type FileScan } from '@brine/core';
import type { Engine } from './engine.js';
import { ApiError } from './errors.js';

// A scan is synchronous work in long stretches (a decompression bomb, a pickle built to be slow):
// on the server's own thread it would stall every other request for as long as it runs. On Node
// each upload is scanned in a worker thread of its own, whose CPU time is metered and which is
// terminated when it passes the budget; termination preempts work that never checks a signal.

/** What the scan of one upload needs to know. */
export interface ThreadSetup {
  name: string;
  size?: number;
  bufferLimit: number;
}

/** Main thread → scan thread. */
export type ToThread = { t: 'start'; setup: ThreadSetup } | { t: 'chunk'; bytes: Uint8Array } | { t: 'end' };

/** Scan thread → main thread. */
export type FromThread =
  | { t: 'ready'; tid: number | undefined }
  | { t: 'pull' }
  | { t: 'done'; scan: FileScan }
  | { t: 'fail'; code: string | undefined; message: string };

/** Upload bytes sent to the thread per message: fewer hops than the socket's 64 KiB chunks. */
const BATCH = 1024 * 1024;
/** How often a running scan's CPU time is checked. */
const METER_MS = 100;

/**
 * The thread's entry, built next to this file. Tests run the TypeScript sources, where only the
 * built copy in dist/ exists, so that is the fallback.
 */
function threadEntry(): URL {
  const beside = new URL('./scan-thread-worker.js', import.meta.url);
  if (existsSync(fileURLToPath(beside))) return beside;
  return new URL('../dist/scan-thread-worker.js', import.meta.url);
}

/**
 * CPU time (ms) of one thread of this process, from Linux's per-thread accounting; undefined where
 * that is not available. Node 20 has no per-thread CPU clock, and wall time is a poor stand-in on a
 * busy machine: a scan would be cut short for waiting on the processor, not for using it.
 */
function threadCpuMs(tid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${process.pid}/task/${tid}/stat`, 'latin1');
    // Fields after the command name (which may contain spaces) start at field 3; utime and stime
    // are fields 14 and 15, in clock ticks of 1/100 s on every Linux brine runs on.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return undefined;
  }
}

/** Options of {@link scanOffThread}. */
export interface OffThreadOptions {
  wasm: WebAssembly.Module;
  /** CPU time (ms) the thread may spend scanning one upload; waiting for the client is not counted. */
  cpuBudgetMs: number;
}

interface Thread {
  worker: Worker;
  /** The OS thread id, once the thread said it is ready (Linux). */
  tid: Promise<number | undefined>;
}

/**
 * Wraps an engine so that `scanStream` (uploads) runs in a worker thread with a CPU budget. The
 * main thread only moves bytes: it reads the next batch of the upload when the thread asks for it.
 */
export function scanOffThread(base: Engine, options: OffThreadOptions): Engine {
  // Starting a thread (loading the engine, instantiating the scanner) takes a few hundred ms on a
  // busy machine: one is kept started ahead, so a request does not wait for it. Each thread scans
  // one upload and is then terminated, so nothing of one scan outlives it.
  let spare: Thread | undefined = startThread(options.wasm);
  const take = () => {
    const thread = spare ?? startThread(options.wasm);
    spare = startThread(options.wasm);
    thread.worker.ref();
    return thread;
  };
  return {
    ...base,
    scanStream: (body, opts) => scanInThread(take(), body, opts, options),
  };
}

function startThread(wasm: WebAssembly.Module): Thread {
  const worker = new Worker(threadEntry(), { workerData: { wasm } });
  // A spare thread must not keep the process alive.
  worker.unref();
  const tid = new Promise<number | undefined>((resolve) => {
    const onMessage = (m: FromThread) => {
      if (m.t !== 'ready') return;
      worker.off('message', onMessage);
      resolve(m.tid);
    };
    worker.on('message', onMessage);
    worker.once('exit', () => resolve(undefined));
  });
  worker.on('error', () => {});
  return { worker, tid };
}

async function scanInThread(
  thread: Thread,
  body: ReadableStream<Uint8Array> | AsyncIterable<Uint8Array>,
  opts: Parameters<Engine['scanStream']>[1],
  options: OffThreadOptions,
): Promise<FileScan> {
  const { worker } = thread;
  const setup: ThreadSetup = {
    name: opts.name,
    bufferLimit: opts.bufferLimit,
    ...(opts.size !== undefined ? { size: opts.size } : {}),
  };
  const iterator = (Symbol.asyncIterator in body ? body : (body as ReadableStream<Uint8Array>).values())[
    Symbol.asyncIterator
  ]() as AsyncIterator<Uint8Array>;

  // Wall time while the thread computes (from handing it a batch to its next request): the measure
  // where per-thread CPU time is not available.
  let wallUsed = 0;
  let computingSince: number | undefined;

  return await new Promise<FileScan>((resolve, reject) => {
    let settled = false;
    let meter: ReturnType<typeof setInterval> | undefined;
    const finish = (err: unknown, scan?: FileScan) => {
      if (settled) return;
      settled = true;
      clearInterval(meter);
      opts.signal.removeEventListener('abort', onAbort);
      void worker.terminate();
      if (err !== undefined) reject(err);
      else resolve(scan as FileScan);
    };
    const onAbort = () => finish(opts.signal.reason ?? new ApiError('time-budget-exceeded', 'aborted'));
    opts.signal.addEventListener('abort', onAbort, { once: true });

    void thread.tid.then((tid) => {
      if (settled) return;
      const base = tid === undefined ? undefined : threadCpuMs(tid);
      const used = () => {
        const now = tid === undefined || base === undefined ? undefined : threadCpuMs(tid);
        if (now !== undefined && base !== undefined) return now - base;
        return wallUsed + (computingSince === undefined ? 0 : performance.now() - computingSince);
      };
      meter = setInterval(() => {
        if (used() <= options.cpuBudgetMs) return;
        finish(
          new ApiError(
            'time-budget-exceeded',
            `the scan used more than ${options.cpuBudgetMs} ms of CPU time`,
            {
              budget: 'cpu',
              cpuBudgetMs: options.cpuBudgetMs,
            },
          ),
        );
      }, METER_MS);
      worker.postMessage({ t: 'start', setup } satisfies ToThread);
      computingSince = performance.now();
    });

    // One batch is read ahead while the thread starts or works, so a body that fails (too large,
    // too slow, client gone) ends the request at once, and the thread never waits on the socket
    // for data that already arrived. Memory: one batch.
    const readBatch = async (): Promise<Uint8Array<ArrayBuffer> | undefined> => {
      const parts: Uint8Array[] = [];
      let n = 0;
      while (n < BATCH) {
        const next = await iterator.next();
        if (next.done) break;
        parts.push(next.value);
        n += next.value.byteLength;
      }
      if (n === 0) return undefined;
      // One copy per batch, whose buffer is then moved rather than cloned (socket chunks may share
      // a pooled buffer that must not be detached).
      const bytes = new Uint8Array(n);
      let at = 0;
      for (const p of parts) {
        bytes.set(p, at);
        at += p.byteLength;
      }
      return bytes;
    };
    const ahead = () => {
      const batch = readBatch();
      // A failing body decides the outcome, not what the engine would make of the part it saw.
      batch.catch((e: unknown) => finish(e));
      return batch;
    };
    let next = ahead();
    const feed = async () => {
      let bytes: Uint8Array<ArrayBuffer> | undefined;
      try {
        bytes = await next;
      } catch {
        return; // already settled by ahead()
      }
      if (settled) return;
      if (bytes === undefined) {
        worker.postMessage({ t: 'end' } satisfies ToThread);
      } else {
        worker.postMessage({ t: 'chunk', bytes } satisfies ToThread, [bytes.buffer]);
        next = ahead();
      }
      computingSince = performance.now();
    };

    worker.on('message', (m: FromThread) => {
      if (m.t === 'ready') return;
      if (computingSince !== undefined) {
        wallUsed += performance.now() - computingSince;
        computingSince = undefined;
      }
      if (m.t === 'pull') {
        void feed();
        return;
      }
      if (m.t === 'done') finish(undefined, m.scan);
      else finish(m.code ? new BrineError(m.code, m.message) : new Error(m.message));
    });
    worker.on('error', (e) => finish(e));
    worker.on('exit', (code) => finish(new Error(`scan thread exited with code ${code}`)));
  }).finally(() => {
    void iterator.return?.();
  });
}
