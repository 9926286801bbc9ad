#!/usr/bin/env node
// Builds the self-contained hook the pre-commit framework runs (`brine-precommit` in the root
// package.json): one CommonJS file with every @brine package, every npm dependency and the WASM
// scanner inlined, so installing the hook from a plain clone needs neither `npm run build` nor
// any package beyond Node itself. The output is committed.
//
// Usage: node apps/precommit/scripts/bundle.mjs [outfile]
import { chmod, copyFile, readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const here = (p) => fileURLToPath(new URL(p, import.meta.url));
const outfile = process.argv[2] ?? here('../dist-bundle/hook.cjs');

const precommitSrc = here('../src/');
// Modules loaded on demand (through import()); they may pull in the whole engine.
const LAZY = new Set(['engine.ts', 'bundle-engine.ts', 'judge.ts']);
const cli = JSON.parse(await readFile(here('../../cli/package.json'), 'utf8'));

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
  // core finds build/scanner.wasm through import.meta.url, which a CommonJS bundle lacks; the
  // bundle never takes that path because bundle-engine.ts hands core the inlined module first.
  logOverride: { 'empty-import-meta': 'silent' },
  // Sources, not dist/: the bundle must not depend on a prior build of the sibling packages.
  alias: {
    '@brine/rules': here('../../../packages/rules/src/index.ts'),
    '@brine/report': here('../../../packages/report/src/index.ts'),
  },
  // The scanner is embedded as bytes; the bundle compiles it only when a staged file needs scanning.
  loader: { '.wasm': 'binary' },
  plugins: [
    {
      name: 'brine-scanner-wasm',
      setup(b) {
        // The hook's git/config/sniff code uses only BrineError from @brine/core. Taking that class
        // from the module that defines it (the same module instance the engine uses) keeps the rest
        // of the engine, its codecs and the rule tables out of start-up: they are initialised only
        // when a staged file looks like a model and judge.ts / bundle-engine.ts are imported.
        b.onResolve({ filter: /^@brine\/core$/ }, (args) => ({
          path:
            args.importer.startsWith(precommitSrc) && !LAZY.has(basename(args.importer))
              ? here('../../../packages/core/src/engine/types.ts')
              : here('../../../packages/core/src/index.ts'),
        }));
        b.onResolve({ filter: /^brine:scanner-wasm$/ }, () => ({
          path: here('../../../packages/core/build/scanner.wasm'),
        }));
      },
    },
  ],
  banner: { js: '#!/usr/bin/env node' },
  define: { __BRINE_VERSION__: JSON.stringify(cli.version) },
});
await chmod(outfile, 0o755);

// 7z-wasm (7z archives inside the engine) loads its 7zz.wasm from the directory of the script
// running it, which in the bundle is the bundle's own directory. Its licence travels with it.
const sevenZip = dirname(createRequire(here('../../../packages/core/package.json')).resolve('7z-wasm'));
await copyFile(join(sevenZip, '7zz.wasm'), join(dirname(outfile), '7zz.wasm'));
await copyFile(join(sevenZip, 'License.txt'), join(dirname(outfile), '7zz.License.txt'));
