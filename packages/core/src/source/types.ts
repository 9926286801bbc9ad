/**
 * Where bytes come from. Every stage after the source sees only this interface, so a local file,
 * an in-memory buffer and an HTTP URL read with Range requests look alike.
 */
export interface ByteSource {
  /** Shown in findings and errors (a path, a URL, `<stdin>`). */
  readonly name: string;
  /** Total size in bytes. */
  readonly size: number;
  /**
   * Reads `length` bytes at `offset`. Returns fewer bytes only at end of input.
   * Implementations never read more than asked for (plus a bounded read-ahead).
   */
  read(offset: number, length: number): Promise<Uint8Array>;
  /**
   * Bytes fetched so far (for "bytes scanned vs. file bytes"). Local sources count distinct bytes (a
   * region read twice counts once, so it never exceeds `size`); remote ones count bytes transferred.
   */
  readonly bytesRead: number;
  close(): Promise<void>;
}
