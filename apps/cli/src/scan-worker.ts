import { parentPort, workerData } from 'node:worker_threads';
import type { ScanInput } from './inputs.js';
import { LANES } from './lanes.js';
import { failedReport, type ScanOutcome, type ScanSettings, scanInput } from './scan-one.js';

/** Main thread → worker: a batch of inputs with their positions in the run. */
export interface WorkerTask {
  index: number;
  input: ScanInput;
}

/** Worker → main thread: one finished input. */
export interface WorkerResult {
  index: number;
  outcome: ScanOutcome;
}

// The pool runs one worker per core; inside a worker, a few files are in flight at once so that
// waiting for file I/O does not leave the core idle (see LANES).
if (parentPort) {
  const port = parentPort;
  const settings = workerData as ScanSettings;
  const pending: WorkerTask[] = [];
  let lanes = 0;
  const scanOne = async (task: WorkerTask) => {
    let outcome: ScanOutcome;
    try {
      outcome = await scanInput(task.input, settings);
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
  port.on('message', (tasks: WorkerTask[]) => {
    pending.push(...tasks);
    // Each new lane takes a task at once, so this never starts a lane with nothing to do.
    while (lanes < LANES && pending.length > 0) void lane();
  });
}
