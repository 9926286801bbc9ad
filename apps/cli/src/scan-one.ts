import { createHash } from 'node:crypto';
import { closeSync, createReadStream, fstatSync, openSync, readSync } from 'node:fs';
import {
  BrineError,
  type ByteSource,
  bufferSource,
  type FileScan,
  httpSource,
  openFileSource,
  scan,
  unscannedFile,
} from '@brine/core';
import type { SkippedInput } from '@brine/report';
import { type EvaluateContext, evaluate, type FileReport, type Policy } from '@brine/rules';
import type { ScanInput } from './inputs.js';

/** What every scan of one input needs; plain data, so it can be handed to worker threads. */
export interface ScanSettings {
  policy: Policy;
  /** Inputs larger than this are reported unscannable instead of scanned. */
  maxFileSize?: number;
}

/** The result for one input: a report, or a note that a discovered file was not a model at all. */
export type ScanOutcome = { report: FileReport } | { skipped: SkippedInput };

/** The report for an input that could not be scanned at all. */
export function failedReport(
  file: string,
  code: string,
  message: string,
  policy: Policy,
  size = 0,
): FileReport {
  return evaluate(unscannedFile(file, code, message, size), policy);
}

function describeError(e: unknown): { code: string; message: string } {
  if (e instanceof BrineError) {
    // BrineError prefixes the file name; the report already shows it next to the message.
    const prefix = e.file ? `${e.file}: ` : '';
    return {
      code: e.code,
      message: e.message.startsWith(prefix) ? e.message.slice(prefix.length) : e.message,
    };
  }
  const errno = (e as NodeJS.ErrnoException | undefined)?.code;
  if (errno === 'EACCES' || errno === 'EPERM') return { code: 'unreadable', message: 'permission denied' };
  if (errno === 'ENOENT') return { code: 'not-found', message: 'no such file or directory' };
  if (errno === 'EISDIR') return { code: 'unreadable', message: 'is a directory' };
  return { code: 'internal-error', message: e instanceof Error ? e.message : String(e) };
}

/** Files up to this size are read whole in one go; larger ones are read where the engine asks. */
export const SMALL_FILE = 256 * 1024;

/**
 * Opens a local file. A bulk scan is mostly small files, and for those the many small async reads
 * of a random-access file handle (open, stat, header blocks, close: each a thread-pool round trip)
 * cost more than the scan itself; measured on 5,000 files of 1-50 KiB, reading each whole with
 * synchronous calls halves the CPU time. Large files keep the random-access source, so tensor data
 * is never read.
 */
export async function openLocalFile(path: string): Promise<ByteSource> {
  const fd = openSync(path, 'r');
  try {
    const { size } = fstatSync(fd);
    if (size > SMALL_FILE) return await openFileSource(path);
    const bytes = new Uint8Array(size);
    let got = 0;
    while (got < size) {
      const n = readSync(fd, bytes, got, size - got, got);
      if (n === 0) break;
      got += n;
    }
    return bufferSource(path, got === size ? bytes : bytes.subarray(0, got));
  } finally {
    closeSync(fd);
  }
}

async function openInput(input: ScanInput, signal: AbortSignal | undefined): Promise<ByteSource> {
  switch (input.kind) {
    case 'file':
      return openLocalFile(input.path);
    case 'url':
      return httpSource(input.url, {
        ...(input.headers ? { headers: input.headers } : {}),
        ...(signal ? { signal } : {}),
      });
    default:
      throw new BrineError('bad-argument', `cannot open ${input.kind} input here`, input.name);
  }
}

/** Pinned waivers need the file's SHA-256; hashing reads the whole file, so only when one exists. */
function needsHash(policy: Policy): boolean {
  return policy.waivers.some((w) => w.sha256 !== undefined);
}

async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

// Problems the engine reports for content that is simply not a model (a README, an empty file).
const NOT_A_MODEL = new Set(['not-a-model-format', 'empty-file']);

/** A discovered file the engine recognised no format in, with nothing else wrong: not a model. */
function isNotAModel(s: FileScan): boolean {
  return (
    s.format === 'unknown' &&
    s.streams.length === 0 &&
    s.containerFindings.length === 0 &&
    s.problems.every((p) => NOT_A_MODEL.has(p.code))
  );
}

/** The same source under the name the user knows it by (`hf://…` rather than the resolve URL). */
function renamed(source: ByteSource, name: string): ByteSource {
  if (source.name === name) return source;
  return {
    name,
    get size() {
      return source.size;
    },
    get bytesRead() {
      return source.bytesRead;
    },
    read: (offset, length) => source.read(offset, length),
    close: () => source.close(),
  };
}

/**
 * Scans an already opened source and applies the policy. Never throws: failures become problems.
 * With `discovered`, content that is no model format is skipped rather than reported unscannable:
 * a folder of models also holds READMEs and configs, and those must not turn every run into exit 2.
 */
export async function scanSource(
  source: ByteSource,
  name: string,
  settings: ScanSettings,
  extra: { discovered?: boolean; context?: EvaluateContext; signal?: AbortSignal } = {},
): Promise<ScanOutcome> {
  if (settings.maxFileSize !== undefined && source.size > settings.maxFileSize) {
    const message = `${source.size} bytes is over --max-file-size (${settings.maxFileSize} bytes); not scanned`;
    return { report: failedReport(name, 'too-large', message, settings.policy, source.size) };
  }
  let fileScan: FileScan;
  try {
    fileScan = await scan(renamed(source, name), extra.signal ? { signal: extra.signal } : {});
  } catch (e) {
    const { code, message } = describeError(e);
    fileScan = unscannedFile(name, code, message, source.size);
  }
  if (extra.discovered && isNotAModel(fileScan)) {
    return { skipped: { file: name, size: fileScan.size, reason: 'content is not a format brine scans' } };
  }
  return { report: evaluate(fileScan, settings.policy, extra.context ?? {}) };
}

/**
 * Scans one input from start to verdict. Unreadable, missing, truncated and non-model inputs all
 * come back as a report (with problems), so one bad file never stops a bulk scan.
 */
export async function scanInput(
  input: ScanInput,
  settings: ScanSettings,
  signal?: AbortSignal,
): Promise<ScanOutcome> {
  if (input.kind === 'missing') {
    return { report: failedReport(input.name, input.code, input.message, settings.policy) };
  }
  let source: ByteSource;
  try {
    source = await openInput(input, signal);
  } catch (e) {
    const { code, message } = describeError(e);
    return { report: failedReport(input.name, code, message, settings.policy) };
  }
  try {
    const context: EvaluateContext = {};
    if (input.kind === 'file' && needsHash(settings.policy)) context.sha256 = await sha256File(input.path);
    return await scanSource(source, input.name, settings, {
      ...(input.kind !== 'stdin' && input.discovered ? { discovered: true } : {}),
      ...(signal ? { signal } : {}),
      context,
    });
  } catch (e) {
    const { code, message } = describeError(e);
    return { report: failedReport(input.name, code, message, settings.policy, source.size) };
  } finally {
    await source.close().catch(() => {});
  }
}
