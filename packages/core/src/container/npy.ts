import type { ForwardReader } from '../source/stream.js';
import type { ContainerReader, ReaderContext } from './types.js';

/**
 * NumPy `.npy` (format versions 1, 2 and 3). Numeric arrays are raw bytes and are skipped; an
 * array whose dtype holds Python objects is stored as a pickle right after the header, which
 * `numpy.load(allow_pickle=True)` unpickles.
 */
export const npyReader: ContainerReader = {
  format: 'npy',
  version: '1',
  detect: (head) => isNpy(head),
  stream: readNpy,
};

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY

export function isNpy(head: Uint8Array): boolean {
  return head.length >= 8 && MAGIC.every((b, i) => head[i] === b);
}

/** The fields of an npy header that decide how the data is read. */
export interface NpyHeader {
  descr: string;
  hasObject: boolean;
  fortranOrder: boolean;
  shape: number[];
  /** Bytes per element, or undefined when the dtype's size could not be worked out. */
  itemSize: number | undefined;
}

async function readNpy(reader: ForwardReader, ctx: ReaderContext): Promise<void> {
  const pre = await reader.read(10);
  const major = pre[6] as number;
  if (pre.length < 10 || major < 1 || major > 3) {
    ctx.note({
      kind: 'problem',
      code: 'npy-bad-header',
      message: `unsupported npy format version ${major}`,
      offset: 6,
    });
    return;
  }
  let headerLen: number;
  if (major === 1) headerLen = (pre[8] as number) | ((pre[9] as number) << 8);
  else {
    const more = await reader.read(2);
    const b = new Uint8Array([...pre.subarray(8), ...more]);
    headerLen =
      ((b[0] as number) | ((b[1] as number) << 8) | ((b[2] as number) << 16) | ((b[3] as number) << 24)) >>>
      0;
  }
  // numpy itself refuses headers above 10 000 bytes unless told otherwise (max_header_size).
  if (headerLen > 1 << 20) {
    ctx.note({
      kind: 'problem',
      code: 'npy-bad-header',
      message: `npy header length ${headerLen} is implausible`,
      offset: 8,
    });
    return;
  }
  const text = new TextDecoder(major === 3 ? 'utf-8' : 'latin1').decode(await reader.read(headerLen));
  const header = parseNpyHeader(text);
  if (!header) {
    ctx.note({
      kind: 'problem',
      code: 'npy-bad-header',
      message: 'npy header is not a readable dict',
      offset: 10,
    });
    return;
  }
  ctx.setFormat('npy');
  if (header.hasObject) {
    const fileOffset = reader.sourceOffset();
    await ctx.scanPickle(
      reader,
      undefined,
      'npy object array',
      fileOffset === undefined ? {} : { fileOffset },
    );
    return;
  }
  const count = header.shape.reduce((a, b) => a * b, 1);
  if (header.itemSize === undefined) {
    ctx.note({
      kind: 'finding',
      code: 'npy-unknown-dtype',
      message: `npy dtype ${header.descr} not understood; data not checked`,
      evidence: { descr: header.descr },
    });
    return;
  }
  const want = count * header.itemSize;
  const skipped = await reader.skip(want);
  if (skipped < want) {
    ctx.note({
      kind: 'finding',
      code: 'npy-truncated',
      message: `npy data is ${skipped} bytes, header promises ${want}`,
      evidence: { expected: want, actual: skipped },
    });
    return;
  }
  const rest = await reader.peek(1);
  if (rest.length) {
    ctx.note({
      kind: 'finding',
      code: 'npy-trailing-data',
      message: 'bytes follow the npy array data; numpy.load ignores them',
      offset: reader.position,
    });
  }
}

/** Parses the Python-literal header dict numpy writes; tolerant of spacing, strict about content. */
export function parseNpyHeader(text: string): NpyHeader | undefined {
  const descrList = /['"]descr['"]\s*:\s*(\[.*\])\s*,\s*['"]fortran_order/s.exec(text);
  const descrStr = /['"]descr['"]\s*:\s*['"]([^'"]*)['"]/.exec(text);
  const fortran = /['"]fortran_order['"]\s*:\s*(True|False)/.exec(text);
  const shape = /['"]shape['"]\s*:\s*\(([^)]*)\)/.exec(text);
  if ((!descrList && !descrStr) || !fortran || !shape) return undefined;
  const dims = (shape[1] as string)
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
  if (!dims.every((d) => /^\d+L?$/.test(d))) return undefined;
  const shapeNums = dims.map((d) => Number.parseInt(d, 10));
  if (descrList) {
    // Structured dtypes: any object field makes numpy pickle the whole array.
    const list = descrList[1] as string;
    const hasObject = /['"][<>|=]?O\d*['"]/.test(list);
    // Plain `('name', 'type')` fields only; nested records and sub-array shapes are left unsized.
    const fields = [...list.matchAll(/\(\s*['"][^'"]*['"]\s*,\s*(['"][^'"]*['"]|\[)\s*(,)?/g)];
    let size: number | undefined = 0;
    for (const f of fields) {
      const t = (f[1] as string).replace(/['"]/g, '');
      const s = f[2] || t === '[' ? undefined : itemSizeOf(t);
      if (s === undefined) {
        size = undefined;
        break;
      }
      size += s;
    }
    if (fields.length === 0) size = undefined;
    return { descr: list, hasObject, fortranOrder: fortran[1] === 'True', shape: shapeNums, itemSize: size };
  }
  const descr = descrStr?.[1] as string;
  return {
    descr,
    hasObject: /^[<>|=]?O/.test(descr),
    fortranOrder: fortran[1] === 'True',
    shape: shapeNums,
    itemSize: itemSizeOf(descr),
  };
}

/** Size in bytes of one element of a numpy type string such as `<f4`, `|S5`, `<U3`, `<M8[ns]`. */
export function itemSizeOf(descr: string): number | undefined {
  const m = /^[<>|=]?([a-zA-Z])(\d*)(\[[a-zA-Z0-9]+\])?$/.exec(descr);
  if (!m) return undefined;
  const kind = m[1] as string;
  const n = m[2] ? Number.parseInt(m[2], 10) : undefined;
  switch (kind) {
    case 'U':
      return n === undefined ? undefined : n * 4;
    case 'O':
      return 8;
    case '?':
      return 1;
    default:
      return n;
  }
}
