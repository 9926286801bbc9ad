import { loadScannerModule } from '@brine/core';
import { createHubConsumer, type HubLimits } from './consumer.js';
import { defaultJudge } from './judge.js';
import type { HubDelivery, HubMessage, HubQueue, RevisionMessage } from './messages.js';
import { readRepo } from './read.js';
import type { SqlDatabase } from './sql.js';
import type { PlantedFile } from './standin.js';
import { markRevisionQueued } from './store.js';

/**
 * An in-process stand-in for Cloudflare Queues with the semantics the consumer relies on:
 * batches of at most `batchSize`, per-message ack/retry with a delay, redelivery of a batch whose
 * handler threw, and a dead-letter queue after `maxRetries` retries. Delays are scaled
 * (`msPerDelaySecond`) so a simulation does not wait real minutes.
 */
export class SimulatedQueue implements HubQueue {
  private pending: Array<{ id: string; body: HubMessage; attempts: number; readyAt: number }> = [];
  readonly deadLetters: Array<{ id: string; body: HubMessage; attempts: number }> = [];
  private nextId = 0;
  inFlight = 0;
  sent = 0;
  constructor(private readonly opts: { maxRetries: number; msPerDelaySecond: number }) {}
  async send(body: HubMessage, options?: { delaySeconds?: number }) {
    this.sent++;
    this.pending.push({
      id: String(this.nextId++),
      body: structuredClone(body),
      attempts: 1,
      readyAt: Date.now() + (options?.delaySeconds ?? 0) * this.opts.msPerDelaySecond,
    });
  }
  async sendBatch(messages: Iterable<{ body: HubMessage }>) {
    for (const m of messages) await this.send(m.body);
  }
  get idle() {
    return this.pending.length === 0 && this.inFlight === 0;
  }
  /** Next ready batch as deliveries; settles their ack/retry once the handler returns or throws. */
  take(batchSize: number): { deliveries: HubDelivery[]; settle(threw: boolean): void } | undefined {
    const now = Date.now();
    const ready = this.pending.filter((m) => m.readyAt <= now).slice(0, batchSize);
    if (ready.length === 0) return undefined;
    const taken = new Set(ready);
    this.pending = this.pending.filter((m) => !taken.has(m));
    this.inFlight += ready.length;
    const outcome = new Map<string, { ack: boolean; delay?: number }>();
    const deliveries: HubDelivery[] = ready.map((m) => ({
      id: m.id,
      body: structuredClone(m.body),
      attempts: m.attempts,
      ack: () => outcome.set(m.id, { ack: true }),
      retry: (o) =>
        outcome.set(m.id, {
          ack: false,
          ...(o?.delaySeconds !== undefined ? { delay: o.delaySeconds } : {}),
        }),
    }));
    return {
      deliveries,
      settle: (threw) => {
        this.inFlight -= ready.length;
        for (const m of ready) {
          const o = outcome.get(m.id);
          // No explicit call: acked when the handler returned, retried when it threw.
          if (o?.ack || (!o && !threw)) continue;
          if (m.attempts > this.opts.maxRetries) {
            this.deadLetters.push({ id: m.id, body: m.body, attempts: m.attempts });
            continue;
          }
          this.pending.push({
            ...m,
            attempts: m.attempts + 1,
            readyAt: Date.now() + (o?.delay ?? 0) * this.opts.msPerDelaySecond,
          });
        }
      },
    };
  }
}

export interface SimulationOptions {
  db: SqlDatabase;
  hfEndpoint: string;
  repos: Array<{ repo: string; revision: string }>;
  fetch?: typeof fetch;
  /** Consumer invocations running at once (Queues' `max_concurrency`). */
  consumers?: number;
  batchSize?: number;
  maxRetries?: number;
  msPerDelaySecond?: number;
  limits?: Partial<HubLimits>;
  /** Malicious files planted by the stand-in: each must come out `dangerous`. */
  planted?: PlantedFile[];
  /** One JSON line per repository, then the summary. */
  write?: (line: string) => void;
}

export interface SimulationSummary {
  summary: true;
  repos: number;
  files: number;
  seconds: number;
  reposPerSecond: number;
  filesPerSecond: number;
  /** Distinct contents read and scanned. */
  scans: number;
  /** Files with a content address per content scanned. */
  dedupRatio: number;
  rejudged: number;
  hostedBytes: number;
  bytesFetched: number;
  bytesFetchedPerGBHosted: number;
  subrequests: number;
  /** Average size of a stored (gzip) FileScan and compact report: what D1 holds per content. */
  storedScanBytes: number;
  storedReportBytes: number;
  retries: number;
  deadLetters: number;
  unscannableFiles: number;
  failedRepos: number;
  verdicts: Record<string, number>;
  planted: number;
  plantedReported: number;
  missed: PlantedFile[];
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Runs intake → queue → consumer → D1 → read API for `repos` against a Hub-compatible endpoint. */
export async function runSimulation(opts: SimulationOptions): Promise<SimulationSummary> {
  await loadScannerModule();
  const queue = new SimulatedQueue({
    maxRetries: opts.maxRetries ?? 4,
    msPerDelaySecond: opts.msPerDelaySecond ?? 1,
  });
  const consumer = createHubConsumer({
    db: opts.db,
    queue,
    fetch: opts.fetch ?? ((i, init) => fetch(i, init)),
    hubBaseUrl: opts.hfEndpoint,
    judge: defaultJudge(),
    limits: { maxAttempts: (opts.maxRetries ?? 4) + 1, ...opts.limits },
  });
  const started = performance.now();
  const messages: RevisionMessage[] = opts.repos.map((r) => ({ kind: 'revision', ...r }));
  await markRevisionQueued(opts.db, messages, Date.now());
  await queue.sendBatch(messages.map((body) => ({ body })));

  const lanes = Array.from({ length: opts.consumers ?? 8 }, async () => {
    for (;;) {
      const batch = queue.take(opts.batchSize ?? 10);
      if (!batch) {
        if (queue.idle) return;
        await sleep(2);
        continue;
      }
      let threw = false;
      try {
        await consumer.handleBatch(batch.deliveries);
      } catch {
        threw = true;
      }
      batch.settle(threw);
    }
  });
  await Promise.all(lanes);
  // The dead-letter queue's consumer: every message ends recorded.
  const dlq = queue.deadLetters.splice(0);
  await consumer.handleDeadLetters(
    dlq.map((m) => ({ id: m.id, body: m.body, attempts: m.attempts, ack() {}, retry() {} })),
  );
  const seconds = (performance.now() - started) / 1000;

  const write = opts.write ?? (() => {});
  const verdicts: Record<string, number> = {};
  const reported = new Set<string>();
  let files = 0;
  let linked = 0;
  let hostedBytes = 0;
  let unscannableFiles = 0;
  let failedRepos = 0;
  for (const r of opts.repos) {
    const view = await readRepo(opts.db, r.repo, r.revision);
    if (!view) continue;
    if (view.status === 'failed') failedRepos++;
    verdicts[view.verdict] = (verdicts[view.verdict] ?? 0) + 1;
    for (const f of view.files) {
      files++;
      hostedBytes += f.size;
      if (f.sha256) linked++;
      if (f.status === 'unscannable') unscannableFiles++;
      if (f.verdict === 'dangerous') reported.add(`${view.repo}\n${f.path}`);
    }
    write(
      JSON.stringify({
        repo: view.repo,
        revision: view.revision,
        commit: view.commit,
        status: view.status,
        verdict: view.verdict,
        ...(view.error ? { error: view.error } : {}),
        files: view.files.map((f) => ({
          path: f.path,
          sha256: f.sha256,
          verdict: f.verdict ?? 'queued',
          ...(f.reason ? { reason: f.reason } : {}),
        })),
      }),
    );
  }
  const sizes = await opts.db
    .prepare(`SELECT AVG(LENGTH(filescan)) AS scan, AVG(LENGTH(report)) AS report FROM contents`)
    .first<{ scan: number | null; report: number | null }>();
  const planted = opts.planted ?? [];
  const missed = planted.filter((p) => !reported.has(`${p.repo}\n${p.path}`));
  const s = consumer.stats;
  const summary: SimulationSummary = {
    summary: true,
    repos: opts.repos.length,
    files,
    seconds: Number(seconds.toFixed(2)),
    reposPerSecond: Number((opts.repos.length / seconds).toFixed(1)),
    filesPerSecond: Number((files / seconds).toFixed(1)),
    scans: s.scans,
    dedupRatio: Number((linked / Math.max(1, s.scans)).toFixed(2)),
    rejudged: s.rejudged,
    hostedBytes,
    bytesFetched: s.bytesFetched,
    bytesFetchedPerGBHosted: Math.round(s.bytesFetched / Math.max(1e-9, hostedBytes / 1e9)),
    subrequests: s.subrequests,
    storedScanBytes: Math.round(sizes?.scan ?? 0),
    storedReportBytes: Math.round(sizes?.report ?? 0),
    retries: s.retries,
    deadLetters: s.deadLetters,
    unscannableFiles,
    failedRepos,
    verdicts,
    planted: planted.length,
    plantedReported: planted.length - missed.length,
    missed,
  };
  write(JSON.stringify(summary));
  return summary;
}
