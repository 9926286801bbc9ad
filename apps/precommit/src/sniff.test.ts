import { describe, expect, it } from 'vitest';
import { sniff } from './sniff.js';
import { CLEAN_P0, CLEAN_P2, MALICIOUS_P0, MALICIOUS_P2, ORDERED_DICT_P0 } from './test-support/pickles.js';

const text = (s: string) => new TextEncoder().encode(s);
const kind = (b: Uint8Array, size = b.length) => sniff(b, size).kind;

describe('sniff', () => {
  it('keeps pickles of every protocol, malicious or not', () => {
    for (const p of [MALICIOUS_P2, MALICIOUS_P0, CLEAN_P2, CLEAN_P0, ORDERED_DICT_P0]) {
      expect(kind(p)).toBe('candidate');
    }
  });

  it('keeps a protocol-0 pickle whose head was cut before STOP', () => {
    // The first 20 bytes of a larger blob: GLOBAL, PUT and a MARK decode cleanly.
    expect(kind(MALICIOUS_P0.subarray(0, 20), 10_000)).toBe('candidate');
  });

  it('keeps protocol-1 pickles (binary opcodes without PROTO)', () => {
    const p1 = Uint8Array.from([0x5d, 0x71, 0x00, 0x28, 0x4b, 0x01, 0x4b, 0x02, 0x65, 0x2e]); // ]q\0(K\1K\2e.
    expect(kind(p1)).toBe('candidate');
  });

  it('keeps container and compression formats by magic bytes', () => {
    const zip = Uint8Array.from([0x50, 0x4b, 0x03, 0x04, 0, 0, 0, 0]);
    const npy = Uint8Array.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]);
    const gz = Uint8Array.from([0x1f, 0x8b, 8, 0]);
    const zlib = Uint8Array.from([0x78, 0x9c, 0x01, 0x02]);
    const bz2 = text('BZh91AY&SY');
    const xz = Uint8Array.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00, 0, 0]);
    const tar = new Uint8Array(512);
    tar.set(text('model/data.pkl'), 0);
    tar.set(text('ustar'), 257);
    for (const b of [zip, npy, gz, zlib, bz2, xz, tar]) expect(sniff(b, b.length).kind).toBe('candidate');
  });

  it('skips ordinary source and text files', () => {
    const samples = [
      'import os\nimport sys\n',
      'from x import y\n',
      'class Foo:\n    pass\n',
      '# Title\n\nSome prose.\n',
      '{"a": 1}\n',
      'Name,Age\nBob,3\n',
      'I1,2,3\n',
      '(c) 2026 brine authors\n',
      '(likely not a pickle)\n',
      'def f():\n  return 1\n',
      '\n',
      'export const x = 1;\n',
      '<html></html>\n',
      'x = 1\n',
    ];
    for (const s of samples) expect(kind(text(s)), s).toBe('skip');
  });

  it('skips binary formats that never hold a pickle (PNG) and empty files', () => {
    const png = Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0]);
    expect(kind(png)).toBe('skip');
    expect(kind(new Uint8Array(0))).toBe('skip');
  });

  it('recognises a Git LFS pointer', () => {
    const pointer = text(
      `version https://git-lfs.github.com/spec/v1\noid sha256:${'a'.repeat(64)}\nsize 12345\n`,
    );
    expect(kind(pointer)).toBe('lfs-pointer');
    // A large file that merely starts like a pointer is not one.
    expect(kind(pointer, 5000)).not.toBe('lfs-pointer');
  });
});
