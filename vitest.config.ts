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
      '@brine/precommit': src('./apps/precommit/src/index.ts'),
    },
  },
  test: {
    testTimeout: 60_000,
    hookTimeout: 60_000,
    reporters: ['default', 'json'],
    outputFile: { json: '.vitest-results.json' },
    // Two projects, one run, one results file: the Node tests, and the worker's tests inside real
    // workerd (vitest-pool-workers), whose config lives with the worker.
    projects: [
      {
        extends: true,
        test: { name: 'node', include: ['packages/*/src/**/*.test.ts', 'apps/*/src/**/*.test.ts'] },
      },
      './apps/worker/vitest.workerd.config.ts',
    ],
  },
});
