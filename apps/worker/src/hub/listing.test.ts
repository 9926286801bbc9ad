import { describe, expect, it } from 'vitest';
import { listRevision, PermanentHubError, resolveUrl, TransientHubError } from './listing.js';
import { createStandinHandler, type StandinHub, safetensorsFile } from './standin.js';

const hub: StandinHub = {
  hostedBytes: 0,
  planted: [],
  repos: [
    {
      repo: 'acme/m',
      commit: 'f'.repeat(40),
      listingFailures: 1,
      files: [
        { path: 'z/model.safetensors', content: safetensorsFile(64), lfsSha256: 'e'.repeat(64) },
        { path: 'config.json', content: { size: 2, segments: [] } },
        { path: '.gitattributes', content: { size: 2, segments: [] } },
      ],
    },
  ],
};

describe('listing a revision through the Hub API', () => {
  const { handle } = createStandinHandler(hub);
  const fetchStandin: typeof fetch = async (input, init) => handle(new Request(input as RequestInfo, init));
  const opts = { baseUrl: 'http://hub.test/', fetch: fetchStandin };

  it('resolves the commit and takes LFS SHA-256s as content addresses', async () => {
    await expect(listRevision({ repo: 'acme/m', revision: 'main' }, opts)).rejects.toBeInstanceOf(
      TransientHubError,
    );
    const listed = await listRevision({ repo: 'acme/m', revision: 'main' }, opts);
    expect(listed).toEqual({
      repo: 'acme/m',
      revision: 'main',
      commit: 'f'.repeat(40),
      files: [
        { path: 'config.json', size: 2 },
        { path: 'z/model.safetensors', size: safetensorsFile(64).size, sha256: 'e'.repeat(64) },
      ],
    });
  });

  it('refuses a missing repository for good and bad names before any request', async () => {
    await expect(listRevision({ repo: 'acme/none', revision: 'main' }, opts)).rejects.toBeInstanceOf(
      PermanentHubError,
    );
    await expect(listRevision({ repo: '../x', revision: 'main' }, opts)).rejects.toThrow(/owner\/repo/);
  });

  it('builds resolve URLs with the path encoded segment by segment', () => {
    expect(resolveUrl('http://hub.test/', 'acme/m', 'f'.repeat(40), 'a b/c#d.bin')).toBe(
      `http://hub.test/acme/m/resolve/${'f'.repeat(40)}/a%20b/c%23d.bin`,
    );
  });
});
