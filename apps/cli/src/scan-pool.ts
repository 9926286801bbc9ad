import { Worker } from 'node:worker_threads';
import type { SkippedInput } from '@brine/report';
import type { FileReport } from '@brine/rules';
import type { ScanInput } from './inputs.js';
import { LANES, runInLanes } from './lanes.js';
import { failedReport, type ScanOutcome, type ScanSettings, scanInput } from './scan-one.js';
import { ABORT_MESSAGE, type WorkerResult, type WorkerTask } from './scan-worker.js';

/** How a run is carried out. */
export interface RunOptions {
  /** Worker threads; 1 scans in the main thread. */
  jobs: number;
  settings: ScanSettings;
  /** Aborting stops handing out inputs; inputs already finished are kept. */
  signal?: AbortSignal;
  onResult?: (outcome: ScanOutcome, done: number) => void;
  /** Scans inputs that only the main thread can read (standard input). */
  scanLocal?: (input: ScanInput) => Promise<ScanOutcome>;
}

/** After this many scanner threads have died, the run stops replacing them and blames what is left. */
const MAX_WORKER_DEATHS = 16;

/** The reports of a run, in input order; `interrupted` when the signal stopped it early. */
export interface RunResult {
  reports: FileReport[];
  skipped: SkippedInput[];
  interrupted: boolean;
}

function isLocalOnly(input: ScanInput): boolean {
  return input.kind === 'stdin';
}

function collect(outcomes: ReadonlyArray<ScanOutcome | undefined>, interrupted: boolean): RunResult {
  const reports: FileReport[] = [];
  const skipped: SkippedInput[] = [];
  let missing = false;
  for (const o of outcomes) {
    if (o === undefined) missing = true;
    else if ('report' in o) reports.push(o.report);
    else skipped.push(o.skipped);
  }
  return { reports, skipped, interrupted: interrupted || missing };
}

/**
 * After Ctrl-C, scans already running get this long to finish (the abort signal reaches the engine
 * and HTTP reads, so most end at once, reporting what they saw); anything still running after it is
 * left out of the report.
 */
export const ABORT_GRACE_MS = 1500;

/** Resolves with the work's result, or undefined when the signal aborted and the grace ran out. */
function untilAborted<T>(work: Promise<T>, signal: AbortSignal | undefined): Promise<T | undefined> {
  if (!signal) return work;
  return new Promise((resolve, reject) => {
    let timer: NodeJS.Timeout | undefined;
    const onAbort = () => {
      timer = setTimeout(() => resolve(undefined), ABORT_GRACE_MS);
      timer.unref();
    };
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
    const settle = () => {
      signal.removeEventListener('abort', onAbort);
      if (timer) clearTimeout(timer);
    };
    work.then(
      (v) => {
        settle();
        resolve(v);
      },
      (e) => {
        settle();
        reject(e);
      },
    );
  });
}

async function runInThread(inputs: readonly ScanInput[], opts: RunOptions): Promise<RunResult> {
  const outcomes: Array<ScanOutcome | undefined> = new Array(inputs.length);
  let nextIndex = 0;
  let done = 0;
  const next = () => (opts.signal?.aborted || nextIndex >= inputs.length ? undefined : nextIndex++);
  const work = async (i: number) => {
    const input = inputs[i] as ScanInput;
    const outcome = await untilAborted(
      isLocalOnly(input) && opts.scanLocal
        ? opts.scanLocal(input)
        : scanInput(input, opts.settings, opts.signal),
      opts.signal,
    );
    if (outcome === undefined) return;
    outcomes[i] = outcome;
    done += 1;
    opts.onResult?.(outcome, done);
  };
  await untilAborted(runInLanes(next, LANES, work), opts.signal);
  return collect(outcomes, opts.signal?.aborted === true);
}

/**
 * Scans every input and returns the reports in input order, whatever order the workers and lanes finish in,
 * so `--jobs 1` and `--jobs N` print the same report.
 */
export async function runScan(inputs: readonly ScanInput[], opts: RunOptions): Promise<RunResult> {
  const remote = inputs.filter((i) => !isLocalOnly(i));
  const jobs = Math.max(1, Math.min(opts.jobs, remote.length));
  if (jobs <= 1) return runInThread(inputs, opts);

  const outcomes: Array<ScanOutcome | undefined> = new Array(inputs.length);
  let done = 0;
  const record = (index: number, outcome: ScanOutcome) => {
    outcomes[index] = outcome;
    done += 1;
    opts.onResult?.(outcome, done);
  };

  // Local-only inputs (stdin) are read here while the workers get on with the rest.
  const localWork = (async () => {
    for (let i = 0; i < inputs.length; i++) {
      const input = inputs[i] as ScanInput;
      if (!isLocalOnly(input) || opts.signal?.aborted) continue;
      const outcome = await untilAborted(
        opts.scanLocal ? opts.scanLocal(input) : scanInput(input, opts.settings, opts.signal),
        opts.signal,
      );
      if (outcome !== undefined) record(i, outcome);
    }
  })();

  const queue: WorkerTask[] = [];
  inputs.forEach((input, index) => {
    if (!isLocalOnly(input)) queue.push({ index, input });
  });
  // Batches amortise the message round trip over many small files; they shrink towards the end so
  // no worker is left holding a long tail while the others idle.
  const batchSize = () => Math.max(1, Math.min(64, Math.floor(queue.length / (jobs * 4))));

  const workersDone = new Promise<boolean>((resolveRun) => {
    const workers = new Set<Worker>();
    const requeued = new Map<number, number>();
    let deaths = 0;
    let finished = false;
    const finish = (wasInterrupted: boolean) => {
      if (finished) return;
      finished = true;
      opts.signal?.removeEventListener('abort', onAbort);
      for (const w of workers) void w.terminate();
      resolveRun(wasInterrupted);
    };
    // Ctrl-C: workers abort their running scans (which then report what they saw) and hand back
    // their queues; whatever has not come back after the grace period is left out.
    const onAbort = () => {
      for (const w of workers) w.postMessage(ABORT_MESSAGE);
      setTimeout(() => finish(true), ABORT_GRACE_MS).unref();
    };
    opts.signal?.addEventListener('abort', onAbort, { once: true });

    const start = () => {
      const worker = new Worker(new URL('./scan-worker.js', import.meta.url), { workerData: opts.settings });
      const inFlight = new Set<number>();
      const feed = () => {
        while (
          inFlight.size < Math.max(2 * LANES, 2 * batchSize()) &&
          queue.length > 0 &&
          !opts.signal?.aborted
        ) {
          const batch = queue.splice(0, batchSize());
          for (const t of batch) inFlight.add(t.index);
          worker.postMessage(batch);
        }
        if (inFlight.size === 0) {
          workers.delete(worker);
          void worker.terminate();
          if (workers.size === 0) finish(opts.signal?.aborted === true);
        }
      };
      const started = new Set<number>();
      worker.on('message', (msg: WorkerResult) => {
        if ('started' in msg) {
          started.add(msg.started);
          return;
        }
        if ('dropped' in msg) {
          for (const index of msg.dropped) inFlight.delete(index);
        } else {
          inFlight.delete(msg.index);
          started.delete(msg.index);
          record(msg.index, msg.outcome);
        }
        feed();
      });
      // A worker that dies (out of memory, a bug) takes the scans it had begun with it: those are
      // reported as unscannable. Inputs it had not begun go back to the queue for a fresh worker.
      const onDeath = (why: string) => {
        if (!workers.has(worker) || finished) return;
        workers.delete(worker);
        deaths += 1;
        const notBegun: WorkerTask[] = [];
        for (const index of inFlight) {
          const input = inputs[index] as ScanInput;
          const tries = (requeued.get(index) ?? 0) + 1;
          // "Not begun" is only as good as the worker's last message: an input that keeps coming
          // back from dead workers is blamed after two tries, and so is everything once the pool
          // has lost too many threads.
          if (started.has(index) || tries > 2 || deaths > MAX_WORKER_DEATHS) {
            record(index, { report: failedReport(input.name, 'scanner-crashed', why, opts.settings.policy) });
          } else {
            requeued.set(index, tries);
            notBegun.push({ index, input });
          }
        }
        queue.unshift(...notBegun);
        inFlight.clear();
        if (deaths > MAX_WORKER_DEATHS) {
          for (const t of queue.splice(0)) {
            const message = `not scanned: ${deaths} scanner threads died (last: ${why})`;
            record(t.index, {
              report: failedReport(t.input.name, 'scanner-crashed', message, opts.settings.policy),
            });
          }
        }
        if (queue.length > 0 && !opts.signal?.aborted) start();
        else if (workers.size === 0) finish(opts.signal?.aborted === true);
      };
      worker.on('error', (e) => onDeath(`the scanner thread failed: ${e.message}`));
      worker.on('exit', (code) => onDeath(`the scanner thread exited with code ${code}`));
      workers.add(worker);
      feed();
    };
    // The main thread is one of the `jobs`: it scans from the same queue (below), so one fewer
    // worker pays the start-up cost of loading the engine.
    for (let i = 0; i < jobs - 1 && queue.length > 0; i++) start();
    if (workers.size === 0) finish(opts.signal?.aborted === true);
  });

  const mainLanes = runInLanes(
    () => (opts.signal?.aborted ? undefined : queue.shift()),
    LANES,
    async (task) => {
      const outcome = await untilAborted(scanInput(task.input, opts.settings, opts.signal), opts.signal);
      if (outcome !== undefined) record(task.index, outcome);
    },
  );

  const interrupted = await workersDone;
  await untilAborted(mainLanes, opts.signal);
  await localWork;
  return collect(outcomes, interrupted || opts.signal?.aborted === true);
}
