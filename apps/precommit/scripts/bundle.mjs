#!/usr/bin/env node
// Builds the self-contained hook the pre-commit framework runs (`brine-precommit` in the root
// package.json): one CommonJS file with every @brine package, every npm dependency and the WASM
// scanner inlined, so installing the hook from a plain clone needs neither `npm run build` nor
// any package beyond Node itself. The output is committed.
//
// Usage: node apps/precommit/scripts/bundle.mjs [outfile]
import { chmod } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const here = (p) => fileURLToPath(new URL(p, import.meta.url));
const outfile = process.argv[2] ?? here('../dist-bundle/hook.cjs');

await build({
  entryPoints: [here('../src/bin.ts')],
  outfile,
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  minify: true,
  legalComments: 'none',
  logLevel: 'warning',
  // Sources, not dist/: the bundle must not depend on a prior build of the sibling packages.
  alias: {
    '@brine/core': here('../../../packages/core/src/index.ts'),
    '@brine/rules': here('../../../packages/rules/src/index.ts'),
    '@brine/report': here('../../../packages/report/src/index.ts'),
  },
  // The scanner is embedded as bytes; the bundle compiles it only when a staged file needs scanning.
  loader: { '.wasm': 'binary' },
  banner: { js: '#!/usr/bin/env node' },
});
await chmod(outfile, 0o755);
