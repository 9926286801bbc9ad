import { BrineError } from '../engine/types.js';
import { fixImport } from './compat-names.js';
import { decodeEvents, ScanAccumulator } from './event-buffer.js';
import type { PickleCall, PickleImport, ScanResult } from './events.js';
import { instantiateScanner, releaseScanner, type ScannerExports } from './wasm.js';

/** Bounds that keep a hostile pickle from using unbounded memory or time. */
export interface ScannerLimits {
  /** Bytes of input held in WASM memory at once; the longest text line must fit. Default 1 MiB. */
  windowBytes: number;
  /** Stack depth (items). Default 262 144. */
  maxStackDepth: number;
  /** Nested MARKs. Default 65 536. */
  maxMarks: number;
  /** Distinct memo keys per pickle. Default 1 048 576. */
  maxMemoEntries: number;
  /**
   * Values alive at once in stack, memo and tracked containers (64 B each, so at most 64 MiB;
   * the pool starts at 256 KiB and grows only as needed). Default 1 048 576.
   */
  maxValues: number;
  /** Opcodes per scan (0 = no limit). Default 0. */
  maxOpcodes: number;
  /** Bytes kept of each string/bytes literal (the rest is skipped, never copied). Default 256, max 1024. */
  maxStringBytes: number;
  /** Items kept per container as evidence (dicts keep at most 7 pairs). Default 8, max 8. */
  maxEvidenceItems: number;
}

/** Default {@link ScannerLimits}. */
export const DEFAULT_SCANNER_LIMITS: Readonly<ScannerLimits> = Object.freeze({
  windowBytes: 1 << 20,
  maxStackDepth: 1 << 18,
  maxMarks: 1 << 16,
  maxMemoEntries: 1 << 20,
  maxValues: 1 << 20,
  maxOpcodes: 0,
  maxStringBytes: 256,
  maxEvidenceItems: 8,
});

/** Options of {@link createPickleScanner}; all optional. */
export interface PickleScannerOptions {
  /** Fill `ScanResult.trace` with every opcode (offset, name, genops-style argument). */
  traceOpcodes?: boolean;
  limits?: Partial<ScannerLimits>;
  /**
   * Default true: after each STOP a new pickle starts (fresh stack and memo, as a second
   * `pickle.load` on the same file would have); bytes after the last STOP that do not form a
   * pickle are reported as `trailing-bytes`. False: scanning ends at the first STOP and what
   * follows is neither read nor reported (`stats.bytesScanned` says where the pickle ended).
   */
  multiplePickles?: boolean;
  /**
   * How FRAME boundaries are read. `c-file` (default): like the C unpickler reading a file
   * without `peek()` (io.BytesIO, torch.load): an opcode running past its frame's end drops the
   * frame's leftover bytes. `linear`: like `pickle.loads` and pickletools. The two only differ
   * after a `frame-crossing` anomaly; {@link scanPickle} then scans both readings.
   */
  frameReading?: 'c-file' | 'linear';
  /**
   * Pause right after a BUILD whose target was created by calling one of these globals
   * (`[module, name]`, e.g. `['joblib.numpy_pickle', 'NumpyArrayWrapper']`), so the caller can
   * skip raw data or scan a nested pickle that the class's loader reads from the same stream.
   */
  pauseAfterBuildOf?: Array<[string, string]>;
}

/** Where the scanner paused (see {@link PickleScannerOptions.pauseAfterBuildOf}). */
export interface BuildPause {
  /** Stream offset right after the BUILD opcode: where the class's own reader continues. */
  offset: number;
  /** Index of the BUILD in `ScanResult.calls`. */
  callIndex: number;
  /** The BUILD (its `args[0]` is the state, e.g. joblib's dict with shape, dtype, order...). */
  call: PickleCall;
  /** The watched import whose instance received the BUILD. */
  watched: PickleImport | undefined;
  /** The result so far, to resolve `call`/`global` evidence in `call`. */
  partial: ScanResult;
}

/** What {@link PickleScanner.feed} did with a chunk. */
export type FeedStatus =
  /** Everything was taken; feed more, or call `end()`. */
  | { state: 'more'; consumed: number }
  /**
   * Paused after a watched BUILD; `consumed` bytes of the chunk were taken. Optionally call
   * `skip(n)` or `beginNestedPickle()`, then `resume()`, then feed `chunk.subarray(consumed)`.
   */
  | { state: 'paused'; consumed: number; pause: BuildPause }
  /** Scanning is over (fatal anomaly, or STOP in single-pickle mode); further input is ignored. */
  | { state: 'done'; consumed: number };

/**
 * Incremental pickle scanner: feed the stream in chunks of any size (results do not depend on
 * the chunking), then call `end()`.
 */
export interface PickleScanner {
  feed(chunk: Uint8Array): FeedStatus;
  /** Continues after a pause (or does nothing). */
  resume(): FeedStatus;
  /** Ends the input and returns the result. */
  end(): ScanResult;
  /** While paused: the next `n` stream bytes are not pickle opcodes (joblib raw array data). */
  skip(n: number): void;
  /**
   * While paused: the bytes from here are a complete pickle loaded by a nested `pickle.load`
   * (joblib object arrays). It gets a fresh stack and memo and its own `pickleIndex` (counted in
   * `stats.pickles`); after its STOP the outer pickle resumes with its own state and index.
   * One level only: a nested pickle cannot begin another.
   */
  beginNestedPickle(): void;
  /**
   * Bytes the caller may skip in its source instead of feeding (the unread rest of a large
   * string/bytes payload). Call `skipped(n)` after advancing the source by `n <= pendingSkip`.
   */
  readonly pendingSkip: number;
  skipped(n: number): void;
  /** Stream offset of the next byte the scanner will consume. */
  readonly position: number;
  /** True once scanning is over. */
  readonly done: boolean;
}

const ST_NEED = 0;
const ST_EVFULL = 1;
const ST_DONE = 2;
const ST_PAUSE = 3;
const ST_IMPORT = 4;
const EVENTS_BYTES = 1 << 20;

function limitValue(v: number | undefined, fallback: number, max: number): number {
  if (v === undefined || !Number.isFinite(v) || v < 0) return fallback;
  return Math.min(Math.floor(v), max);
}

class WasmPickleScanner implements PickleScanner {
  private readonly acc: ScanAccumulator;
  private readonly watched: Set<string>;
  private paused = false;
  private finished = false;
  /** Set when the WASM side trapped or wrote events the decoder rejects: never call it again. */
  private broken = false;
  private result: ScanResult | undefined;

  constructor(
    private readonly w: ScannerExports,
    options: PickleScannerOptions,
  ) {
    this.acc = new ScanAccumulator(options.traceOpcodes === true);
    this.watched = new Set((options.pauseAfterBuildOf ?? []).map(([m, n]) => `${m} ${n}`));
    const l = { ...DEFAULT_SCANNER_LIMITS, ...options.limits };
    const flags =
      (options.traceOpcodes ? 1 : 0) |
      (options.multiplePickles === false ? 0 : 2) |
      (options.frameReading === 'linear' ? 4 : 0) |
      (this.watched.size > 0 ? 8 : 0);
    const rc = w.init(
      limitValue(l.windowBytes, 1 << 20, 64 << 20) || 1 << 20,
      EVENTS_BYTES,
      limitValue(l.maxStackDepth, 1 << 18, 1 << 26) || 1,
      limitValue(l.maxMarks, 1 << 16, 1 << 24) || 1,
      limitValue(l.maxMemoEntries, 1 << 20, 1 << 26) || 1,
      limitValue(l.maxValues, 1 << 20, 1 << 24),
      limitValue(l.maxEvidenceItems, 8, 8),
      limitValue(l.maxStringBytes, 256, 1024),
      limitValue(l.maxOpcodes, 0, Number.MAX_SAFE_INTEGER),
      flags,
    );
    if (rc !== 0)
      throw new BrineError('scanner-memory', 'could not reserve WASM memory for the scanner limits');
    this.drain();
  }

  // after end() the instance may already serve another scan: answer from the result
  get pendingSkip(): number {
    return this.result ? 0 : this.w.pendingSkip();
  }

  get position(): number {
    return this.result ? this.result.stats.bytesScanned : this.w.position();
  }

  get done(): boolean {
    return this.finished || this.broken || this.w.isDone() === 1;
  }

  /**
   * Runs a step of the WASM scanner; a trap or undecodable events (a scanner bug) become a fatal
   * `scanner-error` anomaly, so a hostile file yields "could not scan", never a crashed caller.
   */
  private guard(step: () => FeedStatus, consumed: number): FeedStatus {
    if (this.broken) return { state: 'done', consumed };
    try {
      return step();
    } catch (e) {
      if (e instanceof BrineError) throw e;
      this.broken = true;
      this.paused = false;
      this.acc.anomalies.push({
        code: 'scanner-error',
        offset: this.lastPosition,
        pickleIndex: this.acc.currentPickle,
        message: `internal scanner error, scanning stopped: ${(e as Error).message}`,
        fatal: true,
      });
      return { state: 'done', consumed };
    }
  }

  private lastPosition = 0;

  skipped(n: number): void {
    if (!(n >= 0) || n > this.w.pendingSkip()) {
      throw new BrineError('scanner-misuse', `skipped(${n}) exceeds pendingSkip ${this.w.pendingSkip()}`);
    }
    this.w.skipped(n);
  }

  skip(n: number): void {
    if (!this.paused) throw new BrineError('scanner-misuse', 'skip() is only allowed while paused');
    if (!(n >= 0) || !Number.isSafeInteger(n)) throw new BrineError('scanner-misuse', `bad skip length ${n}`);
    this.w.skipBytes(n);
  }

  beginNestedPickle(): void {
    if (!this.paused)
      throw new BrineError('scanner-misuse', 'beginNestedPickle() is only allowed while paused');
    if (this.w.beginNested() !== 0) {
      throw new BrineError('scanner-misuse', 'a nested pickle cannot start inside a nested pickle');
    }
    this.drain();
  }

  private drain(): void {
    const len = this.w.eventsLen();
    if (len > 0) {
      decodeEvents(new Uint8Array(this.w.memory.buffer, this.w.eventsPtr(), len), this.acc);
      this.w.eventsReset();
    } else {
      this.acc.newImports.length = 0;
    }
  }

  /** Runs the scanner until it needs input, pauses or is done. */
  private settle(status: number): number {
    let st = status;
    for (;;) {
      this.drain();
      if (st === ST_EVFULL) {
        st = this.w.resume();
      } else if (st === ST_IMPORT) {
        for (const i of this.acc.newImports) {
          const imp = this.acc.imports[i];
          if (imp?.resolved && this.isWatched(imp)) this.w.markWatched();
        }
        st = this.w.resume();
      } else {
        return st;
      }
    }
  }

  private isWatched(imp: PickleImport): boolean {
    if (this.watched.has(`${imp.module} ${imp.name}`)) return true;
    const [m, n] = fixImport(imp.module, imp.name, imp.protocol);
    return this.watched.has(`${m} ${n}`);
  }

  private status(st: number, consumed: number): FeedStatus {
    if (st === ST_PAUSE) {
      this.paused = true;
      const p = this.acc.pause;
      if (!p) throw new Error('scanner paused without a pause event');
      this.acc.pause = undefined;
      const call = this.acc.calls[p.callIndex] as PickleCall;
      const target = call.target;
      let watched: PickleImport | undefined;
      if (target.kind === 'call') {
        const made = this.acc.calls[target.callIndex];
        if (made?.target.kind === 'global') watched = this.acc.imports[made.target.importIndex];
      }
      return {
        state: 'paused',
        consumed,
        pause: { offset: p.offset, callIndex: p.callIndex, call, watched, partial: this.snapshot(false) },
      };
    }
    if (st === ST_DONE) return { state: 'done', consumed };
    return { state: 'more', consumed };
  }

  feed(chunk: Uint8Array): FeedStatus {
    if (this.paused) throw new BrineError('scanner-misuse', 'feed() while paused: call resume() first');
    if (this.finished) throw new BrineError('scanner-misuse', 'feed() after end()');
    return this.guard(() => this.feedInner(chunk), chunk.length);
  }

  private feedInner(chunk: Uint8Array): FeedStatus {
    if (this.w.isDone() === 1) return { state: 'done', consumed: 0 };
    this.lastPosition = this.w.position();
    let off = 0;
    while (off < chunk.length) {
      const skip = this.w.pendingSkip();
      if (skip > 0) {
        const k = Math.min(skip, chunk.length - off);
        this.w.skipped(k);
        off += k;
        continue;
      }
      const ptr = this.w.inputPtr();
      const space = this.w.inputSpace();
      if (space <= 0) throw new Error('scanner window full without an anomaly');
      const n = Math.min(space, chunk.length - off);
      new Uint8Array(this.w.memory.buffer, ptr, n).set(chunk.subarray(off, off + n));
      off += n;
      const st = this.settle(this.w.push(n));
      if (st !== ST_NEED) return this.status(st, off);
    }
    return { state: 'more', consumed: off };
  }

  resume(): FeedStatus {
    if (!this.paused) return { state: this.done ? 'done' : 'more', consumed: 0 };
    this.paused = false;
    return this.guard(() => this.status(this.settle(this.w.resume()), 0), 0);
  }

  end(): ScanResult {
    if (this.result) return this.result;
    // at end of input a pause has nothing left to skip or nest: keep going to the end
    this.guard(() => {
      let st = this.paused ? this.settle(this.w.resume()) : ST_NEED;
      this.paused = false;
      while (st === ST_PAUSE) st = this.settle(this.w.resume());
      st = this.settle(this.w.finish());
      while (st === ST_PAUSE) st = this.settle(this.w.resume());
      return { state: 'done', consumed: 0 };
    }, 0);
    this.finished = true;
    this.result = this.snapshot(true);
    if (!this.broken) releaseScanner(this.w);
    return this.result;
  }

  private snapshot(final: boolean): ScanResult {
    const a = this.acc;
    const result: ScanResult = {
      imports: final ? a.imports : a.imports.slice(),
      calls: final ? a.calls : a.calls.slice(),
      persistentIds: final ? a.persistentIds : a.persistentIds.slice(),
      extensions: final ? a.extensions : a.extensions.slice(),
      anomalies: final ? a.anomalies : a.anomalies.slice(),
      stats: {
        bytesScanned: this.w.position(),
        bytesSkipped: this.w.statSkipped(),
        opcodes: this.w.statOpcodes(),
        pickles: this.w.statPickles(),
        maxStackDepth: this.w.statMaxDepth(),
        memoEntries: this.w.statMemo(),
        protocols: a.protocols.slice(),
        wasmMemoryBytes: this.w.memory.buffer.byteLength,
      },
      complete: final && !this.broken && !a.anomalies.some((x) => x.fatal),
    };
    if (a.trace) result.trace = final ? a.trace : a.trace.slice();
    return result;
  }
}

/**
 * Creates an incremental scanner (one WASM instance with its own memory). On Node the scanner
 * module is compiled on first use; Workers call {@link loadScannerModule} first.
 */
export async function createPickleScanner(options: PickleScannerOptions = {}): Promise<PickleScanner> {
  return new WasmPickleScanner(await instantiateScanner(), options);
}
