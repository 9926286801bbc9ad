import { BrineError } from '../engine/types.js';
import { chunkReader, type ForwardReader } from '../source/stream.js';
import { readBytecode, readCodeText } from './code-entries.js';
import { Bzip2Decoder, decode } from './compressed.js';
import { crc32 } from './crc32.js';
import { storageKeys } from './pytorch.js';
import { detectFormat } from './registry.js';
import { isTorchPackage, TorchPackageCollector } from './torch-package.js';
import { TorchScriptCollector } from './torchscript.js';
import type { Note, ReaderContext } from './types.js';
import { inflateChunks, zipLzmaDecoder } from './zip.js';

/**
 * Reads a zip archive front to back, as it arrives over the network, when there is no random access
 * (an upload body). The random-access reader (`zip.ts`) starts from the central directory, as torch
 * does; a stream delivers the directory last. So this reader walks the local headers, hands each
 * entry's bytes to the engine as they pass (pickles are scanned, tensor bytes dropped), keeps a small
 * record per entry, and when the directory arrives checks it against what was seen, with the same
 * finding codes as `zip.ts`. What a stream cannot check (a directory entry pointing at bytes that
 * were never a local header, so they have already gone by) is reported as a problem: the file is
 * then never clean.
 */
export const ZIP_STREAM_READER_VERSION = '1';

const SIG_LOCAL = 0x04034b50;
const SIG_CENTRAL = 0x02014b50;
const SIG_EOCD = 0x06054b50;
const SIG_ZIP64_EOCD = 0x06064b50;
const SIG_ZIP64_LOCATOR = 0x07064b50;
const SIG_DESCRIPTOR = 0x08074b50;
const FLAG_DESCRIPTOR = 0x8;
/** Encryption (0x1), patch data (0x20), strong encryption (0x40): torch ignores them, zipfile refuses. */
const FLAGS_RISKY = 0x61;

const u16 = (b: Uint8Array, o: number) => (b[o] as number) | ((b[o + 1] as number) << 8);
const u32 = (b: Uint8Array, o: number) => (u16(b, o) | (u16(b, o + 2) << 16)) >>> 0;
const u64 = (b: Uint8Array, o: number) => u32(b, o) + u32(b, o + 4) * 2 ** 32;
const utf8 = new TextDecoder('utf-8', { fatal: false });

/** What the stream showed of one entry: kept for every entry until the directory arrives, so it stays small. */
export interface StreamedEntry {
  name: string;
  /** Offset of the local header in the stream. */
  offset: number;
  flags: number;
  method: number;
  /** From the data descriptor when the entry has one, else from the local header. */
  crc32: number;
  compressedSize: number;
  uncompressedSize: number;
  /** CRC of the uncompressed bytes, when every byte was read (pickles are; skipped tensor data is not). */
  actualCrc?: number;
  /** True once the central directory listed this entry. */
  listed: boolean;
}

/** Summary of a streamed archive, for callers that report which checks were done. */
export interface ZipStreamSummary {
  entries: number;
  directoryEntries: number;
  /** True when the end record arrived and every directory entry matched a local header. */
  verified: boolean;
}

interface CentralRecord {
  name: string;
  flags: number;
  method: number;
  crc32: number;
  compressedSize: number;
  uncompressedSize: number;
  localHeaderOffset: number;
  at: number;
}

/** Search window for data descriptors of entries whose size the local header leaves open. */
const DESCRIPTOR_WINDOW = 64 * 1024;

/**
 * Walks a zip archive read front to back. `ctx.nestedStream` is given each entry's uncompressed bytes
 * (it detects the content, scans pickles, descends into nested containers); whatever it leaves unread
 * is skipped. Findings and problems go to `ctx.note`. Never throws for bad input: a damaged stream
 * ends in a problem note, and everything found before it is kept.
 */
export async function readZipStream(reader: ForwardReader, ctx: ReaderContext): Promise<ZipStreamSummary> {
  const local = new Map<number, StreamedEntry>();
  const central: CentralRecord[] = [];
  const note = (n: Note) => ctx.note(n);
  let eocdSeen = 0;
  let eocd: { entries: number; cdSize: number; cdOffset: number; at: number } | undefined;
  let zip64: { entries: number; cdSize: number; cdOffset: number } | undefined;
  let firstCentralAt: number | undefined;
  let garbageReported = false;
  const archive: ArchiveFacts = {
    names: [],
    codeEntries: [],
    storages: new Set(),
    script: new TorchScriptCollector(),
    sources: [],
    sourceBytes: 0,
  };

  const fail = (code: string, message: string, offset: number) =>
    note({ kind: 'problem', code, message, offset });

  for (;;) {
    if (ctx.signal?.aborted)
      throw ctx.signal.reason ?? new BrineError('aborted', 'scan aborted', reader.name);
    const at = reader.position;
    const head = await reader.peek(4);
    if (head.length === 0) break;
    const sig = head.length === 4 ? u32(head, 0) : 0;

    if (eocd && sig !== SIG_EOCD) {
      // After the end record nothing belongs to the archive: count it, and look for a second
      // end record (loaders that scan backwards would use that one instead).
      const { bytes, more } = await drainCounting(reader);
      note({
        kind: 'finding',
        code: 'zip-data-after-directory',
        message: `${bytes} bytes follow the end-of-central-directory record`,
        offset: at,
        evidence: { bytes },
      });
      eocdSeen += more;
      break;
    }

    if (sig === SIG_LOCAL) {
      if (central.length > 0) {
        note({
          kind: 'finding',
          code: 'zip-unlisted-data',
          message: 'a local entry follows the central directory',
          offset: at,
        });
      }
      if (local.size >= ctx.budget.maxEntries) {
        fail(
          'limit-entries',
          `more than ${ctx.budget.maxEntries} entries; the rest of the stream was not read`,
          at,
        );
        await reader.skip(Number.POSITIVE_INFINITY);
        return { entries: local.size, directoryEntries: central.length, verified: false };
      }
      const entry = await readLocalEntry(reader, ctx, at, archive);
      if (!entry) {
        fail('zip-stream-truncated', 'the stream ends inside a local header', at);
        return { entries: local.size, directoryEntries: central.length, verified: false };
      }
      local.set(at, entry.record);
      if (!entry.ok) return { entries: local.size, directoryEntries: central.length, verified: false };
      continue;
    }

    if (sig === SIG_CENTRAL) {
      firstCentralAt ??= at;
      const fixed = await reader.read(46);
      if (fixed.length < 46) {
        fail('zip-stream-truncated', 'the stream ends inside the central directory', at);
        break;
      }
      const nameLen = u16(fixed, 28);
      const extraLen = u16(fixed, 30);
      const commentLen = u16(fixed, 32);
      const rest = await reader.read(nameLen + extraLen + commentLen);
      if (rest.length < nameLen + extraLen + commentLen) {
        fail('zip-stream-truncated', 'the stream ends inside the central directory', at);
        break;
      }
      const record: CentralRecord = {
        name: utf8.decode(rest.subarray(0, nameLen)),
        flags: u16(fixed, 8),
        method: u16(fixed, 10),
        crc32: u32(fixed, 16),
        compressedSize: u32(fixed, 20),
        uncompressedSize: u32(fixed, 24),
        localHeaderOffset: u32(fixed, 42),
        at,
      };
      applyZip64(rest.subarray(nameLen, nameLen + extraLen), record, true);
      if (central.length >= ctx.budget.maxEntries) {
        fail('limit-entries', `central directory lists more than ${ctx.budget.maxEntries} entries`, at);
        await reader.skip(Number.POSITIVE_INFINITY);
        break;
      }
      central.push(record);
      continue;
    }

    if (sig === SIG_ZIP64_EOCD) {
      const fixed = await reader.read(56);
      if (fixed.length < 56) {
        fail('zip-stream-truncated', 'the stream ends inside the ZIP64 end record', at);
        break;
      }
      zip64 = { entries: u64(fixed, 32), cdSize: u64(fixed, 40), cdOffset: u64(fixed, 48) };
      const extensible = u64(fixed, 4) - 44;
      if (extensible > 0) await reader.skip(extensible);
      continue;
    }

    if (sig === SIG_ZIP64_LOCATOR) {
      if ((await reader.read(20)).length < 20) {
        fail('zip-stream-truncated', 'the stream ends inside the ZIP64 locator', at);
        break;
      }
      continue;
    }

    if (sig === SIG_EOCD) {
      const fixed = await reader.read(22);
      if (fixed.length < 22) {
        fail('zip-stream-truncated', 'the stream ends inside the end-of-central-directory record', at);
        break;
      }
      eocdSeen++;
      const commentLen = u16(fixed, 20);
      const comment = await reader.read(commentLen);
      // An end record hidden in the comment is the one a backwards-scanning reader finds first.
      for (
        let i = comment.indexOf(0x50);
        i >= 0 && i + 4 <= comment.length;
        i = comment.indexOf(0x50, i + 1)
      ) {
        if (u32(comment, i) === SIG_EOCD) eocdSeen++;
      }
      if (eocd) continue; // a second end record directly after the first: counted above
      eocd = { entries: u16(fixed, 10), cdSize: u32(fixed, 12), cdOffset: u32(fixed, 16), at };
      if (comment.length < commentLen) {
        note({
          kind: 'finding',
          code: 'zip-comment-truncated',
          message: 'archive comment length runs past the end of the file',
          offset: at,
          evidence: { commentLength: commentLen },
        });
      }
      continue;
    }

    // Bytes that start no record. A stream reader cannot know where the next record starts, so
    // it searches for one; the bytes in between are unlisted data an attacker may have put there.
    const skipped = await resync(reader);
    if (!garbageReported) {
      note({
        kind: 'finding',
        code: 'zip-unlisted-data',
        message: `${skipped} bytes between records belong to no entry`,
        offset: at,
        evidence: { bytes: skipped },
      });
      garbageReported = true;
    }
  }

  // The directory's names are the ones torch looks up; the local ones stand in when it never came.
  if (central.length > 0) archive.names = central.map((c) => c.name);
  settleFormat(archive, ctx);
  return crossCheck({ local, central, eocd, zip64, eocdSeen, firstCentralAt, note, ctx });
}

/** Reads one local header and its data. `ok` false means the stream cannot be followed past it. */
async function readLocalEntry(
  reader: ForwardReader,
  ctx: ReaderContext,
  at: number,
  archive: ArchiveFacts,
): Promise<{ record: StreamedEntry; ok: boolean } | undefined> {
  const fixed = await reader.read(30);
  if (fixed.length < 30) return undefined;
  const nameLen = u16(fixed, 26);
  const extraLen = u16(fixed, 28);
  const rest = await reader.read(nameLen + extraLen);
  if (rest.length < nameLen + extraLen) return undefined;
  const record: StreamedEntry = {
    name: utf8.decode(rest.subarray(0, nameLen)),
    offset: at,
    flags: u16(fixed, 6),
    method: u16(fixed, 8),
    crc32: u32(fixed, 14),
    compressedSize: u32(fixed, 18),
    uncompressedSize: u32(fixed, 22),
    listed: false,
  };
  applyZip64(rest.subarray(nameLen), record, false);
  const dataStart = reader.position;
  const sizeKnown = !(record.flags & FLAG_DESCRIPTOR) || record.compressedSize !== 0;
  const name = record.name;

  // The entry's compressed bytes, as a reader that ends where the entry ends.
  let compressed: ForwardReader & { remaining(): number; found?(): boolean };
  if (sizeKnown) compressed = boundedReader(reader, record.compressedSize, name, dataStart);
  else compressed = descriptorReader(reader, name, dataStart);

  let crc = 0;
  let fullyRead = true;
  let uncompressedSeen = 0;
  const watch = (d: Uint8Array) => {
    crc = crc32(crc, d);
    uncompressedSeen += d.length;
    return d;
  };
  let content: ForwardReader | undefined;
  if (record.method === 0) {
    content = crcReader(compressed, watch, () => {
      fullyRead = false;
    });
  } else if (record.method === 8) {
    content = crcReader(inflateReader(compressed, ctx, name), watch, () => {
      fullyRead = false;
    });
  } else if (record.method === 12 || record.method === 14) {
    // bzip2 and LZMA: torch cannot read them, CPython's zipfile (numpy.load of an .npz) can.
    const make =
      record.method === 12
        ? (emit: (c: Uint8Array) => void) => new Bzip2Decoder(emit)
        : (emit: (c: Uint8Array) => void) => zipLzmaDecoder(record, emit);
    const label = record.method === 12 ? 'bzip2' : 'lzma';
    content = crcReader(chunkReader(name, decode(compressed, make, ctx.budget, name, label)), watch, () => {
      fullyRead = false;
    });
    ctx.note({
      kind: 'finding',
      code: 'zip-method-zipfile-only',
      message: `entry uses compression method ${record.method}, which zipfile reads and torch does not`,
      offset: at,
      entry: name,
      evidence: { method: record.method },
    });
  } else {
    ctx.note({
      kind: 'problem',
      code: 'zip-unsupported-method',
      message: `entry "${name}" uses compression method ${record.method}, which brine cannot read`,
      offset: at,
      entry: name,
    });
    fullyRead = false;
  }

  if (archive.names.length === 0 && name.includes('/')) archive.prefix = name.slice(0, name.indexOf('/'));
  archive.names.push(name);
  const prefix = archive.prefix;
  try {
    fullyRead = (await handleContent(ctx, archive, record, content, prefix, dataStart)) && fullyRead;
  } catch (e) {
    if (ctx.signal?.aborted) throw e;
    ctx.note({
      kind: 'problem',
      code: e instanceof BrineError ? e.code : 'zip-entry-unreadable',
      message: `entry "${name}": ${e instanceof Error ? e.message : String(e)}`,
      offset: at,
      entry: name,
    });
    fullyRead = false;
  }
  await compressed.skip(Number.POSITIVE_INFINITY);
  if (!sizeKnown && !compressed.found?.()) {
    ctx.note({
      kind: 'problem',
      code: 'zip-stream-descriptor-missing',
      message: `entry "${name}" has no size in its local header and no data descriptor was found; the rest of the stream cannot be followed`,
      offset: at,
      entry: name,
    });
    return { record, ok: false };
  }
  if (compressed.remaining() > 0) {
    ctx.note({
      kind: 'problem',
      code: 'zip-stream-truncated',
      message: `the stream ends inside entry "${name}"`,
      offset: at,
      entry: name,
    });
    return { record, ok: false };
  }
  if (record.flags & FLAG_DESCRIPTOR) {
    const d = await readDescriptor(reader, record);
    if (!d) return { record, ok: false };
  }
  if (fullyRead && content) {
    record.actualCrc = crc;
    if (record.method === 0 || uncompressedSeen === record.uncompressedSize) {
      if (crc !== record.crc32) {
        ctx.note({
          kind: 'finding',
          code: 'zip-crc-mismatch',
          message: `entry "${name}" has CRC-32 0x${crc.toString(16)} but its header says 0x${record.crc32.toString(16)}; torch does not check, zipfile refuses (CVE-2025-10156)`,
          offset: at,
          entry: name,
          evidence: { name, expected: record.crc32, actual: crc },
        });
      }
    }
  }
  return { record, ok: true };
}

const PICKLE_FORMATS: ReadonlySet<string> = new Set(['pickle', 'legacy-torch', 'joblib']);

/**
 * Gives one entry's content to whatever reads it: pickles to the scanner, TorchScript source to
 * its analysis, other recognised formats to the engine; tensor bytes and metadata to nobody.
 * Returns true when every byte of the content was read (so its CRC can be checked).
 */
async function handleContent(
  ctx: ReaderContext,
  archive: ArchiveFacts,
  record: StreamedEntry,
  content: ForwardReader | undefined,
  prefix: string | undefined,
  dataStart: number,
): Promise<boolean> {
  const name = record.name;
  // Storages that data.pkl declared are raw tensor bytes torch never unpickles (torch.save writes
  // data.pkl before them): skipped unsniffed, as the random-access reader does.
  if (!content || (archive.storages.has(name) && record.uncompressedSize > 0)) return false;
  const fmt = detectFormat(await content.peek(512), record.uncompressedSize);
  if (
    PICKLE_FORMATS.has(fmt) &&
    prefix !== undefined &&
    /^\.data\/\d+\.storage$/.test(name.slice(prefix.length + 1)) &&
    ctx.looksLikePickle &&
    !(await ctx.looksLikePickle(await content.peek(4096)))
  ) {
    return false; // torch.package tensor bytes that merely start like a pickle
  }
  if (PICKLE_FORMATS.has(fmt)) {
    if (prefix !== undefined && name === `${prefix}/bytecode.pkl`) {
      await readBytecode(content, name, record.uncompressedSize, archive.script, ctx);
    }
    const fileOffset = record.method === 0 ? dataStart : undefined;
    const { scan } = await ctx.scanPickle(content, name, roleOf(name, prefix), {
      joblib: true,
      ...(fileOffset === undefined ? {} : { fileOffset }),
    });
    if (prefix !== undefined && name === `${prefix}/data.pkl`) {
      for (const key of storageKeys(scan.result)) archive.storages.add(`${prefix}/data/${key}`);
    }
  } else if (prefix !== undefined && name.startsWith(`${prefix}/code/`) && !name.endsWith('.pkl')) {
    // TorchScript source that torch.jit.load compiles and runs (pickles under code/, the
    // `*.debug_pkl`, were scanned above): analysed as text, as the random-access reader does.
    archive.codeEntries.push(name);
    await readCodeText(content, name, record.uncompressedSize, ctx, (text) =>
      archive.script.addSource(name, text),
    );
  } else if (prefix !== undefined && (name.endsWith('.py') || name === `${prefix}/.data/extern_modules`)) {
    // Maybe torch.package source: kept until the archive's kind is known at its end (bounded).
    await readCodeText(content, name, record.uncompressedSize, ctx, (text) => {
      archive.sourceBytes += text.length;
      if (archive.sourceBytes <= MAX_SOURCE_TOTAL) archive.sources.push({ name, text });
      else archive.sourcesDropped = true;
    });
  } else if (fmt !== 'unknown') {
    await ctx.nestedStream(content, name, { role: roleOf(name, prefix) });
  } else {
    // Tensor bytes and metadata: left to be skipped compressed. Reading them through the CRC
    // reader would cost a CRC pass over gigabytes, so their CRC is left unchecked, as the
    // random-access reader does.
    return false;
  }
  return (await content.peek(1)).length === 0;
}

/** Python source kept while the stream has not yet shown whether the zip is a torch.package. */
const MAX_SOURCE_TOTAL = 64 * 1024 * 1024;

/** What the stream has shown of the archive's layout so far (torch's folder, code entries). */
interface ArchiveFacts {
  /** Folder of the first entry: torch reads `<prefix>/data.pkl`. */
  prefix?: string;
  names: string[];
  codeEntries: string[];
  /** Entries data.pkl names as storages (`<prefix>/data/<key>`). */
  storages: Set<string>;
  /** What `code/` and `bytecode.pkl` call (reported only if the archive is TorchScript). */
  script: TorchScriptCollector;
  /** `.py` entries and `.data/extern_modules` (read as torch.package source if the archive is one). */
  sources: Array<{ name: string; text: string }>;
  sourceBytes: number;
  sourcesDropped?: boolean;
}

/** Roles as the random-access reader names them; the archive's kind is not known until its end. */
function roleOf(name: string, prefix: string | undefined): string {
  if (prefix !== undefined && name === `${prefix}/data.pkl`) return 'torch data.pkl';
  if (prefix !== undefined && name === `${prefix}/constants.pkl`) return 'torchscript constants.pkl';
  if (name.endsWith('.npy')) return 'npz member';
  return 'zip entry';
}

/** Decides the archive's kind once every entry has passed, as `pytorch.ts` does from the directory. */
function settleFormat(archive: ArchiveFacts, ctx: ReaderContext): void {
  const { names } = archive;
  const first = names[0] ?? '';
  const prefix = first.includes('/') ? first.slice(0, first.indexOf('/')) : undefined;
  const has = (n: string) => names.includes(n);
  if (prefix !== undefined && has(`${prefix}/data.pkl`)) {
    const script = has(`${prefix}/constants.pkl`) || archive.codeEntries.length > 0;
    ctx.setFormat(script ? 'torchscript' : 'pytorch-zip');
    if (script) for (const n of archive.script.notes()) ctx.note(n);
    if (script && archive.codeEntries.length) {
      ctx.note({
        kind: 'finding',
        code: 'torchscript-code',
        message: `TorchScript archive carries ${archive.codeEntries.length} code entries that torch.jit.load compiles and runs`,
        evidence: { entries: archive.codeEntries.slice(0, 20).join(', '), count: archive.codeEntries.length },
      });
    }
  } else if (prefix !== undefined && isTorchPackage(names, prefix)) {
    ctx.setFormat('torch-package');
    const pkg = new TorchPackageCollector(prefix);
    const tsCode = `${prefix}/.data/ts_code/code/`;
    for (const s of archive.sources) {
      if (pkg.wants(s.name)) pkg.add(s.name, s.text);
      else if (s.name.startsWith(tsCode)) archive.script.addSource(s.name, s.text);
    }
    for (const n of archive.script.notes()) ctx.note(n);
    for (const n of pkg.notes()) ctx.note(n);
    if (archive.sourcesDropped) {
      ctx.note({
        kind: 'problem',
        code: 'limit-code-size',
        message: `torch.package source beyond ${MAX_SOURCE_TOTAL} bytes was not kept for analysis while streaming`,
      });
    }
  } else if (names.length > 0 && names.every((n) => n.endsWith('.npy'))) ctx.setFormat('npz');
}

/** ZIP64 extra field: only the fields whose 32-bit value is saturated are present, in this order. */
function applyZip64(
  extra: Uint8Array,
  r: { compressedSize: number; uncompressedSize: number; localHeaderOffset?: number },
  central: boolean,
): void {
  for (let x = 0; x + 4 <= extra.length; ) {
    const id = u16(extra, x);
    const len = u16(extra, x + 2);
    if (id === 0x0001) {
      let q = x + 4;
      const end = Math.min(x + 4 + len, extra.length);
      if (r.uncompressedSize === 0xffffffff && q + 8 <= end) {
        r.uncompressedSize = u64(extra, q);
        q += 8;
      }
      if (r.compressedSize === 0xffffffff && q + 8 <= end) {
        r.compressedSize = u64(extra, q);
        q += 8;
      }
      if (central && r.localHeaderOffset === 0xffffffff && q + 8 <= end) r.localHeaderOffset = u64(extra, q);
    }
    x += 4 + len;
  }
}

async function readDescriptor(reader: ForwardReader, record: StreamedEntry): Promise<boolean> {
  const head = await reader.peek(24);
  const sig = head.length >= 4 && u32(head, 0) === SIG_DESCRIPTOR ? 4 : 0;
  // ZIP64 descriptors carry 8-byte sizes; they are used when the local header had the ZIP64 extra.
  const wide = record.compressedSize >= 0xffffffff || record.uncompressedSize >= 0xffffffff;
  const len = sig + (wide ? 20 : 12);
  const d = await reader.read(len);
  if (d.length < len) return false;
  record.crc32 = u32(d, sig);
  if (wide) {
    record.compressedSize = u64(d, sig + 4);
    record.uncompressedSize = u64(d, sig + 12);
  } else {
    record.compressedSize = u32(d, sig + 4);
    record.uncompressedSize = u32(d, sig + 8);
  }
  return true;
}

/** A reader over the next `length` bytes of `parent`. */
function boundedReader(
  parent: ForwardReader,
  length: number,
  name: string,
  base: number,
): ForwardReader & { remaining(): number } {
  let pos = 0;
  return {
    name,
    get position() {
      return pos;
    },
    size: length,
    async read(n) {
      const d = await parent.read(Math.min(n, length - pos));
      pos += d.length;
      return d;
    },
    async peek(n) {
      return parent.peek(Math.min(n, length - pos));
    },
    async skip(n) {
      const k = await parent.skip(Math.min(n, length - pos));
      pos += k;
      return k;
    },
    sourceOffset: () => base + pos,
    unread(bytes) {
      parent.unread(bytes);
      pos -= bytes.length;
    },
    remaining: () => length - pos,
  };
}

/**
 * A reader for an entry whose size is only in the data descriptor after it (bit 3, written by
 * streaming zip writers). It ends at the first descriptor signature whose compressed size equals
 * the bytes before it, which is how a stream reader can tell a real descriptor from look-alike data.
 */
function descriptorReader(
  parent: ForwardReader,
  name: string,
  base: number,
): ForwardReader & { remaining(): number; found(): boolean } {
  let pos = 0;
  let end: number | undefined;
  let exhausted = false;
  /** Bytes that are certainly entry data from `pos` on (up to `want`), finding the end when it is near. */
  const available = async (want: number): Promise<number> => {
    if (end !== undefined) return Math.min(want, end - pos);
    const window = await parent.peek(Math.max(want, DESCRIPTOR_WINDOW) + 24);
    for (let i = window.indexOf(0x50); i >= 0 && i + 4 <= window.length; i = window.indexOf(0x50, i + 1)) {
      if (window[i + 1] !== 0x4b || window[i + 2] !== 7 || window[i + 3] !== 8) continue;
      if (i + 16 > window.length) return i; // may be the descriptor: do not pass it until we can see it
      const size32 = u32(window, i + 8);
      const size64 = i + 24 <= window.length ? u64(window, i + 8) : -1;
      if (size32 === pos + i || size64 === pos + i) {
        end = pos + i;
        return Math.min(want, i);
      }
    }
    if (window.length < Math.max(want, DESCRIPTOR_WINDOW) + 24) {
      exhausted = true; // stream ended without a descriptor
      return Math.min(want, window.length);
    }
    return Math.min(want, window.length - 23);
  };
  return {
    name,
    get position() {
      return pos;
    },
    size: undefined,
    async read(n) {
      const k = await available(n);
      const d = await parent.read(k);
      pos += d.length;
      return d;
    },
    async peek(n) {
      return parent.peek(await available(n));
    },
    async skip(n) {
      let skipped = 0;
      while (skipped < n) {
        const k = await available(Math.min(n - skipped, 1 << 20));
        if (k === 0) break;
        const s = await parent.skip(k);
        pos += s;
        skipped += s;
        if (s < k) break;
      }
      return skipped;
    },
    sourceOffset: () => base + pos,
    unread(bytes) {
      parent.unread(bytes);
      pos -= bytes.length;
    },
    remaining: () => (end === undefined ? (exhausted ? 0 : 1) : end - pos),
    found: () => end !== undefined,
  };
}

/** Inflates a compressed entry lazily; every inflated byte is charged to the scan's budget. */
function inflateReader(compressed: ForwardReader, ctx: ReaderContext, name: string): ForwardReader {
  async function* chunks(): AsyncGenerator<Uint8Array> {
    for (;;) {
      const c = await compressed.read(16 * 1024);
      if (c.length === 0) return;
      yield c;
    }
  }
  return chunkReader(name, inflateChunks(chunks(), name, ctx.budget));
}

/**
 * Passes reads through `watch` (CRC); a skip means the CRC can no longer be known. Bytes given back
 * with `unread` come again on the next reads and are not counted twice.
 */
function crcReader(
  inner: ForwardReader,
  watch: (d: Uint8Array) => Uint8Array,
  skipped: () => void,
): ForwardReader {
  let replay = 0;
  return {
    name: inner.name,
    get position() {
      return inner.position;
    },
    size: inner.size,
    async read(n) {
      const d = await inner.read(n);
      const again = Math.min(replay, d.length);
      replay -= again;
      watch(d.subarray(again));
      return d;
    },
    unread(bytes) {
      inner.unread(bytes);
      replay += bytes.length;
    },
    peek: (n) => inner.peek(n),
    async skip(n) {
      const k = await inner.skip(n);
      if (k > 0) skipped();
      return k;
    },
    sourceOffset: () => inner.sourceOffset(),
  };
}

/** Skips to the next byte that starts a zip record signature; returns the bytes skipped. */
async function resync(reader: ForwardReader): Promise<number> {
  let skipped = 0;
  for (;;) {
    const window = await reader.peek(64 * 1024);
    if (window.length === 0) return skipped;
    let i = skipped === 0 ? 1 : 0;
    for (i = window.indexOf(0x50, i); i >= 0 && i + 4 <= window.length; i = window.indexOf(0x50, i + 1)) {
      if (window[i + 1] !== 0x4b) continue;
      const s = u32(window, i);
      if (s === SIG_LOCAL || s === SIG_CENTRAL || s === SIG_EOCD || s === SIG_ZIP64_EOCD) {
        skipped += await reader.skip(i);
        return skipped;
      }
    }
    if (window.length < 4) {
      skipped += await reader.skip(window.length);
      return skipped;
    }
    skipped += await reader.skip(window.length - 3);
  }
}

/** Drops the rest of the stream, counting bytes and end-record signatures in it. */
async function drainCounting(reader: ForwardReader): Promise<{ bytes: number; more: number }> {
  let bytes = 0;
  let more = 0;
  let tail = new Uint8Array(0);
  for (;;) {
    const chunk = await reader.read(64 * 1024);
    if (chunk.length === 0) break;
    bytes += chunk.length;
    const window = new Uint8Array(tail.length + chunk.length);
    window.set(tail);
    window.set(chunk, tail.length);
    for (let i = 0; i + 4 <= window.length; i++)
      if (u32(window, i) === SIG_EOCD && i + 3 >= tail.length) more++;
    tail = window.subarray(Math.max(0, window.length - 3));
  }
  return { bytes, more };
}

function crossCheck(s: {
  local: Map<number, StreamedEntry>;
  central: CentralRecord[];
  eocd: { entries: number; cdSize: number; cdOffset: number; at: number } | undefined;
  zip64: { entries: number; cdSize: number; cdOffset: number } | undefined;
  eocdSeen: number;
  firstCentralAt: number | undefined;
  note: (n: Note) => void;
  ctx: ReaderContext;
}): ZipStreamSummary {
  const { local, central, note } = s;
  let verified = true;
  if (!s.eocd) {
    note({
      kind: 'problem',
      code: 'zip-stream-truncated',
      message:
        'the stream ended before the end-of-central-directory record: the directory torch reads was not seen, so entries could not be checked against it',
      offset: s.firstCentralAt ?? 0,
    });
    verified = false;
  }
  if (s.eocdSeen > 1) {
    note({
      kind: 'finding',
      code: 'zip-multiple-eocd',
      message: `${s.eocdSeen} end-of-central-directory signatures; loaders disagree on which one counts`,
      offset: s.eocd?.at ?? 0,
      evidence: { count: s.eocdSeen },
    });
  }
  if (s.eocd) {
    const declared = s.zip64 ?? s.eocd;
    const cdStart = s.firstCentralAt ?? s.eocd.at;
    if (declared.entries !== central.length || declared.cdOffset !== cdStart) {
      // An end record that describes another directory than the one streamed: torch would follow
      // the end record to bytes this reader has already let pass.
      note({
        kind: 'problem',
        code: 'zip-stream-directory-mismatch',
        message: `the end record describes ${declared.entries} entries at offset ${declared.cdOffset}, but the stream had ${central.length} at ${cdStart}; the directory torch reads could not be checked`,
        offset: s.eocd.at,
      });
      verified = false;
    }
  }

  const seenNames = new Map<string, number>();
  for (let i = 0; i < central.length; i++) {
    const c = central[i] as CentralRecord;
    const prior = seenNames.get(c.name);
    if (prior !== undefined) {
      note({
        kind: 'finding',
        code: 'zip-duplicate-name',
        message: `entry name "${c.name}" appears more than once; loaders pick different copies`,
        offset: c.localHeaderOffset,
        evidence: { name: c.name, first: prior, again: i },
      });
    } else seenNames.set(c.name, i);
    if (c.flags & FLAGS_RISKY) {
      note({
        kind: 'finding',
        code: 'zip-flag-bits',
        message: `entry "${c.name}" sets general-purpose flag bits 0x${(c.flags & FLAGS_RISKY).toString(16)} (encryption/patch data) that torch ignores and zipfile refuses (CVE-2025-1945)`,
        offset: c.localHeaderOffset,
        evidence: { name: c.name, flags: c.flags },
      });
    }
    const l = local.get(c.localHeaderOffset);
    if (!l) {
      note({
        kind: 'finding',
        code: 'zip-bad-local-header',
        message: `entry "${c.name}" points at offset ${c.localHeaderOffset}, where the stream had no local header (hidden inside other data)`,
        offset: c.localHeaderOffset,
        entry: c.name,
        evidence: { localHeaderOffset: c.localHeaderOffset },
      });
      note({
        kind: 'problem',
        code: 'zip-stream-unverifiable-entry',
        message: `entry "${c.name}" lies in bytes that had already streamed past; upload the file where it can be read with random access to scan it`,
        offset: c.localHeaderOffset,
        entry: c.name,
      });
      verified = false;
      continue;
    }
    l.listed = true;
    if (l.name !== c.name) {
      note({
        kind: 'finding',
        code: 'zip-local-name-mismatch',
        message: `local header names "${l.name}" but the central directory names "${c.name}"; torch uses the central name, streaming readers the local one (CVE-2025-1944)`,
        offset: c.localHeaderOffset,
        entry: c.name,
        evidence: { centralName: c.name, localName: l.name },
      });
    }
    if (l.flags !== c.flags && (l.flags & FLAGS_RISKY) !== (c.flags & FLAGS_RISKY)) {
      note({
        kind: 'finding',
        code: 'zip-flag-mismatch',
        message: `entry "${c.name}" has different flag bits in its local header`,
        offset: c.localHeaderOffset,
        entry: c.name,
        evidence: { centralFlags: c.flags, localFlags: l.flags },
      });
    }
    if (l.method !== c.method) {
      note({
        kind: 'finding',
        code: 'zip-method-mismatch',
        message: `entry "${c.name}" has a different compression method in its local header`,
        offset: c.localHeaderOffset,
        entry: c.name,
        evidence: { centralMethod: c.method, localMethod: l.method },
      });
    }
    if (l.compressedSize !== c.compressedSize || l.uncompressedSize !== c.uncompressedSize) {
      // torch takes sizes from the directory: with a larger one it reads past what we scanned.
      note({
        kind: 'finding',
        code: 'zip-size-mismatch',
        message: `entry "${c.name}" has sizes ${c.compressedSize}/${c.uncompressedSize} in the directory but ${l.compressedSize}/${l.uncompressedSize} in the stream`,
        offset: c.localHeaderOffset,
        entry: c.name,
        evidence: {
          centralCompressed: c.compressedSize,
          localCompressed: l.compressedSize,
          centralUncompressed: c.uncompressedSize,
          localUncompressed: l.uncompressedSize,
        },
      });
      if (c.compressedSize > l.compressedSize) {
        note({
          kind: 'problem',
          code: 'zip-stream-unverifiable-entry',
          message: `entry "${c.name}" is longer in the directory than in the stream; its extra bytes were not scanned`,
          offset: c.localHeaderOffset,
          entry: c.name,
        });
        verified = false;
      }
    }
    if (l.actualCrc !== undefined && l.crc32 === l.actualCrc && c.crc32 !== l.actualCrc) {
      note({
        kind: 'finding',
        code: 'zip-crc-mismatch',
        message: `entry "${c.name}" has CRC-32 0x${l.actualCrc.toString(16)} but the directory says 0x${c.crc32.toString(16)} (CVE-2025-10156)`,
        offset: c.localHeaderOffset,
        entry: c.name,
        evidence: { name: c.name, expected: c.crc32, actual: l.actualCrc },
      });
    }
  }
  for (const l of local.values()) {
    if (l.listed || !s.eocd) continue;
    note({
      kind: 'finding',
      code: 'zip-unlisted-data',
      message: `local entry "${l.name}" is not in the central directory (torch never reads it; it was scanned anyway)`,
      offset: l.offset,
      entry: l.name,
      evidence: { name: l.name },
    });
  }
  return { entries: local.size, directoryEntries: central.length, verified };
}
