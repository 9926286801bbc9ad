/**
 * The page: takes files from the picker or a drop, hands each `File` handle to the scan worker,
 * and shows the reports. Nothing here sends bytes anywhere; downloads are made from a Blob in the tab.
 */
import { formatBytes, type RunReport, renderReport as renderRun } from '@brine/report';
import type { FileReport, Verdict } from '@brine/rules';
import { getRule, RULESET_VERSION, rules } from '@brine/rules';
import { h, required } from './dom.js';
import type { PolicyName, ScanRequest, WorkerMessage } from './protocol.js';
import { renderPending, renderReport } from './view.js';

declare const BRINE_VERSION: string;

interface Entry {
  id: number;
  file: File;
  name: string;
  policy: PolicyName;
  card: HTMLElement;
  report?: FileReport;
}

const input = required<HTMLInputElement>('file-input');
const dropzone = required<HTMLElement>('dropzone');
const policySelect = required<HTMLSelectElement>('policy');
const status = required<HTMLElement>('status');
const results = required<HTMLOListElement>('results');
const downloadJson = required<HTMLButtonElement>('download-json');
const downloadSarif = required<HTMLButtonElement>('download-sarif');
const clearButton = required<HTMLButtonElement>('clear');

/**
 * A scan that neither reads a byte nor finishes for this long is stopped: the worker is replaced
 * and the file reported unscannable, so one stuck file never holds up the rest (or looks clean).
 * `?stall-ms=` overrides it (tests, very slow machines).
 */
const STALL_MS = Number(new URLSearchParams(location.search).get('stall-ms')) || 60_000;

const entries = new Map<number, Entry>();
/** Files waiting for the worker, in the order they were given. One is scanned at a time. */
const queue: Entry[] = [];
let current: Entry | undefined;
let watchdog: ReturnType<typeof setTimeout> | undefined;
let nextId = 1;
let workerReady = false;
let workerFailed: string | undefined;
let engineVersion = '';
let startedAt: string | undefined;
/** Said after the status line when a folder drop was cut at `MAX_DROPPED_FILES`. */
let dropNote = '';
let startedMs = 0;

let worker = startWorker();

function startWorker(): Worker {
  workerReady = false;
  const w = new Worker(new URL('scan-worker.js', document.baseURI), { type: 'module' });
  w.addEventListener('error', (e) => fail(e.message || 'the scan worker did not start'));
  w.addEventListener('message', (e: MessageEvent<WorkerMessage>) => onMessage(e.data));
  return w;
}

function onMessage(msg: WorkerMessage): void {
  switch (msg.type) {
    case 'ready':
      workerReady = true;
      engineVersion = msg.versions.engine;
      updateStatus();
      break;
    case 'fatal':
      fail(msg.message);
      break;
    case 'progress': {
      if (msg.id !== current?.id) break;
      arm();
      const text = current.card.querySelector('.progress-text');
      if (text) {
        text.textContent = `Reading… ${formatBytes(msg.bytesRead)} read of ${formatBytes(current.file.size)} (tensor data is skipped, not read)`;
      }
      break;
    }
    case 'done': {
      if (msg.id !== current?.id) break;
      const entry = current;
      current = undefined;
      clearTimeout(watchdog);
      finish(entry, msg.report);
      pump();
      break;
    }
  }
}

/** Sends the next waiting file to the worker, unless one is being scanned. */
function pump(): void {
  if (current || workerFailed) return;
  const next = queue.shift();
  if (!next) return;
  current = next;
  const req: ScanRequest = {
    type: 'scan',
    id: next.id,
    file: next.file,
    name: next.name,
    policy: next.policy,
  };
  worker.postMessage(req);
  arm();
  updateStatus();
}

function arm(): void {
  clearTimeout(watchdog);
  watchdog = setTimeout(stalled, STALL_MS);
}

function stalled(): void {
  const entry = current;
  current = undefined;
  // Terminating is the only way to stop a scan stuck in a loop or waiting on a promise that never settles.
  worker.terminate();
  worker = startWorker();
  if (entry) {
    finish(
      entry,
      unscannable(
        entry,
        'scan-stalled',
        `the scan made no progress for ${Math.round(STALL_MS / 1000)} s and was stopped, so this file could not be checked here (try the brine CLI)`,
      ),
    );
  }
  pump();
}

function fail(message: string): void {
  workerFailed = message;
  clearTimeout(watchdog);
  for (const entry of [...(current ? [current] : []), ...queue.splice(0)]) {
    finish(entry, unscannable(entry, 'scanner-unavailable', message));
  }
  current = undefined;
  status.textContent = `brine cannot scan in this browser: ${message}`;
  status.classList.add('error');
}

function unscannable(entry: Entry, code: string, message: string): FileReport {
  return {
    file: entry.name,
    size: entry.file.size,
    format: 'unknown',
    verdict: 'unscannable',
    reasons: [message],
    findings: [],
    imports: [],
    problems: [{ code, message, path: [entry.name] }],
    stats: { bytesRead: 0, durationMs: 0, pickles: 0, opcodes: 0 },
    fails: true,
  };
}

function finish(entry: Entry, report: FileReport): void {
  entry.report = report;
  const card = renderReport(report, getRule, `file-${entry.id}`, entry.policy);
  entry.card.replaceWith(card);
  entry.card = card;
  updateStatus();
}

function updateStatus(): void {
  const all = [...entries.values()];
  const done = all.filter((e) => e.report);
  const hasResults = done.length > 0;
  downloadJson.disabled = !hasResults;
  downloadSarif.disabled = !hasResults;
  clearButton.disabled = all.length === 0 || done.length < all.length;
  // Once the scanner is known to be unusable, that message stays.
  if (workerFailed) return;
  status.classList.remove('error');
  if (all.length === 0) {
    status.textContent = workerReady
      ? 'Ready. Drop files or choose them; they stay on this device.'
      : 'Loading the scanner…';
  } else if (done.length < all.length) {
    status.textContent = `Scanning ${done.length + 1} of ${all.length}: ${current?.name ?? ''}.${dropNote}`;
    const text = current?.card.querySelector('.progress-text');
    if (text?.textContent?.startsWith('Waiting')) text.textContent = 'Reading…';
  } else {
    const counts: Partial<Record<Verdict, number>> = {};
    for (const e of done) if (e.report) counts[e.report.verdict] = (counts[e.report.verdict] ?? 0) + 1;
    const parts = (['dangerous', 'unscannable', 'suspicious', 'clean'] as Verdict[])
      .filter((v) => counts[v])
      .map((v) => `${counts[v]} ${v === 'clean' ? 'clean' : v}`);
    status.textContent = `Done: ${done.length} file${done.length === 1 ? '' : 's'} checked (${parts.join(', ')}).${dropNote}`;
  }
}

function addFiles(files: Array<{ file: File; name: string }>): void {
  if (files.length === 0) return;
  if (entries.size === 0) {
    startedAt = new Date().toISOString();
    startedMs = performance.now();
  }
  const policy = policySelect.value as PolicyName;
  for (const { file, name } of files) {
    const id = nextId++;
    const card = renderPending(name, file.size, `file-${id}`);
    const entry: Entry = { id, file, name, policy, card };
    entries.set(id, entry);
    results.append(h('li', null, card));
    if (workerFailed) finish(entry, unscannable(entry, 'scanner-unavailable', workerFailed));
    else queue.push(entry);
  }
  pump();
  updateStatus();
}

input.addEventListener('change', () => {
  addFiles([...(input.files ?? [])].map((file) => ({ file, name: file.name })));
  // Picking the same file again must scan it again.
  input.value = '';
});

/** Folders dropped on the page are walked (depth-first, bounded) so a whole model directory can be checked. */
const MAX_DROPPED_FILES = 10_000;

async function filesFromDrop(data: DataTransfer): Promise<Array<{ file: File; name: string }>> {
  const out: Array<{ file: File; name: string }> = [];
  const entriesApi = [...data.items]
    .map((item) => (typeof item.webkitGetAsEntry === 'function' ? item.webkitGetAsEntry() : null))
    .filter((e): e is FileSystemEntry => e !== null);
  if (entriesApi.length === 0) {
    return [...data.files].map((file) => ({ file, name: file.name }));
  }
  const walk = async (entry: FileSystemEntry): Promise<void> => {
    if (out.length >= MAX_DROPPED_FILES) return;
    if (entry.isFile) {
      const file = await new Promise<File>((resolve, reject) =>
        (entry as FileSystemFileEntry).file(resolve, reject),
      );
      out.push({ file, name: entry.fullPath.replace(/^\//, '') || file.name });
    } else if (entry.isDirectory) {
      const reader = (entry as FileSystemDirectoryEntry).createReader();
      for (;;) {
        const batch = await new Promise<FileSystemEntry[]>((resolve, reject) =>
          reader.readEntries(resolve, reject),
        );
        if (batch.length === 0) break;
        for (const child of batch) await walk(child);
      }
    }
  };
  for (const entry of entriesApi) await walk(entry);
  dropNote =
    out.length >= MAX_DROPPED_FILES
      ? ` Only the first ${MAX_DROPPED_FILES} files of the dropped folders were taken; drop the rest separately.`
      : '';
  return out;
}

// Dropping anywhere on the page must not make the browser navigate away to the file.
for (const type of ['dragenter', 'dragover'] as const) {
  document.addEventListener(type, (e) => {
    e.preventDefault();
    dropzone.classList.add('dragging');
  });
}
document.addEventListener('dragleave', (e) => {
  if (e.relatedTarget === null) dropzone.classList.remove('dragging');
});
document.addEventListener('drop', (e) => {
  e.preventDefault();
  dropzone.classList.remove('dragging');
  const data = e.dataTransfer;
  if (!data) return;
  filesFromDrop(data).then(addFiles, (err: unknown) => {
    status.textContent = `Could not read the dropped items: ${err instanceof Error ? err.message : String(err)}`;
    status.classList.add('error');
  });
});

function runReport(): RunReport {
  const files = [...entries.values()].flatMap((e) => (e.report ? [e.report] : []));
  return {
    tool: {
      name: 'brine',
      version: BRINE_VERSION,
      rulesetVersion: RULESET_VERSION,
      ...(engineVersion ? { engineVersion } : {}),
    },
    files,
    startedAt: startedAt ?? new Date().toISOString(),
    durationMs: performance.now() - startedMs,
    // One run may mix policies when the choice changed between drops.
    policy: [...new Set([...entries.values()].filter((e) => e.report).map((e) => e.policy))].join(', '),
  };
}

function download(format: 'json' | 'sarif'): void {
  const text = renderRun(format, runReport(), { rules });
  const type = format === 'json' ? 'application/json' : 'application/sarif+json';
  const url = URL.createObjectURL(new Blob([text], { type }));
  const a = h('a', { href: url, download: `brine-report.${format === 'json' ? 'json' : 'sarif'}` });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

downloadJson.addEventListener('click', () => download('json'));
downloadSarif.addEventListener('click', () => download('sarif'));
clearButton.addEventListener('click', () => {
  entries.clear();
  results.replaceChildren();
  startedAt = undefined;
  updateStatus();
  input.focus();
});

// Offline use: a service worker keeps the page's own files; it never sees a dropped file.
if ('serviceWorker' in navigator && window.isSecureContext) {
  navigator.serviceWorker.register('sw.js').catch(() => {
    // Without it the page still works online; nothing to tell the user.
  });
}

updateStatus();
