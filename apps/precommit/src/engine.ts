import type { HookEngine } from './hook.js';

/**
 * The hook's engine: `@brine/core` as every other frontend uses it. Imported on demand, so the
 * engine (codecs, container readers, the WASM scanner) loads only when a model file is staged.
 */
export async function coreEngine(): Promise<HookEngine> {
  const { bufferSource, ENGINE_VERSION, openFileSource, scan } = await import('@brine/core');
  return {
    scan: (source) => scan(source),
    openFile: (path) => openFileSource(path),
    buffer: (name, bytes) => bufferSource(name, bytes),
    version: ENGINE_VERSION,
  };
}
