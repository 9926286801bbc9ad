import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BrineError } from '../engine/types.js';
import { httpSource } from './http.js';

const body = Uint8Array.from({ length: 300_000 }, (_, i) => (i * 31) & 0xff);
let server: Server;
let base: string;
let served = 0;

beforeAll(async () => {
  server = createServer((req, res) => {
    const range = /^bytes=(\d+)-(\d+)$/.exec(req.headers.range ?? '');
    if (req.url === '/norange' || !range) {
      res.writeHead(200, { 'content-length': body.length });
      res.end(Buffer.from(body));
      served += body.length;
      return;
    }
    if (req.url === '/missing') {
      res.writeHead(404).end();
      return;
    }
    const start = Number(range[1]);
    const end = Math.min(Number(range[2]), body.length - 1);
    const slice = body.subarray(start, end + 1);
    served += slice.length;
    res.writeHead(206, {
      'content-range': `bytes ${start}-${end}/${body.length}`,
      'content-length': slice.length,
    });
    res.end(Buffer.from(slice));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => {
  server.closeAllConnections();
  return new Promise<void>((r) => server.close(() => r()));
});

describe('httpSource', () => {
  it('learns the size from one byte and reads only requested ranges (plus read-ahead)', async () => {
    served = 0;
    const src = await httpSource(`${base}/model.pt`, { readAhead: 4096 });
    expect(src.size).toBe(body.length);
    expect([...(await src.read(250_000, 4))]).toEqual([...body.subarray(250_000, 250_004)]);
    // served from the read-ahead block: no second request
    expect([...(await src.read(250_100, 2))]).toEqual([...body.subarray(250_100, 250_102)]);
    expect(served).toBe(1 + 4096);
    expect(src.bytesRead).toBe(served);
    expect((await src.read(299_999, 10)).length).toBe(1);
    expect(served).toBeLessThan(10_000);
  });

  it('refuses a server that ignores Range instead of downloading everything', async () => {
    served = 0;
    const e = await httpSource(`${base}/norange`).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(BrineError);
    expect((e as BrineError).code).toBe('no-range-support');
    expect((e as BrineError).message).toContain('/norange');
  });

  it('reports HTTP errors with the status', async () => {
    const e = await httpSource(`${base}/missing`).catch((x: unknown) => x);
    expect((e as BrineError).code).toBe('http-error');
    expect((e as BrineError).message).toContain('404');
  });
});
