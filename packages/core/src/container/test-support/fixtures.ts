import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { DEFAULT_LIMITS } from '../../engine/limits.js';
import type { FormatId } from '../../engine/types.js';
import { BrineError } from '../../engine/types.js';
import { type ForwardReader, readAll } from '../../source/stream.js';
import type { Budget, Note, ReaderContext } from '../types.js';

/** Path of a committed container fixture. */
export const fixturePath = (name: string) =>
  fileURLToPath(new URL(`../../../../../fixtures/containers/${name}`, import.meta.url));

export const fixture = (name: string) => new Uint8Array(readFileSync(fixturePath(name)));

export interface Manifest {
  file: string;
  expect: 'clean' | 'suspicious' | 'dangerous' | 'unscannable';
  category: string;
  technique: string;
  refs: string[];
}

export const manifest = (): Manifest[] => JSON.parse(readFileSync(fixturePath('manifest.json'), 'utf8'));

/** A budget that counts inflated bytes and trips at `max`. */
export function testBudget(max = DEFAULT_LIMITS.maxInflatedBytes): Budget & { inflated: number } {
  const b = {
    maxEntries: DEFAULT_LIMITS.maxEntries,
    maxDirectoryBytes: DEFAULT_LIMITS.maxDirectoryBytes,
    inflated: 0,
    chargeInflated(n: number, name: string) {
      b.inflated += n;
      if (b.inflated > max) throw new BrineError('limit-inflate', 'over budget', name);
    },
  };
  return b;
}

/**
 * A reader context that records what a reader hands on, for testing one reader alone:
 * nested streams are drained into `nested`, notes collected, pickles refused.
 */
export function recordingContext(budget: Budget = testBudget()) {
  const notes: Note[] = [];
  const nested: Array<{ entry: string; bytes: Uint8Array }> = [];
  let format: FormatId | undefined;
  const ctx: ReaderContext = {
    path: ['test'],
    depth: 0,
    budget,
    limits: DEFAULT_LIMITS,
    signal: undefined,
    setFormat: (f) => {
      format = f;
    },
    note: (n) => notes.push(n),
    scanPickle: async () => {
      throw new Error('not in this test');
    },
    looksLikePickle: async () => true,
    nested: async (source, entry) => {
      nested.push({ entry, bytes: await source.read(0, source.size) });
      return 'unknown';
    },
    nestedStream: async (reader: ForwardReader, entry) => {
      nested.push({ entry, bytes: (await readAll(reader, 1 << 30)).bytes });
      return 'unknown';
    },
  };
  return { ctx, notes, nested, format: () => format };
}
