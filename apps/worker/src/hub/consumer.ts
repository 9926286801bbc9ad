import { BrineError, bufferSource, type FileScan, httpSource, unscannedFile } from '@brine/core';
import { compactReport, type HubJudge, isNotAModel, packScan, unpackScan } from './judge.js';
import { listRevision, PermanentHubError, resolveUrl } from './listing.js';
import {
  asHubMessage,
  type FileMessage,
  type HubDelivery,
  type HubMessage,
  type HubQueue,
  type RejudgeMessage,
  type RevisionMessage,
  sendAll,
} from './messages.js';
import { blobBytes, type SqlDatabase } from './sql.js';
import {
  type ContentRow,
  claimContent,
  contentNeed,
  type FileRow,
  getContents,
  linkFile,
  markFileUnscannable,
  markRevisionFailed,
  markRevisionListed,
  saveContent,
  saveFiles,
  saveRejudged,
} from './store.js';

/**
 * Limits of one consumer invocation, chosen against Workers' (README "Hub scanning: cost model"):
 * a batch of 10 messages, scanned `fileConcurrency` at a time, each file allowed
 * `subrequestsPerFile` fetches, stays under the 1000 subrequests of a paid invocation.
 */
export interface HubLimits {
  /** Deliveries of a message before its file is recorded unscannable (queue `max_retries` + 1). */
  maxAttempts: number;
  /** Messages of one batch handled at once. */
  fileConcurrency: number;
  /** Range reads one file's scan may make; past it the file is unscannable (never silently clean). */
  subrequestsPerFile: number;
  /** Wall time of one file's scan; a scan that runs out is retried, then recorded unscannable. */
  fileTimeoutMs: number;
  /** Git-kept (non-LFS) files are read whole to hash them; the Hub keeps such files under 10 MB. */
  maxInlineBytes: number;
  /** A pending claim older than this may be taken over (its message was lost or is stuck). */
  claimStaleMs: number;
  maxFilesPerRevision: number;
  /** Stored scans judged again per `rejudge` message. */
  rejudgePage: number;
  /** Larger compressed scans are not kept (D1 rows stop at 2 MB); such content is re-read on a rules change. */
  maxPackedScanBytes: number;
}

export const HUB_LIMITS: HubLimits = {
  maxAttempts: 5,
  fileConcurrency: 4,
  subrequestsPerFile: 80,
  fileTimeoutMs: 60_000,
  maxInlineBytes: 10 * 1024 * 1024,
  claimStaleMs: 30 * 60_000,
  maxFilesPerRevision: 5000,
  rejudgePage: 100,
  maxPackedScanBytes: 1_000_000,
};

/** What the consumer is built from; workerd and the Node simulation differ only here. */
export interface HubConsumerDeps {
  db: SqlDatabase;
  queue: HubQueue;
  fetch: typeof fetch;
  hubBaseUrl: string;
  /** Bearer token for private repositories, sent only to the Hub. */
  hubToken?: string;
  judge: HubJudge;
  limits?: Partial<HubLimits>;
  now?: () => number;
  log?: (line: Record<string, unknown>) => void;
}

/** Counters the simulation reports (and tests read). */
export interface HubStats {
  revisions: number;
  filesListed: number;
  /** Files whose content was already judged (or being judged) with the current versions. */
  dedupHits: number;
  scans: number;
  rejudged: number;
  retries: number;
  deadLetters: number;
  unscannable: number;
  bytesFetched: number;
  subrequests: number;
}

/** A failure a later delivery may not repeat: the message is retried with backoff. */
class TransientError extends Error {
  override name = 'TransientError';
  constructor(
    message: string,
    /** What the last attempt found before failing, kept if this was the last attempt. */
    readonly partial?: FileScan,
  ) {
    super(message);
  }
}

/** Problems that come from the transport, not from the content: worth another attempt. */
const TRANSPORT_PROBLEMS = new Set(['unreadable', 'http-error', 'truncated', 'aborted', 'no-range-support']);

/** Exponential backoff for the queue's retry: 10 s, 20 s, 40 s ... at most 10 minutes. */
export function backoffSeconds(attempts: number): number {
  return Math.min(600, 10 * 2 ** Math.max(0, attempts - 1));
}

async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>));
  return Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join('');
}

/** Runs `work` over `items`, `limit` at a time. */
async function eachLimited<T>(items: readonly T[], limit: number, work: (item: T) => Promise<void>) {
  let next = 0;
  const lanes = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) await work(items[next++] as T);
  });
  await Promise.all(lanes);
}

/**
 * The hub queue consumer, runtime-agnostic: `handleBatch` is the Worker's `queue()` handler for the
 * main queue, `handleDeadLetters` for the dead-letter queue. Each content (SHA-256) is scanned once
 * per engine/reader version and judged once per rules version, whatever repositories share it.
 */
export function createHubConsumer(deps: HubConsumerDeps) {
  const limits: HubLimits = { ...HUB_LIMITS, ...deps.limits };
  const now = deps.now ?? Date.now;
  const { db, judge } = deps;
  const versions = { readStamp: judge.readStamp, rulesVersion: judge.rulesVersion };
  const stats: HubStats = {
    revisions: 0,
    filesListed: 0,
    dedupHits: 0,
    scans: 0,
    rejudged: 0,
    retries: 0,
    deadLetters: 0,
    unscannable: 0,
    bytesFetched: 0,
    subrequests: 0,
  };
  const authHeaders = deps.hubToken ? { authorization: `Bearer ${deps.hubToken}` } : undefined;

  /** fetch counted against one file's subrequest budget; past it every call fails. */
  function budgetedFetch() {
    const state = { calls: 0, exhausted: false, bytes: 0 };
    const f: typeof fetch = async (input, init) => {
      if (state.calls >= limits.subrequestsPerFile) {
        state.exhausted = true;
        throw new BrineError('subrequest-budget', `more than ${limits.subrequestsPerFile} range reads`);
      }
      state.calls++;
      stats.subrequests++;
      const res = await deps.fetch(input, init);
      const length = Number(res.headers.get('content-length') ?? 0);
      if (Number.isFinite(length)) {
        state.bytes += length;
        stats.bytesFetched += length;
      }
      return res;
    };
    return { fetch: f, state };
  }

  function verdictOf(fileScan: FileScan, failed = false) {
    const report = judge.judge(fileScan);
    // A read that failed is unscannable whatever the rules made of the part seen (never "not a model").
    const verdict = failed ? 'unscannable' : isNotAModel(fileScan) ? 'not-a-model' : report.verdict;
    return {
      verdict: failed && report.verdict === 'dangerous' ? 'dangerous' : verdict,
      fails: verdict === 'not-a-model' ? false : failed || report.fails,
      report: compactReport(report),
    };
  }

  async function store(
    sha256: string,
    size: number,
    fileScan: FileScan,
    attempts: number,
    bytesFetched: number,
    failure?: string,
  ) {
    const judged = verdictOf(fileScan, failure !== undefined);
    const packed = await packScan(fileScan);
    if (failure) stats.unscannable++;
    await saveContent(db, {
      sha256,
      size,
      status: failure ? 'unscannable' : 'done',
      readStamp: versions.readStamp,
      rulesVersion: versions.rulesVersion,
      ...judged,
      ...(packed.length <= limits.maxPackedScanBytes ? { filescan: packed } : {}),
      ...(failure ? { reason: failure, failure: 'fetch' as const } : {}),
      attempts,
      bytesFetched,
      at: now(),
    });
  }

  async function rejudge(row: ContentRow): Promise<boolean> {
    const bytes = blobBytes(row.filescan);
    if (!bytes) return false;
    const judged = verdictOf(await unpackScan(bytes));
    await saveRejudged(db, row.sha256, versions.rulesVersion, judged.verdict, judged.fails, judged.report);
    stats.rejudged++;
    return true;
  }

  /** Scans a remote content by range reads; transport trouble becomes a TransientError. */
  async function scanRemote(url: string, name: string) {
    const budget = budgetedFetch();
    const signal = AbortSignal.timeout(limits.fileTimeoutMs);
    let fileScan: FileScan;
    try {
      const source = await httpSource(url, {
        fetch: budget.fetch,
        signal,
        ...(authHeaders ? { headers: authHeaders } : {}),
      });
      try {
        fileScan = { ...(await judge.scan(source, signal)), file: name };
      } finally {
        await source.close();
      }
    } catch (e) {
      if (budget.state.exhausted) {
        return {
          fileScan: unscannedFile(name, 'subrequest-budget', (e as Error).message),
          bytes: budget.state.bytes,
        };
      }
      if (signal.aborted) throw new TransientError(`timed out after ${limits.fileTimeoutMs} ms`);
      throw new TransientError(`${e instanceof Error ? e.message : String(e)}`);
    }
    if (budget.state.exhausted) {
      fileScan.problems.push({
        code: 'subrequest-budget',
        message: `the scan needed more than ${limits.subrequestsPerFile} range reads`,
        path: [name],
      });
    } else {
      const transport = fileScan.problems.find((p) => TRANSPORT_PROBLEMS.has(p.code));
      if (transport) {
        const why = signal.aborted ? `timed out after ${limits.fileTimeoutMs} ms` : transport.message;
        throw new TransientError(why, fileScan);
      }
    }
    return { fileScan, bytes: budget.state.bytes };
  }

  async function fetchWhole(url: string): Promise<Uint8Array> {
    const budget = budgetedFetch();
    let res: Response;
    try {
      res = await budget.fetch(url, {
        ...(authHeaders ? { headers: authHeaders } : {}),
        signal: AbortSignal.timeout(limits.fileTimeoutMs),
      });
    } catch (e) {
      throw new TransientError(`request failed: ${e instanceof Error ? e.message : String(e)}`);
    }
    if (!res.ok) {
      await res.body?.cancel();
      throw new TransientError(`the Hub answered ${res.status}`);
    }
    const bytes = new Uint8Array(await res.arrayBuffer());
    if (bytes.length > limits.maxInlineBytes) {
      throw new PermanentHubError(`a file kept in git is over ${limits.maxInlineBytes} bytes`);
    }
    return bytes;
  }

  async function hashedAt(repo: string, commit: string): Promise<Map<string, string>> {
    const { results } = await db
      .prepare(
        `SELECT path, sha256 FROM repo_files WHERE repo = ? AND commit_sha = ? AND lfs = 0 AND sha256 IS NOT NULL`,
      )
      .bind(repo, commit)
      .all<{ path: string; sha256: string }>();
    return new Map(results.map((r) => [r.path, r.sha256]));
  }

  async function handleRevision(msg: RevisionMessage) {
    stats.revisions++;
    const claim = `rev:${msg.repo}@${msg.revision}`;
    const listed = await listRevision(msg, {
      baseUrl: deps.hubBaseUrl,
      fetch: (i, init) => {
        stats.subrequests++;
        return deps.fetch(i, init);
      },
      ...(deps.hubToken ? { token: deps.hubToken } : {}),
    });
    if (listed.files.length > limits.maxFilesPerRevision) {
      throw new PermanentHubError(`${listed.files.length} files; the limit is ${limits.maxFilesPerRevision}`);
    }
    stats.filesListed += listed.files.length;
    // A path at a commit never changes: a git-kept file hashed at this commit before is not read again.
    const known =
      listed.commit !== listed.revision || /^[0-9a-f]{40}$/.test(listed.commit)
        ? await hashedAt(listed.repo, listed.commit)
        : new Map<string, string>();
    const rows: FileRow[] = listed.files.map((f) => {
      if (f.sha256) return { path: f.path, size: f.size, sha256: f.sha256, lfs: true, status: 'linked' };
      const hashed = known.get(f.path);
      if (hashed) return { path: f.path, size: f.size, sha256: hashed, lfs: false, status: 'linked' };
      if (f.size > limits.maxInlineBytes) {
        return {
          path: f.path,
          size: f.size,
          lfs: false,
          status: 'unscannable',
          reason: `no content address: a file kept in git of ${f.size} bytes (over ${limits.maxInlineBytes})`,
        };
      }
      return { path: f.path, size: f.size, lfs: false, status: 'queued' };
    });
    await saveFiles(db, listed.repo, listed.commit, rows);
    await markRevisionListed(db, listed.repo, listed.revision, listed.commit, now());
    const firstByKey = new Map<string, FileRow>();
    for (const r of rows) if (r.sha256 && !firstByKey.has(r.sha256)) firstByKey.set(r.sha256, r);
    stats.dedupHits += rows.filter((r) => r.sha256).length - firstByKey.size;
    const stored = await getContents(db, [...firstByKey.keys()]);
    const sends: HubMessage[] = [];
    for (const [sha256, row] of firstByKey) {
      const need = contentNeed(stored.get(sha256), versions, now(), limits.claimStaleMs);
      if (need === 'rejudge' && (await rejudge(stored.get(sha256) as ContentRow))) continue;
      if (need === 'nothing' || need === 'wait') {
        stats.dedupHits++;
        continue;
      }
      if (await claimContent(db, sha256, row.size, claim, now(), limits.claimStaleMs)) {
        sends.push({
          kind: 'file',
          repo: listed.repo,
          commit: listed.commit,
          path: row.path,
          size: row.size,
          sha256,
          claim,
        });
      } else stats.dedupHits++;
    }
    for (const r of rows) {
      if (r.status === 'queued') {
        sends.push({ kind: 'file', repo: listed.repo, commit: listed.commit, path: r.path, size: r.size });
      }
    }
    await sendAll(deps.queue, sends);
  }

  async function handleFile(msg: FileMessage, attempts: number) {
    const url = resolveUrl(deps.hubBaseUrl, msg.repo, msg.commit, msg.path);
    if (msg.sha256) {
      const row = (await getContents(db, [msg.sha256])).get(msg.sha256);
      const claim = msg.claim ?? `file:${msg.repo}@${msg.commit}/${msg.path}`;
      const mine = row?.status === 'pending' && row.claimed_by === claim;
      const need = mine ? 'scan' : contentNeed(row, versions, now(), limits.claimStaleMs);
      if (need === 'nothing' || need === 'wait') return;
      if (need === 'rejudge' && row && (await rejudge(row))) return;
      if (!mine && !(await claimContent(db, msg.sha256, msg.size, claim, now(), limits.claimStaleMs))) return;
      const { fileScan, bytes } = await scanRemote(url, `sha256:${msg.sha256}`);
      stats.scans++;
      await store(msg.sha256, msg.size, fileScan, attempts, bytes);
      return;
    }
    // Kept in git: no content address in the listing, so read it (small) and hash it.
    const content = await fetchWhole(url);
    const sha256 = await sha256Hex(content);
    await linkFile(db, msg.repo, msg.commit, msg.path, sha256);
    const row = (await getContents(db, [sha256])).get(sha256);
    const need = contentNeed(row, versions, now(), limits.claimStaleMs);
    if (need === 'nothing' || need === 'wait') {
      stats.dedupHits++;
      return;
    }
    if (need === 'rejudge' && row && (await rejudge(row))) return;
    const claim = `file:${msg.repo}@${msg.commit}/${msg.path}`;
    if (!(await claimContent(db, sha256, content.length, claim, now(), limits.claimStaleMs))) return;
    const name = `sha256:${sha256}`;
    const fileScan = { ...(await judge.scan(bufferSource(name, content))), file: name };
    stats.scans++;
    await store(sha256, content.length, fileScan, attempts, content.length);
  }

  async function handleRejudge(msg: RejudgeMessage) {
    const { results } = await db
      .prepare(
        `SELECT * FROM contents WHERE status = 'done' AND rules_version != ? AND read_stamp = ?
         AND filescan IS NOT NULL AND sha256 > ? ORDER BY sha256 LIMIT ?`,
      )
      .bind(versions.rulesVersion, versions.readStamp, msg.after, limits.rejudgePage)
      .all<ContentRow>();
    for (const row of results) await rejudge(row);
    const last = results.at(-1);
    if (results.length === limits.rejudgePage && last) {
      await deps.queue.send({ kind: 'rejudge', after: last.sha256 });
    }
  }

  /** Records the end of a message that will not be tried again: unscannable with the reason. */
  async function giveUp(msg: HubMessage, reason: string, attempts: number, partial?: FileScan) {
    if (msg.kind === 'revision') {
      await markRevisionFailed(db, msg.repo, msg.revision, reason, now());
      return;
    }
    if (msg.kind === 'rejudge') return;
    if (!msg.sha256) {
      stats.unscannable++;
      await markFileUnscannable(db, msg.repo, msg.commit, msg.path, reason);
      return;
    }
    const name = `sha256:${msg.sha256}`;
    const fileScan = partial
      ? { ...partial, file: name }
      : unscannedFile(name, 'hub-read-failed', reason, msg.size);
    if (partial) fileScan.problems.push({ code: 'hub-read-failed', message: reason, path: [name] });
    await store(msg.sha256, msg.size, fileScan, attempts, 0, reason);
  }

  async function handle(msg: HubMessage, attempts: number) {
    if (msg.kind === 'revision') return handleRevision(msg);
    if (msg.kind === 'file') return handleFile(msg, attempts);
    return handleRejudge(msg);
  }

  const describe = (e: unknown) => (e instanceof Error ? e.message : String(e));

  return {
    stats,
    limits,
    /** The `queue()` handler of the main hub queue. */
    async handleBatch(messages: readonly HubDelivery[]): Promise<void> {
      await eachLimited(messages, limits.fileConcurrency, async (m) => {
        const msg = asHubMessage(m.body);
        if (!msg) {
          deps.log?.({ hub: 'dropped', reason: 'not a hub message', id: m.id });
          m.ack();
          return;
        }
        try {
          await handle(msg, m.attempts);
          m.ack();
        } catch (e) {
          // Anything but a permanent refusal (Hub 404, too many files) may pass: a D1 hiccup, a
          // timeout, a 503 from the Hub.
          const permanent = e instanceof PermanentHubError;
          if (!permanent && m.attempts < limits.maxAttempts) {
            stats.retries++;
            deps.log?.({ hub: 'retry', kind: msg.kind, attempts: m.attempts, error: describe(e) });
            m.retry({ delaySeconds: backoffSeconds(m.attempts) });
            return;
          }
          const reason = permanent ? describe(e) : `gave up after ${m.attempts} attempts: ${describe(e)}`;
          try {
            await giveUp(msg, reason, m.attempts, e instanceof TransientError ? e.partial : undefined);
            m.ack();
          } catch (inner) {
            // The database is failing too: leave it to the queue (and then the dead-letter queue).
            deps.log?.({ hub: 'record-failed', error: describe(inner) });
            m.retry({ delaySeconds: backoffSeconds(m.attempts) });
          }
        }
      });
    },
    /** The `queue()` handler of the dead-letter queue: every message ends recorded, never dropped. */
    async handleDeadLetters(messages: readonly HubDelivery[]): Promise<void> {
      for (const m of messages) {
        const msg = asHubMessage(m.body);
        stats.deadLetters++;
        if (!msg) {
          m.ack();
          continue;
        }
        try {
          await giveUp(
            msg,
            `dead-lettered: the queue gave up after its retries (${msg.kind} message)`,
            m.attempts,
          );
          m.ack();
        } catch (e) {
          deps.log?.({ hub: 'dead-letter-record-failed', error: describe(e) });
          m.retry({ delaySeconds: backoffSeconds(m.attempts) });
        }
      }
    },
  };
}

export type HubConsumer = ReturnType<typeof createHubConsumer>;
