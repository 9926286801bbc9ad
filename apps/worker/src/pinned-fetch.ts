import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { isIP, type LookupFunction } from 'node:net';
import { Readable } from 'node:stream';
import type { PinnedFetch } from './safe-fetch.js';

/**
 * {@link PinnedFetch} for Node: node:http(s) with a `lookup` that answers only the checked address,
 * so the socket goes where the URL policy looked, while the request keeps the URL's host name
 * (Host header, TLS SNI and certificate verification all use the name, as fetch would). Node's
 * fetch offers no such hook without the undici package, hence http(s).request.
 */
export const pinnedFetch: PinnedFetch = (url, address, init) =>
  new Promise<Response>((resolve, reject) => {
    const family = isIP(address);
    if (family === 0) {
      reject(new TypeError(`pinned address ${address} is not an IP address`));
      return;
    }
    const lookup: LookupFunction = (_hostname, options, callback) => {
      // Node asks for every address when it may race IPv4 against IPv6 (autoSelectFamily).
      if ((options as { all?: boolean }).all) {
        (callback as unknown as (e: null, a: Array<{ address: string; family: number }>) => void)(null, [
          { address, family },
        ]);
      } else callback(null, address, family);
    };
    const headers: Record<string, string> = {};
    for (const [k, v] of new Headers(init.headers)) headers[k] = v;
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    const req = send(
      url,
      {
        method: init.method ?? 'GET',
        headers,
        lookup,
        ...(init.signal ? { signal: init.signal } : {}),
      },
      (res: IncomingMessage) => {
        const responseHeaders = new Headers();
        for (const [k, v] of Object.entries(res.headers)) {
          if (Array.isArray(v)) for (const x of v) responseHeaders.append(k, x);
          else if (v !== undefined) responseHeaders.set(k, v);
        }
        const status = res.statusCode ?? 502;
        const noBody = init.method === 'HEAD' || status === 204 || status === 304;
        if (noBody) res.resume();
        resolve(
          new Response(noBody ? null : (Readable.toWeb(res) as ReadableStream<Uint8Array>), {
            status,
            statusText: res.statusMessage ?? '',
            headers: responseHeaders,
          }),
        );
      },
    );
    req.on('error', reject);
    req.end();
  });
