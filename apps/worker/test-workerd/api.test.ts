import { exports } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { CLEAN_PICKLE, torchZipStream } from '../scripts/model-stream.mjs';
import { createApp, ROUTES } from '../src/app.js';
import { ERROR_STATUS } from '../src/errors.js';
import wasm from '../src/generated/scanner.wasm';

// These run inside workerd against the worker entry itself (`exports.default`), configured by
// wrangler.jsonc plus the test bindings in vitest.workerd.config.ts: token `workerd-test-token`,
// upload limit 1 MiB.
const TOKEN = 'workerd-test-token';
const enc = new TextEncoder();
const auth = { authorization: `Bearer ${TOKEN}` };

/** `{}` pickled with protocol 2: a file with nothing but data. */
const CLEAN = new Uint8Array([0x80, 0x02, 0x7d, 0x71, 0x00, 0x2e]);
/** `posix.system('touch /tmp/brine-pwned')` as protocol 0 opcodes. Never loaded, only scanned. */
const EVIL = enc.encode("cposix\nsystem\n(S'touch /tmp/brine-pwned'\ntR.");
/** A protocol 2 pickle cut off in the middle of a string argument. */
const CORRUPT = new Uint8Array([0x80, 0x02, 0x7d, 0x71, 0x00, 0x28, 0x58, 0x40, 0x00, 0x00, 0x00, 0x61]);
/** The first bytes of a PNG: not a model. */
const PNG = new Uint8Array([
  0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 0x49, 0x48, 0x44, 0x52,
]);

const call = (path: string, init: RequestInit = {}) =>
  exports.default.fetch(new Request(`http://brine.test${path}`, init));
const upload = (body: BodyInit, query = '', headers: Record<string, string> = {}) =>
  call(`/v1/scan${query}`, { method: 'POST', body, headers: { ...auth, ...headers } });

async function errorCode(res: Response): Promise<string> {
  const body = (await res.json()) as { error?: { code?: string } };
  return `${res.status} ${body.error?.code}`;
}

describe('worker in workerd: scanning uploads', () => {
  it('scans a clean pickle: 200, verdict clean, report in the JSON schema of @brine/report', async () => {
    const res = await upload(CLEAN, '?filename=weights.pkl');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    expect(res.headers.get('x-brine-verdict')).toBe('clean');
    expect(res.headers.get('x-brine-fails')).toBe('false');
    const report = (await res.json()) as { files: Array<{ file: string; verdict: string; format: string }> };
    expect(report.files).toHaveLength(1);
    expect(report.files[0]).toMatchObject({ file: 'weights.pkl', verdict: 'clean', format: 'pickle' });
  });

  it('scans a malicious pickle: verdict dangerous with posix.system and its argument as evidence', async () => {
    const res = await upload(EVIL, '?filename=model.bin');
    expect(res.status).toBe(200);
    expect(res.headers.get('x-brine-verdict')).toBe('dangerous');
    expect(res.headers.get('x-brine-fails')).toBe('true');
    const text = await res.text();
    expect(text).toContain('posix');
    expect(text).toContain('touch /tmp/brine-pwned');
  });

  it('renders SARIF on request', async () => {
    const res = await upload(EVIL, '?format=sarif');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/sarif\+json/);
    const sarif = (await res.json()) as { version: string; runs: Array<{ results: unknown[] }> };
    expect(sarif.version).toBe('2.1.0');
    expect(sarif.runs[0]?.results.length).toBeGreaterThan(0);
  });

  it('answers a corrupt pickle with 422 unscannable and still attaches the report', async () => {
    const res = await upload(CORRUPT);
    expect(res.status).toBe(422);
    const body = (await res.json()) as {
      error: { code: string };
      report: { files: Array<{ verdict: string }> };
    };
    expect(body.error.code).toBe('unscannable');
    expect(body.report.files[0]?.verdict).toBe('unscannable');
  });

  it('answers content that is no model format with 415 not-a-model', async () => {
    expect(await errorCode(await upload(PNG))).toBe('415 not-a-model');
  });

  it('applies the policy named in the query, and refuses unknown ones', async () => {
    // A class from an unlisted third-party package is suspicious by default and fails under strict.
    const custom = enc.encode('cmylib.models\nNet\n.');
    const byDefault = await upload(custom);
    const strict = await upload(custom, '?policy=strict');
    expect(byDefault.headers.get('x-brine-fails')).toBe('false');
    expect(strict.headers.get('x-brine-fails')).toBe('true');
    expect(await errorCode(await upload(CLEAN, '?policy=lenient'))).toBe('400 bad-policy');
    expect(await errorCode(await upload(CLEAN, '?format=xml'))).toBe('400 bad-format');
    expect(await errorCode(await upload(CLEAN, '?verbose=1'))).toBe('400 bad-query');
  });
});

describe('worker in workerd: streamed uploads', () => {
  it('scans an upload larger than the buffer as it streams: the pickle after the tensor data is found', async () => {
    // Buffer 64 KiB, upload 24 MiB: the zip is walked by its local headers inside workerd.
    const app = createApp({ wasm, limits: { maxBufferedBytes: 64 * 1024 } });
    const model = torchZipStream({ tensorBytes: 24 * 1024 * 1024, chunk: 64 * 1024 });
    const chunks = model.chunks();
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        const next = chunks.next();
        if (next.done) controller.close();
        else controller.enqueue(next.value.slice());
      },
    });
    const res = await app.request('/v1/scan?filename=big.pt', {
      method: 'POST',
      body,
      duplex: 'half',
    } as RequestInit);
    expect(res.status).toBe(200);
    const report = (await res.json()) as {
      files: Array<{ verdict: string; format: string; size: number; problems: unknown[] }>;
    };
    expect(report.files[0]).toMatchObject({
      verdict: 'dangerous',
      format: 'pytorch-zip',
      size: model.size,
      problems: [],
    });
  });

  it('says what it could not check when the directory points into bytes that streamed past', async () => {
    const app = createApp({ wasm, limits: { maxBufferedBytes: 1024 } });
    // A clean pickle, so nothing dangerous outranks the verdict `unscannable`.
    const model = torchZipStream({ tensorBytes: 64 * 1024, pickle: CLEAN_PICKLE });
    const bytes = new Uint8Array(model.size);
    let o = 0;
    for (const c of model.chunks()) {
      bytes.set(c, o);
      o += c.length;
    }
    // Point the directory's data.pkl entry (the second) into the middle of the tensor bytes.
    const view = new DataView(bytes.buffer);
    let cd = bytes.length - 22;
    cd = view.getUint32(cd + 16, true);
    const second = cd + 46 + view.getUint16(cd + 28, true) + view.getUint16(cd + 30, true);
    view.setUint32(second + 42, 4096, true);
    const res = await app.request('/v1/scan', { method: 'POST', body: bytes });
    expect(res.status).toBe(422);
    const body = (await res.json()) as { report: { files: Array<{ problems: Array<{ code: string }> }> } };
    expect(body.report.files[0]?.problems.map((p) => p.code)).toContain('zip-stream-unverifiable-entry');
  });
});

describe('worker in workerd: auth, limits and errors', () => {
  it('requires the bearer token on /v1 routes: 401 without, 403 with a wrong one', async () => {
    const none = await call('/v1/scan', { method: 'POST', body: CLEAN });
    expect(await errorCode(none)).toBe('401 unauthorized');
    expect(none.headers.get('www-authenticate')).toMatch(/^Bearer/);
    const wrong = await call('/v1/rules', { headers: { authorization: 'Bearer nope' } });
    expect(await errorCode(wrong)).toBe('403 forbidden');
    expect((await call('/v1/rules', { headers: auth })).status).toBe(200);
  });

  it('leaves /healthz and /openapi.json open and says auth is on', async () => {
    const res = await call('/healthz');
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ status: 'ok', auth: true });
    expect((await call('/openapi.json')).status).toBe(200);
  });

  it('refuses uploads over the size limit, declared or streamed', async () => {
    const big = new Uint8Array(1024 * 1024 + 1);
    expect(await errorCode(await upload(big))).toBe('413 too-large');
    // No Content-Length: the limit is enforced while the body streams.
    const stream = new ReadableStream<Uint8Array>({
      start(c) {
        for (let i = 0; i < 20; i++) c.enqueue(new Uint8Array(64 * 1024));
        c.close();
      },
    });
    const res = await call('/v1/scan', {
      method: 'POST',
      body: stream,
      headers: auth,
      duplex: 'half',
    } as RequestInit);
    expect(await errorCode(res)).toBe('413 too-large');
  });

  it('answers an empty body with 400 and a form upload with 415', async () => {
    expect(await errorCode(await upload(new Uint8Array(0)))).toBe('400 empty-body');
    const form = new FormData();
    form.set('file', new Blob([CLEAN]), 'x.pkl');
    expect(await errorCode(await upload(form))).toBe('415 unsupported-media-type');
  });

  it('answers unknown routes with a JSON 404 and wrong methods with 405', async () => {
    expect(await errorCode(await call('/v2/scan', { headers: auth }))).toBe('404 not-found');
    const res = await call('/v1/scan', { headers: auth });
    expect(await errorCode(res)).toBe('405 method-not-allowed');
    expect(res.headers.get('allow')).toBe('POST');
  });

  it('refuses scan-url targets that are private, link-local or plain http, before any connection', async () => {
    const scanUrl = (body: unknown) =>
      call('/v1/scan-url', {
        method: 'POST',
        headers: { ...auth, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    expect(await errorCode(await scanUrl({ url: 'https://169.254.169.254/latest/meta-data/' }))).toBe(
      '403 url-refused',
    );
    expect(await errorCode(await scanUrl({ url: 'https://[::1]/model.pt' }))).toBe('403 url-refused');
    expect(await errorCode(await scanUrl({ url: 'http://example.com/model.pt' }))).toBe('403 url-refused');
    expect(await errorCode(await scanUrl({ url: 'https://user:pw@example.com/model.pt' }))).toBe(
      '403 url-refused',
    );
    expect(await errorCode(await scanUrl({ url: 'not a url' }))).toBe('400 bad-url');
    expect(await errorCode(await scanUrl({ hf: '../etc' }))).toBe('400 bad-request');
    expect(await errorCode(await scanUrl({ url: 'https://a.example', hf: 'a/b' }))).toBe('400 bad-request');
    const notJson = await call('/v1/scan-url', { method: 'POST', headers: auth, body: '{}' });
    expect(await errorCode(notJson)).toBe('415 unsupported-media-type');
  });

  it('answers 429 while the concurrency limit is taken and 504 when the time budget runs out', async () => {
    const app = createApp({ wasm, limits: { maxConcurrentScans: 1, timeBudgetMs: 300 } });
    // An upload that never finishes holds the only slot until the budget ends it.
    const stalled = new ReadableStream<Uint8Array>({
      start(c) {
        c.enqueue(CLEAN.subarray(0, 3));
      },
    });
    const first = app.request('/v1/scan', { method: 'POST', body: stalled, duplex: 'half' } as RequestInit);
    await new Promise((r) => setTimeout(r, 50));
    const second = await app.request('/v1/scan', { method: 'POST', body: CLEAN });
    expect(await errorCode(second)).toBe('429 too-many-requests');
    expect(second.headers.get('retry-after')).toBe('1');
    expect(await errorCode(await first)).toBe('504 time-budget-exceeded');
    // The slot is free again.
    expect((await app.request('/v1/scan', { method: 'POST', body: CLEAN })).status).toBe(200);
  });
});

describe('worker in workerd: request log', () => {
  it('logs one line per request with no body, query or model bytes in it', async () => {
    const lines: unknown[] = [];
    const app = createApp({ wasm, log: (entry) => lines.push(entry) });
    await app.request('/v1/scan?filename=secret-name.pkl', { method: 'POST', body: EVIL });
    await app.request('/v1/scan', { method: 'POST', body: PNG });
    await app.request('/v1/scan-url', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ url: 'https://10.9.8.7/private-model.pt' }),
    });
    expect(lines).toHaveLength(3);
    const text = JSON.stringify(lines);
    for (const secret of ['touch', 'brine-pwned', 'secret-name', 'private-model', '10.9.8.7', 'PNG']) {
      expect(text).not.toContain(secret);
    }
    expect(lines[0]).toMatchObject({ method: 'POST', path: '/v1/scan', status: 200, verdict: 'dangerous' });
    expect(lines[1]).toMatchObject({ status: 415, code: 'not-a-model' });
    expect(lines[2]).toMatchObject({ status: 403, code: 'url-refused' });
    const allowed = new Set(['method', 'path', 'status', 'code', 'durationMs', 'bytes', 'verdict']);
    for (const line of lines) for (const key of Object.keys(line as object)) expect(allowed).toContain(key);
  });
});

describe('worker in workerd: OpenAPI document', () => {
  it('describes exactly the routes the app serves', async () => {
    const doc = (await (await call('/openapi.json')).json()) as {
      openapi: string;
      paths: Record<string, Record<string, unknown>>;
    };
    expect(doc.openapi).toBe('3.1.0');
    const documented = Object.entries(doc.paths)
      .flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`))
      .sort();
    const served = ROUTES.map(([m, p]) => `${m} ${p}`).sort();
    expect(documented).toEqual(served);
    // ROUTES is what Hono really registered (middleware is registered as ALL).
    const registered = createApp({ wasm })
      .routes.filter((r) => r.method !== 'ALL')
      .map((r) => `${r.method} ${r.path.replace(/:(\w+)/g, '{$1}')}`)
      .sort();
    expect(registered).toEqual(served);
    // And the app really serves each of them (not 404/405).
    for (const [method, path] of ROUTES) {
      const res = await call(path, { method, headers: auth });
      expect([404, 405], `${method} ${path}`).not.toContain(res.status);
    }
  });

  it('lists every error code with its status on the operations that can return it', async () => {
    const doc = (await (await call('/openapi.json')).json()) as {
      components: {
        schemas: { Error: { properties: { error: { properties: { code: { enum: string[] } } } } } };
      };
      paths: Record<string, Record<string, { responses: Record<string, { description: string }> }>>;
    };
    expect(doc.components.schemas.Error.properties.error.properties.code.enum.sort()).toEqual(
      Object.keys(ERROR_STATUS).sort(),
    );
    const scan = doc.paths['/v1/scan']?.post?.responses ?? {};
    for (const status of ['400', '401', '403', '413', '415', '422', '429', '504']) {
      expect(scan[status], status).toBeDefined();
    }
    expect(scan['422']?.description).toContain('unscannable');
  });
});
