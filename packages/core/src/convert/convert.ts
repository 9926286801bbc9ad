/**
 * Checkpoint → safetensors, runtime-agnostic: everything is decided (gate, interpretation, names, layout)
 * before the first output byte, then the output is produced as a stream of chunks, storage by storage.
 * The Node file writer (`convert-file.ts`) and the edge worker both sit on top of this.
 */
import type { ByteSource } from '../source/types.js';
import {
  type CheckpointFormat,
  type CheckpointLimits,
  DEFAULT_CHECKPOINT_LIMITS,
  readCheckpoint,
} from './checkpoint.js';
import { ConvertError } from './refusal.js';
import { type DroppedValue, flattenCheckpoint } from './state-dict.js';
import { type CopyOptions, copyStrided, elementCount, exactRead, viewExtent } from './strided-copy.js';
import { DTYPES, type TorchDType } from './torch-dtypes.js';

/** Bumped when the converter's output for the same input can change. Written to `__metadata__`. */
export const CONVERTER_VERSION = '1';

/** What a scan gate decides about the input before anything is converted. */
export interface ConvertGateVerdict {
  /** False refuses the conversion. */
  ok: boolean;
  /** One line per reason, shown in the refusal message. */
  reasons: string[];
  /** The gate's full report (e.g. a `@brine/rules` FileReport), carried on the ConvertError as `findings`. */
  report?: unknown;
}

/**
 * Runs before conversion; frontends pass one that scans the file and evaluates the weights-only policy
 * (`@brine/core` cannot depend on `@brine/rules`, so the policy check is injected).
 */
export type ConvertGate = (source: ByteSource) => Promise<ConvertGateVerdict>;

/** An incremental hash (node:crypto's `createHash('sha256')` fits). */
export interface IncrementalHash {
  update(data: Uint8Array): unknown;
  digest(encoding: 'hex'): string;
}

export interface ConvertOptions extends CopyOptions {
  /** Written to `__metadata__` as `brine.version`. */
  brineVersion?: string;
  /** SHA-256 (hex) of the whole input, when the caller already knows it. */
  sourceSha256?: string;
  /** Makes a SHA-256 hasher; needed unless `sourceSha256` is given. */
  createHash?: () => IncrementalHash;
  /** Refuses the input before conversion (scan + policy). */
  gate?: ConvertGate;
  limits?: Partial<CheckpointLimits>;
}

/** One tensor as written to the output. */
export interface ConvertedTensor {
  name: string;
  /** safetensors dtype. */
  dtype: string;
  /** torch dtype it came from. */
  torchDtype: TorchDType;
  shape: number[];
  /** Offsets in the data section: `[begin, end)`. */
  dataOffsets: [number, number];
  /** The view was not contiguous in its storage and was copied element by element. */
  materialised: boolean;
}

/** Everything about a conversion except the bytes. */
export interface ConversionPlan {
  file: string;
  format: CheckpointFormat;
  /** In data order. */
  tensors: ConvertedTensor[];
  /** Scalars from the checkpoint, as written to `__metadata__` (brine's own keys not included). */
  metadata: Record<string, string>;
  /** Values not written, and why. */
  dropped: DroppedValue[];
  /** Bytes of the length prefix plus the JSON header. */
  headerBytes: number;
  /** Size of the output file. */
  totalBytes: number;
}

/** The result of a finished conversion. */
export interface ConvertResult extends ConversionPlan {
  sourceSha256: string;
  /** Where the output was written (file conversions only). */
  output?: string;
  durationMs: number;
}

/** A planned conversion: render the header once the source hash is known, then stream the data. */
export interface PreparedConversion {
  plan: ConversionPlan;
  /** The 8-byte length prefix and padded JSON header. Its length does not depend on the hash. */
  header(sourceSha256: string): Uint8Array;
  /** The data section, tensor by tensor. Can be iterated once. */
  data(): AsyncGenerator<Uint8Array>;
}

const HEX64 = /^[0-9a-f]{64}$/;

function layoutDtype(dtype: TorchDType): { name: string; itemSize: number; pair: boolean } {
  const info = DTYPES[dtype];
  const pair = info.realPairs === true;
  return { name: info.safetensors, itemSize: pair ? info.itemSize / 2 : info.itemSize, pair };
}

function compareNames(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Gates, interprets and lays out a conversion. Throws `ConvertError` for anything refused; nothing is
 * written by this step.
 */
export async function prepareConversion(
  source: ByteSource,
  options: ConvertOptions = {},
): Promise<PreparedConversion> {
  const file = source.name;
  if (options.gate) {
    const verdict = await options.gate(source);
    if (!verdict.ok) {
      throw new ConvertError(
        'convert-refused-by-scan',
        `refused: the scan fails the weights-only policy (${verdict.reasons.join('; ') || 'no reason given'})`,
        file,
        undefined,
        verdict.report,
      );
    }
  }
  const checkpoint = await readCheckpoint(source, { ...DEFAULT_CHECKPOINT_LIMITS, ...options.limits });
  const flat = flattenCheckpoint(checkpoint.root, file);

  const planned: Array<
    ConvertedTensor & { bytes: number; itemSize: number; source: (typeof flat.tensors)[number] }
  > = [];
  const complexAsReal: string[] = [];
  for (const entry of flat.tensors) {
    const t = entry.tensor;
    if (entry.name === '__metadata__') {
      throw new ConvertError('convert-name-collision', 'a tensor is named "__metadata__"', file, t.offset);
    }
    const numel = elementCount(t.shape);
    const info = DTYPES[t.dtype];
    const bytes = numel * info.itemSize;
    if (!Number.isSafeInteger(bytes)) {
      throw new ConvertError('convert-bad-tensor', `tensor ${entry.name} is too large`, file, t.offset);
    }
    const storageElems =
      t.storage.dtype === 'untyped' ? Math.floor(t.storage.numel / info.itemSize) : t.storage.numel;
    if (numel > 0 && t.storageOffset + viewExtent(t.shape, t.stride) >= storageElems) {
      throw new ConvertError(
        'convert-bad-tensor',
        `tensor ${entry.name} (size ${JSON.stringify(t.shape)}, stride ${JSON.stringify(t.stride)}, offset ${t.storageOffset}) reads past its storage of ${storageElems} elements`,
        file,
        t.offset,
      );
    }
    const { name: dtype, itemSize, pair } = layoutDtype(t.dtype);
    if (pair) complexAsReal.push(entry.name);
    const contiguous = isContiguous(t.shape, t.stride);
    planned.push({
      name: entry.name,
      dtype,
      torchDtype: t.dtype,
      shape: pair ? [...t.shape, 2] : [...t.shape],
      dataOffsets: [0, 0],
      materialised: !contiguous,
      bytes,
      itemSize,
      source: entry,
    });
  }
  // Larger elements first keeps every tensor aligned to its element size without padding.
  planned.sort((a, b) => b.itemSize - a.itemSize || compareNames(a.name, b.name));
  let offset = 0;
  for (const p of planned) {
    p.dataOffsets = [offset, offset + p.bytes];
    offset += p.bytes;
  }

  const dropped = [...flat.dropped];
  const userMetadata: Record<string, string> = {};
  for (const [k, v] of Object.entries(flat.metadata)) {
    if (k === 'format' || k.startsWith('brine.'))
      dropped.push({ name: k, reason: 'name reserved for brine metadata' });
    else userMetadata[k] = v;
  }
  const brineMetadata = (sha: string): Array<[string, string]> => {
    const m: Array<[string, string]> = [
      ['format', 'pt'],
      ['brine.source_sha256', sha],
      ['brine.source_format', checkpoint.format],
      ['brine.version', options.brineVersion ?? 'unknown'],
      ['brine.converter', CONVERTER_VERSION],
    ];
    if (complexAsReal.length) m.push(['brine.complex_as_real_pairs', JSON.stringify(complexAsReal)]);
    if (dropped.length) m.push(['brine.dropped', JSON.stringify(dropped.map((d) => d.name))]);
    return m;
  };
  const renderHeader = (sha: string): Uint8Array => {
    const meta = [...brineMetadata(sha), ...Object.entries(userMetadata)];
    const parts = [
      `"__metadata__":{${meta.map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)}`).join(',')}}`,
    ];
    for (const p of planned) {
      parts.push(
        `${JSON.stringify(p.name)}:{"dtype":"${p.dtype}","shape":[${p.shape.join(',')}],"data_offsets":[${p.dataOffsets[0]},${p.dataOffsets[1]}]}`,
      );
    }
    const json = new TextEncoder().encode(`{${parts.join(',')}}`);
    // Pad with spaces so the data section starts 8-byte aligned (what the safetensors writer does).
    const padded = json.length + ((8 - (json.length % 8)) % 8);
    const out = new Uint8Array(8 + padded).fill(0x20, 8 + json.length);
    new DataView(out.buffer).setBigUint64(0, BigInt(padded), true);
    out.set(json, 8);
    return out;
  };
  const headerBytes = renderHeader('0'.repeat(64)).length;

  const plan: ConversionPlan = {
    file,
    format: checkpoint.format,
    tensors: planned.map(({ name, dtype, torchDtype, shape, dataOffsets, materialised }) => ({
      name,
      dtype,
      torchDtype,
      shape,
      dataOffsets,
      materialised,
    })),
    metadata: userMetadata,
    dropped,
    headerBytes,
    totalBytes: headerBytes + offset,
  };

  let started = false;
  return {
    plan,
    header(sha: string) {
      if (!HEX64.test(sha)) throw new ConvertError('convert-io', `not a SHA-256 hex digest: ${sha}`, file);
      return renderHeader(sha);
    },
    async *data() {
      if (started) throw new ConvertError('convert-io', 'the data stream can be read only once', file);
      started = true;
      for (const p of planned) {
        const t = p.source.tensor;
        const loc = checkpoint.locations.get(t.storage.key);
        if (!loc)
          throw new ConvertError('convert-bad-storage', `storage ${t.storage.key} has no location`, file);
        const read = exactRead((o, n) => source.read(loc.offset + o, n), file, `storage ${t.storage.key}`);
        let written = 0;
        const view = {
          itemSize: DTYPES[t.dtype].itemSize,
          storageOffset: t.storageOffset,
          shape: t.shape,
          stride: t.stride,
        };
        for await (const chunk of copyStrided(view, read, options)) {
          written += chunk.length;
          yield chunk;
        }
        if (written !== p.bytes) {
          throw new ConvertError(
            'convert-io',
            `tensor ${p.name} produced ${written} of ${p.bytes} bytes`,
            file,
          );
        }
      }
    },
  };
}

/** True when the view is laid out row-major without gaps (size-1 dimensions may have any stride). */
function isContiguous(shape: readonly number[], stride: readonly number[]): boolean {
  let expected = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    const size = shape[i] as number;
    if (size === 0) return true;
    if (size !== 1 && stride[i] !== expected) return false;
    expected *= size;
  }
  return true;
}

/** Hashes a whole source front to back. */
export async function hashSource(
  source: ByteSource,
  hash: IncrementalHash,
  chunkBytes = 8 * 1024 * 1024,
): Promise<string> {
  for (let pos = 0; pos < source.size; pos += chunkBytes) {
    const want = Math.min(chunkBytes, source.size - pos);
    const chunk = await source.read(pos, want);
    if (chunk.length !== want)
      throw new ConvertError('convert-io', `the input ended early at ${pos + chunk.length}`, source.name);
    hash.update(chunk);
  }
  return hash.digest('hex');
}

/** A conversion as a stream: the plan up front, then every byte of the safetensors file. */
export interface ConvertStream {
  plan: ConversionPlan;
  sourceSha256: string;
  /** Header then data; exactly `plan.totalBytes` bytes. */
  chunks: AsyncGenerator<Uint8Array>;
}

/**
 * Converts without touching a file system (for the edge worker): refusals happen here, before any
 * chunk exists. Needs `sourceSha256` or `createHash`: when only the latter is given the whole input is
 * read once for the hash before the header can be produced.
 */
export async function convertToSafetensorsStream(
  source: ByteSource,
  options: ConvertOptions = {},
): Promise<ConvertStream> {
  const prepared = await prepareConversion(source, options);
  let sha = options.sourceSha256?.toLowerCase();
  if (sha === undefined) {
    if (!options.createHash) {
      throw new ConvertError(
        'convert-io',
        'a SHA-256 of the input or a hash factory is required',
        source.name,
      );
    }
    sha = await hashSource(source, options.createHash());
  }
  const header = prepared.header(sha);
  async function* chunks(): AsyncGenerator<Uint8Array> {
    yield header;
    yield* prepared.data();
  }
  return { plan: prepared.plan, sourceSha256: sha, chunks: chunks() };
}
