import { checkHubRef } from '../hf.js';

/** One file of a repository revision, as the Hub lists it. */
export interface ListedFile {
  path: string;
  size: number;
  /** SHA-256 of the content, from the LFS pointer (files kept in git have none). */
  sha256?: string;
}

export interface ListedRevision {
  repo: string;
  revision: string;
  /** The commit the revision resolved to (the listing's `sha`); the revision itself when absent. */
  commit: string;
  files: ListedFile[];
}

/** The Hub answered in a way a later attempt may not repeat (5xx, 429, network). */
export class TransientHubError extends Error {
  override name = 'TransientHubError';
}

/** The revision cannot be listed now or later (no such repository, bad listing). */
export class PermanentHubError extends Error {
  override name = 'PermanentHubError';
}

const SHA256 = /^[0-9a-f]{64}$/;

export function encodeRepoPath(path: string): string {
  return path.split('/').map(encodeURIComponent).join('/');
}

/** Where a file's bytes are served: `{base}/{repo}/resolve/{commit}/{path}` (Range reads). */
export function resolveUrl(base: string, repo: string, commit: string, path: string): string {
  return `${base.replace(/\/+$/, '')}/${repo}/resolve/${encodeURIComponent(commit)}/${encodeRepoPath(path)}`;
}

/**
 * Lists a revision with `GET {base}/api/models/{repo}/revision/{rev}?blobs=true`: `sha` is the
 * commit, `siblings[]` the files with `size` and, for LFS files, `lfs.sha256`, the content address
 * known before a byte is read. Same names check as `hf://` in the CLI and `/v1/scan-url`.
 */
export async function listRevision(
  ref: { repo: string; revision: string },
  opts: { baseUrl: string; fetch: typeof fetch; token?: string; signal?: AbortSignal },
): Promise<ListedRevision> {
  const { repo, revision } = checkHubRef(ref.repo, ref.revision);
  const base = opts.baseUrl.replace(/\/+$/, '');
  const url = `${base}/api/models/${repo}/revision/${encodeURIComponent(revision)}?blobs=true`;
  const headers: Record<string, string> = { accept: 'application/json' };
  if (opts.token) headers.authorization = `Bearer ${opts.token}`;
  let response: Response;
  try {
    response = await opts.fetch(url, { headers, ...(opts.signal ? { signal: opts.signal } : {}) });
  } catch (e) {
    throw new TransientHubError(`cannot reach the Hub: ${e instanceof Error ? e.message : String(e)}`);
  }
  if (!response.ok) {
    await response.body?.cancel();
    const msg = `the Hub answered ${response.status} listing ${repo}@${revision}`;
    if (response.status >= 500 || response.status === 429) throw new TransientHubError(msg);
    throw new PermanentHubError(msg);
  }
  let listing: unknown;
  try {
    listing = await response.json();
  } catch {
    throw new TransientHubError(`the Hub sent a listing of ${repo}@${revision} that is not JSON`);
  }
  const body = listing as { sha?: unknown; siblings?: unknown } | null;
  if (!Array.isArray(body?.siblings)) {
    throw new PermanentHubError(`the Hub listing of ${repo}@${revision} has no file list`);
  }
  const files: ListedFile[] = [];
  for (const s of body.siblings as unknown[]) {
    const entry = s as { rfilename?: unknown; size?: unknown; lfs?: { sha256?: unknown } } | null;
    const path = entry?.rfilename;
    if (typeof path !== 'string' || path.length === 0 || path.split('/').includes('..')) continue;
    if (path === '.gitattributes') continue;
    const size = typeof entry?.size === 'number' && entry.size >= 0 ? entry.size : 0;
    const sha = entry?.lfs?.sha256;
    files.push({ path, size, ...(typeof sha === 'string' && SHA256.test(sha) ? { sha256: sha } : {}) });
  }
  files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  const commit = typeof body.sha === 'string' && /^[0-9a-f]{40}$/.test(body.sha) ? body.sha : revision;
  return { repo, revision, commit, files };
}
