import { readFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { describe, expect, it } from 'vitest';
import { EVIL_PICKLE } from '../scripts/model-stream.mjs';
import type { RequestLogEntry } from './app.js';
import { startServer } from './node.js';
import { bytesFile, startTestServer } from './test-support/http-server.js';

// The Node server under hostile clients, on 127.0.0.1: a decompression bomb must not stall other
// requests, slow uploads must not hold scan slots, and a client that hangs up is logged as such.

/** 26 KB of bzip2 that expands to 33 GiB of zeros (fixtures/generators/bombs.py). */
const BOMB = new Uint8Array(readFileSync(new URL('../../../fixtures/bombs/zeros-33g.bz2', import.meta.url)));

/** POSTs to /v1/scan by hand: `send` writes the body (and may leave it open or destroy the request). */
function post(
  url: string,
  send: (req: ReturnType<typeof httpRequest>) => void,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(`${url}/v1/scan`, { method: 'POST', headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => {
        body += d;
      });
      res.on('end', () => {
        resolve({ status: res.statusCode ?? 0, body });
        req.destroy();
      });
    });
    req.on('error', reject);
    send(req);
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('Node server: scans run off the event loop with a CPU budget', () => {
  it('keeps answering other requests while a bomb is scanned, and ends the bomb at its CPU budget', async () => {
    const server = await startServer({ port: 0, deps: { limits: { scanCpuMs: 1500 } } });
    try {
      let bombDone = false;
      const bomb = fetch(`${server.url}/v1/scan`, { method: 'POST', body: BOMB }).then(async (r) => {
        bombDone = true;
        return { status: r.status, json: (await r.json()) as { error: { code: string; details?: object } } };
      });
      // Other clients are served while the bomb decodes: a health check, and a full scan.
      await sleep(200);
      const health = await fetch(`${server.url}/healthz`);
      expect(health.status).toBe(200);
      const other = await fetch(`${server.url}/v1/scan`, { method: 'POST', body: EVIL_PICKLE });
      expect(other.status).toBe(200);
      expect(other.headers.get('x-brine-verdict')).toBe('dangerous');
      expect(bombDone).toBe(false);
      const r = await bomb;
      expect(r.status).toBe(504);
      expect(r.json.error.code).toBe('time-budget-exceeded');
      expect(r.json.error.details).toMatchObject({ budget: 'cpu', cpuBudgetMs: 1500 });
    } finally {
      await server.close();
    }
  }, 120_000);
});

describe('Node server: remote scans run off the event loop too', () => {
  it('ends a remote bomb at the CPU budget while other requests are answered', async () => {
    const remote = await startTestServer((path) =>
      path === '/bomb.bz2' ? { file: bytesFile(BOMB) } : undefined,
    );
    const server = await startServer({
      port: 0,
      deps: { limits: { scanCpuMs: 1500 }, urlPolicy: { trustedHosts: ['127.0.0.1'] } },
    });
    try {
      let bombDone = false;
      const bomb = fetch(`${server.url}/v1/scan-url`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ url: `${remote.url}/bomb.bz2` }),
      }).then(async (r) => {
        bombDone = true;
        return { status: r.status, json: (await r.json()) as { error: { code: string; details?: object } } };
      });
      await sleep(200);
      const other = await fetch(`${server.url}/v1/scan`, { method: 'POST', body: EVIL_PICKLE });
      expect(other.status).toBe(200);
      expect(bombDone).toBe(false);
      const r = await bomb;
      expect(r.status).toBe(504);
      expect(r.json.error.details).toMatchObject({ budget: 'cpu' });
      // The remote file was read through Range requests made by the server's policy-checked fetch.
      expect(remote.requests.some((q) => q.path === '/bomb.bz2')).toBe(true);
    } finally {
      await server.close();
      await remote.close();
    }
  }, 120_000);
});

describe('Node server: slow and broken uploads', () => {
  it('drops an upload that stalls or trickles with 408, freeing its slot for the next client', async () => {
    const server = await startServer({
      port: 0,
      deps: {
        limits: { maxConcurrentScans: 1, uploadIdleMs: 1000, minUploadBytesPerSecond: 1000 },
      },
    });
    try {
      const stalled = await post(server.url, (req) => req.write(EVIL_PICKLE.subarray(0, 10)));
      expect(stalled.status).toBe(408);
      expect(JSON.parse(stalled.body).error.code).toBe('upload-too-slow');

      // A byte every 50 ms never trips the idle timeout, but stays far under 1000 bytes/s.
      let timer: ReturnType<typeof setInterval> | undefined;
      const trickled = await post(server.url, (req) => {
        let i = 0;
        timer = setInterval(() => {
          if (i < 200) req.write(EVIL_PICKLE.subarray(i % EVIL_PICKLE.length, (i % EVIL_PICKLE.length) + 1));
          i++;
        }, 50);
      }).finally(() => clearInterval(timer));
      expect(trickled.status).toBe(408);
      expect(JSON.parse(trickled.body).error.message).toMatch(/below the minimum of 1000/);

      // The single slot is free again.
      const ok = await fetch(`${server.url}/v1/scan`, { method: 'POST', body: EVIL_PICKLE });
      expect(ok.status).toBe(200);
    } finally {
      await server.close();
    }
  }, 30_000);

  it('logs an upload the client abandons as client-aborted, not as an internal error', async () => {
    const logs: RequestLogEntry[] = [];
    const server = await startServer({ port: 0, deps: { log: (e) => logs.push(e) } });
    try {
      const gone = post(
        server.url,
        (req) => {
          req.write(EVIL_PICKLE.subarray(0, 20));
          setTimeout(() => req.destroy(), 100);
        },
        { 'content-length': String(EVIL_PICKLE.length * 10) },
      ).catch((e: unknown) => e);
      expect(await gone).toBeInstanceOf(Error);
      for (let i = 0; i < 100 && logs.length === 0; i++) await sleep(50);
      expect(logs).toHaveLength(1);
      expect(logs[0]).toMatchObject({ path: '/v1/scan', code: 'client-aborted' });
      expect(logs[0]?.status).not.toBe(500);
    } finally {
      await server.close();
    }
  }, 30_000);
});
