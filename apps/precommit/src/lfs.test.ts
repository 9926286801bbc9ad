import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { lfsObjectPath, parseLfsPointer, resolveLfsObject } from './lfs.js';

const enc = (s: string) => new TextEncoder().encode(s);
const OID = '4d7a214614ab2935c943f9e0ff69d22eadbb8f32b1258daaa5e2ca24d17e2393';
const pointer = (extra = '') =>
  enc(`version https://git-lfs.github.com/spec/v1\n${extra}oid sha256:${OID}\nsize 12\n`);

describe('parseLfsPointer', () => {
  it('reads oid and size', () => {
    expect(parseLfsPointer(pointer())).toEqual({ oid: OID, size: 12 });
    expect(parseLfsPointer(pointer('ext-0-foo sha256:abc\n'))).toEqual({ oid: OID, size: 12 });
  });

  it('rejects text that is not a well-formed pointer', () => {
    expect(parseLfsPointer(enc('version https://git-lfs.github.com/spec/v1\nsize 12\n'))).toBeUndefined();
    expect(
      parseLfsPointer(enc(`version https://git-lfs.github.com/spec/v1\noid sha256:${OID}\nsize 1x\n`)),
    ).toBeUndefined();
    expect(
      parseLfsPointer(enc(`version https://git-lfs.github.com/spec/v1\noid md5:${OID}\nsize 1\n`)),
    ).toBeUndefined();
    expect(
      parseLfsPointer(enc(`version https://example.com/v9\noid sha256:${OID}\nsize 1\n`)),
    ).toBeUndefined();
    // No trailing newline: not what git-lfs writes.
    expect(
      parseLfsPointer(enc(`version https://git-lfs.github.com/spec/v1\noid sha256:${OID}\nsize 1`)),
    ).toBeUndefined();
  });
});

describe('resolveLfsObject', () => {
  let dir = '';
  afterEach(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('finds the object under lfs/objects/aa/bb/<oid>, or says it is absent or the wrong size', async () => {
    dir = await mkdtemp(join(tmpdir(), 'brine-lfs-'));
    expect(lfsObjectPath(dir, OID)).toBe(join(dir, 'lfs', 'objects', '4d', '7a', OID));
    expect((await resolveLfsObject(dir, { oid: OID, size: 12 })).state).toBe('absent');
    await mkdir(join(dir, 'lfs', 'objects', '4d', '7a'), { recursive: true });
    await writeFile(lfsObjectPath(dir, OID), 'twelve bytes');
    expect(await resolveLfsObject(dir, { oid: OID, size: 12 })).toEqual({
      state: 'present',
      path: lfsObjectPath(dir, OID),
    });
    expect(await resolveLfsObject(dir, { oid: OID, size: 99 })).toMatchObject({
      state: 'size-mismatch',
      actual: 12,
    });
  });
});

describe('parseLfsPointer on arbitrary bytes', () => {
  it('never throws, and only accepts what it can give an oid and size for', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.uint8Array({ maxLength: 300 }),
          fc.string().map((s) => enc(s)),
        ),
        (bytes) => {
          const p = parseLfsPointer(bytes);
          if (p) {
            expect(p.oid).toMatch(/^[0-9a-f]{64}$/);
            expect(Number.isSafeInteger(p.size)).toBe(true);
          }
          return true;
        },
      ),
      { numRuns: 2000 },
    );
  });
});
