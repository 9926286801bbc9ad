import { BrineError } from '../engine/types.js';

/** The raw exports of `build/scanner.wasm` (see packages/core/assembly/index.ts). */
export interface ScannerExports {
  readonly memory: WebAssembly.Memory;
  init(
    windowCap: number,
    eventsCap: number,
    stackLimit: number,
    marksLimit: number,
    memoLimit: number,
    valuesLimit: number,
    itemsLimit: number,
    retainLimit: number,
    opcodesLimit: number,
    flags: number,
  ): number;
  inputPtr(): number;
  inputSpace(): number;
  push(n: number): number;
  resume(): number;
  finish(): number;
  pendingSkip(): number;
  skipped(n: number): void;
  skipBytes(n: number): void;
  beginNested(): number;
  markWatched(): void;
  eventsPtr(): number;
  eventsLen(): number;
  eventsReset(): void;
  position(): number;
  statOpcodes(): number;
  statSkipped(): number;
  statPickles(): number;
  statMaxDepth(): number;
  statMemo(): number;
  statPoolCap(): number;
  isDone(): number;
}

let compiled: WebAssembly.Module | undefined;
let compiling: Promise<WebAssembly.Module> | undefined;

async function compileFromPackage(): Promise<WebAssembly.Module> {
  // Kept out of static imports so bundles for Workers/browsers never pull in `node:fs`.
  const fsModule = 'node:fs/promises';
  const { readFile } = (await import(/* @vite-ignore */ fsModule)) as typeof import('node:fs/promises');
  const url = new URL('../../build/scanner.wasm', import.meta.url);
  let bytes: Uint8Array;
  try {
    bytes = await readFile(url);
  } catch (e) {
    throw new BrineError(
      'scanner-missing',
      `cannot read the WASM scanner at ${url.pathname} (run \`npm run build:wasm -w @brine/core\`): ${(e as Error).message}`,
    );
  }
  return WebAssembly.compile(bytes as Uint8Array<ArrayBuffer>);
}

/**
 * Makes the WASM pickle scanner available. Workers and browsers pass the precompiled module
 * their bundler gives them (they cannot compile bytes at run time); on Node, calling it without
 * an argument compiles `build/scanner.wasm` from this package once.
 */
export async function loadScannerModule(module?: WebAssembly.Module): Promise<void> {
  if (module) {
    compiled = module;
    return;
  }
  if (compiled) return;
  compiling ??= compileFromPackage();
  try {
    compiled = await compiling;
  } finally {
    compiling = undefined;
  }
}

// Finished instances are reused: laying out and growing a new memory costs more than a small
// scan. Reuse is safe because init() resets all state and memo slots are tagged with a
// generation that only ever grows within an instance.
const idle: ScannerExports[] = [];
const MAX_IDLE = 4;
const MAX_IDLE_MEMORY = 40 << 20; // the default layout is ~33 MiB: instances that grew are dropped

/** A scanner instance (own memory), reused when one is idle; loads the module on Node when needed. */
export async function instantiateScanner(): Promise<ScannerExports> {
  const reused = idle.pop();
  if (reused) return reused;
  if (!compiled) await loadScannerModule();
  const instance = await WebAssembly.instantiate(compiled as WebAssembly.Module, {});
  return instance.exports as unknown as ScannerExports;
}

/** Hands a finished instance back for reuse (large memories are dropped instead). */
export function releaseScanner(w: ScannerExports): void {
  if (idle.length < MAX_IDLE && w.memory.buffer.byteLength <= MAX_IDLE_MEMORY && !idle.includes(w))
    idle.push(w);
}
