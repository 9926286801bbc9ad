import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiError } from './errors.js';
import { createSafeFetch } from './safe-fetch.js';
import { bytesFile, startTestServer, type TestServer } from './test-support/http-server.js';

let server: TestServer;
const big = new Uint8Array(300_000).fill(7);

beforeAll(async () => {
  server = await startTestServer((path) => {
    if (path === '/file') return { file: bytesFile(big) };
    if (path === '/to-file') return { redirect: '/file' };
    if (path === '/to-private') return { redirect: 'https://10.0.0.1/file' };
    if (path === '/to-metadata') return { redirect: 'http://169.254.169.254/latest/meta-data/' };
    if (path === '/to-untrusted-http') return { redirect: 'http://example.com/file' };
    if (path === '/loop') return { redirect: '/loop' };
    return undefined;
  });
});
afterAll(() => server.close());

const make = (maxBytes = 1 << 20) =>
  createSafeFetch({
    fetch,
    policy: { allowHosts: [], trustedHosts: ['127.0.0.1'] },
    maxRedirects: 3,
    maxBytes,
  });

async function refusal(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'allowed';
  } catch (e) {
    if (!(e instanceof ApiError)) throw e;
    return `${e.code}:${e.details?.reason ?? ''}`;
  }
}

describe('createSafeFetch', () => {
  it('follows a redirect to an allowed host and forwards only range headers', async () => {
    const safe = make();
    const before = server.requests.length;
    const res = await safe.fetch(`${server.url}/to-file`, {
      headers: { range: 'bytes=0-9', authorization: 'Bearer secret', cookie: 'a=b' },
    });
    expect(res.status).toBe(206);
    expect((await res.arrayBuffer()).byteLength).toBe(10);
    const sent = server.requests.slice(before);
    expect(sent.map((r) => r.path)).toEqual(['/to-file', '/file']);
    for (const r of sent) {
      expect(r.headers.authorization).toBeUndefined();
      expect(r.headers.cookie).toBeUndefined();
    }
    expect(sent[1]?.range).toBe('bytes=0-9');
    expect(safe.bytesReceived).toBe(10);
  });

  it('refuses redirects to private or link-local addresses without connecting to them', async () => {
    const safe = make();
    expect(await refusal(safe.fetch(`${server.url}/to-private`))).toBe('url-refused:private-address');
    expect(await refusal(safe.fetch(`${server.url}/to-metadata`))).toBe('url-refused:scheme');
    expect(await refusal(safe.fetch(`${server.url}/to-untrusted-http`))).toBe('url-refused:scheme');
    expect(safe.refusal?.code).toBe('url-refused');
  });

  it('stops after the redirect limit', async () => {
    const before = server.requests.length;
    expect(await refusal(make().fetch(`${server.url}/loop`))).toBe('url-refused:redirects');
    expect(server.requests.length - before).toBe(4);
  });

  it('caps the bytes received while the body streams', async () => {
    const safe = make(100_000);
    const res = await safe.fetch(`${server.url}/file`);
    expect(await refusal(res.arrayBuffer())).toBe('too-large:');
    expect(safe.refusal?.code).toBe('too-large');
  });

  it('sends no method other than GET and HEAD', async () => {
    await expect(make().fetch(`${server.url}/file`, { method: 'POST' })).rejects.toThrow(/POST/);
  });

  it('connects to the address it checked, never letting a second lookup pick another (DNS rebinding)', async () => {
    // The first answer is public; a rebinding server would answer 127.0.0.1 the next time.
    const answers = [['93.184.216.34'], ['127.0.0.1']];
    const looked: string[] = [];
    const pinned: Array<[string, string]> = [];
    const safe = createSafeFetch({
      fetch: () => Promise.reject(new Error('the platform fetch must not resolve a checked name again')),
      policy: { allowHosts: [], trustedHosts: [] },
      resolveHost: async (host) => {
        looked.push(host);
        return answers.shift() ?? ['127.0.0.1'];
      },
      pinnedFetch: async (url, address) => {
        pinned.push([url.href, address]);
        return url.pathname === '/start'
          ? new Response(null, { status: 302, headers: { location: 'https://cdn.example/model.pt' } })
          : new Response('ok');
      },
      maxRedirects: 3,
      maxBytes: 1 << 20,
    });
    // The redirect target resolves (second answer) to loopback: refused, never connected to.
    expect(await refusal(safe.fetch('https://models.example/start'))).toBe('url-refused:private-address');
    expect(looked).toEqual(['models.example', 'cdn.example']);
    expect(pinned).toEqual([['https://models.example/start', '93.184.216.34']]);
  });
});
