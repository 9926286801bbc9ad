import type { FileReport } from '@brine/rules';

/** Policies the page offers (the built-in ones of `@brine/rules`). */
export type PolicyName = 'default' | 'strict' | 'weights-only';

/** Page → scan worker. The `File` is structured-cloned: a handle, not the file's bytes. */
export interface ScanRequest {
  type: 'scan';
  id: number;
  file: File;
  /** Name for the report: the file name, or its path inside a dropped folder. */
  name: string;
  policy: PolicyName;
}

/** Scan worker → page. */
export type WorkerMessage =
  /** The scanner compiled; `versions` go into downloaded reports. */
  | { type: 'ready'; versions: { engine: string; rules: string } }
  /** The scanner could not be loaded at all: nothing can be scanned. */
  | { type: 'fatal'; message: string }
  | { type: 'progress'; id: number; bytesRead: number }
  | { type: 'done'; id: number; report: FileReport };
