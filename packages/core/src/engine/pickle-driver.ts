import type { Note, PickleStreamOptions } from '../container/types.js';
import type { ScanResult } from '../pickle/events.js';
import type { ForwardReader } from '../source/stream.js';
import { BrineError } from './types.js';

/** What the engine gives the driver for joblib object arrays and cancellation. */
export interface PickleDriverHooks {
  /** Scans a complete pickle nested in the stream at `offset`; returns the bytes it consumed. */
  nestedPickle(reader: ForwardReader, offset: number, role: string): Promise<number>;
  checkAbort(): void;
}

/** One driven scan: the scanner's result, bytes consumed, notes, and the error that cut it short. */
export interface PickleRun {
  result: ScanResult;
  consumed: number;
  notes: Note[];
  error?: BrineError;
}

/** Feeds a forward reader through the WASM pickle scanner. */
export async function runPickle(
  _reader: ForwardReader,
  _opts: PickleStreamOptions,
  _hooks: PickleDriverHooks,
): Promise<PickleRun> {
  throw new BrineError('scanner-unavailable', 'pickle scanner not built yet');
}
