/** The WASM pickle scanner's bytes, inlined by scripts/bundle.mjs (esbuild `binary` loader). */
declare module 'brine:scanner-wasm' {
  const bytes: Uint8Array;
  export default bytes;
}
