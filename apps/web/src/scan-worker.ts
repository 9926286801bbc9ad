/**
 * The scan runs in a Web Worker so a large pickle never freezes the page. The worker receives a
 * `File` handle, reads it with `File.slice` through `BrowserFileSource`, and returns only the
 * report: the file's bytes stay in this tab.
 */
import { BrineError, BrowserFileSource, ENGINE_VERSION, loadScannerModule, scan } from '@brine/core';
import type { FileReport } from '@brine/rules';
import { evaluate, policyNamed, RULESET_VERSION } from '@brine/rules';
import type { ScanRequest, WorkerMessage } from './protocol.js';

interface WorkerScope {
  postMessage(message: WorkerMessage): void;
  addEventListener(type: 'message', listener: (e: MessageEvent<ScanRequest>) => void): void;
}
const scope = self as unknown as WorkerScope;

/** Progress is posted at most this often, so a fast scan is not slowed by messages. */
const PROGRESS_INTERVAL_MS = 100;

async function compileScanner(): Promise<WebAssembly.Module> {
  const url = new URL('scanner.wasm', self.location.href);
  const response = await fetch(url);
  if (!response.ok) throw new Error(`could not fetch ${url.pathname}: HTTP ${response.status}`);
  // compileStreaming insists on the application/wasm media type; some static hosts get it wrong.
  if (response.headers.get('content-type')?.startsWith('application/wasm')) {
    return WebAssembly.compileStreaming(response);
  }
  return WebAssembly.compile(await response.arrayBuffer());
}

const ready = compileScanner().then(async (module) => {
  await loadScannerModule(module);
});

ready.then(
  () => scope.postMessage({ type: 'ready', versions: { engine: ENGINE_VERSION, rules: RULESET_VERSION } }),
  (err: unknown) =>
    scope.postMessage({ type: 'fatal', message: `the scanner could not be loaded: ${describe(err)}` }),
);

function describe(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}

/** A file the engine could not even open still gets a report: never silently clean. */
function unscannable(
  req: ScanRequest,
  code: string,
  message: string,
  bytesRead: number,
  durationMs: number,
): FileReport {
  return {
    file: req.name,
    size: req.file.size,
    format: 'unknown',
    verdict: 'unscannable',
    reasons: [message],
    findings: [],
    imports: [],
    problems: [{ code, message, path: [req.name] }],
    stats: { bytesRead, durationMs, pickles: 0, opcodes: 0 },
    fails: true,
  };
}

async function scanOne(req: ScanRequest): Promise<FileReport> {
  let lastPost = 0;
  const source = new BrowserFileSource(req.file, {
    name: req.name,
    onRead: (_offset, _length, bytesRead) => {
      const now = performance.now();
      if (now - lastPost < PROGRESS_INTERVAL_MS) return;
      lastPost = now;
      scope.postMessage({ type: 'progress', id: req.id, bytesRead });
    },
  });
  const started = performance.now();
  try {
    await ready;
    const fileScan = await scan(source);
    return evaluate(fileScan, policyNamed(req.policy));
  } catch (err) {
    const code = err instanceof BrineError ? err.code : 'internal-error';
    return unscannable(req, code, describe(err), source.bytesRead, performance.now() - started);
  } finally {
    await source.close();
  }
}

// One file at a time: memory stays bounded whatever the number of files dropped.
let queue: Promise<void> = Promise.resolve();
scope.addEventListener('message', (e) => {
  const req = e.data;
  if (req?.type !== 'scan') return;
  queue = queue.then(async () => {
    const report = await scanOne(req);
    scope.postMessage({ type: 'done', id: req.id, report });
  });
});
