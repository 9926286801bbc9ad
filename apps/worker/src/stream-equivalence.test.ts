import { readdirSync, readFileSync, statSync } from 'node:fs';
import { bufferSource, loadScannerModule, scan, scanStream } from '@brine/core';
import { builtinPolicies, evaluate, type Verdict } from '@brine/rules';
import { beforeAll, describe, expect, it } from 'vitest';

// An upload too large to buffer is scanned as it streams; the file path reads the same bytes with
// random access. Over every committed fixture, the streamed verdict must never be milder: a file
// the file path fails must fail streamed too, and a stream may only come out clean if the file
// path says clean. The one allowed difference is `unscannable` where the file path says
// `dangerous`: a zip glued after a pickle needs random access, so the stream reports that it could
// not read it (and still fails the file) instead of showing what is inside.

const RANK: Record<Verdict, number> = { clean: 0, suspicious: 1, unscannable: 2, dangerous: 3 };
const ROOTS = ['../../../fixtures/pickles/', '../../../fixtures/containers/', '../../../fixtures/convert/'];

function fixtures(): Array<{ name: string; bytes: Uint8Array }> {
  const out: Array<{ name: string; bytes: Uint8Array }> = [];
  for (const root of ROOTS) {
    const dir = new URL(root, import.meta.url);
    for (const rel of readdirSync(dir, { recursive: true }).map(String)) {
      const url = new URL(rel, dir);
      if (!statSync(url).isFile() || /\.(json|md|txt|py|sh)$/.test(rel)) continue;
      out.push({ name: rel, bytes: new Uint8Array(readFileSync(url)) });
    }
  }
  return out;
}

async function* chunked(bytes: Uint8Array, size: number): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < bytes.length; i += size) yield bytes.slice(i, i + size);
}

beforeAll(async () => {
  await loadScannerModule();
});

describe('streamed uploads against the file path', () => {
  it('never gives a milder verdict than the file path, over every committed fixture', async () => {
    const all = fixtures();
    expect(all.length).toBeGreaterThan(50);
    const milder: string[] = [];
    for (const { name, bytes } of all) {
      const direct = evaluate(await scan(bufferSource(name, bytes)), builtinPolicies.default);
      // A 64-byte buffer forces every fixture of any size through the streaming readers.
      const streamed = evaluate(
        await scanStream(chunked(bytes, 4093), { name, bufferLimit: 64 }),
        builtinPolicies.default,
      );
      const weaker = RANK[streamed.verdict] < RANK[direct.verdict] && streamed.verdict !== 'unscannable';
      if (weaker || (direct.fails && !streamed.fails)) {
        milder.push(`${name}: file ${direct.verdict}, streamed ${streamed.verdict}`);
      }
    }
    expect(milder).toEqual([]);
  }, 120_000);
});
