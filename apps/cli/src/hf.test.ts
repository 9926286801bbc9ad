import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listHubInputs, parseHubRef } from './hf.js';

let server: Server;
let endpoint: string;
const seen: Array<{ url: string; auth: string | undefined }> = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    seen.push({ url: req.url ?? '', auth: req.headers.authorization });
    if (req.url === '/api/models/acme/net/revision/v1.0') {
      res.setHeader('content-type', 'application/json');
      res.end(
        JSON.stringify({
          siblings: [
            { rfilename: 'pytorch_model.bin' },
            { rfilename: '.gitattributes' },
            { rfilename: 'sub dir/model.pkl' },
            { rfilename: '../escape.pkl' },
            { rfilename: 42 },
            { rfilename: 'README.md' },
          ],
        }),
      );
    } else if (req.url === '/api/models/acme/broken/revision/main') {
      res.end('not json');
    } else {
      res.statusCode = 404;
      res.end('{}');
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

describe('parseHubRef', () => {
  it('reads owner/repo and an optional revision', () => {
    expect(parseHubRef('hf://acme/net')).toEqual({
      repo: 'acme/net',
      revision: 'main',
      arg: 'hf://acme/net',
    });
    expect(parseHubRef('hf://acme/net@refs/pr/1')).toMatchObject({ revision: 'refs/pr/1' });
  });
  it('refuses anything that could escape the API path', () => {
    for (const bad of [
      'hf://acme',
      'hf://acme/net/extra',
      'hf://../x',
      'hf://acme/net@../../x',
      'hf://a/b@x?y',
    ]) {
      expect(typeof parseHubRef(bad)).toBe('string');
    }
  });
});

describe('listHubInputs', () => {
  it('lists the repo files as range-read URLs under resolve/, sorted, filtered, token attached', async () => {
    const ref = parseHubRef('hf://acme/net@v1.0');
    if (typeof ref === 'string') throw new Error(ref);
    const inputs = await listHubInputs(ref, { endpoint, token: 'secret' }, (p) => !p.endsWith('.md'));
    expect(inputs).toEqual([
      {
        kind: 'url',
        discovered: true,
        name: 'hf://acme/net@v1.0/pytorch_model.bin',
        url: `${endpoint}acme/net/resolve/v1.0/pytorch_model.bin`,
        headers: { authorization: 'Bearer secret' },
      },
      {
        kind: 'url',
        discovered: true,
        name: 'hf://acme/net@v1.0/sub dir/model.pkl',
        url: `${endpoint}acme/net/resolve/v1.0/sub%20dir/model.pkl`,
        headers: { authorization: 'Bearer secret' },
      },
    ]);
    expect(seen.at(-1)).toEqual({ url: '/api/models/acme/net/revision/v1.0', auth: 'Bearer secret' });
  });

  it('explains a missing repo and a bad listing', async () => {
    const missing = parseHubRef('hf://acme/none');
    const broken = parseHubRef('hf://acme/broken');
    if (typeof missing === 'string' || typeof broken === 'string') throw new Error('bad ref');
    await expect(listHubInputs(missing, { endpoint }, () => true)).rejects.toThrow('404');
    await expect(listHubInputs(broken, { endpoint }, () => true)).rejects.toThrow('not JSON');
  });
});
