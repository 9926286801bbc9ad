import { Inflate } from 'fflate';
import { timeSlicer } from '../engine/time-slice.js';
import { BrineError } from '../engine/types.js';
import { chunkReader, type ForwardReader, sourceReader } from '../source/stream.js';
import type { ByteSource } from '../source/types.js';
import { Bzip2Decoder, type Decoder, decode } from './compressed.js';
import { crc32 } from './crc32.js';
import { LzmaAloneDecoder } from './lzma-alone.js';
import type { Budget, Note } from './types.js';

/**
 * Our own zip directory reader. It follows what PyTorch's loader (miniz) does: find the last
 * end-of-central-directory record, trust the central directory for names, sizes and offsets,
 * take the data offset from the local header's name/extra lengths, and ignore CRCs and flag
 * bits. Everywhere a stricter reader (CPython `zipfile`, a streaming reader that trusts local
 * headers) would see something else, we record a finding: those disagreements are how scanners
 * have been bypassed (CVE-2025-1944, CVE-2025-1945, CVE-2025-10156).
 */
export const ZIP_READER_VERSION = '1';

const SIG_LOCAL = 0x04034b50;
const SIG_CENTRAL = 0x02014b50;
const SIG_EOCD = 0x06054b50;
const SIG_ZIP64_EOCD = 0x06064b50;
const SIG_ZIP64_LOCATOR = 0x07064b50;
const EOCD_SEARCH = 0xffff + 22;

/** One central-directory entry, with what its local header said. */
export interface ZipEntry {
  index: number;
  /** Name in the central directory: what torch and zipfile look entries up by. */
  name: string;
  /** Name in the local header, when it could be read. */
  localName?: string;
  method: number;
  flags: number;
  localFlags?: number;
  crc32: number;
  compressedSize: number;
  uncompressedSize: number;
  /** Absolute offset of the local header in the source. */
  localHeaderOffset: number;
  /** Absolute offset of the entry's data, or undefined when the local header is unusable. */
  dataOffset?: number;
  /** Bytes of the data descriptor after the data (flag bit 3), when there is one. */
  descriptorLength?: number;
}

/** What {@link readZipDirectory} learned. `notes` carry findings and problems (paths added later). */
export interface ZipDirectory {
  entries: ZipEntry[];
  notes: Note[];
  eocdOffset: number;
  centralDirectoryOffset: number;
  /** Bytes in front of the archive that its offsets do not count (a prepended file). */
  prefixLength: number;
  /** True when the directory could not be fully read: the archive is then never clean. */
  incomplete: boolean;
}

const u16 = (b: Uint8Array, o: number) => (b[o] as number) | ((b[o + 1] as number) << 8);
const u32 = (b: Uint8Array, o: number) => (u16(b, o) | (u16(b, o + 2) << 16)) >>> 0;
const u64 = (b: Uint8Array, o: number) => u32(b, o) + u32(b, o + 4) * 2 ** 32;

const utf8 = new TextDecoder('utf-8', { fatal: false });
/** miniz and torch treat names as bytes; show them as UTF-8 with invalid bytes escaped. */
const decodeName = (b: Uint8Array) => utf8.decode(b);

/** Offsets of every end-of-central-directory signature in the last 64 KiB, last first. */
export async function findEocdCandidates(
  source: ByteSource,
): Promise<{ tailStart: number; tail: Uint8Array; at: number[] }> {
  const tailStart = Math.max(0, source.size - EOCD_SEARCH);
  const tail = await source.read(tailStart, source.size - tailStart);
  const at: number[] = [];
  // Native lastIndexOf finds each 'P' (the signature's first byte); a bulk scan of small pickles
  // spends most of this search on bytes that are not one.
  let i = tail.length >= 22 ? tail.lastIndexOf(0x50, tail.length - 22) : -1;
  while (i >= 0) {
    if (u32(tail, i) === SIG_EOCD) at.push(tailStart + i);
    i = i > 0 ? tail.lastIndexOf(0x50, i - 1) : -1;
  }
  return { tailStart, tail, at };
}

/**
 * Reads the end record, ZIP64 records, central directory and every local header.
 * Returns undefined when there is no end-of-central-directory record at all (not a zip).
 */
export async function readZipDirectory(
  source: ByteSource,
  budget: Budget,
  candidate = 0,
  options: { deferLocal?: boolean } = {},
): Promise<ZipDirectory | undefined> {
  const { tailStart, tail, at } = await findEocdCandidates(source);
  if (at.length <= candidate) return undefined;
  const notes: Note[] = [];
  // miniz and zipfile scan backwards and take the first record they meet (candidate 0)
  const eocdOffset = at[candidate] as number;
  const e = tail.subarray(eocdOffset - tailStart);
  if (at.length > 1 && candidate === 0) {
    notes.push({
      kind: 'finding',
      code: 'zip-multiple-eocd',
      message: `${at.length} end-of-central-directory signatures; loaders disagree on which one counts`,
      offset: at[1],
      evidence: { count: at.length, used: eocdOffset, others: at.slice(1, 6).join(',') },
    });
  }
  let entryCount = u16(e, 10);
  let cdSize = u32(e, 12);
  let cdOffset = u32(e, 16);
  const commentLength = u16(e, 20);
  let recordEnd = eocdOffset + 22 + commentLength;

  const needs64 = entryCount === 0xffff || cdSize === 0xffffffff || cdOffset === 0xffffffff;
  let zip64At: number | undefined;
  if (eocdOffset >= 20) {
    const loc = await source.read(eocdOffset - 20, 20);
    if (loc.length === 20 && u32(loc, 0) === SIG_ZIP64_LOCATOR) {
      // The record normally sits right before the locator; when the stated offset misses it,
      // a prefix was glued in front (the same shift as the central directory's).
      for (const at of [u64(loc, 8), eocdOffset - 20 - 56]) {
        if (at < 0 || at + 56 > source.size) continue;
        const rec = await source.read(at, 56);
        if (rec.length === 56 && u32(rec, 0) === SIG_ZIP64_EOCD) {
          zip64At = at;
          entryCount = u64(rec, 32);
          cdSize = u64(rec, 40);
          cdOffset = u64(rec, 48);
          break;
        }
      }
      if (zip64At === undefined && needs64) {
        notes.push(problem('zip-bad-zip64', 'ZIP64 locator points to no ZIP64 end record', eocdOffset - 20));
        return {
          entries: [],
          notes,
          eocdOffset,
          centralDirectoryOffset: cdOffset,
          prefixLength: 0,
          incomplete: true,
        };
      }
    }
  }
  if (needs64 && zip64At === undefined) {
    notes.push(problem('zip-bad-zip64', 'end record needs ZIP64 but has no ZIP64 locator', eocdOffset));
    return {
      entries: [],
      notes,
      eocdOffset,
      centralDirectoryOffset: cdOffset,
      prefixLength: 0,
      incomplete: true,
    };
  }
  const dirEnd = zip64At ?? eocdOffset;

  // A file prepended to an archive shifts every offset; CPython's zipfile compensates
  // (`concat`), miniz does not. Both readings are checked, the shift is reported.
  let prefixLength = 0;
  if (cdOffset + cdSize !== dirEnd && dirEnd - cdSize >= 0) {
    const shifted = dirEnd - cdSize;
    const probe = await source.read(shifted, 4);
    if (probe.length === 4 && u32(probe, 0) === SIG_CENTRAL) prefixLength = shifted - cdOffset;
  }
  const cdStart = cdOffset + prefixLength;
  if (prefixLength !== 0) {
    notes.push({
      kind: 'finding',
      code: 'zip-prepended-data',
      message: `${prefixLength} bytes precede the archive its offsets describe (a file glued in front of a zip)`,
      offset: 0,
      evidence: { prefixLength },
    });
  }
  if (cdStart < 0 || cdStart + cdSize > dirEnd) {
    notes.push(
      problem(
        'zip-bad-directory',
        `central directory (${cdStart}+${cdSize}) lies outside the file`,
        eocdOffset,
      ),
    );
    return {
      entries: [],
      notes,
      eocdOffset,
      centralDirectoryOffset: cdStart,
      prefixLength,
      incomplete: true,
    };
  }
  if (recordEnd < source.size) {
    notes.push({
      kind: 'finding',
      code: 'zip-data-after-directory',
      message: `${source.size - recordEnd} bytes follow the end-of-central-directory record`,
      offset: recordEnd,
      evidence: { bytes: source.size - recordEnd },
    });
  } else if (recordEnd > source.size) {
    notes.push({
      kind: 'finding',
      code: 'zip-comment-truncated',
      message: 'archive comment length runs past the end of the file',
      offset: eocdOffset,
      evidence: { commentLength },
    });
    recordEnd = source.size;
  }

  const entries: ZipEntry[] = [];
  let incomplete = false;
  if (entryCount > budget.maxEntries) {
    notes.push(
      problem(
        'limit-entries',
        `archive declares ${entryCount} entries, more than the limit of ${budget.maxEntries}; only the first ${budget.maxEntries} are read`,
        eocdOffset,
      ),
    );
    incomplete = true;
  }
  if (cdSize > budget.maxDirectoryBytes) {
    notes.push(problem('limit-directory', `central directory of ${cdSize} bytes exceeds the limit`, cdStart));
    return {
      entries: [],
      notes,
      eocdOffset,
      centralDirectoryOffset: cdStart,
      prefixLength,
      incomplete: true,
    };
  }
  const cd = await source.read(cdStart, cdSize);
  let p = 0;
  for (let i = 0; i < Math.min(entryCount, budget.maxEntries); i++) {
    if (p + 46 > cd.length || u32(cd, p) !== SIG_CENTRAL) {
      notes.push(
        problem('zip-bad-directory', `central directory entry ${i} is missing or damaged`, cdStart + p),
      );
      incomplete = true;
      break;
    }
    const nameLen = u16(cd, p + 28);
    const extraLen = u16(cd, p + 30);
    const commentLen = u16(cd, p + 32);
    if (p + 46 + nameLen + extraLen + commentLen > cd.length) {
      notes.push(
        problem('zip-bad-directory', `central directory entry ${i} runs past the directory`, cdStart + p),
      );
      incomplete = true;
      break;
    }
    let compressedSize = u32(cd, p + 20);
    let uncompressedSize = u32(cd, p + 24);
    let localHeaderOffset = u32(cd, p + 42);
    // ZIP64 extended information: only the fields whose 32-bit value is saturated are present.
    const extra = cd.subarray(p + 46 + nameLen, p + 46 + nameLen + extraLen);
    for (let x = 0; x + 4 <= extra.length; ) {
      const id = u16(extra, x);
      const len = u16(extra, x + 2);
      if (id === 0x0001) {
        let q = x + 4;
        const end = Math.min(x + 4 + len, extra.length);
        if (uncompressedSize === 0xffffffff && q + 8 <= end) {
          uncompressedSize = u64(extra, q);
          q += 8;
        }
        if (compressedSize === 0xffffffff && q + 8 <= end) {
          compressedSize = u64(extra, q);
          q += 8;
        }
        if (localHeaderOffset === 0xffffffff && q + 8 <= end) localHeaderOffset = u64(extra, q);
      }
      x += 4 + len;
    }
    entries.push({
      index: i,
      name: decodeName(cd.subarray(p + 46, p + 46 + nameLen)),
      method: u16(cd, p + 10),
      flags: u16(cd, p + 8),
      crc32: u32(cd, p + 16),
      compressedSize,
      uncompressedSize,
      localHeaderOffset: localHeaderOffset + prefixLength,
    });
    p += 46 + nameLen + extraLen + commentLen;
  }
  if (!incomplete && entries.length < entryCount) incomplete = true;

  await readLocalHeaders(source, entries, cdStart, notes, options.deferLocal === true);
  if (!options.deferLocal) checkLayout(entries, cdStart, prefixLength, notes);
  return { entries, notes, eocdOffset, centralDirectoryOffset: cdStart, prefixLength, incomplete };
}

async function readLocalHeaders(
  source: ByteSource,
  entries: ZipEntry[],
  cdStart: number,
  notes: Note[],
  deferLocal: boolean,
) {
  const seen = new Map<string, number>();
  for (const en of entries) {
    const prior = seen.get(en.name);
    if (prior !== undefined) {
      notes.push({
        kind: 'finding',
        code: 'zip-duplicate-name',
        message: `entry name "${en.name}" appears more than once; loaders pick different copies`,
        offset: en.localHeaderOffset,
        evidence: { name: en.name, first: prior, again: en.index },
      });
    } else seen.set(en.name, en.index);

    if (en.flags & 0x61) {
      notes.push({
        kind: 'finding',
        code: 'zip-flag-bits',
        message: `entry "${en.name}" sets general-purpose flag bits 0x${(en.flags & 0x61).toString(16)} (encryption/patch data) that torch ignores and zipfile refuses (CVE-2025-1945)`,
        offset: en.localHeaderOffset,
        evidence: { name: en.name, flags: en.flags },
      });
    }
    if (!deferLocal) notes.push(...(await readLocalHeader(source, en, cdStart)));
  }
}

/**
 * Reads one entry's local header: sets `localName`, `localFlags` and `dataOffset`, and returns
 * the disagreements with the central directory. Readers that defer local headers (to skip tensor
 * entries a remote scan would otherwise fetch one by one) call it for the entries they read.
 */
export async function readLocalHeader(source: ByteSource, en: ZipEntry, cdStart: number): Promise<Note[]> {
  const notes: Note[] = [];
  if (en.localHeaderOffset + 30 > cdStart) {
    notes.push(
      finding('zip-entry-out-of-bounds', `entry "${en.name}" local header lies outside the entry area`, en, {
        localHeaderOffset: en.localHeaderOffset,
      }),
    );
    return notes;
  }
  const h = await source.read(en.localHeaderOffset, 30);
  if (h.length < 30 || u32(h, 0) !== SIG_LOCAL) {
    notes.push(
      finding('zip-bad-local-header', `entry "${en.name}" has no local header at its offset`, en, {
        localHeaderOffset: en.localHeaderOffset,
      }),
    );
    return notes;
  }
  const nameLen = u16(h, 26);
  const extraLen = u16(h, 28);
  const nameBytes = await source.read(en.localHeaderOffset + 30, nameLen);
  en.localName = decodeName(nameBytes);
  en.localFlags = u16(h, 6);
  en.dataOffset = en.localHeaderOffset + 30 + nameLen + extraLen;
  if (en.flags & 0x08) {
    // A data descriptor follows the data (torch's miniz writer sets bit 3 on every entry); count it
    // as part of the entry so the layout check does not see it as unlisted bytes.
    const zip64 = en.compressedSize >= 0xffffffff || en.uncompressedSize >= 0xffffffff;
    const sig = await source.read(en.dataOffset + en.compressedSize, 4);
    const signed = sig.length === 4 && u32(sig, 0) === 0x08074b50;
    en.descriptorLength = (signed ? 4 : 0) + (zip64 ? 20 : 12);
  }
  if (en.localName !== en.name) {
    notes.push(
      finding(
        'zip-local-name-mismatch',
        `local header names "${en.localName}" but the central directory names "${en.name}"; torch uses the central name, streaming readers the local one (CVE-2025-1944)`,
        en,
        { centralName: en.name, localName: en.localName },
      ),
    );
  }
  if (en.localFlags !== en.flags && (en.localFlags & 0x61) !== (en.flags & 0x61)) {
    notes.push(
      finding('zip-flag-mismatch', `entry "${en.name}" has different flag bits in its local header`, en, {
        centralFlags: en.flags,
        localFlags: en.localFlags,
      }),
    );
  }
  if (u16(h, 8) !== en.method) {
    notes.push(
      finding(
        'zip-method-mismatch',
        `entry "${en.name}" has a different compression method in its local header`,
        en,
        {
          centralMethod: en.method,
          localMethod: u16(h, 8),
        },
      ),
    );
  }
  if (en.dataOffset + en.compressedSize > cdStart) {
    notes.push(
      finding(
        'zip-entry-out-of-bounds',
        `entry "${en.name}" data runs past the start of the central directory`,
        en,
        {
          dataOffset: en.dataOffset,
          compressedSize: en.compressedSize,
          centralDirectoryOffset: cdStart,
        },
      ),
    );
  }
  return notes;
}

const utf8Length = (s: string) => new TextEncoder().encode(s).length;

/** Layout checks (overlaps, gaps, leading data) once every local header that will be read was. */
export function checkLayout(entries: ZipEntry[], cdStart: number, prefixLength: number, notes: Note[]) {
  // Entries whose local header was not read (deferred tensor entries) get a lower bound of
  // their span: enough to see overlaps they certainly have, never a false one.
  const spans = entries
    .filter((e) => e.dataOffset !== undefined || e.localName === undefined)
    .map((e) => ({
      e,
      start: e.localHeaderOffset,
      end:
        e.dataOffset !== undefined
          ? e.dataOffset + e.compressedSize + (e.descriptorLength ?? 0)
          : e.localHeaderOffset + 30 + utf8Length(e.name) + e.compressedSize,
      exact: e.dataOffset !== undefined,
    }))
    .sort((a, b) => a.start - b.start);
  const first = spans[0];
  if (first && first.start > prefixLength) {
    notes.push({
      kind: 'finding',
      code: 'zip-data-before-first-entry',
      message: `${first.start - prefixLength} bytes of unlisted data before the first entry`,
      offset: prefixLength,
      evidence: { bytes: first.start - prefixLength },
    });
  }
  let overlaps = 0;
  for (let i = 1; i < spans.length; i++) {
    const a = spans[i - 1] as (typeof spans)[number];
    const b = spans[i] as (typeof spans)[number];
    if (b.start < a.end) {
      overlaps++;
      if (overlaps <= 5) {
        notes.push(
          finding('zip-overlapping-entries', `entries "${a.e.name}" and "${b.e.name}" share bytes`, b.e, {
            first: a.e.name,
            second: b.e.name,
            overlap: a.end - b.start,
          }),
        );
      }
    }
  }
  const last = spans[spans.length - 1];
  if (last?.exact && last.end < cdStart) {
    const gap = cdStart - Math.max(...spans.map((s) => s.end));
    if (gap > 0) {
      notes.push({
        kind: 'finding',
        code: 'zip-unlisted-data',
        message: `${gap} bytes of unlisted data between the last entry and the central directory`,
        offset: cdStart - gap,
        evidence: { bytes: gap },
      });
    }
  }
}

function finding(code: string, message: string, en: ZipEntry, evidence: Note['evidence']): Note {
  return { kind: 'finding', code, message, offset: en.localHeaderOffset, entry: en.name, evidence };
}

function problem(code: string, message: string, offset: number): Note {
  return { kind: 'problem', code, message, offset };
}

/**
 * Zip's LZMA (method 14) is raw LZMA after a 4-byte version/size prefix and the 5 property
 * bytes; with flag bit 1 the stream ends with an end marker, otherwise at the entry's size. Our
 * LZMA-alone decoder gets the header it expects rebuilt in front.
 */
export function zipLzmaDecoder(
  en: Pick<ZipEntry, 'flags' | 'uncompressedSize'>,
  emit: (c: Uint8Array) => void,
): Decoder {
  const dec = new LzmaAloneDecoder(emit);
  let prefix: Uint8Array | undefined = new Uint8Array(0);
  return {
    push(c) {
      if (prefix === undefined) return dec.push(c);
      const all = new Uint8Array(prefix.length + c.length);
      all.set(prefix);
      all.set(c, prefix.length);
      if (all.length < 9) {
        prefix = all;
        return;
      }
      const header = new Uint8Array(13);
      header.set(all.subarray(4, 9));
      const eos = (en.flags & 2) !== 0;
      let size = en.uncompressedSize;
      for (let i = 0; i < 8; i++) {
        header[5 + i] = eos ? 0xff : size % 256;
        size = Math.floor(size / 256);
      }
      prefix = undefined;
      dec.push(header);
      dec.push(all.subarray(9));
    },
    finish() {
      if (prefix !== undefined) throw new BrineError('lzma-truncated', 'zip LZMA header cut short');
      dec.finish();
    },
    more: () => dec.more(),
    end: () => dec.end(),
  };
}

/**
 * Compression methods brine reads: stored and deflate (all torch's miniz reads), plus bzip2 (12)
 * and LZMA (14), which CPython's zipfile, and so `numpy.load` on an `.npz`, also reads.
 */
export const isReadableMethod = (method: number) =>
  method === 0 || method === 8 || method === 12 || method === 14;

/**
 * Opens an entry's data for reading front to back. Stored entries read straight from the source;
 * deflated ones inflate in small steps so output per step stays bounded, and every inflated byte
 * is charged to the budget (decompression bombs end in `limit-inflate`).
 * For deflated entries `crc()` is the CRC of everything inflated so far; stored entries return
 * undefined (their CRC is computed straight from the source).
 */
export function openZipEntry(
  source: ByteSource,
  en: ZipEntry,
  budget: Budget,
  name: string,
  onOverrun?: (declared: number) => void,
): { reader: ForwardReader; crc: () => number | undefined; stored: boolean } {
  const start = en.dataOffset ?? en.localHeaderOffset;
  const csize = Math.max(0, Math.min(en.compressedSize, source.size - start));
  let crc = 0;
  if (en.method === 0) {
    // Stored data is its own CRC input: the caller computes it from the source when needed.
    return { reader: sourceReader(source, start, start + csize, name), crc: () => undefined, stored: true };
  }
  if (en.method === 12 || en.method === 14) {
    const raw = sourceReader(source, start, start + csize, name);
    const make =
      en.method === 12
        ? (emit: (c: Uint8Array) => void) => new Bzip2Decoder(emit)
        : (emit: (c: Uint8Array) => void) => zipLzmaDecoder(en, emit);
    const reader = chunkReader(name, decode(raw, make, budget, name, en.method === 12 ? 'bzip2' : 'lzma'));
    reader.restart = () => openZipEntry(source, en, budget, name, onOverrun).reader;
    return { reader, crc: () => undefined, stored: false };
  }
  if (en.method !== 8)
    throw new BrineError('zip-unsupported-method', `compression method ${en.method}`, name);
  async function* compressed(): AsyncGenerator<Uint8Array> {
    for (let pos = 0; pos < csize; ) {
      const c = await source.read(start + pos, Math.min(16 * 1024, csize - pos));
      if (c.length === 0) return; // the file ended early: inflate reports the cut
      pos += c.length;
      yield c;
    }
  }
  async function* inflate(): AsyncGenerator<Uint8Array> {
    const declared = onOverrun ? { size: en.uncompressedSize, onOverrun } : undefined;
    for await (const d of inflateChunks(compressed(), name, budget, declared)) {
      crc = crc32(crc, d);
      yield d;
    }
  }
  const reader = chunkReader(name, inflate());
  reader.restart = () => openZipEntry(source, en, budget, name, onOverrun).reader;
  return { reader, crc: () => crc, stored: false };
}

/**
 * Inflates raw deflate data chunk by chunk, charging every inflated byte to the scan's budget (bombs)
 * and stopping at the deflate stream's final block. Truncated or corrupt data is an `inflate-error`.
 *
 * With `declared`, output stops at the entry's declared uncompressed size and `onOverrun` is
 * called once: loaders size their buffer from the directory (torch's miniz fails the entry,
 * CPython's zipfile returns that many bytes and then a CRC error), so nothing past it is ever
 * unpickled, and inflating on would only spend the whole file's budget on one lying entry.
 */
export async function* inflateChunks(
  input: AsyncIterable<Uint8Array>,
  name: string,
  budget: Budget,
  declared?: { size: number; onOverrun: (declared: number) => void },
): AsyncGenerator<Uint8Array> {
  const out: Uint8Array[] = [];
  let ended = false;
  let total = 0;
  const inf = new Inflate((d, final) => {
    out.push(d);
    if (final) ended = true;
  });
  const push = (c: Uint8Array, last: boolean) => {
    try {
      inf.push(c, last);
    } catch (e) {
      throw new BrineError('inflate-error', `bad deflate data: ${e instanceof Error ? e.message : e}`, name);
    }
  };
  let overrun = false;
  function* drain(): Generator<Uint8Array> {
    while (out.length) {
      let d = out.shift() as Uint8Array;
      if (declared && total + d.length > declared.size) {
        d = d.subarray(0, Math.max(0, declared.size - total));
        overrun = true;
      }
      total += d.length;
      budget.chargeInflated(d.length, name);
      if (d.length) yield d;
      if (overrun) {
        out.length = 0;
        declared?.onOverrun(declared.size);
        return;
      }
    }
  }
  const slice = timeSlicer();
  for await (const c of input) {
    push(c, false);
    yield* drain();
    if (ended || overrun) return;
    await slice();
  }
  push(new Uint8Array(0), true);
  yield* drain();
}
