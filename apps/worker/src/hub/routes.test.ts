import { describe, expect, it } from 'vitest';
import { createApp } from '../app.js';
import type { HubMessage, HubQueue } from './messages.js';
import { openSqlJsDatabase } from './sqljs-database.js';

// The hub routes on the Node side of the app (the workerd tests cover them with real bindings).
const TOKEN = 'node-token';
const json = { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' };

async function hubApp(secret?: string) {
  const sent: HubMessage[] = [];
  const queue: HubQueue = {
    async send(body) {
      sent.push(body);
    },
    async sendBatch(messages) {
      for (const m of messages) sent.push(m.body);
    },
  };
  const db = await openSqlJsDatabase();
  const app = createApp({
    token: TOKEN,
    hub: {
      db,
      queue,
      versions: { readStamp: 'e', rulesVersion: 'r' },
      ...(secret ? { webhookSecret: secret } : {}),
    },
  });
  return { app, sent, db };
}

describe('hub routes', () => {
  it('answer 503 hub-unavailable when no queue or database is bound', async () => {
    const res = await createApp({ token: TOKEN }).request('/v1/hub/scan', {
      method: 'POST',
      headers: json,
      body: JSON.stringify({ repos: ['a/b'] }),
    });
    expect(res.status).toBe(503);
    expect(await res.json()).toMatchObject({ error: { code: 'hub-unavailable' } });
  });

  it('queue each repository revision once and show it queued until listed', async () => {
    const { app, sent } = await hubApp();
    const res = await app.request('/v1/hub/scan', {
      method: 'POST',
      headers: json,
      body: JSON.stringify({ repos: ['acme/one', 'acme/two@v1'], revision: 'dev' }),
    });
    expect(res.status).toBe(202);
    expect(sent).toEqual([
      { kind: 'revision', repo: 'acme/one', revision: 'dev' },
      { kind: 'revision', repo: 'acme/two', revision: 'v1' },
    ]);
    const view = await app.request('/v1/hub/repos/acme/two?revision=v1', { headers: json });
    expect(await view.json()).toMatchObject({ repo: 'acme/two', status: 'queued', files: [] });
  });

  it('refuse bad bodies: no repos, too many, unknown fields, bad names', async () => {
    const { app, sent } = await hubApp();
    const post = (body: unknown) =>
      app.request('/v1/hub/scan', { method: 'POST', headers: json, body: JSON.stringify(body) });
    expect((await post({})).status).toBe(400);
    expect((await post({ repos: [] })).status).toBe(400);
    expect((await post({ repos: ['a/b'], extra: 1 })).status).toBe(400);
    expect((await post({ repos: ['a/b@../x'] })).status).toBe(400);
    expect((await post({ repos: Array.from({ length: 101 }, (_, i) => `a/m${i}`) })).status).toBe(413);
    expect(sent).toEqual([]);
  });

  it('authenticate the webhook by its secret alone, and refuse it when no secret is set', async () => {
    const body = JSON.stringify({
      event: { action: 'update', scope: 'repo.content' },
      repo: { type: 'model', name: 'acme/one', headSha: 'a'.repeat(40) },
    });
    const plain = { 'content-type': 'application/json' };
    const none = await hubApp();
    expect(
      (
        await none.app.request('/v1/hub/webhook', {
          method: 'POST',
          headers: { ...plain, 'x-webhook-secret': 'x' },
          body,
        })
      ).status,
    ).toBe(403);
    const { app, sent } = await hubApp('hook-secret');
    const ok = await app.request('/v1/hub/webhook', {
      method: 'POST',
      headers: { ...plain, 'x-webhook-secret': 'hook-secret' },
      body,
    });
    expect(ok.status).toBe(202);
    expect(sent).toEqual([{ kind: 'revision', repo: 'acme/one', revision: 'a'.repeat(40) }]);
  });

  it('look verdicts up by a hex SHA-256 only', async () => {
    const { app } = await hubApp();
    expect((await app.request('/v1/verdicts/xyz', { headers: json })).status).toBe(400);
    expect((await app.request(`/v1/verdicts/${'a'.repeat(64)}`, { headers: json })).status).toBe(404);
  });
});
