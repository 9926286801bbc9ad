import scannerWasm from 'brine:scanner-wasm';
import { loadScannerModule } from '@brine/core';
import { coreEngine } from './engine.js';
import type { HookEngine } from './hook.js';

/**
 * The engine of the self-contained bundle: the scanner comes from bytes inlined into the bundle
 * (there is no packages/core/build/ next to it), compiled once, on the first staged model.
 */
export async function embeddedEngine(): Promise<HookEngine> {
  await loadScannerModule(await WebAssembly.compile(scannerWasm as Uint8Array<ArrayBuffer>));
  return coreEngine();
}
