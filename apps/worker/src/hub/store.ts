import { MAX_BOUND_KEYS, runBatched, type SqlDatabase } from './sql.js';

/** A `contents` row as the consumer and the read API use it. */
export interface ContentRow {
  sha256: string;
  size: number;
  status: 'pending' | 'done' | 'unscannable';
  claimed_by: string | null;
  claimed_at: number | null;
  read_stamp: string | null;
  rules_version: string | null;
  verdict: string | null;
  fails: number | null;
  report: string | null;
  filescan: unknown;
  reason: string | null;
  failure: string | null;
  attempts: number;
  bytes_fetched: number | null;
  scanned_at: number | null;
}

/** What a stored content needs before its verdict can be served for the current versions. */
export type ContentNeed = 'nothing' | 'rejudge' | 'scan' | 'wait';

/**
 * Decides from a stored row alone: read again when the engine or a reader changed (or the last
 * attempt failed in transport, or the scan was too large to keep); judge again when only the
 * rules changed; wait while another message holds a fresh claim.
 */
export function contentNeed(
  row: ContentRow | undefined,
  versions: { readStamp: string; rulesVersion: string },
  now: number,
  staleAfterMs: number,
): ContentNeed {
  if (!row) return 'scan';
  if (row.status === 'pending') {
    return row.claimed_at !== null && now - row.claimed_at < staleAfterMs ? 'wait' : 'scan';
  }
  if (row.failure === 'fetch') return 'scan';
  if (row.read_stamp !== versions.readStamp) return 'scan';
  if (row.rules_version !== versions.rulesVersion) return row.filescan ? 'rejudge' : 'scan';
  return 'nothing';
}

export async function getContents(db: SqlDatabase, keys: string[]): Promise<Map<string, ContentRow>> {
  const out = new Map<string, ContentRow>();
  const unique = [...new Set(keys)];
  for (let i = 0; i < unique.length; i += MAX_BOUND_KEYS) {
    const part = unique.slice(i, i + MAX_BOUND_KEYS);
    const { results } = await db
      .prepare(`SELECT * FROM contents WHERE sha256 IN (${part.map(() => '?').join(',')})`)
      .bind(...part)
      .all<ContentRow>();
    for (const r of results) out.set(r.sha256, r);
  }
  return out;
}

/**
 * Takes the scan of a content for `claim`: a new row, or an existing one that is not held by a
 * fresh claim of someone else. True when this caller now owns it (a race loser sees 0 changes).
 */
export async function claimContent(
  db: SqlDatabase,
  sha256: string,
  size: number,
  claim: string,
  now: number,
  staleAfterMs: number,
): Promise<boolean> {
  const inserted = await db
    .prepare(
      `INSERT INTO contents (sha256, size, status, claimed_by, claimed_at) VALUES (?, ?, 'pending', ?, ?)
       ON CONFLICT (sha256) DO NOTHING`,
    )
    .bind(sha256, size, claim, now)
    .run();
  if ((inserted.meta.changes ?? 0) > 0) return true;
  const taken = await db
    .prepare(
      `UPDATE contents SET status = 'pending', claimed_by = ?, claimed_at = ?
       WHERE sha256 = ? AND (status != 'pending' OR claimed_by = ? OR claimed_at IS NULL OR claimed_at < ?)`,
    )
    .bind(claim, now, sha256, claim, now - staleAfterMs)
    .run();
  return (taken.meta.changes ?? 0) > 0;
}

/** A finished judgement of one content (scanned, or recorded unscannable with the reason). */
export interface ContentResult {
  sha256: string;
  size: number;
  status: 'done' | 'unscannable';
  readStamp: string;
  rulesVersion: string;
  verdict: string;
  fails: boolean;
  report: Record<string, unknown>;
  filescan?: Uint8Array;
  reason?: string;
  failure?: 'fetch';
  attempts: number;
  bytesFetched: number;
  at: number;
}

export async function saveContent(db: SqlDatabase, r: ContentResult): Promise<void> {
  await db
    .prepare(
      `INSERT INTO contents (sha256, size, status, claimed_by, claimed_at, read_stamp, rules_version, verdict,
         fails, report, filescan, reason, failure, attempts, bytes_fetched, scanned_at)
       VALUES (?, ?, ?, NULL, NULL, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (sha256) DO UPDATE SET size = excluded.size, status = excluded.status, claimed_by = NULL,
         claimed_at = NULL, read_stamp = excluded.read_stamp, rules_version = excluded.rules_version,
         verdict = excluded.verdict, fails = excluded.fails, report = excluded.report,
         filescan = excluded.filescan, reason = excluded.reason, failure = excluded.failure,
         attempts = excluded.attempts, bytes_fetched = excluded.bytes_fetched, scanned_at = excluded.scanned_at`,
    )
    .bind(
      r.sha256,
      r.size,
      r.status,
      r.readStamp,
      r.rulesVersion,
      r.verdict,
      r.fails ? 1 : 0,
      JSON.stringify(r.report),
      r.filescan ?? null,
      r.reason ?? null,
      r.failure ?? null,
      r.attempts,
      r.bytesFetched,
      r.at,
    )
    .run();
}

/** A new verdict from the stored scan: no read, the read stamp stays. */
export async function saveRejudged(
  db: SqlDatabase,
  sha256: string,
  rulesVersion: string,
  verdict: string,
  fails: boolean,
  report: Record<string, unknown>,
): Promise<void> {
  await db
    .prepare(`UPDATE contents SET rules_version = ?, verdict = ?, fails = ?, report = ? WHERE sha256 = ?`)
    .bind(rulesVersion, verdict, fails ? 1 : 0, JSON.stringify(report), sha256)
    .run();
}

export async function markRevisionQueued(
  db: SqlDatabase,
  refs: Array<{ repo: string; revision: string }>,
  now: number,
) {
  await runBatched(
    db,
    refs.map((r) =>
      db
        .prepare(
          `INSERT INTO revisions (repo, revision, status, requested_at) VALUES (?, ?, 'queued', ?)
           ON CONFLICT (repo, revision) DO UPDATE SET status = 'queued', error = NULL, requested_at = excluded.requested_at`,
        )
        .bind(r.repo, r.revision, now),
    ),
  );
}

export async function markRevisionListed(
  db: SqlDatabase,
  repo: string,
  revision: string,
  commit: string,
  now: number,
): Promise<void> {
  await db
    .prepare(
      `INSERT INTO revisions (repo, revision, commit_sha, status, requested_at, listed_at) VALUES (?, ?, ?, 'listed', ?, ?)
       ON CONFLICT (repo, revision) DO UPDATE SET commit_sha = excluded.commit_sha, status = 'listed', error = NULL,
         listed_at = excluded.listed_at`,
    )
    .bind(repo, revision, commit, now, now)
    .run();
}

export async function markRevisionFailed(
  db: SqlDatabase,
  repo: string,
  revision: string,
  error: string,
  now: number,
) {
  await db
    .prepare(
      `INSERT INTO revisions (repo, revision, status, error, requested_at) VALUES (?, ?, 'failed', ?, ?)
       ON CONFLICT (repo, revision) DO UPDATE SET status = 'failed', error = excluded.error`,
    )
    .bind(repo, revision, error, now)
    .run();
}

/** A file row to write for a listed revision. */
export interface FileRow {
  path: string;
  size: number;
  sha256?: string;
  lfs: boolean;
  status: 'linked' | 'queued' | 'unscannable';
  reason?: string;
}

export async function saveFiles(
  db: SqlDatabase,
  repo: string,
  commit: string,
  files: FileRow[],
): Promise<void> {
  await runBatched(
    db,
    files.map((f) =>
      db
        .prepare(
          `INSERT INTO repo_files (repo, commit_sha, path, size, sha256, lfs, status, reason) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
           ON CONFLICT (repo, commit_sha, path) DO UPDATE SET size = excluded.size,
             sha256 = COALESCE(excluded.sha256, repo_files.sha256), lfs = excluded.lfs,
             status = CASE WHEN repo_files.status = 'linked' AND excluded.status = 'queued' THEN 'linked' ELSE excluded.status END,
             reason = excluded.reason`,
        )
        .bind(repo, commit, f.path, f.size, f.sha256 ?? null, f.lfs ? 1 : 0, f.status, f.reason ?? null),
    ),
  );
}

/** A git-kept file hashed on read: now it points at its content. */
export async function linkFile(db: SqlDatabase, repo: string, commit: string, path: string, sha256: string) {
  await db
    .prepare(
      `UPDATE repo_files SET sha256 = ?, status = 'linked', reason = NULL WHERE repo = ? AND commit_sha = ? AND path = ?`,
    )
    .bind(sha256, repo, commit, path)
    .run();
}

export async function markFileUnscannable(
  db: SqlDatabase,
  repo: string,
  commit: string,
  path: string,
  reason: string,
) {
  await db
    .prepare(
      `UPDATE repo_files SET status = 'unscannable', reason = ? WHERE repo = ? AND commit_sha = ? AND path = ?`,
    )
    .bind(reason, repo, commit, path)
    .run();
}
