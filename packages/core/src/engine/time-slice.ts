/**
 * Hands the event loop back now and then during long synchronous work (a decompression bomb
 * decodes for minutes without awaiting any I/O; awaiting an async generator only runs
 * microtasks, so timers, sockets and the UI would starve).
 */

const now = () => (typeof performance !== 'undefined' ? performance.now() : Date.now());

// setImmediate runs after pending I/O in Node; elsewhere (browsers, workerd) a zero timeout does.
const macrotask: () => Promise<void> =
  typeof setImmediate === 'function'
    ? () => new Promise((resolve) => setImmediate(resolve))
    : () => new Promise((resolve) => setTimeout(resolve, 0));

/**
 * Returns a function to await between units of work: it yields to the event loop when more than
 * `sliceMs` passed since the last yield, and costs a clock read otherwise. (In Cloudflare Workers
 * the clock stands still during computation, so it never yields there; each request has its own
 * CPU limit instead.)
 */
export function timeSlicer(sliceMs = 20): () => Promise<void> | undefined {
  let last = now();
  return () => {
    if (now() - last < sliceMs) return undefined;
    return macrotask().then(() => {
      last = now();
    });
  };
}
