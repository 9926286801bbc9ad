import { describe, expect, it } from 'vitest';
import { ApiError } from './errors.js';
import { checkUrl, ipKind, type UrlPolicy } from './url-policy.js';

const open: UrlPolicy = { allowHosts: [], trustedHosts: [] };

async function reason(url: string, policy: UrlPolicy = open, resolve?: (h: string) => Promise<string[]>) {
  try {
    await checkUrl(url, policy, resolve);
    return 'allowed';
  } catch (e) {
    if (!(e instanceof ApiError)) throw e;
    return e.code === 'url-refused' ? String(e.details?.reason) : e.code;
  }
}

describe('ipKind', () => {
  it.each([
    ['127.0.0.1', 'private'],
    ['10.1.2.3', 'private'],
    ['172.31.255.255', 'private'],
    ['172.32.0.1', 'public'],
    ['192.168.1.1', 'private'],
    ['169.254.169.254', 'private'],
    ['100.64.0.1', 'private'],
    ['0.0.0.0', 'private'],
    ['224.0.0.1', 'private'],
    ['255.255.255.255', 'private'],
    ['8.8.8.8', 'public'],
    ['::1', 'private'],
    ['::', 'private'],
    ['fe80::1', 'private'],
    ['fd00::1', 'private'],
    ['::ffff:7f00:1', 'private'],
    ['::ffff:127.0.0.1', 'private'],
    ['::ffff:8.8.8.8', 'public'],
    ['64:ff9b::a00:1', 'private'],
    ['2002:c0a8:101::1', 'private'],
    ['2606:4700::1111', 'public'],
    ['example.com', 'name'],
  ])('%s is %s', (host, kind) => {
    expect(ipKind(host)).toBe(kind);
  });
});

describe('checkUrl', () => {
  it('allows a public https URL', async () => {
    expect(await reason('https://8.8.8.8/model.pt')).toBe('allowed');
    expect(await reason('https://huggingface.co/x/y/resolve/main/a.bin')).toBe('allowed');
  });

  it('refuses plain http, other schemes and other ports for untrusted hosts', async () => {
    expect(await reason('http://example.com/model.pt')).toBe('scheme');
    expect(await reason('file:///etc/passwd')).toBe('scheme');
    expect(await reason('ftp://example.com/x')).toBe('scheme');
    expect(await reason('https://example.com:8443/x')).toBe('port');
  });

  it('refuses private, loopback and link-local literals in every spelling the URL parser accepts', async () => {
    for (const url of [
      'https://127.0.0.1/',
      'https://2130706433/',
      'https://0x7f.1/',
      'https://127.1/',
      'https://[::1]/',
      'https://[::ffff:127.0.0.1]/',
      'https://169.254.169.254/latest/meta-data/',
      'https://10.0.0.1/',
      'https://[fe80::1]/',
    ]) {
      expect(await reason(url), url).toBe('private-address');
    }
  });

  it('refuses local names and credentials', async () => {
    expect(await reason('https://localhost/')).toBe('local-name');
    expect(await reason('https://printer.localhost/')).toBe('local-name');
    expect(await reason('https://intranet/')).toBe('local-name');
    expect(await reason('https://user:pw@example.com/')).toBe('credentials');
  });

  it('refuses names that resolve to private addresses, when a resolver is given', async () => {
    const resolve = async (h: string) =>
      h === 'evil.example' ? ['93.184.216.34', '10.0.0.7'] : ['93.184.216.34'];
    expect(await reason('https://evil.example/x', open, resolve)).toBe('private-address');
    expect(await reason('https://fine.example/x', open, resolve)).toBe('allowed');
  });

  it('lets trusted hosts use http, any port and private addresses', async () => {
    const policy = { allowHosts: [], trustedHosts: ['127.0.0.1'] };
    expect(await reason('http://127.0.0.1:8080/model.pt', policy)).toBe('allowed');
    expect(await reason('http://127.0.0.2:8080/model.pt', policy)).toBe('scheme');
  });

  it('limits hosts to the allowlist when one is set', async () => {
    const policy = { allowHosts: ['huggingface.co', '*.hf.co'], trustedHosts: [] };
    expect(await reason('https://huggingface.co/a', policy)).toBe('allowed');
    expect(await reason('https://cdn-lfs.hf.co/a', policy)).toBe('allowed');
    expect(await reason('https://hf.co.evil.com/a', policy)).toBe('host-not-allowed');
    expect(await reason('https://example.com/a', policy)).toBe('host-not-allowed');
  });

  it('reports a malformed URL as bad input', async () => {
    expect(await reason('not a url')).toBe('bad-url');
  });
});
