import { JOBLIB_WRAPPER, joblibArrayLayout } from '../container/joblib.js';
import type { Note, PickleStreamOptions } from '../container/types.js';
import type { ScanResult } from '../pickle/events.js';
import { type BuildPause, createPickleScanner, type FeedStatus } from '../pickle/scanner.js';
import { concat, type ForwardReader } from '../source/stream.js';
import { BrineError } from './types.js';

/** What the engine gives the driver. */
export interface PickleDriverHooks {
  checkAbort(): void;
}

/** One driven scan: the scanner's result, bytes of the stream it covered, notes, and the error that cut it short. */
export interface PickleRun {
  result: ScanResult;
  /** Stream bytes the pickle(s) occupied, skipped array data included. */
  consumed: number;
  notes: Note[];
  error?: BrineError;
}

/**
 * Read sizes: small right after a skip (joblib: a few hundred pickle bytes sit between arrays, so a
 * big read would mostly fetch array bytes about to be skipped), doubling while no skip happens.
 */
const FIRST_CHUNK = 4 * 1024;
const CHUNK = 256 * 1024;
/** Fed bytes kept for giving back and for reading joblib padding bytes held in the scanner's window. */
const HISTORY = 2 * 1024 * 1024 + CHUNK;

/**
 * Feeds a forward reader through the incremental WASM pickle scanner. The reader is left right
 * after the last byte the scanner used, so stacked formats (legacy torch) can continue there.
 * Joblib's raw array bytes are skipped (from the source when possible, never buffered) and object
 * arrays are scanned as the nested pickles they are. Errors from the reader (a corrupt
 * decompressor, a bomb) end the scan, but the result so far is kept.
 */
export async function runPickle(
  reader: ForwardReader,
  opts: PickleStreamOptions,
  hooks: PickleDriverHooks,
  frameReading: 'c-file' | 'linear' = 'c-file',
): Promise<PickleRun> {
  const notes: Note[] = [];
  const scanner = await createPickleScanner({
    frameReading,
    multiplePickles: opts.maxPickles !== 1,
    ...(opts.joblib ? { pauseAfterBuildOf: [[JOBLIB_WRAPPER.module, JOBLIB_WRAPPER.name]] } : {}),
  });
  // Recently fed bytes, as [stream offset of first byte, chunks]; trimmed to HISTORY.
  let histStart = 0;
  const hist: Uint8Array[] = [];
  let histLen = 0;
  let fed = 0; // stream offset of the next byte to feed
  let error: BrineError | undefined;
  let chunkSize = FIRST_CHUNK;

  const remember = (c: Uint8Array) => {
    hist.push(c);
    histLen += c.length;
    while (histLen - (hist[0] as Uint8Array).length >= HISTORY) {
      const d = hist.shift() as Uint8Array;
      histLen -= d.length;
      histStart += d.length;
    }
  };
  /** Byte at stream offset `at`, from history when fed already, else from the reader. */
  const byteAt = async (at: number): Promise<number | undefined> => {
    if (at < fed) {
      if (at < histStart) return undefined;
      let o = at - histStart;
      for (const c of hist) {
        if (o < c.length) return c[o];
        o -= c.length;
      }
      return undefined;
    }
    const ahead = await reader.peek(at - fed + 1);
    return ahead[at - fed];
  };

  const onPause = async (p: BuildPause) => {
    const layout = joblibArrayLayout(p.partial, p.call);
    if (layout.kind === 'object') {
      scanner.beginNestedPickle();
      return;
    }
    if (layout.kind === 'unknown') {
      notes.push({
        kind: 'finding',
        code: 'joblib-array-unknown',
        message: `joblib array layout not understood (${layout.why}); raw array bytes are scanned as opcodes`,
        offset: p.offset,
      });
      return;
    }
    let n = layout.bytes;
    if (layout.padded) {
      // joblib >= 1.2 aligns array data: one byte holding the padding length, then that many bytes
      const pad = await byteAt(p.offset);
      if (pad === undefined) {
        notes.push({
          kind: 'finding',
          code: 'joblib-array-truncated',
          message: 'joblib array padding byte missing',
          offset: p.offset,
        });
        return;
      }
      n += 1 + pad;
    }
    scanner.skip(n);
  };

  const drive = async (first: FeedStatus) => {
    let st = first;
    while (st.state === 'paused') {
      await onPause(st.pause);
      st = scanner.resume();
    }
    return st;
  };

  try {
    outer: while (!scanner.done) {
      hooks.checkAbort();
      const pending = scanner.pendingSkip;
      if (pending > 0) {
        // array data and long payloads: advance the source without reading (a seek for files)
        const k = await reader.skip(Math.min(pending, Number.MAX_SAFE_INTEGER));
        if (k === 0) break;
        scanner.skipped(k);
        fed += k;
        chunkSize = FIRST_CHUNK;
        hist.length = 0;
        histLen = 0;
        histStart = fed;
        continue;
      }
      const chunk = await reader.read(chunkSize);
      chunkSize = Math.min(CHUNK, chunkSize * 2);
      if (chunk.length === 0) break;
      remember(chunk);
      fed += chunk.length;
      let rest = chunk;
      while (rest.length > 0) {
        const fedNow = scanner.feed(rest);
        const took = fedNow.consumed;
        const st = await drive(fedNow);
        if (st.state === 'done') break outer;
        rest = rest.subarray(took);
      }
    }
  } catch (e) {
    if (e instanceof BrineError) error = e;
    else throw e;
  }
  const result = scanner.end();
  const consumed = result.stats.bytesScanned;
  // Give back what was read past the scanner's end (its window held more than the pickle).
  const extra = fed - consumed;
  if (extra > 0 && !error) {
    const keep = Math.min(extra, histLen);
    reader.unread(concat(hist).subarray(histLen - keep));
  }
  return { result, consumed, notes, ...(error ? { error } : {}) };
}

/**
 * Whether the first bytes of something look like a real pickle rather than data that happens to
 * start with a PROTO byte (1 in ~10 000 tensor storages does). A pickle the unpickler would reject
 * within these bytes, without importing or calling anything first, runs nothing and is not one.
 */
export async function looksLikePickle(head: Uint8Array): Promise<boolean> {
  const scanner = await createPickleScanner({ multiplePickles: false });
  scanner.feed(head);
  const r = scanner.end();
  if (r.imports.length > 0 || r.calls.length > 0 || r.persistentIds.length > 0) return true;
  const fatal = r.anomalies.find((a) => a.fatal);
  // truncated at the end of the head: it may well continue as a pickle
  return !fatal || fatal.code === 'truncated';
}
