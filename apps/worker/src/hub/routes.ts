import type { Env, Hono } from 'hono';
import { ApiError } from '../errors.js';
import { checkHubRef } from '../hf.js';
import type { HubQueue, RevisionMessage } from './messages.js';
import { sendAll } from './messages.js';
import { readRepo, readVerdict } from './read.js';
import type { SqlDatabase } from './sql.js';
import { markRevisionQueued } from './store.js';
import { webhookIntent, webhookSecretMatches } from './webhook.js';

/** The hub's bindings as the HTTP side needs them (Workers: `HUB_DB`, `HUB_QUEUE`, `HUB_WEBHOOK_SECRET`). */
export interface HubBindings {
  db: SqlDatabase;
  queue: HubQueue;
  /** Secret of the Hugging Face webhook; without it the webhook route refuses everything. */
  webhookSecret?: string;
  /** Versions of this deployment, to tell a client whether a stored verdict is current. */
  versions: { readStamp: string; rulesVersion: string };
  now?: () => number;
}

/** Routes the hub adds, in OpenAPI form (`{param}`; Hono registers them as `:param`). */
export const HUB_ROUTES = [
  ['POST', '/v1/hub/scan'],
  ['POST', '/v1/hub/webhook'],
  ['POST', '/v1/hub/rejudge'],
  ['GET', '/v1/hub/repos/{owner}/{name}'],
  ['GET', '/v1/verdicts/{sha256}'],
] as const;

/** Repositories per `POST /v1/hub/scan` (one sendBatch). */
const MAX_REPOS_PER_REQUEST = 100;
const MAX_BODY = 256 * 1024;

async function readBody(request: Request): Promise<unknown> {
  const text = await request.text();
  if (text.length > MAX_BODY) throw new ApiError('too-large', `the JSON body is over ${MAX_BODY} bytes`);
  try {
    return JSON.parse(text);
  } catch {
    throw new ApiError('bad-json', 'the body is not valid JSON');
  }
}

/** `owner/name` or `owner/name@revision`, checked like every Hub reference. */
function parseRepoRef(entry: unknown, revision: unknown): RevisionMessage {
  if (typeof entry !== 'string')
    throw new ApiError('bad-request', '`repos` holds strings "owner/name[@revision]"');
  const at = entry.indexOf('@');
  const ref = checkHubRef(at === -1 ? entry : entry.slice(0, at), at === -1 ? revision : entry.slice(at + 1));
  return { kind: 'revision', repo: ref.repo, revision: ref.revision };
}

/**
 * Adds the hub intake and read routes. `hub()` is undefined when the deployment has no queue or
 * database bound: the routes then answer 503 `hub-unavailable` rather than pretend.
 */
export function registerHubRoutes<E extends Env>(app: Hono<E>, hub: () => HubBindings | undefined): void {
  const need = (): HubBindings => {
    const h = hub();
    if (!h) throw new ApiError('hub-unavailable', 'hub scanning needs the HUB_DB and HUB_QUEUE bindings');
    return h;
  };
  const now = (h: HubBindings) => (h.now ?? Date.now)();

  app.post('/v1/hub/scan', async (c) => {
    const h = need();
    const body = (await readBody(c.req.raw)) as { repos?: unknown; revision?: unknown } | null;
    if (!body || typeof body !== 'object' || !Array.isArray(body.repos) || body.repos.length === 0) {
      throw new ApiError('bad-request', 'send {"repos": ["owner/name", ...], "revision"?: "main"}');
    }
    for (const key of Object.keys(body)) {
      if (key !== 'repos' && key !== 'revision') throw new ApiError('bad-request', `unexpected field ${key}`);
    }
    if (body.repos.length > MAX_REPOS_PER_REQUEST) {
      throw new ApiError('too-large', `at most ${MAX_REPOS_PER_REQUEST} repositories per request`);
    }
    const messages = body.repos.map((r) => parseRepoRef(r, body.revision));
    await markRevisionQueued(h.db, messages, now(h));
    await sendAll(h.queue, messages);
    return c.json(
      { enqueued: messages.length, repos: messages.map(({ repo, revision }) => ({ repo, revision })) },
      202,
    );
  });

  app.post('/v1/hub/webhook', async (c) => {
    const h = need();
    // The Hub cannot send a bearer token: its secret header is this route's authentication.
    if (!h.webhookSecret)
      throw new ApiError('forbidden', 'no webhook secret is configured (HUB_WEBHOOK_SECRET)');
    const sent = c.req.header('x-webhook-secret');
    if (!sent) throw new ApiError('unauthorized', 'the X-Webhook-Secret header is missing');
    if (!(await webhookSecretMatches(sent, h.webhookSecret))) {
      throw new ApiError('forbidden', 'the webhook secret does not match');
    }
    const intent = webhookIntent(await readBody(c.req.raw));
    if ('ignore' in intent) return c.json({ enqueued: 0, ignored: intent.ignore }, 202);
    const messages = intent.scan.map((m) => parseRepoRef(m.repo, m.revision));
    await markRevisionQueued(h.db, messages, now(h));
    await sendAll(h.queue, messages);
    return c.json(
      { enqueued: messages.length, repos: messages.map(({ repo, revision }) => ({ repo, revision })) },
      202,
    );
  });

  app.post('/v1/hub/rejudge', async (c) => {
    const h = need();
    await h.queue.send({ kind: 'rejudge', after: '' });
    return c.json({ enqueued: 1, rulesVersion: h.versions.rulesVersion }, 202);
  });

  app.get('/v1/hub/repos/:owner/:name', async (c) => {
    const h = need();
    const ref = checkHubRef(
      `${c.req.param('owner')}/${c.req.param('name')}`,
      c.req.query('revision') ?? 'main',
    );
    const view = await readRepo(h.db, ref.repo, ref.revision);
    if (!view)
      throw new ApiError('not-found', `${ref.repo}@${ref.revision} was never submitted for a hub scan`);
    return c.json(view);
  });

  app.get('/v1/verdicts/:sha256', async (c) => {
    const h = need();
    const sha = c.req.param('sha256').toLowerCase();
    if (!/^[0-9a-f]{64}$/.test(sha))
      throw new ApiError('bad-request', 'a verdict is looked up by a hex SHA-256');
    const verdict = await readVerdict(h.db, sha, h.versions);
    if (!verdict) throw new ApiError('not-found', `no verdict for sha256 ${sha}`);
    return c.json(verdict);
  });
}
