#!/usr/bin/env node
// The `brine` command. This launcher is committed (dist/ is not) so that `npm ci` can link the
// command on a fresh clone before anything is built; it only starts the built CLI.
import { existsSync } from 'node:fs';

const built = new URL('../dist/bin.js', import.meta.url);
if (!existsSync(built)) {
  process.stderr.write('brine: the CLI is not built yet: run `npm run build` first\n');
  process.exit(2);
}
await import(built.href);
