import { readZipArchive } from '../container/pytorch.js';
import { readerFor, readerVersions } from '../container/registry.js';
import type {
  Budget,
  ContainerReader,
  Note,
  PickleStreamOptions,
  ReaderContext,
} from '../container/types.js';
import { findEocdCandidates } from '../container/zip.js';
import type { ScanResult } from '../pickle/events.js';
import { bufferSource } from '../source/buffer.js';
import { type ForwardReader, readAll, sourceReader } from '../source/stream.js';
import type { ByteSource } from '../source/types.js';
import { embeddedPickleLiterals } from './embedded.js';
import { DEFAULT_LIMITS, type EngineLimits } from './limits.js';
import { expectedFormats, extensionOf } from './names.js';
import { looksLikePickle, runPickle } from './pickle-driver.js';
import { BrineError, type FileScan, type FormatId, type InnerPath, type StreamScan } from './types.js';

/** Version of the engine's own logic (recursion, limits, polyglot checks); reported in every FileScan. */
export const ENGINE_VERSION = '1';

/** Options for {@link scan}. */
export interface ScanOptions {
  /** Overrides for the resource limits (depth, entries, inflated bytes ...); see {@link DEFAULT_LIMITS}. */
  limits?: Partial<EngineLimits>;
  /** Stops the scan; what was found so far is returned with an `aborted` problem. */
  signal?: AbortSignal;
}

const HEAD = 512;
const ZIP_FAMILY: ReadonlySet<FormatId> = new Set([
  'zip',
  'pytorch-zip',
  'torchscript',
  'torch-package',
  'npz',
]);

/** A `FileScan` with nothing found yet, stamped with the engine and reader versions. */
function emptyFileScan(file: string, size: number): FileScan {
  return {
    file,
    size,
    format: 'unknown',
    formats: [],
    streams: [],
    containerFindings: [],
    problems: [],
    bytesRead: 0,
    durationMs: 0,
    engineVersion: ENGINE_VERSION,
    readerVersions: readerVersions(),
  };
}

/**
 * The scan of an input the engine never got to read (missing file, refused URL, too large, absent LFS
 * object). Frontends pass it through the rules like any other scan, so its verdict (`unscannable`,
 * never clean) is the rules' decision.
 */
export function unscannedFile(file: string, code: string, message: string, size = 0): FileScan {
  const out = emptyFileScan(file, size);
  out.problems.push({ code, message, path: [file] });
  return out;
}

/**
 * Scans one input: detects its format by content, walks every container, scans every pickle a
 * loader would unpickle, and records every structural finding and every part it could not read.
 * It never throws for bad content; only a failing source (I/O) can end it early, and even then
 * the result so far is returned with a problem.
 */
export async function scan(source: ByteSource, options: ScanOptions = {}): Promise<FileScan> {
  const started = performance.now();
  const limits: EngineLimits = { ...DEFAULT_LIMITS, ...options.limits };
  const out = emptyFileScan(source.name, source.size);
  const walk = new Walk(out, limits, options.signal);
  const path: InnerPath = [source.name];
  try {
    if (source.size === 0) {
      out.problems.push({ code: 'empty-file', message: 'file is empty: not a model format', path });
    } else {
      out.format = await walk.visitSource(source, path, 0, { fileOffset: 0 });
      if (out.format === 'unknown') {
        // Unknown bytes in front of a zip (a stub, a self-extractor): zip readers find the archive
        // from its end, so the file is that zip, with its leading data reported by the zip reader.
        const zipped = await walk.zipFromEnd(source, path);
        if (zipped) out.format = zipped;
        else {
          out.problems.push({
            code: 'not-a-model-format',
            message:
              'content matches no model or archive format brine reads (not a pickle, zip, npy, safetensors ...)',
            path,
          });
        }
      } else if (!ZIP_FAMILY.has(out.format)) await walk.polyglot(source, path, out.format);
    }
  } catch (e) {
    walk.fail(e, path);
  }
  out.bytesRead = source.bytesRead;
  out.durationMs = performance.now() - started;
  return out;
}

/** Forward readers by format, for {@link scanForward}. */
export type StreamReaders = Partial<
  Record<FormatId, (reader: ForwardReader, ctx: ReaderContext) => Promise<unknown>>
>;

/** Options for {@link scanForward}. */
export interface ScanForwardOptions extends ScanOptions {
  /** Shown in reports (an upload's file name, `<stdin>`). */
  name: string;
  /** Total size when declared in advance (Content-Length); the result's `size` is the bytes consumed otherwise. */
  size?: number;
  /** Forward readers for top-level formats whose registered reader needs random access (zip). */
  streamReaders?: StreamReaders;
}

/**
 * Scans input that can be read only once, front to back (an upload as it arrives). Like
 * {@link scan}, but random-access formats at the top level go to `streamReaders` (or are buffered
 * up to `limits.maxBufferedBytes`), and the polyglot check from the end of the file is left to the
 * caller, who alone sees the end. `scanStream` in `scan-stream.ts` is the public entry.
 */
export async function scanForward(reader: ForwardReader, options: ScanForwardOptions): Promise<FileScan> {
  const started = performance.now();
  const limits: EngineLimits = { ...DEFAULT_LIMITS, ...options.limits };
  const out = emptyFileScan(options.name, options.size ?? 0);
  const walk = new Walk(out, limits, options.signal, options.streamReaders);
  const path: InnerPath = [options.name];
  try {
    if ((await reader.peek(1)).length === 0) {
      out.problems.push({ code: 'empty-file', message: 'file is empty: not a model format', path });
    } else {
      out.format = await walk.visitStream(reader, path, 0, {});
      if (out.format === 'unknown') {
        out.problems.push({
          code: 'not-a-model-format',
          message:
            'content matches no model or archive format brine reads (not a pickle, zip, npy, safetensors ...)',
          path,
        });
      }
    }
  } catch (e) {
    walk.fail(e, path);
  }
  out.bytesRead = reader.position;
  out.durationMs = performance.now() - started;
  return out;
}

class Walk {
  private inflated = 0;
  readonly budget: Budget;

  constructor(
    readonly out: FileScan,
    readonly limits: EngineLimits,
    readonly signal: AbortSignal | undefined,
    readonly streamReaders: StreamReaders = {},
  ) {
    this.budget = {
      maxEntries: limits.maxEntries,
      maxDirectoryBytes: limits.maxDirectoryBytes,
      chargeInflated: (bytes, name) => {
        this.inflated += bytes;
        if (this.inflated > limits.maxInflatedBytes) {
          throw new BrineError(
            'limit-inflate',
            `decompressed data passed ${limits.maxInflatedBytes} bytes (a decompression bomb, or raise maxInflatedBytes)`,
            name,
          );
        }
        this.checkAbort();
      },
    };
  }

  checkAbort() {
    if (this.signal?.aborted) throw new BrineError('aborted', 'scan aborted');
  }

  fail(e: unknown, path: InnerPath, offset?: number) {
    const code = e instanceof BrineError ? e.code : 'internal-error';
    const message =
      e instanceof BrineError ? e.message : `unexpected error: ${e instanceof Error ? e.message : String(e)}`;
    const at = e instanceof BrineError && e.offset !== undefined ? e.offset : offset;
    this.out.problems.push({ code, message, path, ...(at === undefined ? {} : { offset: at }) });
  }

  /** Random-access descent: readers with `open` get the source, others a forward view of it. */
  async visitSource(
    source: ByteSource,
    path: InnerPath,
    depth: number,
    opts: VisitOptions,
  ): Promise<FormatId> {
    if (!this.depthOk(path, depth)) return 'unknown';
    const head = await source.read(0, HEAD);
    const reader = readerFor(head, source.size);
    return this.run(reader, path, depth, opts, (r, ctx) => {
      if (r.open) return r.open(source, ctx);
      return (r.stream as NonNullable<ContainerReader['stream']>)(
        sourceReader(source, 0, source.size, path.at(-1)),
        ctx,
      );
    });
  }

  /** Forward-only descent (decompressed data): random-access formats are buffered within limits. */
  async visitStream(
    reader: ForwardReader,
    path: InnerPath,
    depth: number,
    opts: VisitOptions,
  ): Promise<FormatId> {
    if (!this.depthOk(path, depth)) return 'unknown';
    const head = await reader.peek(HEAD);
    const r = readerFor(head, reader.size);
    // A whole input arriving as a stream (scanForward) cannot be buffered: formats that need
    // random access are then read front to back by a forward reader, if one is given.
    const forward = depth === 0 && r ? this.streamReaders[r.format] : undefined;
    if (r && forward) {
      return this.run(r, path, depth, opts, async (_rd, ctx) => {
        await forward(reader, ctx);
      });
    }
    if (r && !r.stream) {
      const { bytes, complete } = await readAll(reader, this.limits.maxBufferedBytes);
      if (!complete) {
        this.out.formats.push({ path, format: r.format });
        this.out.problems.push({
          code: 'limit-buffer',
          message: `${r.format} inside a stream is larger than ${this.limits.maxBufferedBytes} bytes and needs random access; not scanned`,
          path,
        });
        return r.format;
      }
      return this.visitSource(bufferSource(path.at(-1) ?? '', bytes), path, depth, opts);
    }
    return this.run(r, path, depth, opts, (rd, ctx) =>
      (rd.stream as NonNullable<ContainerReader['stream']>)(reader, ctx),
    );
  }

  private depthOk(path: InnerPath, depth: number): boolean {
    if (depth <= this.limits.maxDepth) return true;
    this.out.problems.push({
      code: 'limit-depth',
      message: `containers nested deeper than ${this.limits.maxDepth} levels; not scanned`,
      path,
    });
    return false;
  }

  private async run(
    reader: ContainerReader | undefined,
    path: InnerPath,
    depth: number,
    opts: VisitOptions,
    go: (r: ContainerReader, ctx: ReaderContext) => Promise<void>,
  ): Promise<FormatId> {
    const record = { path, format: reader?.format ?? ('unknown' as FormatId) };
    this.out.formats.push(record);
    if (reader) {
      const ctx = this.context(path, depth, record);
      try {
        this.checkAbort();
        await go(reader, ctx);
      } catch (e) {
        this.fail(e, path);
      }
    }
    this.checkName(path, record.format, opts);
    return record.format;
  }

  private checkName(path: InnerPath, format: FormatId, opts: VisitOptions) {
    const name = path.at(-1) ?? '';
    const expected = expectedFormats(name);
    if (!expected || expected.includes(format)) return;
    if (format === 'unknown' && path.length > 1) return; // plain data inside an archive
    this.out.containerFindings.push({
      code: 'name-format-mismatch',
      message: `named .${extensionOf(name)} but the content is ${format}`,
      path,
      ...(opts.fileOffset === undefined ? {} : { offset: opts.fileOffset }),
      evidence: { extension: extensionOf(name) ?? '', format, expected: expected.join('|') },
    });
  }

  private context(path: InnerPath, depth: number, record: { format: FormatId }): ReaderContext {
    const walk = this;
    return {
      path,
      depth,
      budget: this.budget,
      limits: this.limits,
      signal: this.signal,
      setFormat(format) {
        record.format = format;
      },
      note: (n) => this.note(path, n),
      async scanPickle(reader, entry, role, opts = {}) {
        const p = entry === undefined ? path : [...path, entry];
        return walk.scanPickle(reader, p, role, opts);
      },
      looksLikePickle,
      nested: (source, entry, o = {}) => this.visitSource(source, [...path, entry], depth + 1, o),
      nestedStream: (reader, entry, o = {}) => this.visitStream(reader, [...path, entry], depth + 1, o),
    };
  }

  note(path: InnerPath, n: Note) {
    const p = n.entry === undefined ? path : [...path, n.entry];
    const base = {
      code: n.code,
      message: n.message,
      path: p,
      ...(n.offset === undefined ? {} : { offset: n.offset }),
    };
    if (n.kind === 'problem') this.out.problems.push(base);
    else this.out.containerFindings.push({ ...base, ...(n.evidence ? { evidence: n.evidence } : {}) });
  }

  async scanPickle(
    reader: ForwardReader,
    path: InnerPath,
    role: string,
    opts: PickleStreamOptions,
  ): Promise<{ scan: StreamScan; consumed: number }> {
    if (this.out.streams.length >= this.limits.maxStreams) {
      throw new BrineError('limit-streams', `more than ${this.limits.maxStreams} pickle streams in one file`);
    }
    const start = reader.position;
    const hooks = { checkAbort: () => this.checkAbort() };
    const run = await runPickle(reader, opts, hooks);
    const stream: StreamScan = {
      path,
      role,
      ...(opts.fileOffset === undefined ? {} : { fileOffset: opts.fileOffset }),
      result: run.result,
    };
    this.out.streams.push(stream);
    for (const n of run.notes) this.note(path, n);
    if (run.error) this.fail(run.error, path, run.consumed);
    // After a FRAME crossing, torch.load (a file without peek) and pickle.loads read different
    // opcodes: scan the other reading too, from a fresh reader over the same bytes.
    if (run.result.anomalies.some((a) => a.code === 'frame-crossing')) {
      const again = reader.restart?.();
      if (again && (await again.skip(start)) === start) {
        const linear = await runPickle(again, opts, hooks, 'linear');
        this.out.streams.push({
          ...stream,
          role: `${role} (pickle.loads FRAME reading)`,
          result: linear.result,
        });
        for (const n of linear.notes) this.note(path, n);
        if (linear.error) this.fail(linear.error, path, linear.consumed);
      } else {
        this.note(path, {
          kind: 'problem',
          code: 'frame-reading-unchecked',
          message:
            'pickle crosses a FRAME boundary and the stream cannot be re-read to scan it the other way',
        });
      }
    }
    await this.scanEmbedded(reader, start, path, run.result);
    return { scan: stream, consumed: run.consumed };
  }

  /**
   * Pickles carried as bytes/text literals and handed to a call (`pickle.loads(b"...")`) are unpickled
   * when the outer one is: each is scanned as a stream of its own, at path `‹nested@offset›`.
   */
  async scanEmbedded(reader: ForwardReader, start: number, path: InnerPath, result: ScanResult) {
    for (const lit of embeddedPickleLiterals(result)) {
      // Array data can start with a PROTO byte too: only what a trial scan reads as a pickle counts.
      if (!(await looksLikePickle(lit.head))) continue;
      const entry = `‹nested@${lit.offset}›`;
      const at = start + lit.offset;
      const again = reader.restart?.();
      if (lit.length > this.limits.maxBufferedBytes || !again || (await again.skip(at)) !== at) {
        this.note(path, {
          kind: 'problem',
          code: 'nested-pickle-unscanned',
          entry,
          offset: lit.offset,
          message: `a ${lit.length}-byte literal that starts like a pickle could not be re-read to scan it`,
        });
        continue;
      }
      const bytes = await again.read(lit.length);
      if (!(await looksLikePickle(bytes.subarray(0, 4096)))) continue;
      await this.visitSource(bufferSource(entry, bytes), [...path, entry], path.length, {
        role: 'pickle embedded in a literal',
      });
    }
  }

  /**
   * `pickle.load` and torch read offset 0; zip readers find the archive from its end. A file that
   * is both (a zip glued after a pickle, or the reverse) is reported and both readings scanned.
   */
  /** Reads the file as the zip its end record describes; undefined when it has none. */
  async zipFromEnd(source: ByteSource, path: InnerPath): Promise<FormatId | undefined> {
    if (source.size < 22 || (await findEocdCandidates(source)).at.length === 0) return undefined;
    const record = this.out.formats.find((f) => f.path === path) ?? { path, format: 'zip' as FormatId };
    record.format = 'zip';
    // the name was checked against "unknown"; check it again against what the file turned out to be
    this.out.containerFindings = this.out.containerFindings.filter(
      (f) => !(f.code === 'name-format-mismatch' && f.path === path),
    );
    try {
      await readZipArchive(source, this.context(path, 0, record));
    } catch (e) {
      this.fail(e, path);
    }
    this.checkName(path, record.format, { fileOffset: 0 });
    return record.format;
  }

  async polyglot(source: ByteSource, path: InnerPath, format: FormatId) {
    if (source.size < 22) return;
    const { at } = await findEocdCandidates(source);
    if (at.length === 0) return;
    this.out.containerFindings.push({
      code: 'polyglot-zip',
      message: `file reads as ${format} from offset 0 and also holds a zip archive found from its end; both are scanned`,
      path,
      offset: at[0] as number,
      evidence: { format, eocdOffset: at[0] as number },
    });
    const zipPath = [...path, '[zip view]'];
    const record = { path: zipPath, format: 'zip' as FormatId };
    this.out.formats.push(record);
    try {
      await readZipArchive(source, this.context(zipPath, 1, record));
    } catch (e) {
      this.fail(e, zipPath);
    }
  }
}

interface VisitOptions {
  fileOffset?: number;
  role?: string;
}
