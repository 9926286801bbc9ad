import type { EngineLimits } from '../engine/limits.js';
import type { FormatId, InnerPath, StreamScan } from '../engine/types.js';
import type { ForwardReader } from '../source/stream.js';
import type { ByteSource } from '../source/types.js';

/** A finding or problem as a reader sees it; the engine adds the container path. */
export interface Note {
  kind: 'finding' | 'problem';
  code: string;
  message: string;
  offset?: number;
  /** Entry inside the container the note is about (appended to the path). */
  entry?: string;
  evidence?: Record<string, string | number | boolean>;
}

/** Shared resource accounting for one top-level scan (decompression bombs, entry floods). */
export interface Budget {
  readonly maxEntries: number;
  readonly maxDirectoryBytes: number;
  /** Charges decompressed bytes; throws `BrineError('limit-inflate')` past the limit. */
  chargeInflated(bytes: number, name: string): void;
}

/** Options for scanning one pickle stream a reader found. */
export interface PickleStreamOptions {
  /** Offset of the stream's first byte in the outermost file, when stored there as-is. */
  fileOffset?: number;
  /**
   * 1: stop at the first STOP and leave the reader right after it (legacy torch reads its five
   * stacked pickles one by one). Otherwise every back-to-back pickle is scanned.
   */
  maxPickles?: number;
  /** Skip joblib's raw numpy array bytes after each `NumpyArrayWrapper` (and recurse into object arrays). */
  joblib?: boolean;
}

/** What a reader may do while it walks its container: report, scan pickles, descend. */
export interface ReaderContext {
  readonly path: InnerPath;
  readonly depth: number;
  readonly budget: Budget;
  readonly limits: EngineLimits;
  readonly signal: AbortSignal | undefined;
  /** Refines the format of this container once its structure is known (zip → pytorch-zip). */
  setFormat(format: FormatId): void;
  note(note: Note): void;
  /** Scans a pickle stream; resolves with the scan and where the stream stopped (bytes consumed). */
  scanPickle(
    reader: ForwardReader,
    entry: string | undefined,
    role: string,
    opts?: PickleStreamOptions,
  ): Promise<{ scan: StreamScan; consumed: number }>;
  /** True when `head` is a plausible pickle, not data that merely starts with a PROTO byte. */
  looksLikePickle?(head: Uint8Array): Promise<boolean>;
  /** Descends into a nested container with random access (a stored zip entry, a buffer). */
  nested(source: ByteSource, entry: string, opts?: { fileOffset?: number; role?: string }): Promise<FormatId>;
  /** Descends into a nested container that can only be read forward (decompressed data). */
  nestedStream(reader: ForwardReader, entry: string, opts?: { role?: string }): Promise<FormatId>;
}

/**
 * A container reader (trivy's analyzer pattern): one file per format, registered in
 * `registry.ts`. `detect` looks only at content, never at the file name.
 */
export interface ContainerReader {
  readonly format: FormatId;
  /** Bumped whenever what the reader finds can change, so cached results are invalidated. */
  readonly version: string;
  /** True when `head` (the first bytes; `size` when known) is this format. */
  detect(head: Uint8Array, size: number | undefined): boolean;
  /** Reads the container with random access. */
  open?(source: ByteSource, ctx: ReaderContext): Promise<void>;
  /** Reads the container front to back (works on decompressed streams too). */
  stream?(reader: ForwardReader, ctx: ReaderContext): Promise<void>;
}
