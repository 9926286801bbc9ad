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

/**
 * Copies `count` elements of `size` bytes from `src` (every `srcStep` bytes) to `dst` (every
 * `dstStep` bytes), a word at a time when both sides are aligned: moving raw words rather than
 * floats keeps NaN payloads bit-exact.
 */
export function copyElements(
  dst: Uint8Array,
  dstPos: number,
  dstStep: number,
  src: Uint8Array,
  srcPos: number,
  srcStep: number,
  count: number,
  size: number,
): void {
  if (srcStep === size && dstStep === size) {
    dst.set(src.subarray(srcPos, srcPos + count * size), dstPos);
    return;
  }
  const aligned4 =
    size % 4 === 0 &&
    (dst.byteOffset + dstPos) % 4 === 0 &&
    (src.byteOffset + srcPos) % 4 === 0 &&
    dstStep % 4 === 0 &&
    srcStep % 4 === 0;
  if (aligned4) {
    const d = new Uint32Array(dst.buffer, dst.byteOffset, dst.length >> 2);
    const s = new Uint32Array(src.buffer, src.byteOffset, src.length >> 2);
    const words = size >> 2;
    let di = dstPos >> 2;
    let si = srcPos >> 2;
    const ds = dstStep >> 2;
    const ss = srcStep >> 2;
    if (words === 1) {
      for (let e = 0; e < count; e++, di += ds, si += ss) d[di] = s[si] as number;
    } else {
      for (let e = 0; e < count; e++, di += ds, si += ss)
        for (let w = 0; w < words; w++) d[di + w] = s[si + w] as number;
    }
    return;
  }
  if (
    size === 2 &&
    (dst.byteOffset + dstPos) % 2 === 0 &&
    (src.byteOffset + srcPos) % 2 === 0 &&
    dstStep % 2 === 0 &&
    srcStep % 2 === 0
  ) {
    const d = new Uint16Array(dst.buffer, dst.byteOffset, dst.length >> 1);
    const s = new Uint16Array(src.buffer, src.byteOffset, src.length >> 1);
    let di = dstPos >> 1;
    let si = srcPos >> 1;
    for (let e = 0; e < count; e++, di += dstStep >> 1, si += srcStep >> 1) d[di] = s[si] as number;
    return;
  }
  let di = dstPos;
  let si = srcPos;
  for (let e = 0; e < count; e++, di += dstStep, si += srcStep)
    for (let b = 0; b < size; b++) dst[di + b] = src[si + b] as number;
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
          copyElements(space, 0, s, buf, src, step, n, s);
          src += n * step;
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
    if (count <= maxElems) {
      // One index of dim d fits the window as output, but its storage span does not (a transpose):
      // build bands of output in memory and fill them by walking the storage in address order.
      const b = Math.max(1, Math.floor(maxElems / count));
      for (let k0 = 0; k0 < size; k0 += b) {
        const band = await scatterBand(d, base + k0 * st, Math.min(b, size - k0));
        let o = 0;
        while (o < band.length) {
          const space = collector.space();
          const piece = band.subarray(o, Math.min(band.length, o + space.length));
          space.set(piece);
          o += piece.length;
          const full = collector.commit(piece.length);
          if (full) yield full;
        }
      }
      return;
    }
    for (let k = 0; k < size; k++) yield* emit(d + 1, base + k * st);
  };

  /**
   * The output of `n` indices of dim d (from storage element `bandBase`), gathered by visiting the
   * storage in address order: dims sorted by stride, largest outermost. The innermost of those is read
   * run by run; runs close together share read-ahead, far-apart runs are read exactly (so a transposed
   * matrix costs one read per source row rather than one per element).
   */
  const scatterBand = async (d: number, bandBase: number, n: number): Promise<Uint8Array> => {
    const dims: Array<{ size: number; src: number; out: number }> = [];
    let outStride = 1;
    for (let i = rank - 1; i >= d; i--) {
      const size = i === d ? n : (shape[i] as number);
      dims.unshift({ size, src: stride[i] as number, out: outStride });
      outStride *= size;
    }
    const out = new Uint8Array(outStride * s);
    dims.sort((a, b) => b.src - a.src || b.out - a.out);
    const inner = dims[dims.length - 1] as { size: number; src: number; out: number };
    const outer = dims.slice(0, -1);
    const runElems = (inner.size - 1) * inner.src + 1;
    const runBytes = runElems * s;
    let bandEnd = bandBase + 1;
    for (const dim of dims) bandEnd += (dim.size - 1) * dim.src;
    const nextGap = outer.length ? (outer[outer.length - 1] as { src: number }).src * s : 0;
    const readAhead = nextGap <= 4 * runBytes ? Math.min(windowBytes, 1024 * 1024) : 0;

    let winLo = 0;
    let winBuf: Uint8Array = new Uint8Array(0);
    const fetch = async (lo: number, bytes: number): Promise<number> => {
      if (lo >= winLo && lo + bytes <= winLo + winBuf.length) return lo - winLo;
      const want = Math.min(Math.max(bytes, readAhead), bandEnd * s - lo);
      winBuf = await read(lo, want);
      winLo = lo;
      return 0;
    };

    // Runs are copied in groups of rows, a tile of elements at a time: a transpose writes every
    // element to a different output row, and tiling keeps those writes within a few cache lines.
    const TILE_ROWS = 64;
    const TILE_ELEMS = 256;
    const group: Array<{ buf: Uint8Array; at: number; dst: number }> = [];
    const flushGroup = () => {
      for (let e0 = 0; e0 < inner.size; e0 += TILE_ELEMS) {
        const n = Math.min(TILE_ELEMS, inner.size - e0);
        for (const g of group) {
          copyElements(
            out,
            (g.dst + e0 * inner.out) * s,
            inner.out * s,
            g.buf,
            g.at + e0 * inner.src * s,
            inner.src * s,
            n,
            s,
          );
        }
      }
      group.length = 0;
    };
    const idx: number[] = new Array(outer.length).fill(0);
    const total = outer.reduce((m, dim) => m * dim.size, 1);
    for (let r = 0; r < total; r++) {
      let src = bandBase;
      let dst = 0;
      for (let j = 0; j < outer.length; j++) {
        const dim = outer[j] as { src: number; out: number };
        src += (idx[j] as number) * dim.src;
        dst += (idx[j] as number) * dim.out;
      }
      if (runBytes <= windowBytes) {
        const at = await fetch(src * s, runBytes);
        group.push({ buf: winBuf, at, dst });
        if (group.length === TILE_ROWS) flushGroup();
      } else {
        // Elements of the run are further apart than the window: fetch each on its own.
        for (let e = 0; e < inner.size; e++) {
          const at = await fetch((src + e * inner.src) * s, s);
          out.set(winBuf.subarray(at, at + s), (dst + e * inner.out) * s);
        }
      }
      for (let j = outer.length - 1; j >= 0; j--) {
        idx[j] = (idx[j] as number) + 1;
        if ((idx[j] as number) < (outer[j] as { size: number }).size) break;
        idx[j] = 0;
      }
    }
    flushGroup();
    return out;
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
