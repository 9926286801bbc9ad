import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { openFileSource, scan } from '@brine/core';
import { describe, expect, it } from 'vitest';
import { evaluate } from './index.js';

// The container fixtures (fixtures/containers, written by fixtures/generators/containers.py) each
// carry the verdict expected under the default policy: real torch/sklearn/numpy saves are clean,
// every container trick hiding a payload is dangerous, broken headers are suspicious, unreadable
// files are unscannable. This runs them through the real engine and rules.
const dir = fileURLToPath(new URL('../../../fixtures/containers/', import.meta.url));
const manifest = JSON.parse(readFileSync(`${dir}manifest.json`, 'utf8')) as Array<{
  file: string;
  expect: string;
}>;

describe('container fixtures get their expected verdict', () => {
  it.each(manifest.map((m) => [m.file, m.expect]))('%s → %s', async (file, expected) => {
    const src = await openFileSource(`${dir}${file}`);
    try {
      expect(evaluate(await scan(src)).verdict).toBe(expected);
    } finally {
      await src.close();
    }
  });
});
