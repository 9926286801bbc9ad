#!/usr/bin/env node
// vitest-pool-workers 0.15.1 cannot import a .wasm from a sibling workspace package, so the
// scanner is copied next to the worker's source and imported relatively (toolchain.md §4).
import { copyFileSync, existsSync, mkdirSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const from = fileURLToPath(new URL('../../../packages/core/build/scanner.wasm', import.meta.url));
const to = fileURLToPath(new URL('../src/generated/scanner.wasm', import.meta.url));
if (!existsSync(from)) {
  console.error(`missing ${from}: run \`npm run build:wasm -w @brine/core\` first`);
  process.exit(1);
}
mkdirSync(fileURLToPath(new URL('../src/generated/', import.meta.url)), { recursive: true });
if (
  !existsSync(to) ||
  statSync(to).mtimeMs < statSync(from).mtimeMs ||
  statSync(to).size !== statSync(from).size
) {
  copyFileSync(from, to);
}
