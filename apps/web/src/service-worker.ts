/**
 * Keeps the page usable offline. It only ever handles GET requests for the page's own files
 * (HTML, scripts, styles, scanner.wasm): dropped files are read with File.slice and never pass
 * through here, and anything else on the origin (the worker's /v1 API) goes straight to the network.
 *
 * Network first, cache as fallback: online users always get the current scanner and rules, and a
 * stale rule set is only ever used when there is no network at all.
 */

declare const BRINE_ASSETS: string[];
declare const BRINE_BUILD_ID: string;

interface ExtendableEvent extends Event {
  waitUntil(p: Promise<unknown>): void;
}
interface FetchEvent extends ExtendableEvent {
  readonly request: Request;
  respondWith(r: Response | Promise<Response>): void;
}
interface ServiceWorkerScope {
  readonly location: Location;
  readonly registration: { readonly scope: string };
  skipWaiting(): Promise<void>;
  readonly clients: { claim(): Promise<void> };
  addEventListener(type: 'install' | 'activate', l: (e: ExtendableEvent) => void): void;
  addEventListener(type: 'fetch', l: (e: FetchEvent) => void): void;
}
const sw = self as unknown as ServiceWorkerScope;

const CACHE = `brine-web-${BRINE_BUILD_ID}`;
const scopeUrl = new URL(sw.registration.scope);
const assetUrls = new Set(BRINE_ASSETS.map((a) => new URL(a, scopeUrl).href));

sw.addEventListener('install', (e) => {
  e.waitUntil(
    caches
      .open(CACHE)
      .then((cache) => cache.addAll([...assetUrls]))
      .then(() => sw.skipWaiting()),
  );
});

sw.addEventListener('activate', (e) => {
  e.waitUntil(
    caches
      .keys()
      .then((keys) =>
        Promise.all(
          keys.filter((k) => k.startsWith('brine-web-') && k !== CACHE).map((k) => caches.delete(k)),
        ),
      )
      .then(() => sw.clients.claim()),
  );
});

sw.addEventListener('fetch', (e) => {
  const req = e.request;
  if (req.method !== 'GET') return;
  const url = new URL(req.url);
  url.search = '';
  url.hash = '';
  if (!assetUrls.has(url.href)) return;
  e.respondWith(
    fetch(req)
      .then(async (res) => {
        if (res.ok) {
          const cache = await caches.open(CACHE);
          await cache.put(url.href, res.clone());
        }
        return res;
      })
      .catch(async (err: unknown) => {
        const cached = await caches.match(url.href);
        if (cached) return cached;
        throw err;
      }),
  );
});
