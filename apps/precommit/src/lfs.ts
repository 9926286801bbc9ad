import { stat } from 'node:fs/promises';
import { join } from 'node:path';

/** What a Git LFS pointer file names: the object's SHA-256 and its size. */
export interface LfsPointer {
  /** SHA-256 of the real content, lowercase hex (it doubles as the file's SHA-256 for waivers). */
  oid: string;
  size: number;
}

/**
 * Parses a Git LFS pointer (spec v1: `key value` lines, `version` first, then sorted keys).
 * Returns undefined when the text is not a well-formed pointer, so a file that merely starts like
 * one is scanned as itself rather than trusted as a pointer.
 */
export function parseLfsPointer(bytes: Uint8Array): LfsPointer | undefined {
  if (bytes.length > 1024) return undefined;
  const text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('utf8');
  const lines = text.split('\n');
  if (lines.at(-1) !== '') return undefined;
  lines.pop();
  const first = lines[0] ?? '';
  if (!/^version https:\/\/(git-lfs|hawser)\.github\.com\/spec\/v1$/.test(first)) return undefined;
  let oid: string | undefined;
  let size: number | undefined;
  for (const line of lines.slice(1)) {
    const m = /^([a-z0-9.-]+) (.*)$/.exec(line);
    if (!m) return undefined;
    const [, key, value] = m as unknown as [string, string, string];
    if (key === 'oid') {
      const o = /^sha256:([0-9a-f]{64})$/.exec(value);
      if (!o) return undefined;
      oid = o[1];
    } else if (key === 'size') {
      if (!/^\d+$/.test(value)) return undefined;
      size = Number(value);
    }
  }
  if (oid === undefined || size === undefined || !Number.isSafeInteger(size)) return undefined;
  return { oid, size };
}

/** Where git-lfs keeps an object locally: `<git common dir>/lfs/objects/aa/bb/<oid>`. */
export function lfsObjectPath(commonDir: string, oid: string): string {
  return join(commonDir, 'lfs', 'objects', oid.slice(0, 2), oid.slice(2, 4), oid);
}

/** The local LFS object for a pointer, or why it cannot be used. */
export type LfsResolution =
  | { state: 'present'; path: string }
  | { state: 'absent'; path: string }
  | { state: 'size-mismatch'; path: string; actual: number };

/**
 * Finds the object a pointer names. The object's hash is not re-computed (that would read a
 * multi-GB checkpoint end to end); git-lfs names objects by their hash when it stores them, and a
 * size that disagrees with the pointer is reported instead of being scanned as if it were the file.
 */
export async function resolveLfsObject(commonDir: string, pointer: LfsPointer): Promise<LfsResolution> {
  const path = lfsObjectPath(commonDir, pointer.oid);
  try {
    const s = await stat(path);
    if (!s.isFile()) return { state: 'absent', path };
    if (s.size !== pointer.size) return { state: 'size-mismatch', path, actual: s.size };
    return { state: 'present', path };
  } catch {
    return { state: 'absent', path };
  }
}
