import { formatBytes } from '@brine/report';

/** A progress line on a terminal. Does nothing unless `enabled`; never writes to stdout. */
export interface Progress {
  update(done: number, bytes: number): void;
  /** Erases the line, so the report that follows starts on a clean screen. */
  stop(): void;
}

/**
 * Shows `[#####.....] 120/5000 files, 1.2 GiB` on stderr once a scan has run for `delayMs`, redrawn at
 * most ten times a second. Short scans never show it, and piped stderr never gets it.
 */
export function createProgress(
  total: number,
  stream: NodeJS.WriteStream,
  enabled: boolean,
  delayMs = 1000,
  now: () => number = Date.now,
): Progress {
  if (!enabled || total === 0) return { update() {}, stop() {} };
  const startedAt = now();
  let lastDraw = 0;
  let drawn = false;
  return {
    update(done, bytes) {
      const t = now();
      if (t - startedAt < delayMs || t - lastDraw < 100) return;
      lastDraw = t;
      drawn = true;
      const width = 24;
      const filled = Math.round((width * done) / total);
      const bar = `${'#'.repeat(filled)}${'.'.repeat(width - filled)}`;
      stream.write(`\r\u001b[K[${bar}] ${done}/${total} files, ${formatBytes(bytes)}`);
    },
    stop() {
      if (drawn) stream.write('\r\u001b[K');
    },
  };
}
