import { parentPort, workerData } from 'node:worker_threads';
import type { ScanInput } from './inputs.js';
import { LANES } from './lanes.js';
import { failedReport, type ScanOutcome, type ScanSettings, scanInput } from './scan-one.js';

/** Main thread → worker: a batch of inputs with their positions in the run. */
export interface WorkerTask {
  index: number;
  input: ScanInput;
}

/** Main thread → worker: stop (Ctrl-C). Running scans are aborted, queued ones handed back. */
export const ABORT_MESSAGE = 'abort';

/** Worker → main thread: a scan begun, one finished, or the queued inputs dropped after an abort. */
export type WorkerResult =
  | { index: number; outcome: ScanOutcome }
  | { dropped: number[] }
  /** Sent as a scan begins, so that if the thread dies only the inputs it had begun are blamed. */
  | { started: number };

// The pool runs one worker per core; inside a worker, a few files are in flight at once so that
// waiting for file I/O does not leave the core idle (see LANES).
if (parentPort) {
  const port = parentPort;
  const settings = workerData as ScanSettings;
  const pending: WorkerTask[] = [];
  const abort = new AbortController();
  const crashOn = process.env.BRINE_TEST_WORKER_EXIT_ON;
  let lanes = 0;
  const scanOne = async (task: WorkerTask) => {
    port.postMessage({ started: task.index } satisfies WorkerResult);
    // Fault injection for the end-to-end test of the pool's crash handling; unset in normal use.
    if (crashOn && task.input.name.endsWith(crashOn)) process.exit(70);
    let outcome: ScanOutcome;
    try {
      outcome = await scanInput(task.input, settings, abort.signal);
    } catch (e) {
      const message = e instanceof Error ? e.message : String(e);
      outcome = { report: failedReport(task.input.name, 'internal-error', message, settings.policy) };
    }
    port.postMessage({ index: task.index, outcome } satisfies WorkerResult);
  };
  const lane = async () => {
    lanes += 1;
    try {
      for (let task = pending.shift(); task !== undefined; task = pending.shift()) await scanOne(task);
    } finally {
      lanes -= 1;
    }
  };
  port.on('message', (msg: WorkerTask[] | typeof ABORT_MESSAGE) => {
    if (msg === ABORT_MESSAGE) {
      abort.abort();
      port.postMessage({ dropped: pending.splice(0).map((t) => t.index) } satisfies WorkerResult);
      return;
    }
    const tasks = msg;
    pending.push(...tasks);
    // Each new lane takes a task at once, so this never starts a lane with nothing to do.
    while (lanes < LANES && pending.length > 0) void lane();
  });
}
