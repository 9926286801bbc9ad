/** Resource limits for one `scan()`; each one ends in a clear problem, never a crash or a hang. */
export interface EngineLimits {
  /** Containers inside containers (a zip in a tar in a gzip is depth 3). */
  maxDepth: number;
  /** Entries per archive (zip central directory, tar members, 7z files). */
  maxEntries: number;
  /** Size of one zip central directory held in memory. */
  maxDirectoryBytes: number;
  /** Decompressed bytes per file, over all codecs and entries (decompression bombs). */
  maxInflatedBytes: number;
  /**
   * A nested container that needs random access (a zip inside a gzip, a 7z) but only arrives as a
   * stream is buffered in memory up to this size; past it the entry is reported unscanned.
   */
  maxBufferedBytes: number;
  /** Pickle streams scanned per file. */
  maxStreams: number;
}

/** Defaults sized for a 24 GiB machine scanning several files at once. */
export const DEFAULT_LIMITS: EngineLimits = {
  maxDepth: 6,
  maxEntries: 100_000,
  maxDirectoryBytes: 64 * 1024 * 1024,
  maxInflatedBytes: 2 * 1024 * 1024 * 1024,
  maxBufferedBytes: 256 * 1024 * 1024,
  maxStreams: 10_000,
};
