import { BrineError } from '../engine/types.js';
import type { ByteSource } from '../source/types.js';
import type { EvidenceValue, PickleCall, PickleImport, ScanResult } from './events.js';
import {
  type BuildPause,
  createPickleScanner,
  type FeedStatus,
  type PickleScannerOptions,
  type ScannerLimits,
} from './scanner.js';

/** What a pause handler may do before scanning continues. */
export interface PauseControl {
  /** The next `n` bytes are not pickle opcodes (they are skipped, from the source when possible). */
  skip(n: number): void;
  /** The bytes from here are a complete nested pickle (fresh stack and memo), then the outer resumes. */
  beginNestedPickle(): void;
}

/** Options of {@link scanPickle}; all optional. */
export interface ScanPickleOptions {
  /** Fill `ScanResult.trace` (offset, opcode name, genops-style argument) for differential tests. */
  traceOpcodes?: boolean;
  /** Bytes read from the source / fed to the scanner at a time. Results are identical for any value >= 1. Default 1 MiB. */
  chunkSize?: number;
  limits?: Partial<ScannerLimits>;
  /** See {@link PickleScannerOptions.multiplePickles} (default true). */
  multiplePickles?: boolean;
  /**
   * Pin one FRAME reading (see {@link PickleScannerOptions.frameReading}). Unset: the C-file
   * reading, plus a second `linear` pass when a frame-crossing anomaly shows the two can differ;
   * imports, calls, persistent ids and extensions only the second pass saw are appended.
   */
  frameReading?: 'c-file' | 'linear';
  /** See {@link PickleScannerOptions.pauseAfterBuildOf}; `onPause` decides what follows. */
  pauseAfterBuildOf?: Array<[string, string]>;
  onPause?: (pause: BuildPause, control: PauseControl) => void | Promise<void>;
  signal?: AbortSignal;
}

const DEFAULT_CHUNK = 1 << 20;
const AFTER_SKIP_READ = 4096;

function isByteSource(x: ByteSource | Uint8Array): x is ByteSource {
  return !(x instanceof Uint8Array);
}

function checkAbort(signal: AbortSignal | undefined, name: string): void {
  if (signal?.aborted) throw new BrineError('aborted', 'scan aborted', name);
}

async function scanOnce(
  input: ByteSource | Uint8Array,
  options: ScanPickleOptions,
  frameReading: 'c-file' | 'linear',
): Promise<ScanResult> {
  const scannerOptions: PickleScannerOptions = { frameReading };
  if (options.traceOpcodes !== undefined) scannerOptions.traceOpcodes = options.traceOpcodes;
  if (options.limits) scannerOptions.limits = options.limits;
  if (options.multiplePickles !== undefined) scannerOptions.multiplePickles = options.multiplePickles;
  if (options.pauseAfterBuildOf) scannerOptions.pauseAfterBuildOf = options.pauseAfterBuildOf;
  const scanner = await createPickleScanner(scannerOptions);
  const chunkSize = Math.max(1, Math.floor(options.chunkSize ?? DEFAULT_CHUNK));
  const name = isByteSource(input) ? input.name : '<bytes>';
  const size = isByteSource(input) ? input.size : input.length;
  const control: PauseControl = {
    skip: (n) => scanner.skip(n),
    beginNestedPickle: () => scanner.beginNestedPickle(),
  };
  let offset = 0;
  // After a skipped payload the next one is often close (a file of large blobs): read small and
  // grow, so only headers are fetched, never most of each chunk after a header.
  let readSize = chunkSize;
  outer: while (offset < size && !scanner.done) {
    checkAbort(options.signal, name);
    const pending = scanner.pendingSkip;
    if (pending > 0) {
      // large payloads are never read: move the read offset past them
      const k = Math.min(pending, size - offset);
      scanner.skipped(k);
      offset += k;
      readSize = Math.min(chunkSize, AFTER_SKIP_READ);
      continue;
    }
    const want = Math.min(readSize, size - offset);
    readSize = Math.min(chunkSize, readSize * 2);
    const chunk = isByteSource(input)
      ? await input.read(offset, want)
      : input.subarray(offset, offset + want);
    if (chunk.length === 0) {
      throw new BrineError(
        'short-read',
        `source returned no bytes at offset ${offset} of ${size}`,
        name,
        offset,
      );
    }
    offset += chunk.length;
    let rest = chunk;
    for (;;) {
      const st = scanner.feed(rest);
      if (st.state === 'done') break outer;
      if (st.state === 'more') break;
      rest = rest.subarray(st.consumed);
      let next: FeedStatus = st;
      while (next.state === 'paused') {
        if (options.onPause) await options.onPause(next.pause, control);
        next = scanner.resume();
      }
      if (next.state === 'done') break outer;
    }
  }
  return scanner.end();
}

type Indexed = { imports: number[]; calls: number[]; persids: number[] };

function remap(v: EvidenceValue, map: Indexed): EvidenceValue {
  switch (v.kind) {
    case 'global':
      return { kind: 'global', importIndex: map.imports[v.importIndex] ?? v.importIndex };
    case 'call':
      return { kind: 'call', callIndex: map.calls[v.callIndex] ?? v.callIndex };
    case 'persid':
      return { kind: 'persid', persidIndex: map.persids[v.persidIndex] ?? v.persidIndex };
    case 'tuple':
    case 'list':
    case 'set':
    case 'frozenset':
      return { ...v, items: v.items.map((x) => remap(x, map)) };
    case 'dict':
      return { ...v, entries: v.entries.map(([k, x]) => [remap(k, map), remap(x, map)]) };
    default:
      return v;
  }
}

/** Adds what only the linear reading saw to the C-file reading's result. */
function mergeLinear(base: ScanResult, linear: ScanResult): ScanResult {
  const key = (o: { offset: number; opcode: string }) => `${o.opcode}@${o.offset}`;
  const map: Indexed = { imports: [], calls: [], persids: [] };
  // the same opcode can import different names in the two readings (a line read past a frame end)
  const importKey = (x: PickleImport) => `${key(x)} ${x.module} ${x.name}`;
  const seenImports = new Map(base.imports.map((x, i) => [importKey(x), i]));
  const seenCalls = new Map(base.calls.map((x, i) => [key(x), i]));
  const seenPersids = new Map(base.persistentIds.map((x, i) => [key(x), i]));
  const imports: PickleImport[] = base.imports.slice();
  const calls: PickleCall[] = base.calls.slice();
  const persistentIds = base.persistentIds.slice();
  linear.imports.forEach((x, i) => {
    const hit = seenImports.get(importKey(x));
    if (hit !== undefined) {
      map.imports[i] = hit;
      if (x.called) (imports[hit] as PickleImport).called = true;
    } else {
      map.imports[i] = imports.length;
      imports.push({ ...x });
    }
  });
  // calls and persistent ids reference each other, so every new index is fixed before copying
  let nextCall = calls.length;
  linear.calls.forEach((x, i) => {
    map.calls[i] = seenCalls.get(key(x)) ?? nextCall++;
  });
  let nextPersid = persistentIds.length;
  linear.persistentIds.forEach((x, i) => {
    map.persids[i] = seenPersids.get(key(x)) ?? nextPersid++;
  });
  for (const x of linear.calls) {
    if (seenCalls.has(key(x))) continue;
    const c: PickleCall = { ...x, target: remap(x.target, map), args: x.args.map((a) => remap(a, map)) };
    if (x.kwargs) c.kwargs = remap(x.kwargs, map);
    calls.push(c);
  }
  for (const x of linear.persistentIds) {
    if (seenPersids.has(key(x))) continue;
    persistentIds.push({ ...x, pid: remap(x.pid, map) });
  }
  const extKeys = new Set(base.extensions.map(key));
  const extensions = base.extensions.concat(linear.extensions.filter((x) => !extKeys.has(key(x))));
  return { ...base, imports, calls, persistentIds, extensions };
}

/**
 * Scans one pickle byte stream (all back-to-back pickles in it) without executing anything.
 * `input` is a {@link ByteSource} (large string/bytes payloads are skipped by moving the read
 * offset, never read) or bytes already in memory.
 */
export async function scanPickle(
  input: ByteSource | Uint8Array,
  options: ScanPickleOptions = {},
): Promise<ScanResult> {
  const first = await scanOnce(input, options, options.frameReading ?? 'c-file');
  if (options.frameReading || !first.anomalies.some((a) => a.code === 'frame-crossing')) return first;
  const linear = await scanOnce(input, { ...options, traceOpcodes: false }, 'linear');
  return mergeLinear(first, linear);
}
