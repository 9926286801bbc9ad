import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { hasZipEndRecord, SNIFF_BYTES, sniff, TAIL_BYTES } from './sniff.js';
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

describe('sniff over the committed fixture corpus', () => {
  // Every fixture a loader would unpickle (or that brine must flag) has to reach the engine:
  // a skipped file is a commit let through unjudged.
  const root = new URL('../../../fixtures/', import.meta.url);
  const corpus = ['containers', 'pickles', 'techniques'].flatMap((dir) => {
    const manifest = JSON.parse(readFileSync(new URL(`${dir}/manifest.json`, root), 'utf8')) as Array<{
      file: string;
      expect: string;
    }>;
    return manifest.map((e) => ({ ...e, path: new URL(`${dir}/${e.file}`, root) }));
  });

  it('has the three manifests to check against', () => {
    expect(corpus.length).toBeGreaterThan(200);
  });

  it('never passes over a fixture expected to be dangerous, suspicious or unscannable', () => {
    // Content that is no model at all (random bytes, an empty file) is deliberately left alone:
    // no loader runs code from it, and blocking it would block every image or binary in a repo.
    const NOT_MODELS = new Set(['random.bin', 'malformed/random.pkl', 'malformed/empty.pkl']);
    const missed: string[] = [];
    for (const e of corpus) {
      if (e.expect === 'clean' || NOT_MODELS.has(e.file)) continue;
      const bytes = readFileSync(e.path);
      const s = sniff(bytes.subarray(0, SNIFF_BYTES), bytes.length);
      if (s.kind === 'skip' && !hasZipEndRecord(bytes.subarray(-TAIL_BYTES)))
        missed.push(`${e.file} (${e.expect})`);
    }
    expect(missed).toEqual([]);
    // The exceptions are what they claim to be.
    for (const f of NOT_MODELS) {
      const e = corpus.find((c) => c.file === f);
      const bytes = readFileSync(e?.path ?? '');
      expect(sniff(bytes.subarray(0, SNIFF_BYTES), bytes.length).kind, f).toBe('skip');
    }
  });

  it('keeps every clean model fixture too (they are models; the engine says they are clean)', () => {
    const missed = corpus
      .filter((e) => e.expect === 'clean')
      .filter((e) => {
        const bytes = readFileSync(e.path);
        return (
          sniff(bytes.subarray(0, SNIFF_BYTES), bytes.length).kind === 'skip' &&
          !hasZipEndRecord(bytes.subarray(-TAIL_BYTES))
        );
      })
      .map((e) => e.file);
    expect(missed).toEqual([]);
  });
});

describe('sniff on bytes that are not models', () => {
  it('rejects nearly all random binaries (few false alarms on images and archives of other kinds)', () => {
    // xorshift32: deterministic bytes, so the test cannot flake.
    let x = 0x9e3779b9;
    const next = () => {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      return x >>> 0;
    };
    let flagged = 0;
    const N = 2000;
    for (let i = 0; i < N; i++) {
      const b = new Uint8Array(4096);
      for (let j = 0; j < b.length; j += 4) new DataView(b.buffer).setUint32(j, next());
      if (sniff(b, 1_000_000).kind !== 'skip') flagged++;
    }
    expect(flagged / N).toBeLessThan(0.01);
  });

  it('finds a zip end record in the tail of a blob with data before the archive', () => {
    const tail = new Uint8Array(100);
    expect(hasZipEndRecord(tail)).toBe(false);
    tail.set([0x50, 0x4b, 0x05, 0x06], 60);
    expect(hasZipEndRecord(tail)).toBe(true);
  });
});

describe('sniff on arbitrary bytes', () => {
  it('never throws and always answers, whatever the head and the claimed size', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), fc.nat({ max: 10_000_000 }), (bytes, extra) => {
        const s = sniff(bytes, bytes.length + extra);
        expect(['candidate', 'lfs-pointer', 'skip']).toContain(s.kind);
        expect(typeof hasZipEndRecord(bytes)).toBe('boolean');
        return true;
      }),
      { numRuns: 3000 },
    );
  });

  it('never throws on pickle-like prefixes cut anywhere', () => {
    const samples = [MALICIOUS_P0, MALICIOUS_P2, CLEAN_P0, CLEAN_P2, ORDERED_DICT_P0];
    fc.assert(
      fc.property(fc.constantFrom(...samples), fc.nat(), fc.nat({ max: 1000 }), (p, cut, extra) => {
        const head = p.subarray(0, cut % (p.length + 1));
        expect(() => sniff(head, head.length + extra)).not.toThrow();
        return true;
      }),
      { numRuns: 2000 },
    );
  });
});
