/**
 * Decides from the first bytes of a staged blob whether it is worth handing to the engine.
 *
 * This is a cheap pre-filter, not a format detector: the engine detects formats itself. It must
 * never drop a file a Python loader would unpickle (a miss lets a malicious model through), while
 * rejecting ordinary source and text files fast so that a commit with no model costs almost nothing.
 * A loader only unpickles a file that starts with a pickle or with a container/compression magic
 * (torch, numpy and joblib all look at byte 0), so looking at the head is enough.
 */

/** How many leading bytes of a blob the sniffer wants. */
export const SNIFF_BYTES = 4096;

/** What the head of a blob says about it. */
export type Sniff =
  | { kind: 'candidate'; why: string }
  | { kind: 'lfs-pointer' }
  | { kind: 'skip'; why: string };

const LFS_PREFIXES = [
  'version https://git-lfs.github.com/spec/v1\n',
  'version https://hawser.github.com/spec/v1\n',
];

function startsWith(head: Uint8Array, magic: readonly number[], at = 0): boolean {
  if (head.length < at + magic.length) return false;
  for (let i = 0; i < magic.length; i++) if (head[at + i] !== magic[i]) return false;
  return true;
}

const ascii = (s: string) => Array.from(s, (c) => c.charCodeAt(0));

/** Container and compression formats whose content a loader may unpickle (torch zip/tar, npy, joblib codecs). */
const MAGICS: Array<{ why: string; bytes: readonly number[]; at?: number }> = [
  { why: 'zip', bytes: [0x50, 0x4b, 0x03, 0x04] },
  { why: 'zip (empty or spanned)', bytes: [0x50, 0x4b, 0x05, 0x06] },
  { why: 'zip (spanned)', bytes: [0x50, 0x4b, 0x07, 0x08] },
  { why: 'npy', bytes: [0x93, ...ascii('NUMPY')] },
  { why: 'gzip', bytes: [0x1f, 0x8b] },
  { why: 'xz', bytes: [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00] },
  // joblib recognises its lzma files by these two bytes alone (the properties byte and the low
  // byte of the dictionary size), so the sniffer must not ask for more.
  { why: 'lzma', bytes: [0x5d, 0x00] },
  // joblib < 0.10 compressed pickles (still loaded by numpy_pickle_compat): "ZF", hex length, zlib.
  { why: 'joblib zfile', bytes: ascii('ZF0x') },
  { why: 'lz4', bytes: [0x04, 0x22, 0x4d, 0x18] },
  { why: '7z', bytes: [0x37, 0x7a, 0xbc, 0xaf, 0x27, 0x1c] },
  { why: 'tar', bytes: ascii('ustar'), at: 257 },
];

/** Recognises a Git LFS pointer file (spec v1; the pre-release "hawser" prefix too). */
export function isLfsPointer(head: Uint8Array, size: number): boolean {
  if (size > 1024) return false;
  const text = Buffer.from(head.buffer, head.byteOffset, Math.min(head.length, 64)).toString('latin1');
  return LFS_PREFIXES.some((p) => text.startsWith(p));
}

/**
 * Classifies a blob from its head (`head` is the first {@link SNIFF_BYTES} bytes, or the whole blob
 * when it is shorter; `size` is the full blob size).
 */
export function sniff(head: Uint8Array, size: number): Sniff {
  if (size === 0 || head.length === 0) return { kind: 'skip', why: 'empty' };
  if (isLfsPointer(head, size)) return { kind: 'lfs-pointer' };
  const b0 = head[0] as number;
  // PROTO: every pickle written with protocol >= 2 (torch legacy, joblib, sklearn) starts with it.
  if (b0 === 0x80) return { kind: 'candidate', why: 'pickle (protocol >= 2)' };
  for (const m of MAGICS) if (startsWith(head, m.bytes, m.at ?? 0)) return { kind: 'candidate', why: m.why };
  // bzip2: "BZh" + block size digit.
  if (startsWith(head, ascii('BZh')) && (head[3] ?? 0) >= 0x31 && (head[3] ?? 0) <= 0x39) {
    return { kind: 'candidate', why: 'bzip2' };
  }
  // zlib (joblib's zlib compressor): deflate with a 32 KiB window and no preset dictionary leaves only
  // these four FLG bytes valid (the header check makes CMF*256+FLG divisible by 31). "x = 1" would
  // pass the check alone, but its 0x20 sets FDICT.
  if (b0 === 0x78 && [0x01, 0x5e, 0x9c, 0xda].includes(head[1] ?? -1)) {
    return { kind: 'candidate', why: 'zlib' };
  }
  if (startsWith(head, ascii('GGUF'))) return { kind: 'candidate', why: 'gguf' };
  // safetensors: a little-endian u64 header length that fits in the file, then the JSON header.
  if (head.length >= 9 && head[8] === 0x7b) {
    const v = new DataView(head.buffer, head.byteOffset, head.length);
    const n = v.getUint32(0, true) + v.getUint32(4, true) * 2 ** 32;
    if (n >= 2 && n + 8 <= size) return { kind: 'candidate', why: 'safetensors' };
  }
  if (looksLikeOldPickle(head, size)) return { kind: 'candidate', why: 'pickle (no PROTO opcode)' };
  return { kind: 'skip', why: 'no model signature' };
}

// Argument shapes of every pickle opcode (pickletools.py). The unpickler does not check that an
// opcode belongs to the protocol a stream declares, so a stream without PROTO may use them all.
type Arg =
  | 'none'
  | 'decimal-line'
  | 'float-line'
  | 'any-line'
  | 'quoted-line'
  | 'two-names'
  | { fixed: number }
  | { lengthPrefixed: 1 | 4 | 8 };

const OPCODES = new Map<number, Arg>();
const op = (c: string | number, arg: Arg) => OPCODES.set(typeof c === 'number' ? c : c.charCodeAt(0), arg);
for (const c of '(.012NR]abd}elstuo)Q') op(c, 'none'); // MARK STOP POP POP_MARK DUP NONE REDUCE ... BINPERSID
op('I', 'decimal-line'); // INT (also "01"/"00" booleans)
op('L', 'decimal-line'); // LONG (optional trailing L)
op('g', 'decimal-line'); // GET
op('p', 'decimal-line'); // PUT
op('F', 'float-line'); // FLOAT
op('P', 'any-line'); // PERSID
op('V', 'any-line'); // UNICODE (raw-unicode-escape)
op('S', 'quoted-line'); // STRING
op('c', 'two-names'); // GLOBAL
op('i', 'two-names'); // INST
op('J', { fixed: 4 }); // BININT
op('K', { fixed: 1 }); // BININT1
op('M', { fixed: 2 }); // BININT2
op('G', { fixed: 8 }); // BINFLOAT
op('q', { fixed: 1 }); // BINPUT
op('r', { fixed: 4 }); // LONG_BINPUT
op('h', { fixed: 1 }); // BINGET
op('j', { fixed: 4 }); // LONG_BINGET
op('U', { lengthPrefixed: 1 }); // SHORT_BINSTRING
op('T', { lengthPrefixed: 4 }); // BINSTRING
op('X', { lengthPrefixed: 4 }); // BINUNICODE
op('C', { lengthPrefixed: 1 }); // SHORT_BINBYTES
op('B', { lengthPrefixed: 4 }); // BINBYTES
op(0x80, { fixed: 1 }); // PROTO
for (const c of [0x81, 0x85, 0x86, 0x87, 0x88, 0x89, 0x8f, 0x90, 0x91, 0x92, 0x93, 0x94, 0x97, 0x98])
  op(c, 'none');
op(0x82, { fixed: 1 }); // EXT1
op(0x83, { fixed: 2 }); // EXT2
op(0x84, { fixed: 4 }); // EXT4
op(0x8a, { lengthPrefixed: 1 }); // LONG1
op(0x8b, { lengthPrefixed: 4 }); // LONG4
op(0x8c, { lengthPrefixed: 1 }); // SHORT_BINUNICODE
op(0x8d, { lengthPrefixed: 8 }); // BINUNICODE8
op(0x8e, { lengthPrefixed: 8 }); // BINBYTES8
op(0x95, { fixed: 8 }); // FRAME
op(0x96, { lengthPrefixed: 8 }); // BYTEARRAY8

/** Opcodes that import or call: a stream cut short before STOP still ran these. */
const ACTING = new Set([...'cRobi'].map((c) => c.charCodeAt(0)).concat([0x81, 0x92, 0x93, 0x82, 0x83, 0x84]));

// biome-ignore lint/suspicious/noControlCharactersInRegex: a module or class name never holds control characters
const NAME = /^[^\s\x00-\x1f]+$/;
const DECIMAL = /^[+-]?\d+L?$/;
const FLOAT = /^[+-]?(\d+\.?\d*([eE][+-]?\d+)?|\.\d+([eE][+-]?\d+)?|inf|nan|infinity)$/i;
const QUOTED = /^(['"]).*\1$/;
// What the start of each line argument may look like when the line runs past the head.
const PARTIAL: Partial<Record<Exclude<Arg, object>, RegExp>> = {
  'decimal-line': /^[+-]?\d*$/,
  'float-line': /^[+-]?[\d.eEinfatyINFATY+-]*$/,
  'quoted-line': /^['"]/,
  'two-names': NAME,
};

/**
 * Walks the opcodes at the start of a blob, the way the unpickler would read them. Protocol 0/1
 * pickles are mostly printable text, so `identify`-style binary checks miss them; a real pickle
 * decodes opcode after opcode with well-formed arguments, while source code, prose or random
 * bytes break within a few bytes (`import os` is INST with a module name holding a space; `# title`
 * and a PNG's 0x1a start with no opcode at all).
 */
function looksLikeOldPickle(head: Uint8Array, size: number): boolean {
  const text = Buffer.from(head.buffer, head.byteOffset, head.length).toString('latin1');
  const view = new DataView(head.buffer, head.byteOffset, head.length);
  const complete = head.length >= size;
  let pos = 0;
  let count = 0;
  let acting = false;
  const line = (): string | undefined => {
    const nl = text.indexOf('\n', pos);
    if (nl < 0) return undefined;
    const s = text.slice(pos, nl);
    pos = nl + 1;
    return s;
  };
  // The blob ends mid-stream: a truncated pickle still ran what it imported and called before EOF.
  const truncated = () => count >= 2 && acting;
  while (pos < head.length) {
    const code = head[pos] as number;
    const arg = OPCODES.get(code);
    if (arg === undefined) return false;
    pos++;
    if (code === 0x2e) return count >= 1; // STOP
    if (ACTING.has(code)) acting = true;
    if (arg === 'none') {
      // no argument
    } else if (typeof arg === 'object' && 'fixed' in arg) {
      pos += arg.fixed;
    } else if (typeof arg === 'object') {
      const w = arg.lengthPrefixed;
      if (pos + w > head.length) return complete ? truncated() : true;
      let n: number;
      if (w === 1) n = head[pos] as number;
      else if (w === 4) n = view.getUint32(pos, true);
      else n = view.getUint32(pos, true) + view.getUint32(pos + 4, true) * 2 ** 32;
      pos += w + n;
      if (pos > size) return truncated();
    } else {
      const start = pos;
      const first = line();
      if (first === undefined) {
        const partial = text.slice(start);
        const shape = PARTIAL[arg];
        // A line running past the head is inconclusive when its start fits the argument's shape.
        if (complete) return truncated();
        return shape === undefined || shape.test(partial);
      }
      let ok = true;
      if (arg === 'decimal-line') ok = DECIMAL.test(first);
      else if (arg === 'float-line') ok = FLOAT.test(first);
      else if (arg === 'quoted-line') ok = QUOTED.test(first);
      else if (arg === 'two-names') {
        const second = line();
        ok = NAME.test(first) && (second === undefined ? !complete || truncated() : NAME.test(second));
      }
      if (!ok) return false;
    }
    count++;
  }
  if (complete) return truncated();
  // The whole head decoded cleanly (a fixed-size argument may run just past it).
  return count >= 2;
}

/** Bytes at the end of a blob that {@link hasZipEndRecord} looks at (end record + longest comment). */
export const TAIL_BYTES = 22 + 0xffff;

/**
 * True when the tail of a blob holds a zip end-of-central-directory record. Zip readers (Python's
 * zipfile, torch's miniz) find an archive from its end, so data prepended to a checkpoint hides
 * the `PK` magic from a head-only check but not from the loader.
 */
export function hasZipEndRecord(tail: Uint8Array): boolean {
  return (
    Buffer.from(tail.buffer, tail.byteOffset, tail.length).lastIndexOf(
      Buffer.from([0x50, 0x4b, 0x05, 0x06]),
    ) >= 0
  );
}
