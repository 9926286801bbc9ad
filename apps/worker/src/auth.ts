import { ApiError } from './errors.js';

async function digest(text: string): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text)));
}

/**
 * Checks an `Authorization` header against the configured token. Comparing SHA-256 digests in a
 * loop that never exits early keeps the time independent of how much of the token was right.
 * Missing or malformed header: 401 `unauthorized`; a wrong token: 403 `forbidden`.
 */
export async function checkBearer(header: string | undefined | null, token: string): Promise<void> {
  const match = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header ?? '');
  if (!match) throw new ApiError('unauthorized', 'a bearer token is required');
  const [a, b] = await Promise.all([digest(match[1] as string), digest(token)]);
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= (a[i] as number) ^ (b[i] as number);
  if (diff !== 0) throw new ApiError('forbidden', 'the bearer token is not valid');
}
