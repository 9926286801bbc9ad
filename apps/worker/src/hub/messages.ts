/**
 * Messages on the hub queue. One queue carries all three kinds, so one consumer and one
 * dead-letter queue cover the whole flow:
 * - `revision`: list a repository revision and link its files to contents (fan-out);
 * - `file`: scan one file's content (LFS: `sha256` known from the listing, claimed by `claim`;
 *   a small git file: hashed when read, then linked);
 * - `rejudge`: judge one page of stored scans again with the current rules (no reads).
 */
export type HubMessage = RevisionMessage | FileMessage | RejudgeMessage;

export interface RevisionMessage {
  kind: 'revision';
  repo: string;
  revision: string;
}

export interface FileMessage {
  kind: 'file';
  repo: string;
  commit: string;
  path: string;
  size: number;
  /** Content address from the Hub's LFS metadata; absent for files kept in git. */
  sha256?: string;
  /** Who claimed the content's scan (see `contents.claimed_by`). */
  claim?: string;
}

export interface RejudgeMessage {
  kind: 'rejudge';
  /** Contents are walked in sha256 order; the page starts after this key. */
  after: string;
}

/** The producer side of a Cloudflare Queue (`env.HUB_QUEUE`), or the simulation's queue. */
export interface HubQueue {
  send(body: HubMessage, options?: { delaySeconds?: number }): Promise<void>;
  sendBatch(messages: Iterable<{ body: HubMessage }>): Promise<void>;
}

/** One delivered message, as Cloudflare's `Message` has it. */
export interface HubDelivery {
  readonly id: string;
  readonly body: unknown;
  /** 1 on first delivery. */
  readonly attempts: number;
  ack(): void;
  retry(options?: { delaySeconds?: number }): void;
}

/** Cloudflare Queues take at most 100 messages per sendBatch. */
export const MAX_SEND_BATCH = 100;

export async function sendAll(queue: HubQueue, bodies: HubMessage[]): Promise<void> {
  for (let i = 0; i < bodies.length; i += MAX_SEND_BATCH) {
    await queue.sendBatch(bodies.slice(i, i + MAX_SEND_BATCH).map((body) => ({ body })));
  }
}

/** Checks a delivered body; anything else was not sent by brine and is dropped with a log line. */
export function asHubMessage(body: unknown): HubMessage | undefined {
  if (!body || typeof body !== 'object') return undefined;
  const b = body as Record<string, unknown>;
  if (b.kind === 'revision' && typeof b.repo === 'string' && typeof b.revision === 'string') {
    return body as RevisionMessage;
  }
  if (
    b.kind === 'file' &&
    typeof b.repo === 'string' &&
    typeof b.commit === 'string' &&
    typeof b.path === 'string' &&
    typeof b.size === 'number'
  ) {
    return body as FileMessage;
  }
  if (b.kind === 'rejudge' && typeof b.after === 'string') return body as RejudgeMessage;
  return undefined;
}
