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
  { why: 'lzma', bytes: [0x5d, 0x00, 0x00] },
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
  if (looksLikeOldPickle(head, size)) return { kind: 'candidate', why: 'pickle (protocol 0/1)' };
  return { kind: 'skip', why: 'no model signature' };
}

// Argument shapes of the opcodes a protocol 0/1 pickle can start with (pickletools.py names them).
type Arg =
  | 'none'
  | 'decimal-line'
  | 'float-line'
  | 'any-line'
  | 'quoted-line'
  | 'two-names'
  | { fixed: number }
  | { lengthPrefixed: 1 | 4 };

const OPCODES: Record<string, Arg> = {
  '(': 'none', // MARK
  '.': 'none', // STOP
  '0': 'none', // POP
  '1': 'none', // POP_MARK
  '2': 'none', // DUP
  N: 'none', // NONE
  R: 'none', // REDUCE
  ']': 'none', // EMPTY_LIST
  a: 'none', // APPEND
  b: 'none', // BUILD
  d: 'none', // DICT
  '}': 'none', // EMPTY_DICT
  e: 'none', // APPENDS
  l: 'none', // LIST
  ')': 'none', // EMPTY_TUPLE
  s: 'none', // SETITEM
  t: 'none', // TUPLE
  u: 'none', // SETITEMS
  o: 'none', // OBJ
  I: 'decimal-line', // INT (also "01"/"00" booleans)
  L: 'decimal-line', // LONG (optional trailing L)
  g: 'decimal-line', // GET
  p: 'decimal-line', // PUT
  F: 'float-line', // FLOAT
  P: 'any-line', // PERSID
  V: 'any-line', // UNICODE
  S: 'quoted-line', // STRING
  c: 'two-names', // GLOBAL
  i: 'two-names', // INST
  J: { fixed: 4 }, // BININT
  K: { fixed: 1 }, // BININT1
  M: { fixed: 2 }, // BININT2
  G: { fixed: 8 }, // BINFLOAT
  q: { fixed: 1 }, // BINPUT
  r: { fixed: 4 }, // LONG_BINPUT
  h: { fixed: 1 }, // BINGET
  j: { fixed: 4 }, // LONG_BINGET
  Q: 'none', // BINPERSID
  U: { lengthPrefixed: 1 }, // SHORT_BINSTRING
  T: { lengthPrefixed: 4 }, // BINSTRING
  X: { lengthPrefixed: 4 }, // BINUNICODE
};

// biome-ignore lint/suspicious/noControlCharactersInRegex: a module or class name never holds control characters
const NAME = /^[^\s\x00-\x1f]+$/;
const DECIMAL = /^[+-]?\d+L?$/;
const FLOAT = /^[+-]?(\d+\.?\d*([eE][+-]?\d+)?|\.\d+([eE][+-]?\d+)?|inf|nan|infinity)$/i;
const QUOTED = /^(['"]).*\1$/;

/**
 * Walks the first opcodes of a protocol 0/1 pickle. Such pickles are mostly printable text, so
 * `identify`-style binary checks miss them; a real one decodes opcode after opcode with well-formed
 * arguments, while source code or prose breaks within the first few bytes (`import os` is INST with
 * a module name holding a space; `# title` starts with no opcode at all).
 */
function looksLikeOldPickle(head: Uint8Array, size: number): boolean {
  const text = Buffer.from(head.buffer, head.byteOffset, head.length).toString('latin1');
  const complete = head.length >= size;
  let pos = 0;
  let count = 0;
  const line = (): string | undefined => {
    const nl = text.indexOf('\n', pos);
    if (nl < 0) return undefined;
    const s = text.slice(pos, nl);
    pos = nl + 1;
    return s;
  };
  while (pos < text.length) {
    const op = text[pos] as string;
    const arg = OPCODES[op];
    if (arg === undefined) return false;
    pos++;
    if (op === '.') return count >= 1;
    let ok = true;
    if (arg === 'none') {
      // nothing to read
    } else if (typeof arg === 'object' && 'fixed' in arg) {
      pos += arg.fixed;
    } else if (typeof arg === 'object') {
      if (pos + arg.lengthPrefixed > text.length) break;
      const n =
        arg.lengthPrefixed === 1
          ? (head[pos] as number)
          : new DataView(head.buffer, head.byteOffset, head.length).getUint32(pos, true);
      pos += arg.lengthPrefixed + n;
    } else {
      const first = line();
      if (first === undefined) break;
      if (arg === 'decimal-line') ok = DECIMAL.test(first);
      else if (arg === 'float-line') ok = FLOAT.test(first);
      else if (arg === 'quoted-line') ok = QUOTED.test(first);
      else if (arg === 'two-names') {
        const second = line();
        if (second === undefined) ok = NAME.test(first);
        else ok = NAME.test(first) && NAME.test(second);
      }
    }
    if (!ok) return false;
    count++;
  }
  // Ran out of head (or of blob) without a contradiction. A pickle cut short before STOP can
  // still have run REDUCE on the way, so a truncated-looking stream is a candidate too.
  return complete ? count >= 2 : count >= 1;
}
