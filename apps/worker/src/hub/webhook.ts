import type { RevisionMessage } from './messages.js';

async function digest(text: string): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text)));
}

/**
 * Compares the `X-Webhook-Secret` a Hugging Face webhook sends with the configured secret.
 * Comparing fixed-length digests with no early exit keeps the time independent of how much of
 * the secret was right, and of its length.
 */
export async function webhookSecretMatches(
  sent: string | undefined | null,
  secret: string,
): Promise<boolean> {
  if (!sent) return false;
  const [a, b] = await Promise.all([digest(sent), digest(secret)]);
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= (a[i] as number) ^ (b[i] as number);
  return diff === 0;
}

/** What a webhook payload asks for: the revisions to scan, or why it asks for nothing. */
export type WebhookIntent = { scan: RevisionMessage[] } | { ignore: string };

const ZERO_SHA = /^0+$/;

/**
 * Reads a Hugging Face webhook payload (`event.action`/`event.scope`, `repo.type`/`repo.name`/
 * `repo.headSha`, `updatedRefs[]`). A new or updated model repository's content is scanned at
 * each updated ref's new commit (or the head commit); everything else (discussions, deletions,
 * datasets, spaces) is acknowledged and ignored.
 */
export function webhookIntent(payload: unknown): WebhookIntent {
  const p = payload as {
    event?: { action?: unknown; scope?: unknown };
    repo?: { type?: unknown; name?: unknown; headSha?: unknown };
    updatedRefs?: Array<{ ref?: unknown; newSha?: unknown }>;
  } | null;
  const action = p?.event?.action;
  const scope = p?.event?.scope;
  if (typeof action !== 'string' || typeof scope !== 'string') return { ignore: 'no event' };
  if (scope !== 'repo' && scope !== 'repo.content') return { ignore: `scope ${scope}` };
  if (action !== 'create' && action !== 'update') return { ignore: `action ${action}` };
  if (p?.repo?.type !== 'model') return { ignore: `repository type ${String(p?.repo?.type)}` };
  const repo = p.repo.name;
  if (typeof repo !== 'string') return { ignore: 'no repository name' };
  const revisions = new Set<string>();
  for (const ref of Array.isArray(p.updatedRefs) ? p.updatedRefs : []) {
    if (typeof ref?.newSha === 'string' && !ZERO_SHA.test(ref.newSha)) revisions.add(ref.newSha);
  }
  if (revisions.size === 0) {
    revisions.add(
      typeof p.repo.headSha === 'string' && !ZERO_SHA.test(p.repo.headSha) ? p.repo.headSha : 'main',
    );
  }
  return { scan: [...revisions].map((revision) => ({ kind: 'revision', repo, revision })) };
}
