import type { SqlDatabase } from './sql.js';

/** Severity order of stored verdicts; `not-a-model` files do not make a repository worse. */
const ORDER = ['not-a-model', 'clean', 'suspicious', 'unscannable', 'dangerous'];

/** One file of a repository revision as the read API shows it. */
export interface RepoFileView {
  path: string;
  size: number;
  sha256: string | null;
  /** queued: not judged yet; done: judged; unscannable: could not be read (reason says why). */
  status: 'queued' | 'done' | 'unscannable';
  verdict?: string;
  fails?: boolean;
  reason?: string;
  rulesVersion?: string;
}

export interface RepoView {
  repo: string;
  revision: string;
  commit: string | null;
  /** queued (not listed yet), scanning (files still queued), done, failed (listing gave up). */
  status: 'queued' | 'scanning' | 'done' | 'failed';
  /** Worst verdict of the judged files; while `scanning` it may still get worse. */
  verdict: string;
  error?: string;
  files: RepoFileView[];
}

interface FileJoin {
  path: string;
  size: number;
  sha256: string | null;
  fstatus: string;
  freason: string | null;
  cstatus: string | null;
  verdict: string | null;
  fails: number | null;
  creason: string | null;
  rules_version: string | null;
}

/**
 * The verdicts of one revision: per file (joined through its content), overall, and what is still
 * queued. `revision` may be the branch or tag that was requested or the commit it resolved to.
 */
export async function readRepo(
  db: SqlDatabase,
  repo: string,
  revision: string,
): Promise<RepoView | undefined> {
  const rev = await db
    .prepare(
      `SELECT repo, revision, commit_sha, status, error FROM revisions
       WHERE repo = ? AND (revision = ? OR commit_sha = ?) ORDER BY revision = ? DESC LIMIT 1`,
    )
    .bind(repo, revision, revision, revision)
    .first<{
      repo: string;
      revision: string;
      commit_sha: string | null;
      status: string;
      error: string | null;
    }>();
  if (!rev) return undefined;
  const files: RepoFileView[] = [];
  if (rev.commit_sha) {
    const { results } = await db
      .prepare(
        `SELECT f.path, f.size, f.sha256, f.status AS fstatus, f.reason AS freason, c.status AS cstatus,
           c.verdict, c.fails, c.reason AS creason, c.rules_version
         FROM repo_files f LEFT JOIN contents c ON c.sha256 = f.sha256
         WHERE f.repo = ? AND f.commit_sha = ? ORDER BY f.path`,
      )
      .bind(repo, rev.commit_sha)
      .all<FileJoin>();
    for (const r of results) files.push(fileView(r));
  }
  let verdict = 'clean';
  for (const f of files) {
    if (f.verdict && ORDER.indexOf(f.verdict) > ORDER.indexOf(verdict)) verdict = f.verdict;
  }
  const queued = files.some((f) => f.status === 'queued');
  const status: RepoView['status'] =
    rev.status === 'failed'
      ? 'failed'
      : rev.status === 'queued' || !rev.commit_sha
        ? 'queued'
        : queued
          ? 'scanning'
          : 'done';
  if (rev.status === 'failed') verdict = 'unscannable';
  return {
    repo,
    revision: rev.revision,
    commit: rev.commit_sha,
    status,
    verdict,
    ...(rev.error ? { error: rev.error } : {}),
    files,
  };
}

function fileView(r: FileJoin): RepoFileView {
  const base = { path: r.path, size: r.size, sha256: r.sha256 };
  if (r.fstatus === 'unscannable') {
    return {
      ...base,
      status: 'unscannable',
      verdict: 'unscannable',
      fails: true,
      ...(r.freason ? { reason: r.freason } : {}),
    };
  }
  if (!r.sha256 || !r.cstatus || r.cstatus === 'pending' || !r.verdict) return { ...base, status: 'queued' };
  return {
    ...base,
    status: r.cstatus === 'unscannable' ? 'unscannable' : 'done',
    verdict: r.verdict,
    fails: r.fails === 1,
    ...(r.creason ? { reason: r.creason } : {}),
    ...(r.rules_version ? { rulesVersion: r.rules_version } : {}),
  };
}

/** The stored judgement of one content. */
export async function readVerdict(
  db: SqlDatabase,
  sha256: string,
  versions: { readStamp: string; rulesVersion: string },
): Promise<Record<string, unknown> | undefined> {
  const row = await db
    .prepare(
      `SELECT sha256, size, status, verdict, fails, report, reason, read_stamp, rules_version, scanned_at
       FROM contents WHERE sha256 = ?`,
    )
    .bind(sha256)
    .first<Record<string, unknown>>();
  if (!row) return undefined;
  return {
    sha256: row.sha256,
    size: row.size,
    status: row.status,
    ...(row.verdict ? { verdict: row.verdict, fails: row.fails === 1 } : {}),
    ...(row.reason ? { reason: row.reason } : {}),
    readStamp: row.read_stamp,
    rulesVersion: row.rules_version,
    // Judged by this deployment's engine, readers and rules: a client may skip its own scan.
    current:
      row.status !== 'pending' &&
      row.read_stamp === versions.readStamp &&
      row.rules_version === versions.rulesVersion,
    ...(row.scanned_at ? { scannedAt: new Date(Number(row.scanned_at)).toISOString() } : {}),
    ...(typeof row.report === 'string' ? { report: JSON.parse(row.report) } : {}),
  };
}
