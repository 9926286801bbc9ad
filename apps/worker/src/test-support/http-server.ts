import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A file the test server serves, with Range support; `bytes` may be generated on demand. */
export interface ServedFile {
  size: number;
  read(start: number, end: number): Uint8Array;
}

/** What one request looked like, for assertions (headers as received, bytes sent). */
export interface ServedRequest {
  method: string;
  path: string;
  range?: string;
  headers: Record<string, string | string[] | undefined>;
  bytesSent: number;
}

/** A real HTTP server on 127.0.0.1 that serves files with Range, redirects and JSON, and counts bytes. */
export interface TestServer {
  url: string;
  requests: ServedRequest[];
  bytesSent(path?: string): number;
  close(): Promise<void>;
}

export type Route =
  | { file: ServedFile; ignoreRange?: boolean }
  /** Accepts the request and never answers (a hung upstream). */
  | { stall: true }
  | { redirect: string; status?: number }
  | { json: unknown; status?: number };

export function bytesFile(data: Uint8Array): ServedFile {
  return { size: data.length, read: (s, e) => data.subarray(s, e) };
}

export async function startTestServer(routes: (path: string) => Route | undefined): Promise<TestServer> {
  const requests: ServedRequest[] = [];
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    const record: ServedRequest = {
      method: req.method ?? 'GET',
      path,
      headers: req.headers,
      bytesSent: 0,
      ...(req.headers.range ? { range: req.headers.range } : {}),
    };
    requests.push(record);
    const send = (status: number, headers: Record<string, string>, body?: Uint8Array) => {
      res.writeHead(status, headers);
      if (body && req.method !== 'HEAD') {
        record.bytesSent += body.length;
        res.end(body);
      } else res.end();
    };
    const route = routes(path);
    if (!route) return send(404, { 'content-type': 'text/plain' }, new TextEncoder().encode('no'));
    if ('stall' in route) return;
    if ('redirect' in route) return send(route.status ?? 302, { location: route.redirect });
    if ('json' in route) {
      return send(
        route.status ?? 200,
        { 'content-type': 'application/json' },
        new TextEncoder().encode(JSON.stringify(route.json)),
      );
    }
    const { file } = route;
    const m = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '');
    if (!m || route.ignoreRange) {
      return send(
        200,
        { 'content-length': String(file.size), 'accept-ranges': 'none' },
        file.read(0, file.size),
      );
    }
    const start = Number(m[1]);
    const end = Math.min(file.size - 1, m[2] ? Number(m[2]) : file.size - 1);
    if (start >= file.size) return send(416, { 'content-range': `bytes */${file.size}` });
    send(
      206,
      { 'content-range': `bytes ${start}-${end}/${file.size}`, 'content-length': String(end - start + 1) },
      file.read(start, end + 1),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    bytesSent: (path) =>
      requests.filter((r) => !path || r.path === path).reduce((n, r) => n + r.bytesSent, 0),
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
