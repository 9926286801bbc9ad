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
export type ToThread =
  | { t: 'start'; setup: ThreadSetup }
  | { t: 'start-url'; url: string; name?: string }
  | { t: 'chunk'; bytes: Uint8Array }
  | { t: 'end' }
  // Replies to the thread's fetches (scan-url), by request id.
  | { t: 'response'; id: number; status: number; statusText: string; headers: Array<[string, string]> }
  | { t: 'fetch-error'; id: number; message: string }
  | { t: 'body'; id: number; bytes: Uint8Array }
  | { t: 'body-end'; id: number }
  | { t: 'body-error'; id: number; message: string };

/** Scan thread → main thread. */
export type FromThread =
  | { t: 'ready'; tid: number | undefined }
  | { t: 'pull' }
  | { t: 'fetch'; id: number; url: string; method: string; headers: Array<[string, string]> }
  | { t: 'body-pull'; id: number }
  | { t: 'body-cancel'; id: number }
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
 * Wraps an engine so that `scanStream` (uploads) and `scanUrl` (remote files) run in a worker thread
 * with a CPU budget. The main thread only moves bytes: it reads the next batch of the upload when
 * the thread asks for it, and makes the thread's HTTP requests through the policy-checked fetch it
 * was given (so the URL policy, DNS pinning and transfer cap stay where the request is handled).
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
    scanUrl: (url, opts) => scanUrlInThread(take(), url, opts, options),
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

/** What a scan kind does with the thread: its first message and its replies to the thread. */
interface ThreadJob {
  start: ToThread;
  /** Handles a message that is neither a result nor `ready`; `post` marks the thread computing again. */
  onMessage(m: FromThread, io: ThreadIo): void;
  /** Called once when the job ends, whatever the outcome. */
  cleanup?(): void;
  /** Receives the job's I/O as soon as the job exists (before the thread is ready). */
  attach?(io: ThreadIo): void;
}

interface ThreadIo {
  post(m: ToThread, transfer?: ArrayBuffer[]): void;
  finish(err: unknown, scan?: FileScan): void;
  readonly settled: boolean;
}

/**
 * Runs one scan in `thread`: sends the job's first message once the thread is ready, meters the
 * thread's CPU time against the budget, and ends (terminating the thread) on the result, the
 * budget, the request's abort signal or a job error.
 */
function runInThread(
  thread: Thread,
  job: ThreadJob,
  signal: AbortSignal,
  options: OffThreadOptions,
): Promise<FileScan> {
  const { worker } = thread;
  // Wall time while the thread computes (from a message to it until its next one): the measure
  // where per-thread CPU time is not available.
  let wallUsed = 0;
  let computingSince: number | undefined;

  return new Promise<FileScan>((resolve, reject) => {
    let settled = false;
    let meter: ReturnType<typeof setInterval> | undefined;
    const io: ThreadIo = {
      post(m, transfer) {
        if (settled) return;
        worker.postMessage(m, transfer ?? []);
        computingSince ??= performance.now();
      },
      finish(err, scan) {
        if (settled) return;
        settled = true;
        clearInterval(meter);
        signal.removeEventListener('abort', onAbort);
        void worker.terminate();
        job.cleanup?.();
        if (err !== undefined) reject(err);
        else resolve(scan as FileScan);
      },
      get settled() {
        return settled;
      },
    };
    const onAbort = () => io.finish(signal.reason ?? new ApiError('time-budget-exceeded', 'aborted'));
    signal.addEventListener('abort', onAbort, { once: true });
    job.attach?.(io);

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
        io.finish(
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
      io.post(job.start);
    });

    worker.on('message', (m: FromThread) => {
      if (m.t === 'ready') return;
      if (computingSince !== undefined) {
        wallUsed += performance.now() - computingSince;
        computingSince = undefined;
      }
      if (m.t === 'done') io.finish(undefined, m.scan);
      else if (m.t === 'fail') io.finish(m.code ? new BrineError(m.code, m.message) : new Error(m.message));
      else job.onMessage(m, io);
    });
    worker.on('error', (e) => io.finish(e));
    worker.on('exit', (code) => io.finish(new Error(`scan thread exited with code ${code}`)));
  });
}

function scanInThread(
  thread: Thread,
  body: ReadableStream<Uint8Array> | AsyncIterable<Uint8Array>,
  opts: Parameters<Engine['scanStream']>[1],
  options: OffThreadOptions,
): Promise<FileScan> {
  const setup: ThreadSetup = {
    name: opts.name,
    bufferLimit: opts.bufferLimit,
    ...(opts.size !== undefined ? { size: opts.size } : {}),
  };
  const iterator = (Symbol.asyncIterator in body ? body : (body as ReadableStream<Uint8Array>).values())[
    Symbol.asyncIterator
  ]() as AsyncIterator<Uint8Array>;

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
  let io: ThreadIo | undefined;
  const ahead = () => {
    const batch = readBatch();
    // A failing body decides the outcome, not what the engine would make of the part it saw.
    batch.catch((e: unknown) => io?.finish(e));
    return batch;
  };
  let next = ahead();
  const feed = async (to: ThreadIo) => {
    let bytes: Uint8Array<ArrayBuffer> | undefined;
    try {
      bytes = await next;
    } catch {
      return; // already settled by ahead()
    }
    if (bytes === undefined) to.post({ t: 'end' });
    else {
      to.post({ t: 'chunk', bytes }, [bytes.buffer]);
      next = ahead();
    }
  };
  const run = runInThread(
    thread,
    {
      start: { t: 'start', setup },
      attach(threadIo) {
        io = threadIo;
      },
      onMessage(m, threadIo) {
        if (m.t === 'pull') void feed(threadIo);
      },
      cleanup: () => {
        void iterator.return?.();
      },
    },
    opts.signal,
    options,
  );
  return run;
}

function scanUrlInThread(
  thread: Thread,
  url: string,
  opts: Parameters<Engine['scanUrl']>[1],
  options: OffThreadOptions,
): Promise<FileScan> {
  const bodies = new Map<number, ReadableStreamDefaultReader<Uint8Array>>();
  const fail = (e: unknown) => (e instanceof Error ? e.message : String(e));
  return runInThread(
    thread,
    {
      start: { t: 'start-url', url, ...(opts.name ? { name: opts.name } : {}) },
      onMessage(m, io) {
        if (m.t === 'fetch') {
          opts
            .fetch(m.url, { method: m.method, headers: m.headers, signal: opts.signal })
            .then((res) => {
              if (res.body) bodies.set(m.id, res.body.getReader());
              io.post({
                t: 'response',
                id: m.id,
                status: res.status,
                statusText: res.statusText,
                headers: [...res.headers],
              });
              if (!res.body) io.post({ t: 'body-end', id: m.id });
            })
            .catch((e: unknown) => io.post({ t: 'fetch-error', id: m.id, message: fail(e) }));
        } else if (m.t === 'body-pull') {
          const reader = bodies.get(m.id);
          if (!reader) {
            io.post({ t: 'body-end', id: m.id });
            return;
          }
          reader.read().then(
            ({ done, value }) => {
              if (done) {
                bodies.delete(m.id);
                io.post({ t: 'body-end', id: m.id });
              } else {
                const bytes = value.slice();
                io.post({ t: 'body', id: m.id, bytes }, [bytes.buffer]);
              }
            },
            (e: unknown) => {
              bodies.delete(m.id);
              io.post({ t: 'body-error', id: m.id, message: fail(e) });
            },
          );
        } else if (m.t === 'body-cancel') {
          void bodies
            .get(m.id)
            ?.cancel()
            .catch(() => {});
          bodies.delete(m.id);
        }
      },
      cleanup: () => {
        for (const reader of bodies.values()) void reader.cancel().catch(() => {});
        bodies.clear();
      },
    },
    opts.signal,
    options,
  );
}
