import { readFile, stat } from 'node:fs/promises';
import { extname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Serves the browser page's static files (built by `apps/web` into `apps/web/dist`) on Node. On
 * Workers the same files are served by wrangler's `assets` config, before the app runs.
 */
export type AssetHandler = (request: Request) => Promise<Response | undefined>;

const MEDIA_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.wasm': 'application/wasm',
  '.json': 'application/json',
  '.map': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
};

/** Where `npm run build -w @brine/web` puts the page (the same path from `src/` and from `dist/`). */
export const DEFAULT_WEB_DIR = fileURLToPath(new URL('../../web/dist/', import.meta.url));

/**
 * Returns a handler that answers GET/HEAD for files under `dir` (`/` is `index.html`) and
 * `undefined` for anything else, so API routes and their JSON 404s are untouched. Returns
 * `undefined` itself when `dir` holds no built page.
 */
export async function webAssets(dir: string = DEFAULT_WEB_DIR): Promise<AssetHandler | undefined> {
  const root = resolve(dir);
  const index = await stat(join(root, 'index.html')).catch(() => undefined);
  if (!index?.isFile()) return undefined;
  return async (request) => {
    if (request.method !== 'GET' && request.method !== 'HEAD') return undefined;
    let pathname: string;
    try {
      pathname = decodeURIComponent(new URL(request.url).pathname);
    } catch {
      return undefined;
    }
    const rel = pathname === '/' ? 'index.html' : pathname.slice(1);
    const file = resolve(root, rel);
    // No way out of the page's folder (`/../`, encoded slashes) and no dotfiles.
    if (!file.startsWith(root + sep) || rel.split('/').some((part) => part.startsWith('.'))) return undefined;
    const type = MEDIA_TYPES[extname(file)];
    if (!type) return undefined;
    let body: Buffer;
    try {
      body = await readFile(file);
    } catch {
      return undefined;
    }
    return new Response(request.method === 'HEAD' ? null : new Uint8Array(body), {
      headers: {
        'content-type': type,
        'content-length': String(body.length),
        // The service worker fetches these network-first, so revalidating every time costs nothing offline.
        'cache-control': 'no-cache',
        'x-content-type-options': 'nosniff',
      },
    });
  };
}
