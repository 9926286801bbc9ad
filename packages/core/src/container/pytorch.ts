import { expectedFormats, extensionOf } from '../engine/names.js';
import type { FormatId } from '../engine/types.js';
import type { ScanResult } from '../pickle/events.js';
import { type ForwardReader, sliceSource } from '../source/stream.js';
import type { ByteSource } from '../source/types.js';
import { readBytecode, readCodeText } from './code-entries.js';
import { crc32 } from './crc32.js';
import { isTorchPackage, TorchPackageCollector } from './torch-package.js';
import { TorchScriptCollector } from './torchscript.js';
import type { ContainerReader, Note, ReaderContext } from './types.js';
import {
  checkLayout,
  isReadableMethod,
  openZipEntry,
  readLocalHeader,
  readZipDirectory,
  ZIP_READER_VERSION,
  type ZipDirectory,
  type ZipEntry,
} from './zip.js';

/**
 * Zip archives: PyTorch checkpoints (`torch.save` since 1.6), TorchScript (`torch.jit.save`),
 * `.npz`, and any other zip. The directory is read by our own parser (zip.ts); then every entry is
 * classified by its content, so a pickle named `data.txt` is scanned (CVE-2025-1889) and tensor
 * data is never read beyond its first bytes.
 */
export const zipReader: ContainerReader = {
  format: 'zip',
  version: `${ZIP_READER_VERSION}.2`,
  detect: (head) =>
    head[0] === 0x50 &&
    head[1] === 0x4b &&
    ((head[2] === 3 && head[3] === 4) || (head[2] === 5 && head[3] === 6)),
  open: readZipArchive,
};

/** Largest pickle entry whose CRC is checked (CVE-2025-10156); bigger ones would cost a second read. */
const MAX_CRC_BYTES = 64 * 1024 * 1024;

/** Detects the content of a zip entry; supplied by the engine's registry to avoid an import cycle. */
export type EntryDetector = (head: Uint8Array, size: number | undefined) => FormatId;
let detectEntry: EntryDetector = () => 'unknown';
export function setEntryDetector(d: EntryDetector) {
  detectEntry = d;
}

const PICKLE_FORMATS: ReadonlySet<FormatId> = new Set(['pickle', 'legacy-torch', 'joblib']);

export async function readZipArchive(source: ByteSource, ctx: ReaderContext): Promise<void> {
  // Local headers are read entry by entry as entries are read, so tensor storages that data.pkl
  // declares (and torch reads as raw bytes) cost nothing: a remote 40 GB checkpoint is then the
  // end record, the directory and data.pkl, not one request per tensor.
  const dir = await readZipDirectory(source, ctx.budget, 0, { deferLocal: true });
  if (!dir) {
    ctx.note({
      kind: 'problem',
      code: 'zip-no-directory',
      message: 'starts like a zip but has no end-of-central-directory record (truncated?)',
    });
    return;
  }
  for (const n of dir.notes) ctx.note(n);
  ctx.setFormat(await scanEntries(source, dir, ctx, '', true));
  // Other end records describe other archives in the same bytes: a reader that picks another
  // one (or a scanner that did) sees different entries, so each distinct directory is scanned.
  if (dir.notes.some((n) => n.code === 'zip-multiple-eocd')) {
    const seen = new Set([dir.centralDirectoryOffset]);
    for (let i = 1; i < 4; i++) {
      const alt = await readZipDirectory(source, ctx.budget, i).catch(() => undefined);
      if (!alt) break;
      if (alt.entries.length === 0 || seen.has(alt.centralDirectoryOffset)) continue;
      seen.add(alt.centralDirectoryOffset);
      await scanEntries(source, alt, ctx, `[eocd @${alt.eocdOffset}]/`, false);
    }
  }
}

async function scanEntries(
  source: ByteSource,
  dir: ZipDirectory,
  ctx: ReaderContext,
  label: string,
  deferred: boolean,
): Promise<FormatId> {
  const dirEntries = dir.entries.filter((e) => !(e.name.endsWith('/') && e.uncompressedSize === 0));

  // torch reads `<first entry's folder>/data.pkl`; TorchScript adds constants.pkl and code/.
  const first = dir.entries[0]?.name ?? '';
  const prefix = first.includes('/') ? first.slice(0, first.indexOf('/')) : undefined;
  const has = (n: string) => dirEntries.some((e) => e.name === n);
  let kind: FormatId = 'zip';
  if (prefix !== undefined && has(`${prefix}/data.pkl`)) {
    kind =
      has(`${prefix}/constants.pkl`) || dirEntries.some((e) => e.name.startsWith(`${prefix}/code/`))
        ? 'torchscript'
        : 'pytorch-zip';
  } else if (
    isTorchPackage(
      dirEntries.map((e) => e.name),
      prefix,
    )
  )
    kind = 'torch-package';
  else if (dirEntries.length > 0 && dirEntries.every((e) => e.name.endsWith('.npy'))) kind = 'npz';
  // torch.package keeps the TorchScript of packaged ScriptModules under .data/ts_code/code/
  const script = kind === 'torchscript' || kind === 'torch-package' ? new TorchScriptCollector() : undefined;
  const codeDir =
    prefix === undefined
      ? undefined
      : kind === 'torch-package'
        ? `${prefix}/.data/ts_code/code/`
        : `${prefix}/code/`;
  const pkg =
    kind === 'torch-package' && prefix !== undefined ? new TorchPackageCollector(prefix) : undefined;

  // data.pkl first: its persistent ids name the storages torch reads as raw bytes
  const dataPkl = prefix === undefined ? undefined : `${prefix}/data.pkl`;
  const files = [
    ...dirEntries.filter((e) => e.name === dataPkl),
    ...dirEntries.filter((e) => e.name !== dataPkl),
  ];
  const storages = new Set<string>();
  const codeEntries: string[] = [];
  for (const en of files) {
    if (ctx.signal?.aborted) return kind;
    const role = roleOf(en, kind, prefix);
    if (storages.has(en.name) && en.uncompressedSize > 0) continue; // raw tensor bytes
    if (deferred) {
      for (const n of await readLocalHeader(source, en, dir.centralDirectoryOffset)) ctx.note(n);
    }
    if (en.dataOffset === undefined) continue; // the local header problem is already reported
    if (!isReadableMethod(en.method)) {
      ctx.note({
        kind: 'problem',
        code: 'zip-unsupported-method',
        message: `entry uses compression method ${en.method}, which brine does not decode`,
        entry: label + en.name,
        offset: en.localHeaderOffset,
      });
      continue;
    }
    const opened = openZipEntry(source, en, ctx.budget, en.name, (declared) =>
      ctx.note({
        kind: 'finding',
        code: 'zip-entry-overrun',
        message: `entry inflates past its declared size of ${declared} bytes; read up to that size (what loaders read), the rest is not inflated`,
        entry: label + en.name,
        offset: en.localHeaderOffset,
        evidence: { declared },
      }),
    );
    const head = await opened.reader.peek(512);
    const fmt = detectEntry(head, en.uncompressedSize);
    const storedOffset = opened.stored ? en.dataOffset : undefined;
    if (en.method === 12 || en.method === 14) {
      // torch's miniz cannot read these; CPython's zipfile (numpy.load) can
      ctx.note({
        kind: 'finding',
        code: 'zip-method-zipfile-only',
        message: `entry uses compression method ${en.method}, which zipfile reads and torch does not`,
        entry: label + en.name,
        offset: en.localHeaderOffset,
        evidence: { method: en.method },
      });
    }
    const tensorData =
      kind !== 'zip' &&
      kind !== 'npz' &&
      prefix !== undefined &&
      (en.name.startsWith(`${prefix}/data/`) ||
        (kind === 'torch-package' && en.name.startsWith(`${prefix}/.data/`) && en.name.endsWith('.storage')));
    if (
      PICKLE_FORMATS.has(fmt) &&
      tensorData &&
      ctx.looksLikePickle &&
      !(await ctx.looksLikePickle(await opened.reader.peek(4096)))
    ) {
      continue; // tensor bytes that merely start like a pickle; torch never unpickles them
    }
    if (PICKLE_FORMATS.has(fmt)) {
      const isDataPkl = en.name === dataPkl;
      if (script && en.name === `${prefix}/bytecode.pkl`) {
        await readBytecode(opened.reader, label + en.name, en.uncompressedSize, script, ctx);
      }
      const expected = expectedFormats(en.name);
      if (expected && !expected.includes(fmt)) {
        ctx.note({
          kind: 'finding',
          code: 'name-format-mismatch',
          message: `entry named .${extensionOf(en.name)} holds a ${fmt}`,
          entry: label + en.name,
          offset: en.localHeaderOffset,
          evidence: { extension: extensionOf(en.name) ?? '', format: fmt, expected: expected.join('|') },
        });
      }
      const { scan } = await ctx.scanPickle(opened.reader, label + en.name, role, {
        joblib: true,
        ...(storedOffset === undefined ? {} : { fileOffset: storedOffset }),
      });
      if (isDataPkl && prefix !== undefined) {
        for (const key of storageKeys(scan.result)) storages.add(`${prefix}/data/${key}`);
      }
      await checkCrc(source, opened, en, ctx);
      continue;
    }
    if (script && codeDir !== undefined && en.name.startsWith(codeDir) && !en.name.endsWith('.pkl')) {
      codeEntries.push(en.name);
      await readCodeText(opened.reader, label + en.name, en.uncompressedSize, ctx, (text) =>
        script?.addSource(label + en.name, text),
      );
      continue;
    }
    if (pkg?.wants(en.name)) {
      await readCodeText(opened.reader, label + en.name, en.uncompressedSize, ctx, (text) =>
        pkg.add(en.name, text),
      );
      continue;
    }
    if (fmt === 'unknown') continue; // tensor bytes, metadata files
    if (opened.stored && storedOffset !== undefined) {
      await ctx.nested(sliceSource(source, storedOffset, en.compressedSize, en.name), label + en.name, {
        fileOffset: storedOffset,
        role,
      });
    } else {
      await ctx.nestedStream(opened.reader, label + en.name, { role });
    }
  }
  if (deferred) {
    const layout: Note[] = [];
    checkLayout(dir.entries, dir.centralDirectoryOffset, dir.prefixLength, layout);
    for (const n of layout) ctx.note(n);
  }
  for (const n of script?.notes() ?? []) ctx.note(n);
  for (const n of pkg?.notes() ?? []) ctx.note({ ...n, ...(n.entry ? { entry: label + n.entry } : {}) });
  if (codeEntries.length) {
    ctx.note({
      kind: 'finding',
      code: 'torchscript-code',
      message: `TorchScript archive carries ${codeEntries.length} code entries that torch.jit.load compiles and runs`,
      evidence: { entries: codeEntries.slice(0, 20).join(', '), count: codeEntries.length },
    });
  }
  return kind;
}

function roleOf(en: ZipEntry, kind: FormatId, prefix: string | undefined): string {
  if (prefix !== undefined && en.name === `${prefix}/data.pkl`)
    return kind === 'torchscript' ? 'torchscript data.pkl' : 'torch data.pkl';
  if (prefix !== undefined && en.name === `${prefix}/constants.pkl`) return 'torchscript constants.pkl';
  if (prefix !== undefined && en.name === `${prefix}/bytecode.pkl`) return 'torchscript bytecode.pkl';
  if (kind === 'torch-package') return 'torch.package pickle';
  if (kind === 'npz') return 'npz member';
  return 'zip entry';
}

/**
 * Compares the entry's CRC with the directory, as zipfile would (torch does not). Stored entries
 * are re-read from the source; deflated ones are drained (their inflater keeps the CRC). Entries
 * above {@link MAX_CRC_BYTES} are left unchecked.
 */
async function checkCrc(
  source: ByteSource,
  opened: { reader: ForwardReader; crc: () => number | undefined; stored: boolean },
  en: ZipEntry,
  ctx: ReaderContext,
): Promise<void> {
  const total = en.uncompressedSize;
  if (total > MAX_CRC_BYTES) return;
  let crc: number | undefined;
  let actual: number;
  if (opened.stored) {
    const start = en.dataOffset as number;
    const data = await source.read(start, Math.min(en.compressedSize, MAX_CRC_BYTES));
    crc = crc32(0, data);
    actual = data.length;
    if (en.compressedSize !== total) actual = -1;
  } else {
    for (;;) {
      const c = await opened.reader.read(1 << 20);
      if (c.length === 0 || opened.reader.position > total) break;
    }
    actual = opened.reader.position;
    crc = opened.crc();
  }
  if (actual !== total) {
    ctx.note({
      kind: 'finding',
      code: 'zip-size-mismatch',
      message: `entry data does not match the ${total} bytes the directory declares`,
      entry: en.name,
      offset: en.localHeaderOffset,
      evidence: { declared: total, compressed: en.compressedSize, actual },
    });
    return;
  }
  if (crc !== undefined && crc !== en.crc32) {
    ctx.note({
      kind: 'finding',
      code: 'zip-crc-mismatch',
      message:
        'CRC-32 of the entry does not match the directory; torch loads it anyway, zipfile refuses (CVE-2025-10156)',
      entry: en.name,
      offset: en.localHeaderOffset,
      evidence: { declared: en.crc32.toString(16), actual: crc.toString(16) },
    });
  }
}

/**
 * The storage keys `data.pkl` names through torch's persistent ids (`('storage', <class>, key, location,
 * numel)`): the `data/<key>` entries hold raw tensor bytes, never pickles, so readers skip them.
 */
export function storageKeys(result: ScanResult): string[] {
  const keys: string[] = [];
  for (const p of result.persistentIds) {
    const items = p.pid.kind === 'tuple' ? p.pid.items : [];
    const [tag, , key] = items;
    if (tag?.kind === 'str' && tag.value === 'storage' && key?.kind === 'str' && !key.truncated)
      keys.push(key.value);
  }
  return keys;
}
