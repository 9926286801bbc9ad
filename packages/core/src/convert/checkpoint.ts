/**
 * Finds a PyTorch checkpoint's pickle and the bytes of each storage it names, the way `torch.load` does,
 * reading only the pickle and a few headers (storage bytes are located, not read).
 *
 * - Zip checkpoints (torch >= 1.6): every record lives under one folder, named by the first entry of the
 *   central directory (torch's `PyTorchStreamReader` does the same); the pickle is `<prefix>/data.pkl`
 *   and storage `k` is `<prefix>/data/k`, stored uncompressed.
 * - Legacy checkpoints: five pickles back to back (magic number, protocol version, system info, the
 *   object, the list of storage keys), then for each key an int64 element count and the raw bytes.
 *
 * Anything unusual (a zip finding, a missing or compressed record, a size that disagrees, bytes after the
 * last storage) refuses: the converter only takes files shaped exactly like what torch.save writes.
 */

import type { Budget } from '../container/types.js';
import { openZipEntry, readZipDirectory, type ZipEntry } from '../container/zip.js';
import { readAll } from '../source/stream.js';
import type { ByteSource } from '../source/types.js';
import { ConvertError } from './refusal.js';
import { NeedMoreBytes, type PyValue, type StorageRef, unpickleRestricted } from './restricted-unpickler.js';
import { DTYPES } from './torch-dtypes.js';

/** The two checkpoint layouts `torch.load` reads without `weights_only` extras. */
export type CheckpointFormat = 'pytorch-zip' | 'legacy-torch';

/** Where a storage's bytes are in the input file. */
export interface StorageLocation {
  offset: number;
  length: number;
}

/** A checkpoint's object tree (as data) and where each storage's bytes are. */
export interface CheckpointContents {
  format: CheckpointFormat;
  root: PyValue;
  storages: Map<string, StorageRef>;
  locations: Map<string, StorageLocation>;
  /** Name of the pickle inside the input, for messages (`archive/data.pkl`, or the file for legacy). */
  picklePath: string;
}

export interface CheckpointLimits {
  /** Largest pickle (data.pkl, or all legacy pickles together) read into memory. */
  maxPickleBytes: number;
}

export const DEFAULT_CHECKPOINT_LIMITS: CheckpointLimits = { maxPickleBytes: 1024 * 1024 * 1024 };

/** torch/serialization.py MAGIC_NUMBER and PROTOCOL_VERSION of legacy checkpoints. */
const LEGACY_MAGIC = 0x1950a86a20f9469cfc6cn;
const LEGACY_PROTOCOL_VERSION = 1001n;

function storageBytes(ref: StorageRef): number {
  return ref.dtype === 'untyped' ? ref.numel : ref.numel * DTYPES[ref.dtype].itemSize;
}

function convertBudget(file: string, maxInflated: number): Budget {
  let inflated = 0;
  return {
    maxEntries: 1_000_000,
    maxDirectoryBytes: 256 * 1024 * 1024,
    chargeInflated(bytes: number) {
      inflated += bytes;
      if (inflated > maxInflated) {
        throw new ConvertError('convert-limit', `more than ${maxInflated} bytes inflated from the zip`, file);
      }
    },
  };
}

/** Is this the start of a zip file (torch checks exactly these four bytes)? */
export function looksLikeZip(head: Uint8Array): boolean {
  return head[0] === 0x50 && head[1] === 0x4b && head[2] === 0x03 && head[3] === 0x04;
}

/**
 * Reads a checkpoint's pickle through the restricted interpreter and locates its storages.
 *
 * @throws ConvertError when the input is not a checkpoint the converter accepts.
 */
export async function readCheckpoint(
  source: ByteSource,
  limits: CheckpointLimits = DEFAULT_CHECKPOINT_LIMITS,
): Promise<CheckpointContents> {
  const head = await source.read(0, 4);
  if (looksLikeZip(head)) return readZipCheckpoint(source, limits);
  return readLegacyCheckpoint(source, limits);
}

async function readZipCheckpoint(source: ByteSource, limits: CheckpointLimits): Promise<CheckpointContents> {
  const file = source.name;
  const budget = convertBudget(file, limits.maxPickleBytes);
  const dir = await readZipDirectory(source, budget);
  if (!dir)
    throw new ConvertError('convert-unsupported-input', 'starts like a zip but has no zip directory', file);
  let surprise: (typeof dir.notes)[number] | undefined;
  for (const note of dir.notes) {
    if (!(await isTrailingDataDescriptor(source, note))) {
      surprise = note;
      break;
    }
  }
  if (dir.incomplete || surprise) {
    const why = surprise ? `${surprise.code}: ${surprise.message}` : 'the zip directory is incomplete';
    throw new ConvertError(
      'convert-unsupported-input',
      `the zip is not shaped like torch.save output (${why})`,
      file,
      surprise?.offset,
    );
  }
  const first = dir.entries[0];
  const slash = first ? first.name.indexOf('/') : -1;
  if (!first || slash <= 0) {
    throw new ConvertError(
      'convert-unsupported-input',
      'the zip has no `<folder>/data.pkl` layout of a torch checkpoint',
      file,
    );
  }
  const prefix = first.name.slice(0, slash);
  const byName = new Map<string, ZipEntry>();
  for (const en of dir.entries) byName.set(en.name, en);

  const picklePath = `${prefix}/data.pkl`;
  const pickleEntry = byName.get(picklePath);
  if (!pickleEntry) throw new ConvertError('convert-unsupported-input', `no ${picklePath} in the zip`, file);
  if (
    dir.entries.some((en) => en.name === `${prefix}/constants.pkl` || en.name.startsWith(`${prefix}/code/`))
  ) {
    throw new ConvertError(
      'convert-unsupported-input',
      'a TorchScript archive, not a torch.save checkpoint',
      file,
    );
  }
  const byteorder = byName.get(`${prefix}/byteorder`);
  if (byteorder) {
    const text = new TextDecoder().decode(await readEntry(source, byteorder, budget, 16));
    if (text !== 'little') {
      throw new ConvertError(
        'convert-unsupported-input',
        `storages are stored ${JSON.stringify(text)}-endian`,
        file,
      );
    }
  }
  if (pickleEntry.uncompressedSize > limits.maxPickleBytes) {
    throw new ConvertError(
      'convert-limit',
      `${picklePath} is larger than ${limits.maxPickleBytes} bytes`,
      file,
    );
  }
  const pickle = await readEntry(source, pickleEntry, budget, limits.maxPickleBytes);
  const result = unpickleRestricted(pickle, {
    file: `${file} › ${picklePath}`,
    baseOffset: pickleEntry.method === 0 ? (pickleEntry.dataOffset ?? 0) : 0,
  });
  if (result.end !== pickle.length) {
    throw new ConvertError(
      'convert-malformed-pickle',
      `${pickle.length - result.end} bytes follow the pickle's STOP`,
      file,
    );
  }
  const locations = new Map<string, StorageLocation>();
  for (const ref of result.storages.values()) {
    const name = `${prefix}/data/${ref.key}`;
    const en = byName.get(name);
    if (!en)
      throw new ConvertError('convert-bad-storage', `storage record ${name} is missing`, file, ref.offset);
    if (en.method !== 0 || en.dataOffset === undefined) {
      throw new ConvertError(
        'convert-bad-storage',
        `storage record ${name} is compressed or unreadable`,
        file,
        en.localHeaderOffset,
      );
    }
    const length = storageBytes(ref);
    if (en.uncompressedSize !== length || en.compressedSize !== length) {
      throw new ConvertError(
        'convert-bad-storage',
        `storage record ${name} holds ${en.uncompressedSize} bytes but the pickle says ${length}`,
        file,
        en.localHeaderOffset,
      );
    }
    if (en.dataOffset + length > source.size) {
      throw new ConvertError(
        'convert-bad-storage',
        `storage record ${name} runs past the end of the file`,
        file,
      );
    }
    locations.set(ref.key, { offset: en.dataOffset, length });
  }
  return { format: 'pytorch-zip', root: result.value, storages: result.storages, locations, picklePath };
}

/**
 * torch's writer (miniz) follows every entry with a 16-byte data descriptor; the zip reader reports the
 * last one as unlisted bytes before the central directory. That one note is expected, nothing else is.
 */
async function isTrailingDataDescriptor(
  source: ByteSource,
  note: { code: string; offset?: number; evidence?: Record<string, unknown> },
) {
  if (note.code !== 'zip-unlisted-data' || note.offset === undefined) return false;
  const n = note.evidence?.bytes;
  if (n !== 16 && n !== 24) return false;
  const b = await source.read(note.offset, 4);
  return b.length === 4 && b[0] === 0x50 && b[1] === 0x4b && b[2] === 0x07 && b[3] === 0x08;
}

async function readEntry(source: ByteSource, en: ZipEntry, budget: Budget, max: number): Promise<Uint8Array> {
  if (en.method === 0 && en.dataOffset !== undefined) {
    const bytes = await source.read(en.dataOffset, en.uncompressedSize);
    if (bytes.length !== en.uncompressedSize) {
      throw new ConvertError('convert-io', `${en.name} is cut short`, source.name, en.dataOffset);
    }
    return bytes;
  }
  try {
    const { reader } = openZipEntry(source, en, budget, en.name);
    const { bytes, complete } = await readAll(reader, max);
    if (!complete)
      throw new ConvertError('convert-limit', `${en.name} is larger than ${max} bytes`, source.name);
    return bytes;
  } catch (e) {
    if (e instanceof ConvertError) throw e;
    throw new ConvertError(
      'convert-unsupported-input',
      `cannot read ${en.name}: ${(e as Error).message}`,
      source.name,
    );
  }
}

/** Reads legacy pickles front to back, fetching more of the file only when a pickle runs past what was read. */
class LegacyPickles {
  private bytes: Uint8Array = new Uint8Array(0);
  readonly storages = new Map<string, StorageRef>();
  constructor(
    private readonly source: ByteSource,
    private readonly limits: CheckpointLimits,
  ) {}

  async next(at: number): Promise<{ value: PyValue; end: number }> {
    let want = Math.max(this.bytes.length, 64 * 1024);
    for (;;) {
      if (this.bytes.length < Math.min(want, this.source.size)) {
        const n = Math.min(want, this.source.size, this.limits.maxPickleBytes);
        this.bytes = await this.source.read(0, n);
      }
      const complete = this.bytes.length >= this.source.size;
      try {
        const r = unpickleRestricted(this.bytes, {
          start: at,
          file: this.source.name,
          partial: !complete,
          storages: this.storages,
        });
        return { value: r.value, end: r.end };
      } catch (e) {
        if (!(e instanceof NeedMoreBytes)) throw e;
        if (this.bytes.length >= this.limits.maxPickleBytes) {
          throw new ConvertError(
            'convert-limit',
            `the pickles are larger than ${this.limits.maxPickleBytes} bytes`,
            this.source.name,
          );
        }
        want = this.bytes.length * 2;
      }
    }
  }
}

async function readLegacyCheckpoint(
  source: ByteSource,
  limits: CheckpointLimits,
): Promise<CheckpointContents> {
  const file = source.name;
  const head = await source.read(0, 2);
  if (head[0] !== 0x80) {
    throw new ConvertError(
      'convert-unsupported-input',
      'neither a torch zip checkpoint nor a legacy torch pickle',
      file,
    );
  }
  const pickles = new LegacyPickles(source, limits);
  const notLegacy = () =>
    new ConvertError(
      'convert-unsupported-input',
      'not a torch checkpoint (the legacy magic number is missing)',
      file,
    );
  let magic: { value: PyValue; end: number };
  try {
    magic = await pickles.next(0);
  } catch (e) {
    if (
      e instanceof ConvertError &&
      e.code !== 'convert-forbidden-global' &&
      e.code !== 'convert-forbidden-opcode'
    ) {
      throw notLegacy();
    }
    throw e;
  }
  if (magic.value.kind !== 'int' || magic.value.value !== LEGACY_MAGIC) throw notLegacy();
  const version = await pickles.next(magic.end);
  if (version.value.kind !== 'int' || version.value.value !== LEGACY_PROTOCOL_VERSION) {
    throw new ConvertError(
      'convert-unsupported-input',
      'unknown legacy checkpoint protocol version',
      file,
      magic.end,
    );
  }
  const sysInfo = await pickles.next(version.end);
  if (sysInfo.value.kind !== 'dict') {
    throw new ConvertError(
      'convert-malformed-pickle',
      'the legacy system-info record is not a dict',
      file,
      version.end,
    );
  }
  const littleEndian = sysInfo.value.entries.get('slittle_endian');
  if (littleEndian?.[1].kind !== 'bool' || !littleEndian[1].value) {
    throw new ConvertError(
      'convert-unsupported-input',
      'the checkpoint was not written little-endian',
      file,
      version.end,
    );
  }
  const main = await pickles.next(sysInfo.end);
  // The system-info and version pickles may not name storages: only the object and key list count.
  const keys = await pickles.next(main.end);
  if (keys.value.kind !== 'list' || keys.value.items.some((k) => k.kind !== 'str')) {
    throw new ConvertError(
      'convert-malformed-pickle',
      'the legacy storage key list is not a list of strings',
      file,
      main.end,
    );
  }
  const storages = pickles.storages;
  const order = keys.value.items.map((k) => (k as { value: string }).value);
  if (new Set(order).size !== order.length) {
    throw new ConvertError(
      'convert-bad-storage',
      'the legacy storage key list repeats a key',
      file,
      main.end,
    );
  }
  for (const key of storages.keys()) {
    if (!order.includes(key)) {
      throw new ConvertError('convert-bad-storage', `storage ${key} is used but has no data record`, file);
    }
  }
  const locations = new Map<string, StorageLocation>();
  let pos = keys.end;
  for (const key of order) {
    const ref = storages.get(key);
    if (!ref)
      throw new ConvertError('convert-bad-storage', `storage ${key} has data but is never used`, file, pos);
    const sizeBytes = await source.read(pos, 8);
    if (sizeBytes.length !== 8)
      throw new ConvertError('convert-bad-storage', `storage ${key} is cut short`, file, pos);
    const numel = new DataView(sizeBytes.buffer, sizeBytes.byteOffset, 8).getBigInt64(0, true);
    if (numel !== BigInt(ref.numel)) {
      throw new ConvertError(
        'convert-bad-storage',
        `storage ${key} records ${numel} elements, the pickle ${ref.numel}`,
        file,
        pos,
      );
    }
    const length = storageBytes(ref);
    if (pos + 8 + length > source.size) {
      throw new ConvertError(
        'convert-bad-storage',
        `storage ${key} runs past the end of the file`,
        file,
        pos,
      );
    }
    locations.set(key, { offset: pos + 8, length });
    pos += 8 + length;
  }
  if (pos !== source.size) {
    throw new ConvertError(
      'convert-unsupported-input',
      `${source.size - pos} bytes follow the last storage`,
      file,
      pos,
    );
  }
  return { format: 'legacy-torch', root: main.value, storages, locations, picklePath: file };
}
