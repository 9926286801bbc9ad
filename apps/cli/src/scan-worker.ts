import { parentPort, workerData } from 'node:worker_threads';
import type { ScanInput } from './inputs.js';
import { type ScanOutcome, type ScanSettings, scanInput } from './scan-one.js';

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

// A worker scans its batch in order, one file at a time: the pool already runs one worker per
// core, so concurrency inside a worker would only add contention for the same CPU.
if (parentPort) {
  const port = parentPort;
  const settings = workerData as ScanSettings;
  let queue: Promise<void> = Promise.resolve();
  port.on('message', (tasks: WorkerTask[]) => {
    queue = queue.then(async () => {
      for (const task of tasks) {
        const outcome = await scanInput(task.input, settings);
        port.postMessage({ index: task.index, outcome } satisfies WorkerResult);
      }
    });
  });
}
