import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { OpcodeTraceEntry } from '../events.js';

/** Root of the committed raw-pickle fixtures (written by fixtures/generators/pickles.py). */
export const PICKLE_FIXTURES = fileURLToPath(new URL('../../../../../fixtures/pickles/', import.meta.url));

export interface ManifestEntry {
  file: string;
  expect: 'dangerous' | 'suspicious' | 'clean' | 'unscannable';
  category: string;
  technique: string;
  refs: string[];
  /** brine follows the C unpickler's FRAME reading here, which pickletools does not. */
  frameDivergence?: boolean;
}

export interface Golden {
  ops: Array<[number, string, OpcodeTraceEntry['arg']]>;
  error: string | null;
}

export function manifest(): ManifestEntry[] {
  return JSON.parse(readFileSync(`${PICKLE_FIXTURES}manifest.json`, 'utf8')) as ManifestEntry[];
}

export function fixture(file: string): Uint8Array {
  return new Uint8Array(readFileSync(PICKLE_FIXTURES + file));
}

export function golden(file: string): Golden {
  return JSON.parse(readFileSync(PICKLE_FIXTURES + file.replace(/\.pkl$/, '.genops.json'), 'utf8')) as Golden;
}
