import { BrineError, type FileScan } from '@brine/core';
import type { FileReport, Verdict } from '@brine/rules';
import { type Context, Hono } from 'hono';
import { checkBearer } from './auth.js';
import { createEngine, type Engine, type ReportFormat } from './engine.js';
import { ApiError, type ErrorCode } from './errors.js';
import { checkHubRef, listHubFiles } from './hf.js';
import { HUB_ROUTES, type HubBindings, registerHubRoutes } from './hub/routes.js';
import { type Limits, resolveLimits } from './limits.js';
import { openApiDocument } from './openapi.js';
import { createSafeFetch } from './safe-fetch.js';
import type { ResolveHost, UrlPolicy } from './url-policy.js';

/** One line per request for the operator's log. Never carries a body, a URL query or model bytes. */
export interface RequestLogEntry {
  method: string;
  path: string;
  status: number;
  code?: ErrorCode;
  durationMs: number;
  /** Bytes of the upload consumed (scan) or fetched from remote servers (scan-url). */
  bytes?: number;
  verdict?: Verdict;
}

/** Everything the app is built from; the per-runtime entries only decide where each comes from. */
export interface AppDeps {
  /** The compiled scanner (Workers: the imported `.wasm`; Node: compiled from the built file). */
  wasm?: WebAssembly.Module;
  /** Bearer token; when empty or absent, auth is off. */
  token?: string;
  limits?: Partial<Limits>;
  /** fetch used for remote scans (tests inject one that counts requests). */
  fetch?: typeof fetch;
  urlPolicy?: Partial<UrlPolicy>;
  /** DNS lookup used to refuse host names that resolve to private addresses (Node). */
  resolveHost?: ResolveHost;
  /** Base URL of the Hugging Face Hub (tests point it at a local server). */
  hubBaseUrl?: string;
  log?: (entry: RequestLogEntry) => void;
  /** Replaces the engine (only for tests that need to stall or fail the scan on purpose). */
  engine?: Engine;
  /**
   * The runtime's own request body, when it has one cheaper to read than the web stream (Node: the
   * IncomingMessage). `cancel` ends it when the time budget runs out.
   */
  rawBody?: (c: Context) => RawBody | undefined;
  /** Hub scanning's queue and database (Workers bindings); absent, the hub routes answer 503. */
  hub?: HubBindings;
}

/** A request body as the runtime delivers it. */
export interface RawBody {
  chunks: AsyncIterable<Uint8Array>;
  cancel(reason?: unknown): void;
}

/** Routes the app serves, in the form the OpenAPI document uses; the tests compare the two. */
export const ROUTES = [
  ['GET', '/healthz'],
  ['GET', '/openapi.json'],
  ['GET', '/v1/rules'],
  ['POST', '/v1/scan'],
  ['POST', '/v1/scan-url'],
  ['POST', '/v1/convert'],
  ...HUB_ROUTES,
] as const;

const VERDICT_ORDER: Verdict[] = ['clean', 'suspicious', 'unscannable', 'dangerous'];

function worst(reports: FileReport[]): Verdict {
  let v: Verdict = 'clean';
  for (const r of reports) if (VERDICT_ORDER.indexOf(r.verdict) > VERDICT_ORDER.indexOf(v)) v = r.verdict;
  return v;
}

type Vars = { Variables: { bytes?: number; verdict?: Verdict } };

/**
 * Builds the brine HTTP API. The same app runs on Cloudflare Workers (`worker.ts`) and on Node
 * (`node.ts`); scanning, classification and report formats come from `@brine/core`, `@brine/rules`
 * and `@brine/report`, never from here.
 */
export function createApp(deps: AppDeps = {}): Hono<Vars> {
  const limits = resolveLimits(deps.limits);
  const policy: UrlPolicy = {
    allowHosts: deps.urlPolicy?.allowHosts ?? [],
    trustedHosts: deps.urlPolicy?.trustedHosts ?? [],
  };
  const token = deps.token?.trim() || undefined;
  const doFetch = deps.fetch ?? ((input, init) => fetch(input, init));
  const hubBaseUrl = deps.hubBaseUrl ?? 'https://huggingface.co';
  let engine: Promise<Engine> | undefined = deps.engine ? Promise.resolve(deps.engine) : undefined;
  const getEngine = () => {
    engine ??= createEngine(deps.wasm).catch((e) => {
      engine = undefined;
      throw e;
    });
    return engine;
  };
  let running = 0;

  const app = new Hono<Vars>();

  app.use('*', async (c, next) => {
    const started = Date.now();
    await next();
    if (!deps.log) return;
    let code: ErrorCode | undefined;
    if (c.res.status >= 400 && c.res.headers.get('content-type')?.startsWith('application/json')) {
      code = (
        (await c.res
          .clone()
          .json()
          .catch(() => undefined)) as { error?: { code?: ErrorCode } } | undefined
      )?.error?.code;
    }
    deps.log({
      method: c.req.method,
      path: c.req.path,
      status: c.res.status,
      ...(code ? { code } : {}),
      durationMs: Date.now() - started,
      ...(c.get('bytes') !== undefined ? { bytes: c.get('bytes') } : {}),
      ...(c.get('verdict') ? { verdict: c.get('verdict') } : {}),
    });
  });

  app.onError((err, c) => {
    const api = toApiError(err);
    const headers: Record<string, string> = {};
    if (api.code === 'unauthorized') headers['WWW-Authenticate'] = 'Bearer realm="brine"';
    if (api.code === 'too-many-requests') headers['Retry-After'] = '1';
    return c.json(api.toBody(), api.status, headers);
  });

  app.notFound((c) => {
    const known = ROUTES.some(([, path]) => path === c.req.path);
    const err = known
      ? new ApiError('method-not-allowed', `${c.req.method} is not allowed on ${c.req.path}`)
      : new ApiError('not-found', `no route ${c.req.path}`);
    const allow = ROUTES.filter(([, p]) => p === c.req.path).map(([m]) => m);
    return c.json(err.toBody(), err.status, known ? { Allow: allow.join(', ') } : {});
  });

  app.use('/v1/*', async (c, next) => {
    // The Hub's webhook cannot send a bearer token; it is authenticated by its own secret.
    if (token && c.req.path !== '/v1/hub/webhook') await checkBearer(c.req.header('authorization'), token);
    await next();
  });

  // Scans hold memory and CPU: past the limit, a client is told to come back rather than queued.
  const slot = async (_c: unknown, next: () => Promise<void>) => {
    if (running >= limits.maxConcurrentScans) {
      throw new ApiError('too-many-requests', `${running} scans are already running; retry shortly`);
    }
    running++;
    try {
      await next();
    } finally {
      running--;
    }
  };
  app.use('/v1/scan', slot);
  app.use('/v1/scan-url', slot);

  app.get('/healthz', async (c) => {
    const e = await getEngine();
    return c.json({
      status: 'ok',
      version: e.version,
      rulesetVersion: e.rulesetVersion,
      auth: token !== undefined,
    });
  });

  app.get('/openapi.json', async (c) => {
    const e = await getEngine();
    return c.json(openApiDocument({ version: e.version, policies: e.policies }));
  });

  app.get('/v1/rules', async (c) => {
    const e = await getEngine();
    return c.json({ rulesetVersion: e.rulesetVersion, policies: e.policies, rules: e.rules });
  });

  app.post('/v1/scan', async (c) => {
    const e = await getEngine();
    const { policyName, format } = readScanQuery(c.req.query(), e);
    const filename = sanitiseName(c.req.query('filename')) ?? '<upload>';
    const type = (c.req.header('content-type') ?? '').toLowerCase();
    // A multipart form wraps the file in boundaries the scanner would misread. A urlencoded type is
    // what `curl --data-binary` sends by default, with the raw file as the body: accepted.
    if (type.startsWith('multipart/')) {
      throw new ApiError(
        'unsupported-media-type',
        'send the model file as the raw request body, not as a form',
      );
    }
    const declared = c.req.header('content-length');
    const size = declared !== undefined && /^\d+$/.test(declared) ? Number(declared) : undefined;
    if (size !== undefined && size > limits.maxUploadBytes) {
      throw new ApiError(
        'too-large',
        `upload of ${size} bytes exceeds the limit of ${limits.maxUploadBytes}`,
      );
    }
    // The runtime's own body when it has one; touching the web body as well would start a
    // second reader on the same bytes.
    const raw = deps.rawBody?.(c);
    const body = raw ?? (c.req.raw.body ? webBody(c.req.raw.body) : undefined);
    if (!body || size === 0)
      throw new ApiError('empty-body', 'the request body is empty: send the model file');

    let received = 0;
    const tooLarge = () =>
      new ApiError('too-large', `upload exceeds the limit of ${limits.maxUploadBytes} bytes`);
    // The engine turns a failing source into a problem in the report; an upload over the limit
    // must instead end the request with 413, whatever the engine made of the part it saw.
    const fileScan = await withBudget(limits.timeBudgetMs, (signal) =>
      e.scanStream(
        countedChunks(body, signal, limits.maxUploadBytes, tooLarge, (n) => {
          received += n;
        }),
        {
          name: filename,
          ...(size !== undefined ? { size } : {}),
          bufferLimit: limits.maxBufferedBytes,
          signal,
        },
      ),
    )
      .catch((err: unknown) => {
        throw received > limits.maxUploadBytes ? tooLarge() : err;
      })
      .finally(() => c.set('bytes', received));
    if (received > limits.maxUploadBytes) throw tooLarge();
    if (received === 0) throw new ApiError('empty-body', 'the request body is empty: send the model file');
    return respond(c, e, [fileScan], policyName, format, true);
  });

  app.post('/v1/convert', async (c) => {
    const e = await getEngine();
    const filename = sanitiseName(c.req.query('filename')) ?? 'upload.pt';
    const declared = c.req.header('content-length');
    const size = declared !== undefined && /^\d+$/.test(declared) ? Number(declared) : undefined;
    const tooLarge = () =>
      new ApiError(
        'too-large',
        `conversion takes checkpoints up to ${limits.maxConvertBytes} bytes (held in memory)`,
      );
    if (size !== undefined && size > limits.maxConvertBytes) throw tooLarge();
    const raw = deps.rawBody?.(c);
    const body = raw ?? (c.req.raw.body ? webBody(c.req.raw.body) : undefined);
    if (!body || size === 0)
      throw new ApiError('empty-body', 'the request body is empty: send the checkpoint');
    const outcome = await withBudget(limits.timeBudgetMs, async (signal) => {
      const parts: Uint8Array[] = [];
      let received = 0;
      for await (const chunk of countedChunks(body, signal, limits.maxConvertBytes, tooLarge, (n) => {
        received += n;
      }))
        parts.push(chunk);
      c.set('bytes', received);
      if (received === 0) throw new ApiError('empty-body', 'the request body is empty: send the checkpoint');
      const bytes = new Uint8Array(received);
      let at = 0;
      for (const p of parts) {
        bytes.set(p, at);
        at += p.length;
      }
      return e.convert(bytes, filename, signal);
    });
    if (!outcome.ok) {
      const report = outcome.report
        ? JSON.parse(e.render('json', [outcome.report], 'weights-only'))
        : undefined;
      throw new ApiError('convert-refused', outcome.message, { reason: outcome.code }, report);
    }
    const chunks = outcome.chunks;
    const out = new ReadableStream<Uint8Array>({
      async pull(controller) {
        const next = await chunks.next();
        if (next.done) controller.close();
        else controller.enqueue(next.value);
      },
      async cancel() {
        await chunks.return(undefined);
      },
    });
    const stem = filename.replace(/\.[^.]*$/, '') || 'model';
    return new Response(out, {
      status: 200,
      headers: {
        'Content-Type': 'application/octet-stream',
        'Content-Length': String(outcome.plan.totalBytes),
        'Content-Disposition': `attachment; filename="${stem}.safetensors"`,
        'X-Brine-Source-Sha256': outcome.sourceSha256,
      },
    });
  });

  app.post('/v1/scan-url', async (c) => {
    const e = await getEngine();
    const { policyName, format } = readScanQuery(c.req.query(), e);
    const type = (c.req.header('content-type') ?? '').toLowerCase();
    if (!type.startsWith('application/json')) {
      throw new ApiError(
        'unsupported-media-type',
        'send a JSON body: {"url": "..."} or {"hf": "owner/repo"}',
      );
    }
    const request = await readJson(c.req.raw, limits.maxJsonBytes);

    return withBudget(limits.timeBudgetMs, async (signal) => {
      const safe = createSafeFetch({
        fetch: doFetch,
        policy,
        ...(deps.resolveHost ? { resolveHost: deps.resolveHost } : {}),
        maxRedirects: limits.maxRedirects,
        maxBytes: limits.maxRemoteBytes,
        signal,
      });
      // The source and engine wrap fetch failures in their own errors; the policy's own refusal
      // (a redirect to a private address, the transfer cap) is what the caller must see.
      const rethrowPolicy = (err: unknown): never => {
        if (safe.refusal) throw safe.refusal;
        throw err;
      };
      try {
        if ('url' in request) {
          const url = typeof request.url === 'string' ? request.url : '';
          if (!url) throw new ApiError('bad-url', '`url` must be a string');
          const fileScan = await e.scanUrl(url, { fetch: safe.fetch, signal }).catch(rethrowPolicy);
          if (safe.refusal) throw safe.refusal;
          return respond(c, e, [fileScan], policyName, format, true);
        }
        const ref = checkHubRef(request.hf, request.revision);
        const files = await listHubFiles(ref, {
          baseUrl: hubBaseUrl,
          fetch: safe.fetch,
          maxFiles: limits.maxRemoteFiles,
          signal,
        }).catch(rethrowPolicy);
        const scans: FileScan[] = [];
        const skipped: Array<{ file: string; size: number; reason: string }> = [];
        for (const file of files) {
          const scan = await e
            .scanUrl(file.url, {
              fetch: safe.fetch,
              signal,
              name: `hf://${ref.repo}@${ref.revision}/${file.path}`,
            })
            .catch(rethrowPolicy);
          if (safe.refusal) throw safe.refusal;
          // A README or config is not a model: listed as skipped rather than called unscannable.
          if (scan.format !== 'unknown' || scan.streams.length > 0) scans.push(scan);
          else skipped.push({ file: scan.file, size: scan.size, reason: 'not a model format' });
        }
        c.set('bytes', safe.bytesReceived);
        return respond(c, e, scans, policyName, format, false, skipped);
      } finally {
        c.set('bytes', safe.bytesReceived);
      }
    });
  });

  registerHubRoutes(app, () => deps.hub);

  return app;
}

/**
 * The request body as chunks, counted against the upload limit. A plain reader loop rather than a
 * TransformStream: at multi-GB sizes every stream hop per chunk shows in the throughput. An abort
 * (time budget) cancels the body so a stalled upload releases the connection.
 */
async function* countedChunks(
  body: RawBody,
  signal: AbortSignal,
  max: number,
  tooLarge: () => ApiError,
  count: (n: number) => void,
): AsyncGenerator<Uint8Array> {
  const cancel = () => body.cancel(signal.reason);
  signal.addEventListener('abort', cancel, { once: true });
  let total = 0;
  try {
    for await (const value of body.chunks) {
      total += value.byteLength;
      count(value.byteLength);
      if (total > max) {
        body.cancel();
        throw tooLarge();
      }
      yield value;
    }
  } finally {
    signal.removeEventListener('abort', cancel);
  }
}

/** The standard body: a web ReadableStream read chunk by chunk. */
function webBody(body: ReadableStream<Uint8Array>): RawBody {
  const reader = body.getReader();
  return {
    chunks: {
      async *[Symbol.asyncIterator]() {
        for (;;) {
          const { done, value } = await reader.read();
          if (done) return;
          yield value;
        }
      },
    },
    cancel: (reason) => {
      reader.cancel(reason).catch(() => {});
    },
  };
}

/** The error a client sees for anything thrown inside a request. */
function toApiError(err: unknown): ApiError {
  if (err instanceof ApiError) return err;
  if (err instanceof BrineError) {
    switch (err.code) {
      case 'http-error':
      case 'no-range-support':
      case 'unreadable':
      case 'truncated':
        return new ApiError('upstream-error', err.message);
      default:
        return new ApiError('unscannable', err.message);
    }
  }
  if (err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError')) {
    return new ApiError('time-budget-exceeded', 'the request ran out of its time budget');
  }
  // Internal details (stack, paths) stay on the server.
  return new ApiError('internal', 'internal error');
}

function readScanQuery(
  query: Record<string, string>,
  e: Engine,
): { policyName: string; format: ReportFormat } {
  const known = new Set(['policy', 'format', 'filename']);
  for (const key of Object.keys(query)) {
    if (!known.has(key)) throw new ApiError('bad-query', `unknown query parameter ${key}`);
  }
  const policyName = query.policy ?? 'default';
  if (!e.policies.includes(policyName)) {
    throw new ApiError('bad-policy', `unknown policy ${policyName}; one of ${e.policies.join(', ')}`);
  }
  const format = query.format ?? 'json';
  if (format !== 'json' && format !== 'sarif')
    throw new ApiError('bad-format', 'format must be json or sarif');
  return { policyName, format };
}

/** A display name is echoed in reports: keep it short and free of control characters. */
function sanitiseName(name: string | undefined): string | undefined {
  if (name === undefined) return undefined;
  // Control characters would let a name forge lines in text reports and logs.
  const clean = Array.from(name)
    .filter((ch) => {
      const code = ch.charCodeAt(0);
      return code >= 0x20 && code !== 0x7f;
    })
    .join('')
    .trim();
  if (clean.length === 0) return undefined;
  if (clean.length > 1024) throw new ApiError('bad-query', 'filename is longer than 1024 characters');
  return clean;
}

async function readJson(
  request: Request,
  maxBytes: number,
): Promise<{ url?: unknown; hf?: unknown; revision?: unknown }> {
  const declared = Number(request.headers.get('content-length') ?? 'NaN');
  if (declared > maxBytes) throw new ApiError('too-large', `JSON body over ${maxBytes} bytes`);
  const reader = request.body?.getReader();
  if (!reader) throw new ApiError('empty-body', 'the request body is empty');
  const parts: Uint8Array[] = [];
  let n = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    n += value.byteLength;
    if (n > maxBytes) {
      await reader.cancel();
      throw new ApiError('too-large', `JSON body over ${maxBytes} bytes`);
    }
    parts.push(value);
  }
  const bytes = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    bytes.set(p, o);
    o += p.byteLength;
  }
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch {
    throw new ApiError('bad-json', 'the body is not valid JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ApiError('bad-json', 'the body must be a JSON object');
  }
  const obj = value as Record<string, unknown>;
  const hasUrl = 'url' in obj;
  const hasHf = 'hf' in obj;
  if (hasUrl === hasHf) throw new ApiError('bad-request', 'give exactly one of `url` or `hf`');
  for (const key of Object.keys(obj)) {
    if (!(hasUrl ? ['url'] : ['hf', 'revision']).includes(key)) {
      throw new ApiError('bad-request', `unexpected field ${key}`);
    }
  }
  return obj;
}

/** Runs `work` with an abort signal that fires when the budget runs out; the request then ends in 504. */
async function withBudget<T>(ms: number, work: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const err = new ApiError('time-budget-exceeded', `the request took longer than ${ms} ms`);
      controller.abort(err);
      reject(err);
    }, ms);
  });
  try {
    return await Promise.race([work(controller.signal), expired]);
  } finally {
    clearTimeout(timer);
  }
}

type Ctx = Context<Vars>;

/** Judges the scans, renders the report and picks the status: 200, or 415/422 with the report attached. */
function respond(
  c: Ctx,
  e: Engine,
  scans: FileScan[],
  policyName: string,
  format: ReportFormat,
  single: boolean,
  skipped: Array<{ file: string; size: number; reason: string }> = [],
): Response {
  const reports = scans.map((s) => e.evaluate(s, policyName));
  const verdict = worst(reports);
  c.set('verdict', verdict);
  const rendered = e.render(format, reports, policyName, skipped);
  const headers = {
    'X-Brine-Verdict': verdict,
    'X-Brine-Fails': String(reports.some((r) => r.fails)),
  };
  const only = scans[0];
  const notAModel = single ? only?.format === 'unknown' && only.streams.length === 0 : scans.length === 0;
  if (notAModel) {
    const message = single
      ? 'the content is not a model format brine knows'
      : 'no file of the repository is a model format brine knows';
    const err = new ApiError('not-a-model', message, undefined, JSON.parse(rendered));
    return c.json(err.toBody(), err.status, headers);
  }
  if (verdict === 'unscannable') {
    const err = new ApiError(
      'unscannable',
      'part of the input could not be scanned; the report shows what was found',
      undefined,
      JSON.parse(rendered),
    );
    return c.json(err.toBody(), err.status, headers);
  }
  return c.body(rendered, 200, { ...headers, 'Content-Type': e.mediaType(format) });
}
