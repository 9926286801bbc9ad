// Workers (wrangler, vitest-pool-workers) import a `.wasm` file as a precompiled module:
// Workers forbid compiling WebAssembly from bytes at run time.
declare module '*.wasm' {
  const module: WebAssembly.Module;
  export default module;
}
