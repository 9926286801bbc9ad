import { ApiError } from './errors.js';
import { type CheckedUrl, checkUrlResolved, type ResolveHost, type UrlPolicy } from './url-policy.js';

/**
 * Makes one request to `url` over a connection to `address` (an address the policy checked), with
 * the URL's own host name in the Host header and, for https, in TLS SNI and certificate checks.
 */
export type PinnedFetch = (url: URL, address: string, init: RequestInit) => Promise<Response>;

/** Options of {@link createSafeFetch}. */
export interface SafeFetchOptions {
  /** The runtime's fetch (injected so tests can count requests; Workers and Node pass `fetch`). */
  fetch: typeof fetch;
  policy: UrlPolicy;
  resolveHost?: ResolveHost;
  maxRedirects: number;
  /** Response body bytes this fetcher may receive in total, over every request it makes. */
  maxBytes: number;
  signal?: AbortSignal;
  /**
   * Connects to the checked address of a resolved name instead of handing the name to `fetch`
   * (Node; see `pinned-fetch.ts`). Without it (Workers, where private networks are unreachable
   * anyway) the platform's fetch resolves the name itself.
   */
  pinnedFetch?: PinnedFetch;
}

/** A fetch restricted by the URL policy, plus the bytes it has received so far. */
export interface SafeFetch {
  fetch: typeof fetch;
  readonly bytesReceived: number;
  /**
   * The first policy refusal or limit hit. Callers further down (byte sources) may wrap fetch errors in
   * their own types; this keeps the real reason for the response.
   */
  readonly refusal: ApiError | undefined;
}

/** Request headers that may reach a remote host; everything else (Authorization, Cookie...) is dropped. */
const FORWARDED_HEADERS = new Set([
  'range',
  'accept',
  'accept-encoding',
  'if-match',
  'if-none-match',
  'if-range',
]);

/**
 * Wraps fetch so that every URL, including every redirect target, passes {@link checkUrl} before a
 * connection is made; redirects are followed by hand (the platform would follow them to any host);
 * no credentials or caller headers are forwarded; and the total body size is capped. The cap is
 * enforced while the body streams, so a lying Content-Length cannot get past it.
 */
export function createSafeFetch(options: SafeFetchOptions): SafeFetch {
  let received = 0;
  let refusal: ApiError | undefined;
  const note = (err: unknown) => {
    if (err instanceof ApiError) refusal ??= err;
    return err;
  };
  const count = (body: ReadableStream<Uint8Array>): ReadableStream<Uint8Array> =>
    body.pipeThrough(
      new TransformStream<Uint8Array, Uint8Array>({
        transform(chunk, controller) {
          received += chunk.byteLength;
          if (received > options.maxBytes) {
            controller.error(
              note(
                new ApiError('too-large', `remote transfer exceeds the limit of ${options.maxBytes} bytes`),
              ),
            );
            return;
          }
          controller.enqueue(chunk);
        },
      }),
    );

  const guardedFetch = async (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
    if (input instanceof Request) throw new TypeError('safe fetch takes a URL, not a Request');
    const headers = new Headers();
    for (const [k, v] of new Headers(init?.headers)) if (FORWARDED_HEADERS.has(k)) headers.set(k, v);
    const method = init?.method ?? 'GET';
    if (method !== 'GET' && method !== 'HEAD') throw new TypeError(`safe fetch does not send ${method}`);
    // One signal per request: the caller's (the byte source passes the budget's) and our own are
    // usually the same object, and combining them anew per request would leak listeners.
    const signals = [...new Set([init?.signal, options.signal].filter((s): s is AbortSignal => !!s))];
    const signal = signals.length > 1 ? AbortSignal.any(signals) : signals[0];

    let checked: CheckedUrl = await checkUrlResolved(String(input), options.policy, options.resolveHost);
    for (let hop = 0; ; hop++) {
      const url = checked.url;
      const init = {
        method,
        headers,
        redirect: 'manual',
        credentials: 'omit',
        ...(signal ? { signal } : {}),
      } as RequestInit;
      const pinned = checked.addresses?.[0];
      const response =
        pinned !== undefined && options.pinnedFetch
          ? await options.pinnedFetch(url, pinned, init)
          : await options.fetch(url, init);
      if (response.status >= 300 && response.status < 400 && response.headers.has('location')) {
        await response.body?.cancel();
        if (hop >= options.maxRedirects) {
          throw new ApiError('url-refused', `more than ${options.maxRedirects} redirects`, {
            reason: 'redirects',
          });
        }
        checked = await checkUrlResolved(
          new URL(response.headers.get('location') as string, url).href,
          options.policy,
          options.resolveHost,
        );
        continue;
      }
      if (!response.body) return response;
      return new Response(count(response.body), {
        status: response.status,
        statusText: response.statusText,
        headers: response.headers,
      });
    }
  };
  const safeFetch = (input: RequestInfo | URL, init?: RequestInit): Promise<Response> =>
    guardedFetch(input, init).catch((err: unknown) => {
      throw note(err);
    });
  return {
    fetch: safeFetch as typeof fetch,
    get bytesReceived() {
      return received;
    },
    get refusal() {
      return refusal;
    },
  };
}
