/**
 * How many scans one thread keeps in flight. Small files spend most of their time waiting for
 * open/stat/read/close to come back from the thread pool; a few scans side by side fill that wait
 * with another file's CPU work. More buys nothing and holds more WASM instances.
 */
export const LANES = 8;

/**
 * Pulls items from `next` and runs `work` on up to `limit` of them at once, until `next` returns
 * undefined and everything started has finished. `work` must not throw.
 */
export async function runInLanes<T>(
  next: () => T | undefined,
  limit: number,
  work: (item: T) => Promise<void>,
): Promise<void> {
  const lane = async () => {
    for (let item = next(); item !== undefined; item = next()) await work(item);
  };
  await Promise.all(Array.from({ length: Math.max(1, limit) }, lane));
}
