import type { ScanInput } from './inputs.js';

/** Where the Hugging Face Hub is and how to talk to it. */
export interface HubOptions {
  /** Base URL of the Hub (`--hf-endpoint`, `HF_ENDPOINT`); tests point it at 127.0.0.1. */
  endpoint: string;
  /** Sent as a bearer token for private repositories (`HF_TOKEN`), only to `endpoint`. */
  token?: string;
  fetch?: typeof fetch;
}

/** The public Hub, when neither `--hf-endpoint` nor `HF_ENDPOINT` says otherwise. */
export const DEFAULT_HF_ENDPOINT = 'https://huggingface.co';

/** A parsed `hf://owner/repo[@revision]`. */
export interface HubRef {
  repo: string;
  revision: string;
  /** The argument as the user wrote it, the prefix of every file's display name. */
  arg: string;
}

const REPO = /^[A-Za-z0-9][\w.-]{0,95}\/[A-Za-z0-9][\w.-]{0,95}$/;
const REVISION = /^[\w.-]+(\/[\w.-]+)*$/;

/**
 * Parses `hf://owner/repo[@revision]`; returns an error message for anything else. Names are
 * checked before they go into a URL so a crafted argument cannot walk to another API path.
 */
export function parseHubRef(arg: string): HubRef | string {
  const body = arg.replace(/^hf:\/\//i, '');
  const at = body.indexOf('@');
  const repo = (at === -1 ? body : body.slice(0, at)).replace(/\/+$/, '');
  const revision = at === -1 ? 'main' : body.slice(at + 1);
  if (!REPO.test(repo) || repo.includes('..')) return `"${arg}" is not hf://owner/repo[@revision]`;
  if (!REVISION.test(revision) || revision.includes('..')) return `"${revision}" is not a valid revision`;
  return { repo, revision, arg };
}

function encodePath(p: string): string {
  return p.split('/').map(encodeURIComponent).join('/');
}

/**
 * Lists a Hub repository's files (`GET {endpoint}/api/models/{repo}/revision/{rev}` →
 * `siblings[].rfilename`) and returns one URL input per file kept by `keep`, read later with
 * Range requests from `{endpoint}/{repo}/resolve/{rev}/{file}`. Every file is listed, not only
 * those with model-like names: brine recognises formats by content, and reading the head of a
 * text file costs one small request.
 */
export async function listHubInputs(
  ref: HubRef,
  opts: HubOptions,
  keep: (p: string) => boolean,
): Promise<ScanInput[]> {
  const base = opts.endpoint.replace(/\/+$/, '');
  const doFetch = opts.fetch ?? globalThis.fetch;
  const headers: Record<string, string> = { accept: 'application/json' };
  if (opts.token) headers.authorization = `Bearer ${opts.token}`;
  const rev = encodeURIComponent(ref.revision);
  const api = `${base}/api/models/${ref.repo}/revision/${rev}`;
  let response: Response;
  try {
    response = await doFetch(api, { headers });
  } catch (e) {
    throw new Error(`cannot reach the Hub at ${base}: ${e instanceof Error ? e.message : String(e)}`);
  }
  if (!response.ok) {
    await response.body?.cancel();
    throw new Error(`the Hub answered ${response.status} for ${ref.repo}@${ref.revision}`);
  }
  let listing: unknown;
  try {
    listing = await response.json();
  } catch {
    throw new Error('the Hub sent a listing that is not JSON');
  }
  const siblings = (listing as { siblings?: unknown } | null)?.siblings;
  if (!Array.isArray(siblings)) throw new Error('the Hub listing has no file list (siblings)');
  const files = siblings
    .map((s) => (s as { rfilename?: unknown } | null)?.rfilename)
    .filter((p): p is string => typeof p === 'string' && p.length > 0 && !p.split('/').includes('..'))
    .filter((p) => p !== '.gitattributes' && keep(p))
    .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const fileHeaders = opts.token ? { authorization: `Bearer ${opts.token}` } : undefined;
  return files.map((p) => ({
    kind: 'url',
    discovered: true,
    name: `hf://${ref.repo}@${ref.revision}/${p}`,
    url: `${base}/${ref.repo}/resolve/${rev}/${encodePath(p)}`,
    ...(fileHeaders ? { headers: fileHeaders } : {}),
  }));
}
