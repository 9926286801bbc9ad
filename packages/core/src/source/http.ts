import { BrineError } from '../engine/types.js';
import { clampOffset } from './buffer.js';
import type { ByteSource } from './types.js';

/** Options for {@link httpSource}. */
export interface HttpSourceOptions {
  /** Injected fetch (tests, Workers bindings); defaults to the global one. */
  fetch?: typeof fetch;
  headers?: Record<string, string>;
  signal?: AbortSignal;
  /**
   * Small reads are rounded up to this many bytes and the block kept, because container readers
   * ask for many tiny header ranges and each costs a round trip. Default 64 KiB.
   */
  readAhead?: number;
}

/**
 * A source over an HTTP(S) URL, read with `Range` requests so only the directory and the pickles
 * of a large checkpoint travel over the network. A server that ignores `Range` is an error: it
 * would make us download the whole file.
 *
 * @throws BrineError `http-error`, `no-range-support` or `unreadable`.
 */
export async function httpSource(url: string, opts: HttpSourceOptions = {}): Promise<ByteSource> {
  const doFetch = opts.fetch ?? globalThis.fetch;
  const readAhead = Math.max(1, opts.readAhead ?? 64 * 1024);
  let bytesRead = 0;

  const request = async (range: string): Promise<Response> => {
    try {
      return await doFetch(url, {
        headers: { ...opts.headers, range, 'accept-encoding': 'identity' },
        signal: opts.signal,
      });
    } catch (e) {
      throw new BrineError(
        'unreadable',
        `request failed: ${e instanceof Error ? e.message : String(e)}`,
        url,
      );
    }
  };

  // A one-byte range GET tells size and range support at once (HEAD is often answered
  // differently from GET by CDNs, and some servers omit Accept-Ranges on HEAD).
  const probe = await request('bytes=0-0');
  const total = await checkRangeResponse(probe, url, 0);
  if (total === undefined) {
    // 416 on an empty file: the only range answer with no Content-Range we accept.
    return finish(0);
  }
  bytesRead += (await probe.arrayBuffer()).byteLength;
  return finish(total);

  function finish(size: number): ByteSource {
    let cacheStart = 0;
    let cache = new Uint8Array(0);
    return {
      name: url,
      size,
      get bytesRead() {
        return bytesRead;
      },
      async read(offset: number, length: number): Promise<Uint8Array> {
        const start = clampOffset(offset, size);
        const end = Math.min(size, start + Math.max(0, Math.floor(length)));
        if (end <= start) return new Uint8Array(0);
        if (start >= cacheStart && end <= cacheStart + cache.length) {
          return cache.subarray(start - cacheStart, end - cacheStart);
        }
        const fetchEnd = Math.min(size, Math.max(end, start + readAhead));
        const res = await request(`bytes=${start}-${fetchEnd - 1}`);
        await checkRangeResponse(res, url, start);
        const body = new Uint8Array(await res.arrayBuffer());
        bytesRead += body.length;
        if (body.length < fetchEnd - start) {
          throw new BrineError(
            'truncated',
            `server sent ${body.length} of ${fetchEnd - start} bytes`,
            url,
            start,
          );
        }
        cacheStart = start;
        cache = body;
        return body.subarray(0, end - start);
      },
      async close() {
        cache = new Uint8Array(0);
      },
    };
  }
}

/** Returns the total size from Content-Range, or undefined for the empty-file 416 answer. */
async function checkRangeResponse(res: Response, url: string, start: number): Promise<number | undefined> {
  if (res.status === 416 && start === 0) {
    const m = /bytes \*\/(\d+)/.exec(res.headers.get('content-range') ?? '');
    await res.body?.cancel();
    if (m && Number(m[1]) === 0) return undefined;
    throw new BrineError('http-error', 'server refused the range request (416)', url);
  }
  if (res.status === 200) {
    await res.body?.cancel();
    throw new BrineError(
      'no-range-support',
      'server ignored the Range header (200 instead of 206); refusing to download the whole file',
      url,
    );
  }
  if (res.status !== 206) {
    await res.body?.cancel();
    throw new BrineError('http-error', `HTTP ${res.status} ${res.statusText}`.trim(), url);
  }
  const m = /^bytes (\d+)-(\d+)\/(\d+)$/.exec(res.headers.get('content-range') ?? '');
  if (!m || Number(m[1]) !== start) {
    await res.body?.cancel();
    throw new BrineError('http-error', `bad Content-Range for offset ${start}`, url, start);
  }
  return Number(m[3]);
}
