import type { ScanResult } from '../pickle/events.js';

/** Formats brine recognises by content (magic bytes and structure), never by file name. */
export type FormatId =
  | 'pickle'
  | 'zip'
  | 'pytorch-zip'
  | 'torchscript'
  | 'torch-package'
  | 'legacy-torch'
  | 'legacy-torch-tar'
  | 'tar'
  | 'npy'
  | 'npz'
  | 'joblib'
  | 'gzip'
  | 'bz2'
  | 'xz'
  | 'zlib'
  | 'lz4'
  | '7z'
  | 'safetensors'
  | 'gguf'
  | 'unknown';

/**
 * Path of something inside nested containers, outermost first:
 * `['model.pt', 'archive/data.pkl']` is shown as `model.pt › archive/data.pkl`.
 */
export type InnerPath = string[];

/** A structural fact found by a container reader that an attacker can use (or that breaks loading). */
export interface ContainerFinding {
  /** Stable code, e.g. `zip-local-name-mismatch`, `zip-crc-mismatch`, `name-format-mismatch`. */
  code: string;
  message: string;
  path: InnerPath;
  offset?: number;
  evidence?: Record<string, string | number | boolean>;
}

/** One pickle stream the engine found and scanned. */
export interface StreamScan {
  path: InnerPath;
  /** What holds the stream and why a loader would unpickle it (e.g. `torch data.pkl`, `npy object array`). */
  role: string;
  /** Offset of the stream's first byte in the outermost file, when the bytes are stored there uncompressed. */
  fileOffset?: number;
  result: ScanResult;
}

/** A problem that stopped part of a file from being scanned. Such a file is never reported clean. */
export interface ScanProblem {
  code: string;
  message: string;
  path: InnerPath;
  offset?: number;
}

/** Everything the engine learned about one input file. `@brine/rules` turns it into a verdict. */
export interface FileScan {
  /** The input as the user named it (path, URL, `<stdin>`). */
  file: string;
  size: number;
  /** Outermost format detected by content. */
  format: FormatId;
  /** Every format met while descending, with where (for reports and name/content mismatch). */
  formats: Array<{ path: InnerPath; format: FormatId }>;
  streams: StreamScan[];
  containerFindings: ContainerFinding[];
  problems: ScanProblem[];
  /** Bytes read from the source (tensor data is skipped, so this is usually far below `size`). */
  bytesRead: number;
  durationMs: number;
  /** Version of the engine's own logic; with `readerVersions`, the cache key next to the file's SHA-256. */
  engineVersion?: string;
  /** Version of every container reader, by format. */
  readerVersions?: Record<string, string>;
}

/** Typed error for failures the caller must handle (unreadable file, bad URL...). */
export class BrineError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly file?: string,
    readonly offset?: number,
  ) {
    super(file ? `${file}: ${message}` : message);
    this.name = 'BrineError';
  }
}
