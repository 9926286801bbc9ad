import { createReadStream, statSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A real HTTP server on 127.0.0.1 serving files with Range support, counting the bytes it sends. */
export interface RangeServer {
  url: string;
  /** Body bytes sent so far. */
  bytesServed(): number;
  requests: string[];
  /** Serve `path` on disk at `route`, or a JSON value. */
  file(route: string, path: string): void;
  json(route: string, value: unknown): void;
  /** Requests to `route` are never answered (for Ctrl-C tests). */
  hang(route: string): void;
  close(): Promise<void>;
}

export async function startRangeServer(): Promise<RangeServer> {
  const files = new Map<string, string>();
  const jsons = new Map<string, unknown>();
  const hanging = new Set<string>();
  const open = new Set<ServerResponse>();
  let served = 0;
  const requests: string[] = [];

  const handle = (req: IncomingMessage, res: ServerResponse) => {
    const route = decodeURIComponent((req.url ?? '/').split('?')[0] ?? '/');
    requests.push(`${req.method} ${route} ${req.headers.range ?? ''}`.trim());
    if (hanging.has(route)) {
      open.add(res);
      return;
    }
    if (jsons.has(route)) {
      const body = JSON.stringify(jsons.get(route));
      res.setHeader('content-type', 'application/json');
      served += Buffer.byteLength(body);
      res.end(body);
      return;
    }
    const path = files.get(route);
    if (!path) {
      res.statusCode = 404;
      res.end();
      return;
    }
    const size = statSync(path).size;
    const m = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '');
    if (!m) {
      res.statusCode = 200;
      res.setHeader('content-length', size);
      served += size;
      createReadStream(path).pipe(res);
      return;
    }
    const start = Number(m[1]);
    const end = Math.min(size - 1, m[2] ? Number(m[2]) : size - 1);
    if (start >= size) {
      res.statusCode = 416;
      res.setHeader('content-range', `bytes */${size}`);
      res.end();
      return;
    }
    res.statusCode = 206;
    res.setHeader('content-range', `bytes ${start}-${end}/${size}`);
    res.setHeader('content-length', end - start + 1);
    res.setHeader('accept-ranges', 'bytes');
    served += end - start + 1;
    createReadStream(path, { start, end }).pipe(res);
  };

  const server = createServer(handle);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    bytesServed: () => served,
    requests,
    file: (route, path) => files.set(route, path),
    json: (route, value) => jsons.set(route, value),
    hang: (route) => hanging.add(route),
    close: () =>
      new Promise<void>((resolve) => {
        for (const res of open) res.destroy();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
