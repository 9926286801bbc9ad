import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
// The report package's own schema validators (JSON report schema, official SARIF 2.1.0 schema).
import { jsonReportErrors, sarifErrors } from '../../../packages/report/src/test-support/schemas.js';
import { CLEAN_PICKLE, EVIL_PICKLE, rangeReader, torchZipStream } from '../scripts/model-stream.mjs';
import { type NodeServer, startServer } from './node.js';
import { bytesFile, startTestServer, type TestServer } from './test-support/http-server.js';

// The app served by @hono/node-server on 127.0.0.1, talking to a real local HTTP server for the
// remote scans. Nothing leaves the machine: untrusted targets are refused before any connection.

let api: NodeServer;
let remote: TestServer;
const TOKEN = 'node-test-token';
/** A 64 MiB checkpoint served with Range support; its bytes are generated per request. */
const remoteModel = torchZipStream({ tensorBytes: 64 * 1024 * 1024 });
const remoteClean = torchZipStream({ tensorBytes: 1024 * 1024, pickle: CLEAN_PICKLE });

beforeAll(async () => {
  remote = await startTestServer((path) => {
    if (path === '/models/big.pt')
      return { file: { size: remoteModel.size, read: rangeReader(remoteModel) } };
    if (path === '/models/clean.pt')
      return { file: { size: remoteClean.size, read: rangeReader(remoteClean) } };
    if (path === '/models/no-range.pt') return { file: bytesFile(EVIL_PICKLE), ignoreRange: true };
    if (path === '/redirect/to-private') return { redirect: 'https://10.1.2.3/model.pt' };
    if (path === '/models/hung.pt') return { stall: true };
    if (path === '/redirect/to-model') return { redirect: '/models/big.pt' };
    // A small Hugging Face Hub: the listing API and resolve URLs that redirect to a "CDN" path.
    if (path === '/api/models/acme/tiny/revision/main') {
      return { json: { siblings: [{ rfilename: 'README.md' }, { rfilename: 'pytorch_model.bin' }] } };
    }
    if (path === '/acme/tiny/resolve/main/pytorch_model.bin') return { redirect: '/cdn/acme-tiny.bin' };
    if (path === '/api/models/acme/docs-only/revision/main')
      return { json: { siblings: [{ rfilename: 'README.md' }] } };
    if (path === '/acme/docs-only/resolve/main/README.md')
      return { file: bytesFile(new TextEncoder().encode('# docs\n')) };
    if (path === '/acme/tiny/resolve/main/README.md')
      return { file: bytesFile(new TextEncoder().encode('# tiny\n')) };
    if (path === '/cdn/acme-tiny.bin')
      return { file: { size: remoteModel.size, read: rangeReader(remoteModel) } };
    return undefined;
  });
  api = await startServer({
    port: 0,
    deps: {
      token: TOKEN,
      urlPolicy: { allowHosts: [], trustedHosts: ['127.0.0.1'] },
      hubBaseUrl: remote.url,
      // Names resolve through this table only, so no test ever asks a real DNS server.
      resolveHost: async (host) => (host === 'internal.example' ? ['10.0.0.5'] : ['93.184.216.34']),
      limits: { maxBufferedBytes: 4 * 1024 * 1024 },
    },
  });
});

afterAll(async () => {
  await api?.close();
  await remote?.close();
});

const headers = { authorization: `Bearer ${TOKEN}` };

async function scanUrl(body: unknown) {
  const res = await fetch(`${api.url}/v1/scan-url`, {
    method: 'POST',
    headers: { ...headers, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return {
    res,
    json: (await res.json()) as Record<string, unknown> & {
      error?: { code: string; details?: { reason?: string } };
    },
  };
}

describe('Node server: uploads', () => {
  it('serves the same app on 127.0.0.1 and scans an upload', async () => {
    const res = await fetch(`${api.url}/v1/scan?filename=x.pkl`, {
      method: 'POST',
      headers,
      body: EVIL_PICKLE,
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('x-brine-verdict')).toBe('dangerous');
  });

  it('scans a multi-GB upload as it streams, with the process RSS bounded', async () => {
    // 2.5 GiB of tensor data, then the pickle: the verdict proves the whole stream was read, and
    // RSS sampled during the upload proves it was never held in memory.
    const model = torchZipStream({ tensorBytes: 2.5 * 1024 ** 3 });
    const base = process.memoryUsage.rss();
    let peak = base;
    const sampler = setInterval(() => {
      peak = Math.max(peak, process.memoryUsage.rss());
    }, 25);
    const result = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = httpRequest(
        `${api.url}/v1/scan?filename=big.pt`,
        { method: 'POST', headers: { ...headers, 'content-type': 'application/octet-stream' } },
        (res) => {
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (d: string) => {
            body += d;
          });
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        },
      );
      req.on('error', reject);
      const chunks = model.chunks();
      const pump = () => {
        for (;;) {
          const next = chunks.next();
          if (next.done) {
            req.end();
            return;
          }
          if (!req.write(next.value)) {
            req.once('drain', pump);
            return;
          }
        }
      };
      pump();
    });
    clearInterval(sampler);
    const report = JSON.parse(result.body) as {
      files: Array<{
        verdict: string;
        size: number;
        format: string;
        problems: unknown[];
        findings: Array<{ call?: string }>;
      }>;
    };
    expect(result.status).toBe(200);
    expect(report.files[0]).toMatchObject({
      verdict: 'dangerous',
      size: model.size,
      format: 'pytorch-zip',
      problems: [],
    });
    expect(report.files[0]?.findings.some((f) => f.call?.includes('touch /tmp/brine-pwned'))).toBe(true);
    const grownMiB = (peak - base) / 1024 ** 2;
    expect(grownMiB, `RSS grew by ${grownMiB.toFixed(0)} MiB`).toBeLessThan(160);
  }, 120_000);
});

describe('Node server: upload limits on the raw Node body', () => {
  /** Sends `chunks` with chunked encoding (no Content-Length), optionally leaving the body open. */
  function upload(
    url: string,
    chunks: Uint8Array[],
    keepOpen = false,
  ): Promise<{ status: number; body: string }> {
    return new Promise((resolve, reject) => {
      const req = httpRequest(`${url}/v1/scan`, { method: 'POST' }, (res) => {
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
      req.on('error', (e) => (keepOpen ? undefined : reject(e)));
      for (const c of chunks) req.write(c);
      if (!keepOpen) req.end();
    });
  }

  it('answers 413 when a body without Content-Length passes the limit, and 504 when an upload stalls', async () => {
    const small = await startServer({
      port: 0,
      // Each scan runs in a thread started ahead of time; on a loaded test machine starting the next
      // one can take longer than a very short budget, so the budget leaves room for that.
      deps: { limits: { maxUploadBytes: 100_000, timeBudgetMs: 2000 } },
    });
    try {
      const over = await upload(
        small.url,
        Array.from({ length: 4 }, () => new Uint8Array(40_000)),
      );
      expect(over.status).toBe(413);
      expect(JSON.parse(over.body).error.code).toBe('too-large');
      const stalled = await upload(small.url, [EVIL_PICKLE.subarray(0, 10)], true);
      expect(stalled.status).toBe(504);
      expect(JSON.parse(stalled.body).error.code).toBe('time-budget-exceeded');
      // The server is still healthy afterwards.
      expect((await fetch(`${small.url}/v1/scan`, { method: 'POST', body: EVIL_PICKLE })).status).toBe(200);
    } finally {
      await small.close();
    }
  });
});

describe('Node server: report formats', () => {
  it('answers uploads and remote scans with reports valid against the JSON report and SARIF 2.1.0 schemas', async () => {
    const json = await (
      await fetch(`${api.url}/v1/scan?filename=m.pkl`, { method: 'POST', headers, body: EVIL_PICKLE })
    ).json();
    expect(jsonReportErrors(json)).toEqual([]);
    const sarif = await (
      await fetch(`${api.url}/v1/scan?format=sarif`, { method: 'POST', headers, body: EVIL_PICKLE })
    ).json();
    expect(sarifErrors(sarif)).toEqual([]);
    const { json: hub } = await scanUrl({ hf: 'acme/tiny' });
    expect(jsonReportErrors(hub)).toEqual([]);
  });
});

describe('Node server: remote scans with Range reads', () => {
  it('scans a 64 MiB checkpoint by fetching only its directory and pickle', async () => {
    const before = remote.requests.length;
    const { res, json } = await scanUrl({ url: `${remote.url}/models/big.pt` });
    expect(res.status).toBe(200);
    expect(res.headers.get('x-brine-verdict')).toBe('dangerous');
    const served = remote.requests.slice(before);
    const bytes = served.reduce((n, r) => n + r.bytesSent, 0);
    // Every request was a range request, and together they are a sliver of the file.
    expect(served.every((r) => r.range !== undefined)).toBe(true);
    // The pickle and the directory sit in the last 64 KiB, after 64 MiB of tensor data: no request
    // reaches into the tensor bytes beyond the first read-ahead block at the head of the file.
    const tail = remoteModel.size - (0xffff + 22);
    for (const r of served) {
      const [a = 0, b = 0] = (/bytes=(\d+)-(\d+)/.exec(r.range ?? '') ?? []).slice(1).map(Number);
      expect(b < 64 * 1024 || a >= tail, `range ${r.range}`).toBe(true);
    }
    expect(bytes).toBeLessThan(512 * 1024);
    expect(bytes).toBeLessThan(remoteModel.size / 100);
    expect((json.files as Array<{ file: string }>)[0]?.file).toBe(`${remote.url}/models/big.pt`);
  });

  it('scans a Hugging Face repository through the Hub API, following the redirect to its file store', async () => {
    const before = remote.requests.length;
    const { res, json } = await scanUrl({ hf: 'acme/tiny', revision: 'main' });
    expect(res.status).toBe(200);
    const files = json.files as Array<{ file: string; verdict: string }>;
    expect(files.map((f) => [f.file, f.verdict])).toEqual([
      ['hf://acme/tiny@main/pytorch_model.bin', 'dangerous'],
    ]);
    // The README is listed as skipped, not dropped silently and not called unscannable.
    expect(json.skipped).toEqual([
      { file: 'hf://acme/tiny@main/README.md', size: 7, reason: 'not a model format' },
    ]);
    const paths = remote.requests.slice(before).map((r) => r.path);
    expect(paths).toContain('/api/models/acme/tiny/revision/main');
    expect(paths).toContain('/cdn/acme-tiny.bin');
    const cdnBytes = remote.requests
      .slice(before)
      .filter((r) => r.path === '/cdn/acme-tiny.bin')
      .reduce((n, r) => n + r.bytesSent, 0);
    expect(cdnBytes).toBeGreaterThan(0);
    expect(cdnBytes).toBeLessThan(512 * 1024);
  });

  it('answers 415 for a repository with no model file in it', async () => {
    const { res, json } = await scanUrl({ hf: 'acme/docs-only' });
    expect(res.status).toBe(415);
    expect(json.error?.code).toBe('not-a-model');
  });

  it('reports a server that ignores Range as an upstream error rather than downloading everything', async () => {
    const { res, json } = await scanUrl({ url: `${remote.url}/models/no-range.pt` });
    expect(res.status).toBe(502);
    expect(json.error?.code).toBe('upstream-error');
  });

  it('does not forward the caller credentials to the remote server', async () => {
    const before = remote.requests.length;
    await scanUrl({ url: `${remote.url}/models/clean.pt` });
    for (const r of remote.requests.slice(before)) {
      expect(r.headers.authorization).toBeUndefined();
      expect(r.headers.cookie).toBeUndefined();
    }
  });
});

describe('Node server: time budget', () => {
  it('ends a scan of a remote server that never answers with 504', async () => {
    const hasty = await startServer({
      port: 0,
      deps: { urlPolicy: { allowHosts: [], trustedHosts: ['127.0.0.1'] }, limits: { timeBudgetMs: 300 } },
    });
    try {
      const started = Date.now();
      const res = await fetch(`${hasty.url}/v1/scan-url`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ url: `${remote.url}/models/hung.pt` }),
      });
      expect(res.status).toBe(504);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe('time-budget-exceeded');
      expect(Date.now() - started).toBeLessThan(5000);
    } finally {
      await hasty.close();
    }
  });
});

describe('Node server: SSRF attempts are refused', () => {
  it('refuses private, loopback and link-local targets and plain http to untrusted hosts', async () => {
    for (const [url, reason] of [
      ['https://10.0.0.8/model.pt', 'private-address'],
      ['https://[fd00::1]/model.pt', 'private-address'],
      ['https://169.254.169.254/latest/meta-data/iam/', 'private-address'],
      ['https://internal.example/model.pt', 'private-address'],
      ['https://localhost/model.pt', 'local-name'],
      ['http://example.com/model.pt', 'scheme'],
      ['file:///etc/passwd', 'scheme'],
      ['http://127.0.0.2:9/model.pt', 'scheme'],
    ] as const) {
      const { res, json } = await scanUrl({ url });
      expect(res.status, url).toBe(403);
      expect(json.error?.details?.reason, url).toBe(reason);
    }
  });

  it('refuses a redirect from an allowed host to a private address', async () => {
    const before = remote.requests.length;
    const { res, json } = await scanUrl({ url: `${remote.url}/redirect/to-private` });
    expect(res.status).toBe(403);
    expect(json.error?.code).toBe('url-refused');
    expect(remote.requests.slice(before).map((r) => r.path)).toEqual(['/redirect/to-private']);
  });

  it('follows a redirect within allowed hosts', async () => {
    const { res } = await scanUrl({ url: `${remote.url}/redirect/to-model` });
    expect(res.status).toBe(200);
    expect(res.headers.get('x-brine-verdict')).toBe('dangerous');
  });
});

describe('Node server: the `npm run serve` entry', () => {
  const entry = fileURLToPath(new URL('../dist/node.js', import.meta.url));

  /** Starts the built entry with `env`, returns what it printed once it listens, then stops it. */
  async function startupLines(env: Record<string, string>): Promise<string> {
    expect(existsSync(entry), `${entry} is built by npm run build`).toBe(true);
    const child = spawn(process.execPath, [entry], {
      env: { ...process.env, PORT: '0', HOST: '127.0.0.1', BRINE_TOKEN: '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    try {
      return await new Promise<string>((resolve, reject) => {
        let out = '';
        const timer = setTimeout(() => reject(new Error(`no start-up line: ${out}`)), 20_000);
        child.stdout.on('data', (d: Buffer) => {
          out += d.toString();
          // The auth line, when there is one, is written right after the listening line.
          if (/listening on http:\/\/127\.0\.0\.1:\d+\n/.test(out)) {
            setTimeout(() => {
              clearTimeout(timer);
              resolve(out);
            }, 200);
          }
        });
        child.once('exit', (code) => reject(new Error(`exited with ${code}: ${out}`)));
      });
    } finally {
      child.kill('SIGTERM');
    }
  }

  it('listens on 127.0.0.1 and says when auth is off', async () => {
    const open = await startupLines({});
    expect(open).toMatch(/brine worker listening on http:\/\/127\.0\.0\.1:\d+/);
    expect(open).toMatch(/auth is OFF/);
    const closed = await startupLines({ BRINE_TOKEN: 'secret' });
    expect(closed).not.toMatch(/auth is OFF/);
    expect(closed).not.toContain('secret');
  });
});

describe('Node server: auth', () => {
  it('says on /healthz whether auth is on, and a server without a token accepts anyone', async () => {
    expect(await (await fetch(`${api.url}/healthz`)).json()).toMatchObject({ auth: true });
    const open = await startServer({ port: 0 });
    try {
      expect(await (await fetch(`${open.url}/healthz`)).json()).toMatchObject({ auth: false });
      const res = await fetch(`${open.url}/v1/scan`, { method: 'POST', body: CLEAN_PICKLE });
      expect(res.status).toBe(200);
    } finally {
      await open.close();
    }
  });
});
