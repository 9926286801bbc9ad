import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const src = (p: string) => fileURLToPath(new URL(p, import.meta.url));

// Tests import sibling packages from source, so `vitest` never tests a stale dist/.
// The WASM scanner is the one built artefact tests need; `npm test` builds it first.
export default defineConfig({
  resolve: {
    alias: {
      '@brine/core': src('./packages/core/src/index.ts'),
      '@brine/rules': src('./packages/rules/src/index.ts'),
      '@brine/report': src('./packages/report/src/index.ts'),
    },
  },
  test: {
    include: ['packages/*/src/**/*.test.ts', 'apps/*/src/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    reporters: ['default', 'json'],
    outputFile: { json: '.vitest-results.json' },
  },
});
