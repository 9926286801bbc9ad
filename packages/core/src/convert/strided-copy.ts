/**
 * Copies one tensor out of its storage as C-contiguous bytes, in bounded memory.
 *
 * A tensor in a checkpoint is a strided view: it may start at an offset into a shared storage, skip
 * elements (`x[::2]`), be transposed (`x.t()`) or repeat elements (stride 0 after `expand`). safetensors
 * holds only contiguous row-major data, so the view is materialised. Contiguous views stream straight
 * through in `chunkBytes` reads. Other views are cut along their outer dimensions into blocks whose
 * storage span and output both fit in `windowBytes`; each block is read once and gathered in memory.
 * A view whose single innermost row spans more than the window falls back to one read per row of its
 * innermost dimension: always correct and bounded, slow only for huge transposed tensors.
 */
import { ConvertError } from './refusal.js';

/** Reads `length` bytes at `offset` from the start of the storage; must return exactly that many. */
export type StorageRead = (offset: number, length: number) => Promise<Uint8Array>;

/** The geometry of a strided view, in elements. */
export interface StridedView {
  itemSize: number;
  storageOffset: number;
  shape: readonly number[];
  stride: readonly number[];
}

export interface CopyOptions {
  /** Size of each read of a contiguous run (and of each yielded chunk when gathering). */
  chunkBytes?: number;
  /** Most storage bytes held at once when gathering a non-contiguous view. */
  windowBytes?: number;
}

/** Number of elements of a shape (1 for a 0-dim scalar). */
export function elementCount(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/**
 * Drops size-1 dimensions and merges neighbours that are laid out back to back, so a view that is
 * contiguous in memory ends up with one dimension of stride 1.
 */
export function collapseDims(
  shape: readonly number[],
  stride: readonly number[],
): { shape: number[]; stride: number[] } {
  const outShape: number[] = [];
  const outStride: number[] = [];
  for (let i = 0; i < shape.length; i++) {
    const size = shape[i] as number;
    const st = stride[i] as number;
    if (size === 1) continue;
    const last = outShape.length - 1;
    if (last >= 0 && (outStride[last] as number) === st * size) {
      outShape[last] = (outShape[last] as number) * size;
      outStride[last] = st;
    } else {
      outShape.push(size);
      outStride.push(st);
    }
  }
  return { shape: outShape, stride: outStride };
}

/** Index of the last element the view touches, relative to its storage offset (0 for an empty view). */
export function viewExtent(shape: readonly number[], stride: readonly number[]): number {
  let extent = 0;
  for (let i = 0; i < shape.length; i++) extent += ((shape[i] as number) - 1) * (stride[i] as number);
  return extent;
}

/** Collects small gathered pieces into `chunkBytes` buffers so the writer sees few, large writes. */
class ChunkCollector {
  private buffer: Uint8Array;
  private used = 0;
  constructor(private readonly size: number) {
    this.buffer = new Uint8Array(size);
  }
  /** Space to gather into; call `commit(n)` after writing `n` bytes of it. */
  space(): Uint8Array {
    return this.buffer.subarray(this.used);
  }
  commit(n: number): Uint8Array | undefined {
    this.used += n;
    if (this.used < this.size) return undefined;
    return this.flush();
  }
  flush(): Uint8Array | undefined {
    if (this.used === 0) return undefined;
    const out = this.buffer.subarray(0, this.used);
    this.buffer = new Uint8Array(this.size);
    this.used = 0;
    return out;
  }
}

/**
 * Yields the bytes of `view` in C-contiguous order. The total is `elementCount(shape) * itemSize`.
 * Bounds were checked by the caller; a short read throws `convert-io`.
 */
export async function* copyStrided(
  view: StridedView,
  read: StorageRead,
  options: CopyOptions = {},
): AsyncGenerator<Uint8Array> {
  // A multiple of every item size, so gathered elements never straddle two chunks.
  const chunkBytes = Math.max(16, (options.chunkBytes ?? 8 * 1024 * 1024) - ((options.chunkBytes ?? 0) % 16));
  const windowBytes = Math.max(options.windowBytes ?? 64 * 1024 * 1024, chunkBytes);
  const s = view.itemSize;
  const total = elementCount(view.shape);
  if (total === 0) return;
  const { shape, stride } = collapseDims(view.shape, view.stride);

  if (shape.length === 0 || (shape.length === 1 && stride[0] === 1)) {
    const start = view.storageOffset * s;
    const length = total * s;
    for (let done = 0; done < length; done += chunkBytes) {
      yield await read(start + done, Math.min(chunkBytes, length - done));
    }
    return;
  }

  const rank = shape.length;
  // innerCount[d] / innerSpan[d]: elements produced by, and storage elements spanned by, one index of dim d-1.
  const innerCount: number[] = new Array(rank + 1).fill(1);
  const innerSpan: number[] = new Array(rank + 1).fill(1);
  for (let d = rank - 1; d >= 0; d--) {
    innerCount[d] = (innerCount[d + 1] as number) * (shape[d] as number);
    innerSpan[d] = (innerSpan[d + 1] as number) + ((shape[d] as number) - 1) * (stride[d] as number);
  }
  const collector = new ChunkCollector(chunkBytes);
  const maxElems = Math.floor(windowBytes / s);

  // Gathers dims [d..] for indices [k0, k0+b) of dim d from a buffer holding storage elements from `lo`.
  const gather = function* (buf: Uint8Array, lo: number, d: number, k0: number, b: number, base: number) {
    const idx: number[] = new Array(rank).fill(0);
    idx[d] = k0;
    const last = rank - 1;
    const lastStride = stride[last] as number;
    // When d is the innermost dim the block is one partial row of b elements.
    const rowLength = d === last ? b : (shape[last] as number);
    const rows = d === last ? 1 : b * ((innerCount[d + 1] as number) / rowLength);
    for (let r = 0; r < rows; r++) {
      let elem = base;
      for (let j = d; j < last; j++) elem += (idx[j] as number) * (stride[j] as number);
      if (d === last) elem += k0 * lastStride;
      let src = (elem - lo) * s;
      let remaining = rowLength * s;
      while (remaining > 0) {
        const space = collector.space();
        if (lastStride === 1) {
          const n = Math.min(remaining, space.length);
          space.set(buf.subarray(src, src + n));
          src += n;
          remaining -= n;
          const full = collector.commit(n);
          if (full) yield full;
        } else {
          const n = Math.min(remaining, space.length - (space.length % s)) / s;
          const step = lastStride * s;
          let o = 0;
          for (let e = 0; e < n; e++) {
            for (let byte = 0; byte < s; byte++) space[o++] = buf[src + byte] as number;
            src += step;
          }
          remaining -= n * s;
          const full = collector.commit(n * s);
          if (full) yield full;
        }
      }
      // odometer over dims [d, last)
      for (let j = last - 1; j >= d; j--) {
        idx[j] = (idx[j] as number) + 1;
        if (j === d || (idx[j] as number) < (shape[j] as number)) break;
        idx[j] = 0;
      }
    }
  };

  const emit = async function* (d: number, base: number): AsyncGenerator<Uint8Array> {
    const size = shape[d] as number;
    const st = stride[d] as number;
    const span = innerSpan[d + 1] as number;
    const count = innerCount[d + 1] as number;
    // How many consecutive indices of dim d fit the window, by storage span and by output size.
    let b = size;
    if (span > maxElems || count > maxElems) b = 0;
    else {
      if (st > 0) b = Math.min(b, Math.floor((maxElems - span) / st) + 1);
      b = Math.min(b, Math.floor(maxElems / count));
    }
    if (b >= 1) {
      for (let k0 = 0; k0 < size; k0 += b) {
        const n = Math.min(b, size - k0);
        const lo = base + k0 * st;
        const spanElems = (n - 1) * st + span;
        const buf = await read(lo * s, spanElems * s);
        yield* gather(buf, lo, d, k0, n, base);
      }
      return;
    }
    if (d === rank - 1) {
      // A single innermost row spans more than the window: read it element by element in pieces.
      for (let k = 0; k < size; k++) {
        collector.space().set(await read((base + k * st) * s, s));
        const full = collector.commit(s);
        if (full) yield full;
      }
      return;
    }
    for (let k = 0; k < size; k++) yield* emit(d + 1, base + k * st);
  };

  yield* emit(0, view.storageOffset);
  const rest = collector.flush();
  if (rest) yield rest;
}

/** Wraps a reader so a short read (truncated or changed input) becomes a clear error. */
export function exactRead(
  read: (offset: number, length: number) => Promise<Uint8Array>,
  file: string,
  what: string,
): StorageRead {
  return async (offset, length) => {
    const got = await read(offset, length);
    if (got.length !== length) {
      throw new ConvertError(
        'convert-io',
        `${what} ended after ${got.length} of ${length} bytes at ${offset}`,
        file,
      );
    }
    return got;
  };
}
