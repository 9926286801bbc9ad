/** Resource limits of one app instance. Every one is a guard against a hostile or runaway request. */
export interface Limits {
  /** Largest upload accepted by `POST /v1/scan` (checked against Content-Length and while streaming). */
  maxUploadBytes: number;
  /**
   * Uploads up to this size are buffered and scanned exactly as a local file would be; larger ones are
   * scanned as they stream in, with memory bounded by this and the engine's own windows.
   */
  maxBufferedBytes: number;
  /** Wall-clock budget for one request; past it the request ends with 504 `time-budget-exceeded`. */
  timeBudgetMs: number;
  /** Scans running at once in this instance; beyond it requests get 429 with `Retry-After`. */
  maxConcurrentScans: number;
  /** Bytes one `scan-url` request may fetch from remote servers, all files and redirects together. */
  maxRemoteBytes: number;
  /** Redirects followed per remote request. */
  maxRedirects: number;
  /** Files scanned for one Hugging Face repository. */
  maxRemoteFiles: number;
  /** Largest JSON request body (for `scan-url`). */
  maxJsonBytes: number;
  /**
   * Largest checkpoint `POST /v1/convert` takes: conversion needs random access (the zip directory is at
   * the end, storages are read in key order), so the upload is held in memory.
   */
  maxConvertBytes: number;
  /**
   * CPU time one upload's scan may use (Node, where each scan runs in a worker thread that is
   * terminated past it; on Workers the platform's per-request CPU limit plays this part).
   */
  scanCpuMs: number;
  /** Longest wait for the next piece of an upload before the request ends with 408 `upload-too-slow`. */
  uploadIdleMs: number;
  /**
   * Lowest average upload rate, measured over the time spent waiting for the client once that passes
   * `uploadIdleMs`; slower uploads end with 408 `upload-too-slow` and free their scan slot.
   */
  minUploadBytesPerSecond: number;
}

/** Defaults sized for a Workers isolate (128 MB) and for a 10 GiB checkpoint uploaded at LAN speed. */
export const DEFAULT_LIMITS: Limits = {
  maxUploadBytes: 16 * 1024 ** 3,
  maxBufferedBytes: 16 * 1024 ** 2,
  timeBudgetMs: 10 * 60_000,
  maxConcurrentScans: 8,
  maxRemoteBytes: 256 * 1024 ** 2,
  maxRedirects: 5,
  maxRemoteFiles: 64,
  maxJsonBytes: 16 * 1024,
  maxConvertBytes: 64 * 1024 ** 2,
  scanCpuMs: 60_000,
  uploadIdleMs: 30_000,
  minUploadBytesPerSecond: 16 * 1024,
};

/** Fills unset limits with the defaults and rejects nonsense (zero, negative, NaN). */
export function resolveLimits(partial: Partial<Limits> = {}): Limits {
  const limits = { ...DEFAULT_LIMITS };
  for (const [key, value] of Object.entries(partial) as Array<[keyof Limits, number | undefined]>) {
    if (value === undefined) continue;
    if (!Number.isFinite(value) || value <= 0) throw new RangeError(`limit ${key} must be a positive number`);
    limits[key] = value;
  }
  return limits;
}
