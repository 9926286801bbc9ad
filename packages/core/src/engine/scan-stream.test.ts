import { readdirSync, readFileSync } from 'node:fs';
import { zipSync } from 'fflate';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadScannerModule } from '../pickle/wasm.js';
import { bufferSource } from '../source/buffer.js';
import { scan } from './scan.js';
import { scanStream } from './scan-stream.js';
import type { FileScan } from './types.js';

const enc = new TextEncoder();
/** `posix.system('touch /tmp/brine-pwned')`, protocol 0: only ever scanned. */
const EVIL = enc.encode("cposix\nsystem\n(S'touch /tmp/brine-pwned'\ntR.");
const TENSOR = new Uint8Array(200_000).map((_, i) => (i * 13) & 0xff);

beforeAll(async () => {
  await loadScannerModule();
});

async function* chunked(bytes: Uint8Array, size: number): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < bytes.length; i += size) yield bytes.slice(i, i + size);
}

/** What a scan found, without timings or the read counters that differ between the paths by design. */
function essence(s: FileScan) {
  return {
    format: s.format,
    imports: s.streams.flatMap((st) =>
      st.result.imports.map((i) => `${st.path.join(' › ')} ${i.module}.${i.name}@${i.offset}`),
    ),
    calls: s.streams.reduce((n, st) => n + st.result.calls.length, 0),
    findings: s.containerFindings.map((f) => f.code).sort(),
    problems: s.problems.map((p) => p.code).sort(),
  };
}

const streamed = (bytes: Uint8Array, chunk: number, name = 'upload.pt') =>
  scanStream(chunked(bytes, chunk), { name, bufferLimit: 64 });

function storedZip(files: Record<string, Uint8Array>): Uint8Array {
  return zipSync(Object.fromEntries(Object.entries(files).map(([k, v]) => [k, [v, { level: 0 }]])));
}

describe('scanStream', () => {
  it('gives a small upload exactly the file path scan', async () => {
    const zip = storedZip({ 'archive/data.pkl': EVIL, 'archive/data/0': TENSOR });
    const direct = await scan(bufferSource('m.pt', zip));
    const viaStream = await scanStream(chunked(zip, 1000), { name: 'm.pt' });
    expect(essence(viaStream)).toEqual(essence(direct));
    expect(viaStream.size).toBe(zip.length);
  });

  it('streams a large raw pickle through the scanner with the same result at any chunk size', async () => {
    const direct = essence(await scan(bufferSource('x.pkl', EVIL)));
    for (const chunk of [1, 3, 17, 4096]) {
      const s = await streamed(EVIL, chunk, 'x.pkl');
      expect(essence(s), `chunk ${chunk}`).toEqual(direct);
    }
    expect(direct.imports).toEqual(['x.pkl posix.system@0']);
  });

  it('streams a zip checkpoint and finds what the file path finds, without reading tensor bytes twice', async () => {
    const zip = storedZip({
      'archive/data/0': TENSOR,
      'archive/data.pkl': EVIL,
      'archive/version': enc.encode('3\n'),
    });
    const direct = essence(await scan(bufferSource('upload.pt', zip)));
    for (const chunk of [7, 65536]) {
      const s = await streamed(zip, chunk);
      expect(essence(s).imports).toEqual(direct.imports);
      expect(essence(s).format).toBe(direct.format);
      expect(s.problems).toEqual([]);
      expect(s.size).toBe(zip.length);
    }
  });

  it('reports a local/central name mismatch (CVE-2025-1944) on the streamed path too', async () => {
    const zip = storedZip({ 'archive/data.pkl': EVIL });
    // Rename in the local header only, as the published proof of concept does.
    const local = enc.encode('archive/data.pkl');
    zip.set(enc.encode('archive/datap.kl'), 30);
    expect(new TextDecoder().decode(zip.subarray(30, 30 + local.length))).toBe('archive/datap.kl');
    const direct = await scan(bufferSource('upload.pt', zip));
    const s = await streamed(zip, 11);
    expect(direct.containerFindings.map((f) => f.code)).toContain('zip-local-name-mismatch');
    expect(s.containerFindings.map((f) => f.code)).toContain('zip-local-name-mismatch');
    expect(essence(s).imports.length).toBe(1);
  });

  it('says which check it could not do when a zip trails a pickle (polyglot)', async () => {
    const zip = storedZip({ 'inner.pkl': EVIL });
    const poly = new Uint8Array(EVIL.length + zip.length);
    poly.set(EVIL);
    poly.set(zip, EVIL.length);
    const direct = await scan(bufferSource('p.pkl', poly));
    expect(direct.containerFindings.map((f) => f.code)).toContain('polyglot-zip');
    const s = await streamed(poly, 5, 'p.pkl');
    expect(s.containerFindings.map((f) => f.code)).toContain('polyglot-zip');
    expect(s.problems.map((p) => p.code)).toContain('stream-polyglot-unscanned');
    expect(essence(s).imports[0]).toContain('posix.system');
  });

  it('reports an unknown format as not a model on both paths', async () => {
    const junk = new Uint8Array(5000).fill(0x41);
    expect(essence(await streamed(junk, 100)).problems).toEqual(
      essence(await scan(bufferSource('upload.pt', junk))).problems,
    );
  });

  it('streams every committed fixture and finds at least every import the file path finds', async () => {
    const roots = [
      '../../../../fixtures/pickles/',
      '../../../../fixtures/containers/',
      '../../../../fixtures/convert/',
    ];
    let compared = 0;
    for (const root of roots) {
      const dir = new URL(root, import.meta.url);
      let names: string[] = [];
      try {
        names = readdirSync(dir, { recursive: true }).map(String);
      } catch {
        continue;
      }
      for (const name of names) {
        if (!/\.(pkl|pt|pth|bin|joblib|npy|npz|zip|ckpt)$/.test(name)) continue;
        let bytes: Uint8Array;
        try {
          bytes = new Uint8Array(readFileSync(new URL(name, dir)));
        } catch {
          continue; // a folder named like a file
        }
        const direct = essence(await scan(bufferSource(name, bytes)));
        const s = essence(await streamed(bytes, 4093, name));
        if (
          s.problems.some(
            (p) => p.startsWith('zip-stream') || p === 'stream-polyglot-unscanned' || p === 'limit-buffer',
          )
        ) {
          // The stream said it could not check something: then it must not be clean either.
          expect(s.problems.length, name).toBeGreaterThan(0);
        } else {
          // Paths may differ where local and central names disagree (the stream knows only the
          // local name when it scans). The stream scans every local entry, so it may see more than
          // the directory lists (a second end record), never less.
          const symbols = (list: string[]) => new Set(list.map((i) => i.slice(i.lastIndexOf(' ') + 1)));
          const seen = symbols(s.imports);
          for (const sym of symbols(direct.imports)) expect(seen, `${name}: ${sym}`).toContain(sym);
        }
        compared++;
      }
    }
    expect(compared).toBeGreaterThan(5);
  });

  it('stops when aborted', async () => {
    const controller = new AbortController();
    async function* endless(): AsyncGenerator<Uint8Array> {
      yield EVIL.subarray(0, 5);
      for (;;) {
        await new Promise((r) => setTimeout(r, 5));
        yield new Uint8Array(100);
      }
    }
    setTimeout(() => controller.abort(), 50);
    const s = await scanStream(endless(), { name: 'x', bufferLimit: 16, signal: controller.signal }).catch(
      (e: unknown) => e,
    );
    expect(s instanceof Error ? s.message : (s as FileScan).problems.map((p) => p.code).join()).toMatch(
      /abort/,
    );
  });
});
