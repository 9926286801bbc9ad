import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pinnedFetch } from './pinned-fetch.js';
import { bytesFile, startTestServer, type TestServer } from './test-support/http-server.js';

let server: TestServer;
const data = new Uint8Array(1000).map((_, i) => i & 0xff);

beforeAll(async () => {
  server = await startTestServer((path) => (path === '/file' ? { file: bytesFile(data) } : undefined));
});
afterAll(() => server.close());

describe('pinnedFetch', () => {
  it('connects to the given address while the request names the original host', async () => {
    const port = new URL(server.url).port;
    // `.invalid` never resolves (RFC 6761): the request can only have gone to the pinned address.
    const url = new URL(`http://model.invalid:${port}/file`);
    const before = server.requests.length;
    const res = await pinnedFetch(url, '127.0.0.1', { headers: { range: 'bytes=10-19' } });
    expect(res.status).toBe(206);
    expect(new Uint8Array(await res.arrayBuffer())).toEqual(data.subarray(10, 20));
    const sent = server.requests.slice(before);
    expect(sent).toHaveLength(1);
    expect(sent[0]?.headers.host).toBe(`model.invalid:${port}`);
  });

  it('refuses a pinned value that is not an IP address, and reports a refused connection', async () => {
    await expect(pinnedFetch(new URL('http://model.invalid/x'), 'model.invalid', {})).rejects.toThrow(
      /not an IP address/,
    );
    // Port 9 (discard) on loopback: nothing listens there in a test environment.
    await expect(pinnedFetch(new URL('http://model.invalid:9/x'), '127.0.0.1', {})).rejects.toThrow();
  });
});
