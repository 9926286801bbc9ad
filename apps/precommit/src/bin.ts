/**
 * Entry of the self-contained hook bundle (`brine-precommit`, built by scripts/bundle.mjs): what the
 * pre-commit framework runs, with the staged paths it selected as arguments.
 */
import { runHook } from './hook.js';

// Replaced at bundle time with the CLI's version, so reports from the hook and from `brine` agree.
declare const __BRINE_VERSION__: string | undefined;

function wantsColor(): boolean {
  if (process.env.NO_COLOR) return false;
  const force = process.env.FORCE_COLOR;
  if (force !== undefined) return force !== '0' && force !== 'false';
  return process.stdout.isTTY === true && process.env.TERM !== 'dumb';
}

async function main(): Promise<number> {
  const files = process.argv.slice(2).filter((a) => a !== '--');
  const r = await runHook({
    cwd: process.cwd(),
    ...(files.length > 0 ? { files } : {}),
    // Loaded on demand: a commit without models never pays for the engine or the WASM scanner.
    engine: async () => (await import('./bundle-engine.js')).embeddedEngine(),
    out: (s) => process.stdout.write(s),
    err: (s) => process.stderr.write(s),
    color: wantsColor(),
    version: typeof __BRINE_VERSION__ === 'string' ? __BRINE_VERSION__ : '0.0.0',
  });
  return r.exitCode;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    process.stderr.write(
      `brine: internal error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`,
    );
    process.exitCode = 2;
  },
);
