import { BrineError } from '../engine/types.js';
import type { ByteSource } from './types.js';

/** Options for {@link BrowserFileSource}. */
export interface BrowserFileSourceOptions {
  /** Name shown in findings and errors; defaults to `File.name`, or `<blob>` for a plain Blob. */
  name?: string;
  /**
   * Called after every read with the range just read and the running total, so a page can show
   * progress for a large file without knowing which parts the engine will skip.
   */
  onRead?: (offset: number, length: number, bytesRead: number) => void;
}

/**
 * A {@link ByteSource} over a browser `File` or `Blob` (also Node's `Blob` / `fs.openAsBlob`).
 *
 * Every read is a `blob.slice(start, end).arrayBuffer()`, so only the requested bytes are ever
 * loaded: a 20 GB checkpoint dropped on a page costs its zip directory and pickles, not 20 GB.
 */
export class BrowserFileSource implements ByteSource {
  readonly name: string;
  readonly size: number;
  #bytesRead = 0;
  #closed = false;
  readonly #blob: Blob;
  readonly #onRead: BrowserFileSourceOptions['onRead'];

  constructor(blob: Blob, options: BrowserFileSourceOptions = {}) {
    this.#blob = blob;
    this.size = blob.size;
    const fileName = (blob as Partial<File>).name;
    this.name = options.name ?? (typeof fileName === 'string' && fileName !== '' ? fileName : '<blob>');
    this.#onRead = options.onRead;
  }

  get bytesRead(): number {
    return this.#bytesRead;
  }

  async read(offset: number, length: number): Promise<Uint8Array> {
    if (this.#closed) throw new BrineError('source-closed', 'read after the source was closed', this.name);
    if (!Number.isSafeInteger(offset) || offset < 0 || !Number.isSafeInteger(length) || length < 0) {
      throw new BrineError(
        'bad-range',
        `invalid read of ${length} bytes at offset ${offset}`,
        this.name,
        offset,
      );
    }
    const start = Math.min(offset, this.size);
    const end = Math.min(this.size, start + length);
    if (end === start) return new Uint8Array(0);
    let buffer: ArrayBuffer;
    try {
      buffer = await this.#blob.slice(start, end).arrayBuffer();
    } catch (err) {
      // Browsers throw NotReadableError when the file changed or was removed after it was picked.
      const why = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
      throw new BrineError(
        'read-failed',
        `cannot read ${end - start} bytes at offset ${start} (${why})`,
        this.name,
        start,
      );
    }
    if (buffer.byteLength !== end - start) {
      throw new BrineError(
        'read-failed',
        `short read: asked for ${end - start} bytes at offset ${start}, got ${buffer.byteLength} (did the file change?)`,
        this.name,
        start,
      );
    }
    this.#bytesRead += buffer.byteLength;
    this.#onRead?.(start, buffer.byteLength, this.#bytesRead);
    return new Uint8Array(buffer);
  }

  async close(): Promise<void> {
    this.#closed = true;
  }
}
