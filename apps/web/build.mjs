// Builds the page into static files: index.html, styles.css, app.js, scan-worker.js, sw.js and
// scanner.wasm. Usage: node build.mjs [--outdir DIR] (default: dist/). No framework, one esbuild call
// per stage; sibling packages are bundled from their TypeScript sources so the page never depends on
// a stale dist/.
import { createHash } from 'node:crypto';
import { copyFile, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '../..');

const args = process.argv.slice(2);
const outFlag = args.indexOf('--outdir');
const outdir = resolve(outFlag >= 0 && args[outFlag + 1] ? args[outFlag + 1] : join(here, 'dist'));

const pkg = JSON.parse(await readFile(join(here, 'package.json'), 'utf8'));
const wasmPath = join(root, 'packages/core/build/scanner.wasm');

/**
 * `@brine/core`'s index also exports its Node-only parts (opening local paths, writing converted
 * files). The page never calls them, but the bundler still has to resolve their `node:*` imports.
 * Only for these importers is a `node:*` module replaced by one that throws when used; a `node:*`
 * import anywhere else (the scanner, containers, codecs, rules, report) still fails the build, so
 * nothing the scan depends on can be stubbed out by accident.
 */
const NODE_ONLY_MODULES = [
  'packages/core/src/source/file.ts',
  'packages/core/src/convert/convert-file.ts',
].map((p) => join(root, p));

/**
 * 7z-wasm (the 7z reader) is an Emscripten build that runs `await import("module")` only when it
 * finds itself on Node. That import is left as it is (never evaluated in a browser or worker);
 * the wasm it loads in the browser is copied next to the bundle as `7zz.wasm`.
 */
const GUARDED_NODE_IMPORTS = { [join(root, 'node_modules/7z-wasm/7zz.es6.js')]: ['module'] };

const nodeOnlyModules = {
  name: 'brine-node-only-modules',
  setup(build) {
    build.onResolve({ filter: /^module$/ }, (args) =>
      GUARDED_NODE_IMPORTS[args.importer]?.includes(args.path)
        ? { path: args.path, external: true }
        : undefined,
    );
    build.onResolve({ filter: /^node:/ }, (args) => {
      if (!NODE_ONLY_MODULES.includes(args.importer)) return undefined;
      return { path: args.path, namespace: 'node-unavailable' };
    });
    build.onLoad({ filter: /.*/, namespace: 'node-unavailable' }, (args) => ({
      contents: `const fail = () => { throw new Error(${JSON.stringify(`${args.path} is not available in the browser`)}); };
module.exports = new Proxy({}, { get: (_t, key) => (key === '__esModule' ? false : fail) });`,
      loader: 'js',
    }));
  },
};

const common = {
  plugins: [nodeOnlyModules],
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: ['es2022', 'chrome109', 'firefox115', 'safari16'],
  minify: true,
  sourcemap: 'linked',
  legalComments: 'none',
  logLevel: 'warning',
  alias: {
    '@brine/core': join(root, 'packages/core/src/index.ts'),
    '@brine/rules': join(root, 'packages/rules/src/index.ts'),
    '@brine/report': join(root, 'packages/report/src/index.ts'),
  },
};

/**
 * The files the service worker keeps for offline use (relative to the page's URL). The page itself
 * is kept as `./` only: Workers static assets redirect `/index.html` to `/`, and a redirected
 * response cannot answer a navigation from the cache.
 */
const ASSETS = ['./', 'styles.css', 'app.js', 'scan-worker.js', 'scanner.wasm', '7zz.wasm'];

async function main() {
  try {
    await readFile(wasmPath).then(() => {});
  } catch {
    throw new Error(`${wasmPath} is missing: run "npm run build:wasm -w @brine/core" first`);
  }
  await rm(outdir, { recursive: true, force: true });
  await mkdir(outdir, { recursive: true });

  await esbuild.build({
    ...common,
    entryPoints: { app: join(here, 'src/app.ts'), 'scan-worker': join(here, 'src/scan-worker.ts') },
    outdir,
    define: { BRINE_VERSION: JSON.stringify(pkg.version) },
  });
  await copyFile(join(here, 'src/index.html'), join(outdir, 'index.html'));
  await copyFile(join(here, 'src/styles.css'), join(outdir, 'styles.css'));
  await copyFile(wasmPath, join(outdir, 'scanner.wasm'));
  await copyFile(join(root, 'node_modules/7z-wasm/7zz.wasm'), join(outdir, '7zz.wasm'));

  // The cache name changes whenever any asset changes, so an updated page replaces the old cache.
  const hash = createHash('sha256');
  for (const asset of ['index.html', ...ASSETS.filter((a) => a !== './')]) {
    hash.update(await readFile(join(outdir, asset)));
  }
  const buildId = hash.digest('hex').slice(0, 16);

  await esbuild.build({
    ...common,
    entryPoints: { sw: join(here, 'src/service-worker.ts') },
    outdir,
    define: { BRINE_ASSETS: JSON.stringify(ASSETS), BRINE_BUILD_ID: JSON.stringify(buildId) },
  });
  await writeFile(
    join(outdir, 'build.json'),
    `${JSON.stringify({ version: pkg.version, buildId, assets: ASSETS }, null, 2)}\n`,
  );
}

main().catch((err) => {
  console.error(`brine web build failed: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
