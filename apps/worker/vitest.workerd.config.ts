import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { cloudflareTest, readD1Migrations } from '@cloudflare/vitest-pool-workers';
import { defineConfig } from 'vitest/config';

const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));

// The worker imports the scanner from src/generated (see scripts/copy-wasm.mjs); keep it current
// even when vitest is run without a build first.
execFileSync(process.execPath, [here('./scripts/copy-wasm.mjs')], { stdio: 'inherit' });
// wrangler.jsonc serves the browser page from ../web/dist (`assets`); workerd refuses to start
// without that folder, so build the page when it is missing.
if (!existsSync(here('../web/dist/index.html'))) {
  execFileSync(process.execPath, [here('../web/build.mjs')], { stdio: 'inherit' });
}

// The hub tests apply the committed D1 migrations to the test database themselves.
const migrations = await readD1Migrations(here('./migrations'));

// The worker's tests run inside real workerd (Miniflare), against the same entry and
// wrangler config a deploy uses. Sibling packages come from source, as in the Node tests.
export default defineConfig({
  plugins: [
    cloudflareTest({
      main: './src/worker.ts',
      wrangler: { configPath: './wrangler.jsonc' },
      miniflare: {
        bindings: {
          BRINE_TOKEN: 'workerd-test-token',
          BRINE_MAX_UPLOAD_BYTES: '1048576',
          BRINE_LOG: 'off',
          // workerd has no file system: the conversion test gets its torch-written fixture and the
          // generator's per-tensor records through bindings.
          TEST_CONVERT_PT_B64: readFileSync(here('../../fixtures/convert/legacy.pt')).toString('base64'),
          TEST_CONVERT_EXPECTED: readFileSync(here('../../fixtures/convert/legacy.expected.json'), 'utf8'),
          // Hub scanning: the Hub stand-in answers at this origin (the tests route fetch to it).
          HF_ENDPOINT: 'http://hub.test',
          HUB_WEBHOOK_SECRET: 'workerd-webhook-secret',
          TEST_MIGRATIONS: migrations,
        },
      },
    }),
  ],
  resolve: {
    alias: {
      '@brine/core': here('../../packages/core/src/index.ts'),
      '@brine/rules': here('../../packages/rules/src/index.ts'),
      '@brine/report': here('../../packages/report/src/index.ts'),
    },
  },
  test: {
    name: 'worker-workerd',
    root: here('.'),
    include: ['test-workerd/**/*.test.ts'],
    testTimeout: 60_000,
  },
});
