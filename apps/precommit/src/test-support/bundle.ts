import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** The bundle build script; tests build a fresh bundle from the current sources, never trust the committed one. */
export const BUNDLE_SCRIPT = fileURLToPath(new URL('../../scripts/bundle.mjs', import.meta.url));

/** Builds the self-contained hook bundle to `outfile` (esbuild, well under a second). */
export function buildBundle(outfile: string): void {
  const r = spawnSync(process.execPath, [BUNDLE_SCRIPT, outfile], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`bundle build failed: ${r.stderr}${r.stdout}`);
}
