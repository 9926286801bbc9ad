// The bzip2 block decoder inside unbzip2-stream, used without its Node stream wrapper so the
// same code runs in Workers and in browsers.
declare module 'unbzip2-stream/lib/bzip2.js' {
  const bzip2: {
    header(bits: (n: number | null) => number): number;
    decompress(
      bits: (n: number | null) => number,
      write: (byte: number) => void,
      buf: Int32Array,
      bufsize: number,
      streamCRC: number | null,
    ): number | null;
  };
  export default bzip2;
}
declare module 'unbzip2-stream/lib/bit_iterator.js' {
  function bitIterator(next: () => Uint8Array): ((n: number | null) => number) & { bytesRead: number };
  export default bitIterator;
}
