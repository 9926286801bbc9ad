import type { FormatId } from './types.js';

/**
 * What a file name promises, by extension. Names never decide how a file is read; they are
 * compared with the detected content, because a pickle dressed as `.safetensors`, `.png` or
 * `.bin` is how scanners that route by name were bypassed (CVE-2025-1889, CVE-2025-10155).
 */
const TORCH: FormatId[] = [
  'pytorch-zip',
  'torchscript',
  'torch-package',
  'legacy-torch',
  'legacy-torch-tar',
  'zip',
];
const PICKLE: FormatId[] = ['pickle', 'joblib', 'legacy-torch'];
const COMPRESSED: FormatId[] = ['gzip', 'zlib', 'bz2', 'xz', 'lz4'];
const NOT_PICKLE: FormatId[] = ['unknown', 'safetensors', 'gguf', 'zip', 'tar', 'gzip', 'npy'];

const BY_EXTENSION: Record<string, FormatId[]> = {
  pt: TORCH,
  pth: TORCH,
  bin: TORCH,
  ckpt: TORCH,
  pkl: [...PICKLE, ...COMPRESSED],
  pickle: [...PICKLE, ...COMPRESSED],
  joblib: [...PICKLE, ...COMPRESSED],
  dat: [...PICKLE, ...COMPRESSED],
  npy: ['npy'],
  npz: ['npz', 'zip'],
  safetensors: ['safetensors'],
  gguf: ['gguf'],
  zip: ['zip', 'pytorch-zip', 'torchscript', 'torch-package', 'npz'],
  mar: ['zip', 'pytorch-zip', 'torchscript'],
  gz: ['gzip'],
  tgz: ['gzip'],
  bz2: ['bz2'],
  xz: ['xz'],
  lzma: ['xz'],
  lz4: ['lz4'],
  '7z': ['7z'],
  // `checkpoint.pth.tar` is a long-standing name for ordinary torch.save output
  tar: ['tar', ...TORCH],
  png: NOT_PICKLE,
  jpg: NOT_PICKLE,
  jpeg: NOT_PICKLE,
  gif: NOT_PICKLE,
  txt: NOT_PICKLE,
  json: NOT_PICKLE,
  md: NOT_PICKLE,
  csv: NOT_PICKLE,
  onnx: NOT_PICKLE,
  h5: NOT_PICKLE,
  msgpack: NOT_PICKLE,
  tflite: NOT_PICKLE,
};

/** The extension of the last path segment of a name or URL, lower-cased. */
export function extensionOf(name: string): string | undefined {
  const base =
    name
      .replace(/[?#].*$/, '')
      .split(/[/\\]/)
      .pop() ?? '';
  const dot = base.lastIndexOf('.');
  return dot > 0 ? base.slice(dot + 1).toLowerCase() : undefined;
}

/** The formats a name promises, or undefined when its extension promises nothing we know. */
export function expectedFormats(name: string): FormatId[] | undefined {
  const ext = extensionOf(name);
  return ext === undefined ? undefined : BY_EXTENSION[ext];
}
