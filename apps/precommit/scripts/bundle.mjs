#!/usr/bin/env node
// Builds the self-contained hook the pre-commit framework runs (`brine-precommit` in the root
// package.json). Every @brine package, every npm dependency and the WASM scanner are inlined, so
// installing the hook from a plain clone needs neither `npm run build` nor any package beyond
// Node itself. The output is committed. It is two CommonJS files side by side:
//
//   hook.cjs         git, configuration and content sniffing: all a commit without models runs
//   hook-engine.cjs  engine, rules, report writers and the scanner, required only when a staged
//                    file looks like a model (parsing it is most of the cost of starting up)
//
// plus 7zz.wasm, which 7z-wasm loads from the directory of the script running it.
//
// Usage: node apps/precommit/scripts/bundle.mjs [path/to/hook.cjs]
import { chmod, copyFile, readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const here = (p) => fileURLToPath(new URL(p, import.meta.url));
const outfile = process.argv[2] ?? here('../dist-bundle/hook.cjs');
const outdir = dirname(outfile);
const ENGINE_FILE = 'hook-engine.cjs';

const precommitSrc = here('../src/');
// Modules that live in hook-engine.cjs; hook.cjs reaches them only through import().
const LAZY = new Set(['engine.ts', 'bundle-engine.ts', 'judge.ts', 'bundle-lazy.ts']);
const cli = JSON.parse(await readFile(here('../../cli/package.json'), 'utf8'));

/** Options both files share. */
const common = {
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
    '@brine/core': here('../../../packages/core/src/index.ts'),
    '@brine/rules': here('../../../packages/rules/src/index.ts'),
    '@brine/report': here('../../../packages/report/src/index.ts'),
  },
  // The scanner is embedded as bytes and compiled only when a staged file needs scanning.
  loader: { '.wasm': 'binary' },
  define: { __BRINE_VERSION__: JSON.stringify(cli.version) },
};

await build({
  ...common,
  entryPoints: [here('../src/bundle-lazy.ts')],
  outfile: join(outdir, ENGINE_FILE),
  plugins: [
    {
      name: 'brine-scanner-wasm',
      setup(b) {
        b.onResolve({ filter: /^brine:scanner-wasm$/ }, () => ({
          path: here('../../../packages/core/build/scanner.wasm'),
        }));
      },
    },
  ],
});

await build({
  ...common,
  entryPoints: [here('../src/bin.ts')],
  outfile,
  banner: { js: '#!/usr/bin/env node' },
  plugins: [
    {
      name: 'brine-split',
      setup(b) {
        // judge.js and bundle-engine.js are the doors to the engine: in hook.cjs they become a
        // require of the file next to it.
        b.onResolve({ filter: /^\.\/(judge|bundle-engine)\.js$/ }, (args) =>
          args.importer.startsWith(precommitSrc) ? { path: `./${ENGINE_FILE}`, external: true } : undefined,
        );
        // The light code uses only BrineError from @brine/core: take it from the module that
        // defines it rather than through the index, which would pull the whole engine in.
        b.onResolve({ filter: /^@brine\/core$/ }, (args) =>
          args.importer.startsWith(precommitSrc) && !LAZY.has(basename(args.importer))
            ? { path: here('../../../packages/core/src/engine/types.ts') }
            : undefined,
        );
      },
    },
  ],
});
await chmod(outfile, 0o755);

const sevenZip = dirname(createRequire(here('../../../packages/core/package.json')).resolve('7z-wasm'));
await copyFile(join(sevenZip, '7zz.wasm'), join(outdir, '7zz.wasm'));
await copyFile(join(sevenZip, 'License.txt'), join(outdir, '7zz.License.txt'));
