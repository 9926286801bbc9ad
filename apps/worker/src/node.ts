import { lookup } from 'node:dns/promises';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { type HttpBindings, serve } from '@hono/node-server';
import { type AppDeps, createApp } from './app.js';
import { configFromEnv } from './config.js';
import { createEngine } from './engine.js';
import { resolveLimits } from './limits.js';
import { pinnedFetch } from './pinned-fetch.js';
import { scanOffThread } from './scan-thread.js';
import { type AssetHandler, webAssets } from './web-assets.js';

/** A running Node server. */
export interface NodeServer {
  /** Base URL, e.g. `http://127.0.0.1:8787`. */
  url: string;
  port: number;
  close(): Promise<void>;
}

/** Compiles the built scanner (`@brine/core/scanner.wasm`); Node, unlike Workers, may compile at run time. */
export async function compileScanner(): Promise<WebAssembly.Module> {
  const path = createRequire(import.meta.url).resolve('@brine/core/scanner.wasm');
  return WebAssembly.compile(await readFile(path));
}

/** DNS check for the URL policy: every address a name resolves to, so none of them can be private. */
export async function resolveHost(hostname: string): Promise<string[]> {
  return (await lookup(hostname, { all: true, verbatim: true })).map((a) => a.address);
}

/**
 * Serves the app with @hono/node-server. `deps` override what the environment says (tests pass
 * limits, a fetch and a trusted host). Port 0 picks a free port.
 */
export async function startServer(
  options: { port?: number; host?: string; deps?: AppDeps; assets?: AssetHandler } = {},
): Promise<NodeServer> {
  const deps: AppDeps = {
    resolveHost,
    pinnedFetch,
    // Node's IncomingMessage, read directly: the web-stream body the adapter builds around it costs
    // a stream hop per chunk, which shows at multi-GB upload sizes.
    rawBody: (c) => {
      const incoming = (c.env as HttpBindings | undefined)?.incoming;
      if (!incoming || incoming.readableEnded) return undefined;
      return {
        chunks: incoming,
        cancel: (reason) => {
          incoming.destroy(reason instanceof Error ? reason : undefined);
        },
      };
    },
    ...options.deps,
    wasm: options.deps?.wasm ?? (await compileScanner()),
  };
  // Uploads are scanned in worker threads with a CPU budget, off the thread that serves requests.
  if (!deps.engine) {
    const limits = resolveLimits(deps.limits);
    deps.engine = scanOffThread(await createEngine(deps.wasm), {
      wasm: deps.wasm as WebAssembly.Module,
      cpuBudgetMs: limits.scanCpuMs,
    });
  }
  const app = createApp(deps);
  const assets = options.assets;
  // The browser page's files first (as Workers static assets are), then the API.
  const handle = assets
    ? async (request: Request) => (await assets(request)) ?? app.fetch(request)
    : (request: Request) => app.fetch(request);
  const host = options.host ?? '127.0.0.1';
  return new Promise((resolve, reject) => {
    const server = serve(
      { fetch: handle, port: options.port ?? 8787, hostname: host },
      (info: AddressInfo) => {
        const url = `http://${host.includes(':') ? `[${host}]` : host}:${info.port}`;
        resolve({
          url,
          port: info.port,
          close: () =>
            new Promise<void>((done) => {
              server.close(() => done());
              (server as { closeAllConnections?: () => void }).closeAllConnections?.();
            }),
        });
      },
    );
    server.once('error', reject);
  });
}

async function main(): Promise<void> {
  const config = configFromEnv(process.env);
  const port = Number(process.env.PORT ?? 8787);
  const host = process.env.HOST ?? '127.0.0.1';
  const assets = await webAssets();
  const server = await startServer({
    port,
    host,
    ...(assets ? { assets } : {}),
    deps: {
      ...config,
      log: (entry) => process.stdout.write(`${JSON.stringify(entry)}\n`),
    },
  });
  process.stdout.write(`brine worker listening on ${server.url}\n`);
  if (!config.token) {
    process.stdout.write('auth is OFF: BRINE_TOKEN is not set, so anyone who can reach this port can scan\n');
  }
  const stop = () => {
    void server.close().then(() => process.exit(0));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main().catch((e: unknown) => {
    process.stderr.write(`brine worker: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  });
}
