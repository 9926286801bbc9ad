import type { EvidenceValue, ScanResult } from '../pickle/events.js';
import type { ForwardReader } from '../source/stream.js';
import type { ContainerReader, ReaderContext } from './types.js';

/**
 * PyTorch's legacy format (`_use_new_zipfile_serialization=False`): five stacked pickles (magic
 * number, protocol version, sys info, the object, the storage keys), then for each storage an
 * 8-byte element count and the raw bytes. All five pickles are scanned; the storage bytes are
 * skipped using the sizes the object pickle declares, and the file must end where they do.
 */
export const legacyTorchReader: ContainerReader = {
  format: 'legacy-torch',
  version: '1',
  detect: (head) => isLegacyTorch(head),
  stream: readLegacy,
};

/** `\x80 <proto> \x8a\x0a` + the 10-byte little-endian magic 0x1950a86a20f9469cfc6c. */
const MAGIC = [0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19];

export function isLegacyTorch(head: Uint8Array): boolean {
  if (head[0] !== 0x80 || (head[1] as number) < 2 || (head[1] as number) > 5) return false;
  // protocol 4+ (torch.save(..., pickle_protocol=4)) puts a FRAME opcode and its 8-byte length first
  const at = head[2] === 0x95 ? 11 : 2;
  return MAGIC.every((b, i) => head[at + i] === b);
}

/** Element sizes of torch's legacy storage classes (`torch.FloatStorage` ...). */
const STORAGE_ELEMENT_SIZE: Record<string, number> = {
  DoubleStorage: 8,
  FloatStorage: 4,
  HalfStorage: 2,
  BFloat16Storage: 2,
  LongStorage: 8,
  IntStorage: 4,
  ShortStorage: 2,
  CharStorage: 1,
  ByteStorage: 1,
  BoolStorage: 1,
  ComplexDoubleStorage: 16,
  ComplexFloatStorage: 8,
  QInt8Storage: 1,
  QUInt8Storage: 1,
  QInt32Storage: 4,
  QUInt4x2Storage: 1,
  QUInt2x4Storage: 1,
  UntypedStorage: 1,
  Float8_e4m3fnStorage: 1,
  Float8_e5m2Storage: 1,
};

/** What torch's legacy loader reads from each of the five pickles, in order. */
const ROLES = [
  'torch legacy magic number',
  'torch legacy protocol version',
  'torch legacy sys_info',
  'torch legacy object',
  'torch legacy storage keys',
];

async function readLegacy(reader: ForwardReader, ctx: ReaderContext): Promise<void> {
  ctx.setFormat('legacy-torch');
  let object: ScanResult | undefined;
  for (const role of ROLES) {
    const fileOffset = reader.sourceOffset();
    const at = reader.position;
    const { scan } = await ctx.scanPickle(reader, undefined, role, {
      maxPickles: 1,
      ...(fileOffset === undefined ? {} : { fileOffset }),
    });
    if (!scan.result.complete || scan.result.stats.pickles < 1) {
      ctx.note({
        kind: 'problem',
        code: 'legacy-torch-incomplete',
        message: `legacy torch file: the ${role} pickle is broken; the rest of the file was not scanned`,
        offset: at,
      });
      return;
    }
    if (role === 'torch legacy object') object = scan.result;
  }
  const consumed = reader.position;
  const storages = storageSizes(object as ScanResult);
  if (!storages) {
    ctx.note({
      kind: 'finding',
      code: 'legacy-torch-storage-unknown',
      message: 'storage records in the object pickle could not be sized; storage bytes not checked',
      offset: consumed,
    });
    return;
  }
  let expected = 0;
  for (const bytes of storages.values()) expected += 8 + bytes;
  const skipped = await reader.skip(expected);
  if (skipped < expected) {
    ctx.note({
      kind: 'finding',
      code: 'legacy-torch-truncated',
      message: `storage data is ${skipped} bytes, the pickles declare ${expected}`,
      offset: consumed,
      evidence: { expected, actual: skipped, storages: storages.size },
    });
    return;
  }
  const rest = await reader.peek(1);
  if (rest.length) {
    ctx.note({
      kind: 'finding',
      code: 'legacy-torch-trailing-data',
      message: 'bytes follow the last storage; torch never reads them',
      offset: consumed + expected,
    });
  }
}

/**
 * Maps each storage key to its byte size from the persistent ids
 * `('storage', <StorageClass or dtype>, key, location, numel, ...)` of the object pickle.
 */
function storageSizes(r: ScanResult): Map<string, number> | undefined {
  const sizes = new Map<string, number>();
  for (const p of r.persistentIds) {
    if (p.pid.kind !== 'tuple') continue;
    const [tag, type, key, , numel] = p.pid.items as Array<EvidenceValue | undefined>;
    if (tag?.kind !== 'str' || tag.value !== 'storage') continue;
    if (key?.kind !== 'str' || numel?.kind !== 'int') return undefined;
    let element: number | undefined;
    if (type?.kind === 'global') {
      const imp = r.imports[type.importIndex];
      element = imp ? STORAGE_ELEMENT_SIZE[imp.name] : undefined;
    }
    if (element === undefined) return undefined;
    const bytes = Number(numel.value) * element;
    if (!Number.isSafeInteger(bytes) || bytes < 0) return undefined;
    sizes.set(key.value, bytes);
  }
  return sizes;
}

/**
 * Members `storages` and `tensors` of PyTorch 0.1.x's tar layout mix pickles and raw bytes:
 * `storages` is a count, then per storage an args pickle `(key, location, StorageClass)` followed
 * by an 8-byte element count and the raw elements, then a pickle of storage views; `tensors` is a
 * count, then per tensor an args pickle followed by ndim (4 bytes, 4 skipped), sizes, strides and
 * an offset (8 bytes each). Every pickle is scanned; the raw parts are skipped by their sizes.
 */
export async function readLegacyTarMember(
  name: 'storages' | 'tensors',
  reader: ForwardReader,
  ctx: ReaderContext,
) {
  const one = async (role: string) => {
    const at = reader.position;
    const { scan } = await ctx.scanPickle(reader, name, role, { maxPickles: 1 });
    if (!scan.result.complete) {
      ctx.note({
        kind: 'problem',
        code: 'legacy-torch-incomplete',
        message: `legacy tar member ${name}: a pickle is broken; the rest of the member was not scanned`,
        entry: name,
        offset: at,
      });
      return undefined;
    }
    return scan.result;
  };
  const u64 = (b: Uint8Array, o: number) => {
    let n = 0;
    for (let i = 7; i >= 0; i--) n = n * 256 + (b[o + i] as number);
    return n;
  };
  if (!(await one(`torch 0.1 ${name} count`))) return;
  while ((await reader.peek(1)).length > 0) {
    const r = await one(`torch 0.1 ${name} record`);
    if (!r) return;
    if (name === 'storages') {
      const cls = r.imports.map((i) => STORAGE_ELEMENT_SIZE[i.name]).find((s) => s !== undefined);
      if (cls === undefined) continue; // the storage-views pickle that ends the member
      const head = await reader.read(8);
      const bytes = u64(head, 0) * cls;
      if (head.length < 8 || !Number.isSafeInteger(bytes) || (await reader.skip(bytes)) < bytes) {
        ctx.note({
          kind: 'finding',
          code: 'legacy-torch-truncated',
          message: 'storage data cut short',
          entry: name,
        });
        return;
      }
    } else {
      const head = await reader.read(8);
      const ndim = head.length === 8 ? new DataView(head.buffer, head.byteOffset).getInt32(0, true) : -1;
      const want = 16 * ndim + 8;
      if (ndim < 0 || ndim > 64 || (await reader.skip(want)) < want) {
        ctx.note({
          kind: 'finding',
          code: 'legacy-torch-truncated',
          message: 'tensor record cut short',
          entry: name,
        });
        return;
      }
    }
  }
}
