import type { FormatId } from '../engine/types.js';
import {
  bz2Reader,
  gzipReader,
  joblibZfileReader,
  lz4Reader,
  lzmaReader,
  xzReader,
  zlibReader,
} from './compressed.js';
import { ggufReader } from './gguf.js';
import { legacyTorchReader } from './legacy-torch.js';
import { npyReader } from './npy.js';
import { pickleReader } from './pickle.js';
import { setEntryDetector, zipReader } from './pytorch.js';
import { safetensorsReader } from './safetensors.js';
import { sevenZipReader } from './sevenzip.js';
import { tarReader } from './tar.js';
import type { ContainerReader } from './types.js';

/**
 * Every container reader, in detection order: unambiguous magic numbers first, then formats
 * recognised by structure (tar checksum, safetensors header, protocol-0 pickle opcodes), and the
 * weakest signatures (raw LZMA, zlib) last.
 */
export const READERS: readonly ContainerReader[] = [
  zipReader,
  sevenZipReader,
  gzipReader,
  bz2Reader,
  xzReader,
  lz4Reader,
  joblibZfileReader,
  npyReader,
  ggufReader,
  legacyTorchReader,
  tarReader,
  pickleReader,
  safetensorsReader,
  lzmaReader,
  zlibReader,
];

/** The reader for `head`, or undefined when no format matches. */
export function readerFor(head: Uint8Array, size: number | undefined): ContainerReader | undefined {
  return READERS.find((r) => r.detect(head, size));
}

/**
 * Detects a format from the first bytes of a file (512 are enough for every format; `size` helps
 * safetensors). By content only: the file name plays no part. This is the outer format as its
 * magic shows it (`zip`, `pickle`, `gzip`...); `scan()` refines it once the structure is read
 * (`pytorch-zip`, `torchscript`, `npz`, `joblib`, `legacy-torch-tar`).
 */
export function detectFormat(head: Uint8Array, size: number): FormatId {
  return readerFor(head, size)?.format ?? 'unknown';
}

/** Reader versions, reported with every scan so cached results can be keyed by them. */
export function readerVersions(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const r of READERS) out[r.format === 'xz' && r === lzmaReader ? 'lzma' : r.format] = r.version;
  return out;
}

setEntryDetector((head, size) => detectFormat(head, size ?? Number.MAX_SAFE_INTEGER));
