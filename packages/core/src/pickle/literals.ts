/**
 * Turning the raw bytes of pickle literals into the text Python would see. The scanner keeps
 * bytes exactly as they sit in the stream; these functions apply each opcode's own decoding
 * (pickletools and `_pickle.c` agree on all of them except where noted).
 */

const utf8 = new TextDecoder('utf-8', { fatal: false });

/** BINUNICODE family, GLOBAL/INST lines: UTF-8 (invalid sequences become U+FFFD). */
export function decodeUtf8(bytes: Uint8Array): string {
  return utf8.decode(bytes);
}

/** BINSTRING / SHORT_BINSTRING shown as latin-1: every byte maps to one code point. */
export function decodeLatin1(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i += 4096) {
    s += String.fromCharCode(...bytes.subarray(i, i + 4096));
  }
  return s;
}

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  return -1;
}

/**
 * UNICODE (protocol 0) payloads are raw-unicode-escape: bytes are latin-1 except `\uXXXX` and
 * `\UXXXXXXXX`, which only count when an odd number of backslashes precedes the `u`.
 */
export function decodeRawUnicodeEscape(bytes: Uint8Array): string {
  let out = '';
  let i = 0;
  while (i < bytes.length) {
    const c = bytes[i] as number;
    if (c !== 0x5c) {
      out += String.fromCharCode(c);
      i++;
      continue;
    }
    let run = 0;
    while (i + run < bytes.length && bytes[i + run] === 0x5c) run++;
    const next = bytes[i + run];
    if (run % 2 === 1 && (next === 0x75 || next === 0x55)) {
      out += '\\'.repeat(run - 1);
      const digits = next === 0x75 ? 4 : 8;
      let v = 0;
      let ok = i + run + 1 + digits <= bytes.length;
      for (let k = 0; ok && k < digits; k++) {
        const h = hexValue(bytes[i + run + 1 + k] as number);
        if (h < 0) ok = false;
        else v = v * 16 + h;
      }
      if (ok && v <= 0x10ffff) {
        out += String.fromCodePoint(v);
        i += run + 1 + digits;
      } else {
        // Python raises here; show the text as written
        out += '\\';
        i += run;
      }
    } else {
      out += '\\'.repeat(run);
      i += run;
    }
  }
  return out;
}

const SIMPLE_ESCAPES: Record<number, number> = {
  92: 0x5c,
  39: 0x27,
  34: 0x22,
  97: 0x07,
  98: 0x08,
  102: 0x0c,
  110: 0x0a,
  114: 0x0d,
  116: 0x09,
  118: 0x0b,
};

/** STRING (protocol 0): the text between the quotes with Python bytes-literal escapes undone. */
export function unescapePyString(bytes: Uint8Array): Uint8Array {
  const out: number[] = [];
  let i = 0;
  while (i < bytes.length) {
    const c = bytes[i] as number;
    if (c !== 0x5c || i + 1 >= bytes.length) {
      out.push(c);
      i++;
      continue;
    }
    const e = bytes[i + 1] as number;
    const simple = SIMPLE_ESCAPES[e];
    if (simple !== undefined) {
      out.push(simple);
      i += 2;
    } else if (e === 0x0a) {
      i += 2; // backslash-newline continues the line
    } else if (e >= 0x30 && e <= 0x37) {
      let v = 0;
      let k = 1;
      while (
        k <= 3 &&
        i + k < bytes.length &&
        (bytes[i + k] as number) >= 0x30 &&
        (bytes[i + k] as number) <= 0x37
      ) {
        v = v * 8 + ((bytes[i + k] as number) - 0x30);
        k++;
      }
      out.push(v & 0xff);
      i += k;
    } else if (
      e === 0x78 &&
      i + 3 < bytes.length + 0 &&
      hexValue(bytes[i + 2] as number) >= 0 &&
      hexValue(bytes[i + 3] as number) >= 0
    ) {
      out.push(hexValue(bytes[i + 2] as number) * 16 + hexValue(bytes[i + 3] as number));
      i += 4;
    } else {
      out.push(c);
      i++;
    }
  }
  return Uint8Array.from(out);
}

/** Hex of at most `max` bytes. */
export function toHex(bytes: Uint8Array, max = bytes.length): string {
  let s = '';
  const n = Math.min(max, bytes.length);
  for (let i = 0; i < n; i++) s += (bytes[i] as number).toString(16).padStart(2, '0');
  return s;
}

/** LONG1/LONG4 payload: two's complement, little endian, as exact decimal text. */
export function decodeLongLE(bytes: Uint8Array): string {
  if (bytes.length === 0) return '0';
  let v = 0n;
  for (let i = bytes.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(bytes[i] as number);
  if (((bytes[bytes.length - 1] as number) & 0x80) !== 0) v -= 1n << BigInt(bytes.length * 8);
  return v.toString();
}

/**
 * Decimal text of an INT/LONG line the way pickletools reads it (`int(s)`: optional sign,
 * surrounding whitespace, underscores between digits; LONG drops one trailing `L`).
 * Returns null when Python would reject it.
 */
export function parseDecimal(text: string, long: boolean): string | null {
  let t = text.trim();
  if (long && t.endsWith('L')) t = t.slice(0, -1);
  const m = /^([+-]?)(\d(?:_?\d)*)$/.exec(t);
  if (!m) return null;
  const digits = (m[2] as string).replace(/_/g, '');
  const v = BigInt(digits);
  return (m[1] === '-' && v !== 0n ? '-' : '') + v.toString();
}

/** A FLOAT line read with Python's `float()`. */
export function parseFloatText(text: string): number | null {
  const t = text.trim().replace(/(\d)_(?=\d)/g, '$1');
  if (/^[+-]?(inf|infinity)$/i.test(t)) return t.startsWith('-') ? -Infinity : Infinity;
  if (/^[+-]?nan$/i.test(t)) return Number.NaN;
  if (!/^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i.test(t)) return null;
  return Number(t);
}
