import { ApiError } from './errors.js';

/** A file of a Hugging Face model repository, with the URL its bytes are served from. */
export interface HubFile {
  path: string;
  url: string;
}

const REPO = /^[A-Za-z0-9][\w.-]{0,95}\/[A-Za-z0-9][\w.-]{0,95}$/;
const REVISION = /^[\w.-]+(\/[\w.-]+)*$/;

/** Checks an `owner/repo` and revision before they are put into a URL (no `..`, no query tricks). */
export function checkHubRef(repo: unknown, revision: unknown): { repo: string; revision: string } {
  if (typeof repo !== 'string' || !REPO.test(repo) || repo.includes('..')) {
    throw new ApiError('bad-request', '`hf` must look like "owner/repo"');
  }
  const rev = revision === undefined ? 'main' : revision;
  if (typeof rev !== 'string' || !REVISION.test(rev) || rev.includes('..') || rev.length > 200) {
    throw new ApiError('bad-request', '`revision` must be a branch, tag or commit');
  }
  return { repo, revision: rev };
}

/**
 * Lists a repository's files through the Hub API (`/api/models/{repo}/revision/{rev}`), returning
 * the `resolve` URL of each. Every file is listed: brine decides what a file is by its content, so a
 * pickle named `config.txt` is still scanned (the scan reads a few head bytes of non-model files).
 */
export async function listHubFiles(
  ref: { repo: string; revision: string },
  options: { baseUrl: string; fetch: typeof fetch; maxFiles: number; signal?: AbortSignal },
): Promise<HubFile[]> {
  const base = options.baseUrl.replace(/\/+$/, '');
  const rev = encodeURIComponent(ref.revision);
  const api = `${base}/api/models/${ref.repo}/revision/${rev}`;
  const response = await options.fetch(api, {
    headers: { accept: 'application/json' },
    ...(options.signal ? { signal: options.signal } : {}),
  });
  if (response.status === 404 || response.status === 401) {
    await response.body?.cancel();
    throw new ApiError('bad-request', `no public repository ${ref.repo} at revision ${ref.revision}`);
  }
  if (!response.ok) {
    await response.body?.cancel();
    throw new ApiError('upstream-error', `the Hub answered ${response.status} for ${ref.repo}`);
  }
  let listing: unknown;
  try {
    listing = await response.json();
  } catch {
    throw new ApiError('upstream-error', 'the Hub sent a listing that is not JSON');
  }
  const siblings = (listing as { siblings?: unknown })?.siblings;
  if (!Array.isArray(siblings)) throw new ApiError('upstream-error', 'the Hub listing has no file list');
  const paths = siblings
    .map((s) => (s as { rfilename?: unknown })?.rfilename)
    .filter((p): p is string => typeof p === 'string' && p.length > 0 && !p.split('/').includes('..'))
    .filter((p) => p !== '.gitattributes');
  if (paths.length > options.maxFiles) {
    throw new ApiError(
      'too-large',
      `${ref.repo} has ${paths.length} files; the limit is ${options.maxFiles}`,
    );
  }
  return paths.map((path) => ({
    path,
    url: `${base}/${ref.repo}/resolve/${rev}/${path.split('/').map(encodeURIComponent).join('/')}`,
  }));
}
