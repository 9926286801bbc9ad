import { spawn } from 'node:child_process';
import { createHash, type Hash } from 'node:crypto';
import { type FileHandle, mkdtemp, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BrineError } from '@brine/core';
import { TAIL_BYTES } from './sniff.js';
import type { StagedEntry } from './staged.js';

/** A staged blob the caller chose to keep, after looking at its head. */
export interface KeptBlob {
  entry: StagedEntry;
  size: number;
  /** The first bytes (at most the head size asked for). */
  head: Uint8Array;
  /** SHA-256 of the whole blob, hex (waivers are tied to it). */
  sha256: string;
  /** The whole blob, when it was small enough to keep in memory. */
  bytes?: Uint8Array;
  /** A temporary file holding the blob, when it was too large for memory. Removed by {@link BlobReader.close}. */
  file?: string;
}

/** A staged blob that was looked at and dropped. */
export interface SkippedBlob {
  entry: StagedEntry;
  size: number;
  /** Internal: the tail matched a blob too large to hold on a maybe; it must be read again. */
  reread?: boolean;
}

/**
 * Decides from a blob's head: keep it, skip it, or `'tail'`: look at its last
 * {@link TAIL_BYTES} bytes too before deciding (see {@link KeepTail}).
 */
export type KeepHead = (head: Uint8Array, size: number, entry: StagedEntry) => boolean | 'tail';

/** Decides from a blob's last bytes, for blobs whose head said `'tail'`. */
export type KeepTail = (tail: Uint8Array, size: number, entry: StagedEntry) => boolean;

/** Limits for reading blobs out of git. */
export interface BlobReadOptions {
  /** Bytes to collect before asking `keep`. */
  headBytes: number;
  /** Kept blobs up to this size stay in memory; larger ones are spilled to a temporary file. */
  memoryLimit: number;
}

/** Default limits: 4 KiB head, 64 MiB in memory. */
export const DEFAULT_BLOB_OPTIONS: BlobReadOptions = {
  headBytes: 4096,
  memoryLimit: 64 * 1024 * 1024,
};

/** Collects one blob: head first, then (only if kept) a hash and the content in memory or on disk. */
class BlobSink {
  // Everything received before the keep/skip decision (the head plus the rest of its last chunk).
  private pending: Buffer[] = [];
  private pendingLen = 0;
  private headBytes: Uint8Array | undefined;
  private decided: 'keep' | 'skip' | 'tail' | undefined;
  // For 'tail' blobs too large to hold: the last bytes seen, for the end-of-blob check.
  private tailParts: Buffer[] | undefined;
  private tailLen = 0;
  private hash: Hash | undefined;
  private memParts: Buffer[] | undefined;
  private fd: FileHandle | undefined;
  private filePath: string | undefined;
  received = 0;

  constructor(
    readonly entry: StagedEntry,
    readonly size: number,
    private readonly options: BlobReadOptions,
    private readonly keep: KeepHead,
    private readonly keepTail: KeepTail | undefined,
    private readonly spillPath: () => Promise<string>,
  ) {}

  async write(chunk: Buffer): Promise<void> {
    this.received += chunk.length;
    if (this.tailParts) return this.keepLast(chunk);
    if (this.decided === 'keep' || this.decided === 'tail') return this.append(chunk);
    if (this.decided === 'skip') return;
    this.pending.push(chunk);
    this.pendingLen += chunk.length;
    if (this.pendingLen >= this.options.headBytes || this.received >= this.size) await this.decide();
  }

  private async decide(): Promise<void> {
    const all = Buffer.concat(this.pending);
    this.headBytes = all.subarray(0, this.options.headBytes);
    this.pending = [];
    const verdict = this.keep(this.headBytes, this.size, this.entry);
    this.decided = verdict === 'tail' ? (this.keepTail ? 'tail' : 'skip') : verdict ? 'keep' : 'skip';
    if (this.decided === 'skip') return;
    if (this.decided === 'tail' && this.size > this.options.memoryLimit) {
      // Too large to hold on a maybe: remember only the tail; a match means a second read.
      this.tailParts = [];
      this.keepLast(all);
      return;
    }
    // A 'tail' maybe is hashed only if its tail makes it a keeper (most blobs of a commit are not).
    if (this.decided === 'keep') this.hash = createHash('sha256');
    if (this.size <= this.options.memoryLimit) this.memParts = [];
    else {
      this.filePath = await this.spillPath();
      this.fd = await open(this.filePath, 'w');
    }
    await this.append(all);
  }

  private keepLast(part: Buffer): void {
    const parts = this.tailParts as Buffer[];
    parts.push(part);
    this.tailLen += part.length;
    while (parts.length > 1 && this.tailLen - (parts[0] as Buffer).length >= TAIL_BYTES) {
      this.tailLen -= (parts.shift() as Buffer).length;
    }
  }

  private async append(part: Buffer): Promise<void> {
    this.hash?.update(part);
    if (this.memParts) this.memParts.push(part);
    else if (this.fd) await this.fd.write(part);
  }

  /** Finishes the blob: what was kept, or only its head when it was skipped. */
  async finish(): Promise<KeptBlob | SkippedBlob> {
    if (this.decided === undefined) await this.decide();
    const head = this.headBytes ?? new Uint8Array(0);
    if (this.tailParts) {
      const tail = Buffer.concat(this.tailParts);
      const wanted = this.keepTail?.(
        tail.subarray(Math.max(0, tail.length - TAIL_BYTES)),
        this.size,
        this.entry,
      );
      // Nothing of a skipped blob is kept: an initial commit of 100k files must not hold 100k heads.
      return { entry: this.entry, size: this.size, ...(wanted ? { reread: true } : {}) };
    }
    if (this.decided === 'tail' && this.memParts) {
      const bytes = Buffer.concat(this.memParts);
      this.memParts = [bytes];
      if (!this.keepTail?.(bytes.subarray(Math.max(0, bytes.length - TAIL_BYTES)), this.size, this.entry)) {
        return { entry: this.entry, size: this.size };
      }
      this.hash = createHash('sha256').update(bytes);
    }
    if (this.decided === 'skip' || !this.hash) return { entry: this.entry, size: this.size };
    await this.fd?.close();
    const kept: KeptBlob = { entry: this.entry, size: this.size, head, sha256: this.hash.digest('hex') };
    if (this.memParts) kept.bytes = Buffer.concat(this.memParts);
    if (this.filePath) kept.file = this.filePath;
    return kept;
  }
}

/** Tells a kept blob from a skipped one. */
export function isKept(b: KeptBlob | SkippedBlob): b is KeptBlob {
  return 'sha256' in b;
}

/**
 * Reads staged blobs out of the object database through `git cat-file`, so what is judged is the
 * content being committed, whatever the working tree holds.
 */
export class BlobReader {
  private tempDir: string | undefined;
  private spillCount = 0;

  constructor(
    private readonly root: string,
    private readonly options: BlobReadOptions = DEFAULT_BLOB_OPTIONS,
  ) {}

  private async spillPath(): Promise<string> {
    this.tempDir ??= await mkdtemp(join(tmpdir(), 'brine-precommit-'));
    return join(this.tempDir, `blob-${this.spillCount++}`);
  }

  /**
   * Reads each entry's blob through one `git cat-file --batch`, asks `keep(head)` once the head is
   * in, and keeps the whole blob only when told to (spilled to a temporary file when large). A
   * `'tail'` blob too large to hold on a maybe is read a second time if its tail matches. Optional
   * entries (`:path` index specs) that do not exist are left out; a missing object is an error.
   */
  async read(
    entries: StagedEntry[],
    keep: KeepHead,
    keepTail?: KeepTail,
  ): Promise<Array<KeptBlob | SkippedBlob>> {
    const sink = (k: KeepHead) => (e: StagedEntry, size: number) =>
      new BlobSink(e, size, this.options, k, keepTail, () => this.spillPath());
    const results = await this.readBatch(entries, sink(keep));
    const again = results.filter((r) => 'reread' in r && r.reread).map((r) => r.entry);
    if (again.length === 0) return results;
    // The tail matched after the content went by: read those again, keeping everything this time.
    const second = new Map(
      (
        await this.readBatch(
          again,
          sink(() => true),
        )
      ).map((r) => [r.entry, r] as const),
    );
    return results.map((r) => second.get(r.entry) ?? r);
  }

  private async readBatch(
    entries: StagedEntry[],
    makeSink: (e: StagedEntry, size: number) => BlobSink,
  ): Promise<Array<KeptBlob | SkippedBlob>> {
    if (entries.length === 0) return [];
    const child = spawn('git', ['cat-file', '--batch'], { cwd: this.root, stdio: ['pipe', 'pipe', 'pipe'] });
    const exited = exitOf(child, 'git cat-file --batch', this.root);
    child.stdin.on('error', () => {});
    child.stdin.end(`${entries.map((e) => e.oid).join('\n')}\n`);
    const results: Array<KeptBlob | SkippedBlob> = [];
    let index = 0;
    let header = Buffer.alloc(0);
    let current: BlobSink | undefined;
    let remaining = 0;
    // Output per object, in input order: "<oid> blob <size>\n<content>\n", or "<input> missing\n".
    try {
      for await (const raw of child.stdout as AsyncIterable<Buffer>) {
        let chunk = raw;
        while (chunk.length > 0) {
          if (current) {
            if (remaining > 0) {
              const take = chunk.subarray(0, remaining);
              remaining -= take.length;
              chunk = chunk.subarray(take.length);
              await current.write(take);
              if (remaining > 0) continue;
            }
            // Skip the newline git writes after the content.
            if (chunk.length === 0) break;
            chunk = chunk.subarray(1);
            results.push(await current.finish());
            current = undefined;
            continue;
          }
          const nl = chunk.indexOf(0x0a);
          if (nl < 0) {
            header = Buffer.concat([header, chunk]);
            break;
          }
          const line = Buffer.concat([header, chunk.subarray(0, nl)]).toString('utf8');
          header = Buffer.alloc(0);
          chunk = chunk.subarray(nl + 1);
          const entry = entries[index++];
          if (!entry)
            throw new BrineError('git-failed', `unexpected git cat-file output: ${line}`, this.root);
          if (line.endsWith(' missing')) {
            if (entry.optional) continue;
            throw new BrineError(
              'blob-missing',
              `staged blob ${entry.oid} is not in the object database`,
              entry.path,
            );
          }
          const [oid, type, size] = line.split(' ');
          if (!oid || type !== 'blob' || size === undefined || !/^\d+$/.test(size)) {
            throw new BrineError('git-failed', `unexpected git cat-file output: ${line}`, this.root);
          }
          // An index spec (`:path`) resolves to the object id git printed.
          current = makeSink(entry.optional ? { ...entry, oid } : entry, Number(size));
          remaining = Number(size);
        }
      }
    } catch (e) {
      child.kill();
      await exited.catch(() => {});
      throw e;
    }
    await exited;
    if (current || index !== entries.length) {
      throw new BrineError('git-failed', 'git cat-file --batch output ended early', this.root);
    }
    return results;
  }

  /** Removes temporary files of spilled blobs. */
  async close(): Promise<void> {
    if (this.tempDir) await rm(this.tempDir, { recursive: true, force: true });
    this.tempDir = undefined;
  }
}

function exitOf(child: import('node:child_process').ChildProcess, what: string, cwd: string): Promise<void> {
  const err: Buffer[] = [];
  child.stderr?.on('data', (c: Buffer) => err.push(c));
  return new Promise((resolve, reject) => {
    child.on('error', (e) =>
      reject(new BrineError('git-unavailable', `cannot run ${what}: ${e.message}`, cwd)),
    );
    child.on('close', (code, signal) => {
      if (code === 0) resolve();
      else {
        const msg = Buffer.concat(err).toString('utf8').trim();
        reject(new BrineError('git-failed', `${what} exited ${code ?? signal}: ${msg}`, cwd));
      }
    });
  });
}
