import {
  applyD1Migrations,
  createExecutionContext,
  createMessageBatch,
  getQueueResult,
} from 'cloudflare:test';
import { env, exports } from 'cloudflare:workers';
import { loadScannerModule } from '@brine/core';
import { builtinPolicies, evaluate } from '@brine/rules';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import wasm from '../src/generated/scanner.wasm';
import { createHubConsumer } from '../src/hub/consumer.js';
import { defaultJudge } from '../src/hub/judge.js';
import type { HubDelivery, HubMessage, HubQueue } from '../src/hub/messages.js';
import type { SqlDatabase } from '../src/hub/sql.js';
import {
  createStandinHandler,
  EVIL_PICKLE,
  generateHub,
  type StandinHub,
  safetensorsFile,
  stateDictPickle,
  torchZip,
} from '../src/hub/standin.js';
import worker from '../src/worker.js';

// Hub scanning inside real workerd: the worker entry with its Queue and D1 bindings from
// wrangler.jsonc (Miniflare), the committed migrations, and the Hub stand-in answering at
// HF_ENDPOINT (http://hub.test) through a fetch stub, since the tests and the worker share an isolate.
const TOKEN = 'workerd-test-token';
const SECRET = 'workerd-webhook-secret';
const auth = { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' };
const bindings = env as unknown as {
  HUB_DB: SqlDatabase & D1Database;
  HUB_QUEUE: HubQueue;
  TEST_MIGRATIONS: Array<{ name: string; queries: string[] }>;
};
const call = (path: string, init: RequestInit = {}) =>
  exports.default.fetch(new Request(`http://brine.test${path}`, init));

let hub: StandinHub;
let standin: ReturnType<typeof createStandinHandler>;
const requestsByRepo = new Map<string, number>();
/** Range requests per `owner/name/path`. */
const requestsByFile = new Map<string, number>();

async function waitForRepo(repo: string, revision = 'main', ms = 40_000) {
  const until = Date.now() + ms;
  for (;;) {
    const res = await call(`/v1/hub/repos/${repo}?revision=${revision}`, { headers: auth });
    if (res.status === 200) {
      const view = (await res.json()) as { status: string };
      if (view.status === 'done' || view.status === 'failed') return view as RepoView;
    }
    if (Date.now() > until) throw new Error(`${repo} not done after ${ms} ms`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

interface RepoView {
  repo: string;
  commit: string;
  status: string;
  verdict: string;
  error?: string;
  files: Array<{ path: string; sha256: string | null; status: string; verdict?: string; reason?: string }>;
}

beforeAll(async () => {
  await applyD1Migrations(bindings.HUB_DB, bindings.TEST_MIGRATIONS);
  await loadScannerModule(wasm);
  hub = await generateHub({ repos: 0 });
  const sha = (n: number) => n.toString(16).padStart(64, '0');
  const base = { path: 'model.safetensors', content: safetensorsFile(2 * 1024 ** 3), lfsSha256: sha(1) };
  const readme = {
    path: 'README.md',
    content: { size: 6, segments: [{ at: 0, bytes: new TextEncoder().encode('# demo') }] },
  };
  hub.repos.push(
    { repo: 'acme/base', commit: 'a'.repeat(40), files: [readme, { ...base }] },
    {
      repo: 'acme/finetune',
      commit: 'b'.repeat(40),
      files: [
        readme,
        { ...base },
        { path: 'pytorch_model.bin', content: torchZip(stateDictPickle(1024), 4096), lfsSha256: sha(2) },
      ],
    },
    {
      repo: 'mallory/trojan',
      commit: 'c'.repeat(40),
      files: [
        readme,
        { ...base },
        { path: 'optimizer.pt', content: torchZip(EVIL_PICKLE, 4096), lfsSha256: sha(3) },
        {
          path: 'extra.pkl',
          content: { size: EVIL_PICKLE.length, segments: [{ at: 0, bytes: EVIL_PICKLE }] },
        },
      ],
    },
    {
      repo: 'acme/flaky',
      commit: 'd'.repeat(40),
      files: [
        {
          path: 'broken.bin',
          content: torchZip(stateDictPickle(4), 16),
          lfsSha256: sha(4),
          behaviour: { failures: Number.MAX_SAFE_INTEGER },
        },
      ],
    },
    { repo: 'acme/hooked', commit: 'e'.repeat(40), files: [readme] },
  );
  standin = createStandinHandler(hub);
  const realFetch = globalThis.fetch;
  vi.spyOn(globalThis, 'fetch').mockImplementation(async (input, init) => {
    const request = new Request(input as RequestInfo, init);
    const url = new URL(request.url);
    if (url.host !== 'hub.test') return realFetch(input as RequestInfo, init);
    const repo = url.pathname.split('/').slice(1, 3).join('/');
    if (url.pathname.includes('/resolve/')) {
      requestsByRepo.set(repo, (requestsByRepo.get(repo) ?? 0) + 1);
      const file = `${repo}/${url.pathname.split('/').slice(5).join('/')}`;
      requestsByFile.set(file, (requestsByFile.get(file) ?? 0) + 1);
    }
    return standin.handle(request, init?.signal ?? undefined);
  });
});

afterAll(() => {
  vi.restoreAllMocks();
});

describe('hub scanning in workerd: intake → queue → consumer → D1 → read API', () => {
  it('refuses intake without the bearer token and with bad repository names', async () => {
    const body = JSON.stringify({ repos: ['acme/base'] });
    expect((await call('/v1/hub/scan', { method: 'POST', body })).status).toBe(401);
    const bad = await call('/v1/hub/scan', {
      method: 'POST',
      headers: auth,
      body: JSON.stringify({ repos: ['../etc'] }),
    });
    expect(bad.status).toBe(400);
    const none = await call('/v1/hub/repos/acme/never?revision=main', { headers: auth });
    expect(none.status).toBe(404);
  });

  it('scans queued repositories through the real queue, each shared content once, and serves verdicts', async () => {
    const res = await call('/v1/hub/scan', {
      method: 'POST',
      headers: auth,
      body: JSON.stringify({ repos: ['acme/base', 'acme/finetune', 'mallory/trojan'] }),
    });
    expect(res.status).toBe(202);
    expect(await res.json()).toMatchObject({ enqueued: 3 });
    const [base, finetune, trojan] = [
      await waitForRepo('acme/base'),
      await waitForRepo('acme/finetune'),
      await waitForRepo('mallory/trojan'),
    ];
    expect(base).toMatchObject({ status: 'done', verdict: 'clean', commit: 'a'.repeat(40) });
    expect(finetune.verdict).toBe('clean');
    expect(trojan.verdict).toBe('dangerous');
    const byPath = Object.fromEntries(trojan.files.map((f) => [f.path, f]));
    expect(byPath['optimizer.pt']).toMatchObject({ status: 'done', verdict: 'dangerous' });
    // Kept in git: hashed when read, then judged like any content.
    expect(byPath['extra.pkl']).toMatchObject({ status: 'done', verdict: 'dangerous' });
    expect(byPath['extra.pkl']?.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(byPath['README.md']?.verdict).toBe('not-a-model');
    expect(byPath['model.safetensors']?.verdict).toBe('clean');
    // The 2 GiB base shared by three repositories was read by range through one repository only.
    const readers = ['acme/base', 'acme/finetune', 'mallory/trojan'].filter(
      (r) => (requestsByFile.get(`${r}/model.safetensors`) ?? 0) > 0,
    );
    expect(readers).toHaveLength(1);
    const shared = await (await call(`/v1/verdicts/${'1'.padStart(64, '0')}`, { headers: auth })).json();
    expect(shared).toMatchObject({ status: 'done', verdict: 'clean', current: true });
    const rows = await bindings.HUB_DB.prepare(`SELECT COUNT(*) AS n FROM repo_files WHERE sha256 = ?`)
      .bind('1'.padStart(64, '0'))
      .first<{ n: number }>();
    expect(rows?.n).toBe(3);
    const scans = await bindings.HUB_DB.prepare(`SELECT bytes_fetched FROM contents WHERE sha256 = ?`)
      .bind('1'.padStart(64, '0'))
      .first<{ bytes_fetched: number }>();
    // Range reads of a few KiB, never the 2 GiB.
    expect(scans?.bytes_fetched).toBeGreaterThan(0);
    expect(scans?.bytes_fetched).toBeLessThan(1024 * 1024);
    const evil = (await (await call(`/v1/verdicts/${'3'.padStart(64, '0')}`, { headers: auth })).json()) as {
      verdict: string;
      report: { findings: unknown[] };
    };
    expect(evil.verdict).toBe('dangerous');
    expect(JSON.stringify(evil.report)).toContain('posix');
  });

  it('re-lists a repository without reading content already judged (dedup across submissions)', async () => {
    const before = [...requestsByRepo.values()].reduce((a, b) => a + b, 0);
    const listedBefore = await bindings.HUB_DB.prepare(
      `SELECT listed_at FROM revisions WHERE repo = 'acme/finetune'`,
    ).first<{ listed_at: number }>();
    await call('/v1/hub/scan', {
      method: 'POST',
      headers: auth,
      body: JSON.stringify({ repos: ['acme/finetune@main'] }),
    });
    const view = await waitForRepo('acme/finetune');
    const listedAfter = await bindings.HUB_DB.prepare(
      `SELECT listed_at FROM revisions WHERE repo = 'acme/finetune'`,
    ).first<{ listed_at: number }>();
    expect(listedAfter?.listed_at).toBeGreaterThan(listedBefore?.listed_at ?? Infinity);
    expect(view.verdict).toBe('clean');
    const after = [...requestsByRepo.values()].reduce((a, b) => a + b, 0);
    // Same commit: neither the LFS weights nor the README (hashed at this commit before) are read.
    expect(after - before).toBe(0);
  });

  it('retries a failing file with backoff, then records it unscannable with the reason', async () => {
    const sha = '4'.padStart(64, '0');
    const msg: HubMessage = {
      kind: 'file',
      repo: 'acme/flaky',
      commit: 'd'.repeat(40),
      path: 'broken.bin',
      size: 100,
      sha256: sha,
    };
    const first = createMessageBatch('brine-hub', [
      { id: 'm1', timestamp: new Date(), attempts: 1, body: msg },
    ]);
    const ctx1 = createExecutionContext();
    await worker.queue(first as never, env as never);
    const r1 = await getQueueResult(first, ctx1);
    expect(r1.retryMessages.map((m) => m.msgId)).toEqual(['m1']);
    expect(r1.explicitAcks).toEqual([]);
    const third = createMessageBatch('brine-hub', [
      { id: 'm3', timestamp: new Date(), attempts: 3, body: msg },
    ]);
    const ctx3 = createExecutionContext();
    await worker.queue(third as never, env as never);
    expect((await getQueueResult(third, ctx3)).retryMessages.map((m) => m.msgId)).toEqual(['m3']);
    // The delay asked for grows with the attempts (10 s, 20 s, 40 s ...).
    const delays: Array<number | undefined> = [];
    const direct = createHubConsumer({
      db: bindings.HUB_DB,
      queue: bindings.HUB_QUEUE,
      fetch: (i, init) => fetch(i, init),
      hubBaseUrl: 'http://hub.test',
      judge: defaultJudge(),
    });
    for (const attempts of [1, 2, 3]) {
      await direct.handleBatch([
        { id: 'd', body: msg, attempts, ack() {}, retry: (o) => delays.push(o?.delaySeconds) },
      ]);
    }
    expect(delays).toEqual([10, 20, 40]);
    // wrangler.jsonc: max_retries 4, so the fifth delivery is the last one.
    const last = createMessageBatch('brine-hub', [
      { id: 'm5', timestamp: new Date(), attempts: 5, body: msg },
    ]);
    const ctx5 = createExecutionContext();
    await worker.queue(last as never, env as never);
    const r5 = await getQueueResult(last, ctx5);
    expect(r5.retryMessages).toEqual([]);
    expect(r5.explicitAcks).toEqual(['m5']);
    const verdict = (await (await call(`/v1/verdicts/${sha}`, { headers: auth })).json()) as Record<
      string,
      unknown
    >;
    expect(verdict).toMatchObject({ status: 'unscannable', verdict: 'unscannable', fails: true });
    expect(String(verdict.reason)).toMatch(/gave up after 5 attempts.*503/);
  });

  it('records a dead-lettered message as unscannable instead of dropping it', async () => {
    const sha = '5'.padStart(64, '0');
    const msg: HubMessage = {
      kind: 'file',
      repo: 'acme/gone',
      commit: 'f'.repeat(40),
      path: 'w.bin',
      size: 10,
      sha256: sha,
    };
    const batch = createMessageBatch('brine-hub-dlq', [
      { id: 'd1', timestamp: new Date(), attempts: 1, body: msg },
    ]);
    const ctx = createExecutionContext();
    await worker.queue(batch as never, env as never);
    expect((await getQueueResult(batch, ctx)).explicitAcks).toEqual(['d1']);
    const verdict = (await (await call(`/v1/verdicts/${sha}`, { headers: auth })).json()) as Record<
      string,
      unknown
    >;
    expect(verdict).toMatchObject({ status: 'unscannable', verdict: 'unscannable' });
    expect(String(verdict.reason)).toMatch(/dead-lettered/);
  });
});

describe('hub webhook in workerd', () => {
  const payload = (scope: string, action = 'update') =>
    JSON.stringify({
      event: { action, scope },
      repo: { type: 'model', name: 'acme/hooked', id: 'x', headSha: 'e'.repeat(40) },
      updatedRefs: [{ ref: 'refs/heads/main', oldSha: '0'.repeat(40), newSha: 'e'.repeat(40) }],
      webhook: { id: 'w', version: 3 },
    });
  const hook = (headers: Record<string, string>, body: string) =>
    call('/v1/hub/webhook', {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body,
    });

  it('refuses a missing or wrong secret, whatever the bearer token', async () => {
    expect((await hook({}, payload('repo.content'))).status).toBe(401);
    expect((await hook({ 'x-webhook-secret': 'guess' }, payload('repo.content'))).status).toBe(403);
    expect((await hook({ 'x-webhook-secret': `${SECRET}x` }, payload('repo.content'))).status).toBe(403);
    expect((await hook({ 'x-webhook-secret': SECRET.slice(0, -1) }, payload('repo.content'))).status).toBe(
      403,
    );
    expect((await hook({ ...auth, 'x-webhook-secret': 'nope' }, payload('repo.content'))).status).toBe(403);
  });

  it('ignores events that are not model content updates', async () => {
    const res = await hook({ 'x-webhook-secret': SECRET }, payload('discussion'));
    expect(res.status).toBe(202);
    expect(await res.json()).toMatchObject({ enqueued: 0, ignored: 'scope discussion' });
  });

  it('queues the pushed commit of a model repository, which then gets scanned', async () => {
    const res = await hook({ 'x-webhook-secret': SECRET }, payload('repo.content'));
    expect(res.status).toBe(202);
    expect(await res.json()).toMatchObject({
      enqueued: 1,
      repos: [{ repo: 'acme/hooked', revision: 'e'.repeat(40) }],
    });
    const view = await waitForRepo('acme/hooked', 'e'.repeat(40));
    expect(view).toMatchObject({ status: 'done', commit: 'e'.repeat(40) });
    expect(view.files.map((f) => f.path)).toEqual(['README.md']);
  });
});

describe('hub re-judging in workerd', () => {
  /** A queue that keeps what it is sent, to see what the consumer asks for. */
  const captureQueue = () => {
    const sent: HubMessage[] = [];
    const queue: HubQueue = {
      async send(body) {
        sent.push(body);
      },
      async sendBatch(messages) {
        for (const m of messages) sent.push(m.body);
      },
    };
    return { sent, queue };
  };
  const deliver = (body: HubMessage): HubDelivery & { acked: boolean } => {
    const d = {
      id: 'x',
      body,
      attempts: 1,
      acked: false,
      ack() {
        d.acked = true;
      },
      retry() {},
    };
    return d;
  };
  const countingFetch = () => {
    let calls = 0;
    const f: typeof fetch = async (i, init) => {
      calls++;
      return fetch(i, init);
    };
    return { f, calls: () => calls };
  };

  it('judges stored scans again with new rules without reading a byte', async () => {
    // A rules release that also flags any torch state dict (collections.OrderedDict): a stand-in for a
    // new rule against a newly published bypass. It sees only the stored scan.
    const strictRules = {
      version: 'test-rules-2',
      evaluate: (s: Parameters<typeof evaluate>[0]) => {
        const r = evaluate(s, builtinPolicies.default);
        const hit = s.streams.some((st) => st.result.imports.some((imp) => imp.module === 'collections'));
        return hit
          ? { ...r, verdict: 'dangerous' as const, fails: true, reasons: ['new rule: OrderedDict'] }
          : r;
      },
    };
    const { queue } = captureQueue();
    const counter = countingFetch();
    const consumer = createHubConsumer({
      db: bindings.HUB_DB,
      queue,
      fetch: counter.f,
      hubBaseUrl: 'http://hub.test',
      judge: defaultJudge(strictRules),
    });
    const msg = deliver({ kind: 'rejudge', after: '' });
    await consumer.handleBatch([msg]);
    expect(msg.acked).toBe(true);
    expect(counter.calls()).toBe(0);
    expect(consumer.stats.rejudged).toBeGreaterThanOrEqual(3);
    const finetune = (await (
      await call(`/v1/verdicts/${'2'.padStart(64, '0')}`, { headers: auth })
    ).json()) as Record<string, unknown>;
    expect(finetune).toMatchObject({ verdict: 'dangerous', rulesVersion: 'test-rules-2', current: false });
    const base = (await (
      await call(`/v1/verdicts/${'1'.padStart(64, '0')}`, { headers: auth })
    ).json()) as Record<string, unknown>;
    expect(base).toMatchObject({ verdict: 'clean', rulesVersion: 'test-rules-2' });
    // The repository view follows its contents.
    expect((await waitForRepo('acme/finetune')).verdict).toBe('dangerous');

    // Listing again under the deployment's own rules: judged back from the stored scan, still no read.
    const back = createHubConsumer({
      db: bindings.HUB_DB,
      queue,
      fetch: counter.f,
      hubBaseUrl: 'http://hub.test',
      judge: defaultJudge(),
    });
    await back.handleBatch([deliver({ kind: 'revision', repo: 'acme/finetune', revision: 'main' })]);
    // model.safetensors, pytorch_model.bin and the README's content.
    expect(back.stats.rejudged).toBe(3);
    expect(back.stats.scans).toBe(0);
    // One listing; no content read (the README was hashed at this commit before).
    expect(counter.calls()).toBe(1);
    expect((await waitForRepo('acme/finetune')).verdict).toBe('clean');
  });

  it('reads content again when the engine or a reader changed', async () => {
    const { sent, queue } = captureQueue();
    const judge = { ...defaultJudge(), readStamp: 'engine=next;zip=next' };
    const consumer = createHubConsumer({
      db: bindings.HUB_DB,
      queue,
      fetch: (i, init) => fetch(i, init),
      hubBaseUrl: 'http://hub.test',
      judge,
    });
    await consumer.handleBatch([deliver({ kind: 'revision', repo: 'acme/base', revision: 'main' })]);
    expect(consumer.stats.rejudged).toBe(0);
    expect(consumer.stats.scans).toBe(0);
    // Every content of the revision is queued to be read again (the weights and the README).
    const scans = sent.map((m) => (m.kind === 'file' ? m.sha256 : m.kind));
    expect(scans).toHaveLength(2);
    expect(scans).toContain('1'.padStart(64, '0'));
    for (const s of scans) expect(s).toMatch(/^[0-9a-f]{64}$/);
  });
});
