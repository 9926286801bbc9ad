import { describe, expect, it } from 'vitest';
import { webhookIntent, webhookSecretMatches } from './webhook.js';

const payload = (over: Record<string, unknown> = {}) => ({
  event: { action: 'update', scope: 'repo.content' },
  repo: { type: 'model', name: 'acme/model', headSha: 'a'.repeat(40) },
  updatedRefs: [{ ref: 'refs/heads/main', oldSha: 'b'.repeat(40), newSha: 'c'.repeat(40) }],
  ...over,
});

describe('Hugging Face webhook', () => {
  it('accepts only the exact secret', async () => {
    expect(await webhookSecretMatches('s3cret', 's3cret')).toBe(true);
    for (const wrong of ['s3cre', 's3cret ', 'S3cret', '', undefined, null]) {
      expect(await webhookSecretMatches(wrong, 's3cret'), String(wrong)).toBe(false);
    }
  });

  it('queues each updated ref at its new commit', () => {
    expect(webhookIntent(payload())).toEqual({
      scan: [{ kind: 'revision', repo: 'acme/model', revision: 'c'.repeat(40) }],
    });
  });

  it('falls back to the head commit, and skips deleted refs', () => {
    const deleted = payload({ updatedRefs: [{ ref: 'refs/heads/old', newSha: '0'.repeat(40) }] });
    expect(webhookIntent(deleted)).toEqual({
      scan: [{ kind: 'revision', repo: 'acme/model', revision: 'a'.repeat(40) }],
    });
  });

  it('ignores what is not a model content change', () => {
    expect(webhookIntent(payload({ event: { action: 'create', scope: 'discussion' } }))).toEqual({
      ignore: 'scope discussion',
    });
    expect(webhookIntent(payload({ event: { action: 'delete', scope: 'repo' } }))).toEqual({
      ignore: 'action delete',
    });
    expect(webhookIntent(payload({ repo: { type: 'dataset', name: 'a/b' } }))).toEqual({
      ignore: 'repository type dataset',
    });
    expect(webhookIntent(null)).toEqual({ ignore: 'no event' });
  });
});
