import { createReadStream } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixture, fixturePath } from '../container/test-support/fixtures.js';
import { writeSparseZip64 } from '../container/test-support/sparse-zip64.js';
import { httpSource } from '../source/http.js';
import { scan } from './scan.js';

let server: Server;
let base: string;
let tmp: string;
let served = 0;
let requests = 0;

/** Serves files with Range support from the fixtures folder and a temp folder; counts bytes sent. */
beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'brine-http-scan-'));
  server = createServer(async (req, res) => {
    requests++;
    const name = decodeURIComponent((req.url ?? '/').slice(1));
    const path = name.startsWith('tmp/') ? join(tmp, name.slice(4)) : fixturePath(name);
    let size: number;
    try {
      size = (await stat(path)).size;
    } catch {
      res.writeHead(404).end();
      return;
    }
    const m = /^bytes=(\d+)-(\d+)$/.exec(req.headers.range ?? '');
    if (!m) {
      res.writeHead(200, { 'content-length': size });
      createReadStream(path).pipe(res);
      return;
    }
    const start = Number(m[1]);
    const end = Math.min(Number(m[2]), size - 1);
    served += end - start + 1;
    res.writeHead(206, {
      'content-range': `bytes ${start}-${end}/${size}`,
      'content-length': end - start + 1,
    });
    createReadStream(path, { start, end }).pipe(res);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((r) => server.close(() => r()));
  await rm(tmp, { recursive: true, force: true });
});

describe('scan over HTTP range requests', () => {
  it('finds the payload of a malicious torch zip exactly as from disk', async () => {
    served = 0;
    const src = await httpSource(`${base}/torch-evil.pt`);
    const r = await scan(src);
    expect(r.format).toBe('pytorch-zip');
    expect(r.streams[0]?.result.imports.map((i) => `${i.module}.${i.name}`)).toContain('posix.system');
    expect(r.bytesRead).toBe(served);
    expect(served).toBeLessThanOrEqual(fixture('torch-evil.pt').length * 3);
  });

  it('reads only the directory and the pickle of a 4.5 GiB sparse checkpoint', async () => {
    await writeSparseZip64(join(tmp, 'big.pt'), 4.5 * 1024 ** 3, fixture('evil.pkl'));
    served = 0;
    requests = 0;
    const src = await httpSource(`${base}/tmp/big.pt`);
    const r = await scan(src);
    expect(r.size).toBeGreaterThan(4.5 * 1024 ** 3);
    expect(r.streams.map((s) => s.path.at(-1))).toEqual(['archive/data.pkl']);
    expect(r.streams[0]?.result.imports.map((i) => i.name)).toContain('system');
    expect(served).toBeLessThan(512 * 1024);
    expect(requests).toBeLessThan(20);
  });
});

describe('remote checkpoints with many tensors', () => {
  it('tensor storages named by data.pkl are never fetched: requests do not grow with the tensor count', async () => {
    const enc = new TextEncoder();
    const str = (s: string) => [0x55, s.length, ...enc.encode(s)]; // SHORT_BINSTRING
    const pkl: number[] = [0x80, 0x02];
    for (let i = 0; i < 100; i++) {
      // MARK 'storage' torch.FloatStorage '<key>' 'cpu' <numel> TUPLE BINPERSID POP
      pkl.push(
        0x28,
        ...str('storage'),
        ...enc.encode('ctorch\nFloatStorage\n'),
        ...str(String(i)),
        ...str('cpu'),
      );
      pkl.push(0x4a, 0, 64, 0, 0, 0x74, 0x51, 0x30);
    }
    pkl.push(0x7d, 0x2e); // EMPTY_DICT STOP
    const entries: Record<string, [Uint8Array, { level: 0 }]> = {
      'archive/data.pkl': [new Uint8Array(pkl), { level: 0 }],
    };
    for (let i = 0; i < 100; i++) entries[`archive/data/${i}`] = [new Uint8Array(64 * 1024), { level: 0 }];
    const { zipSync } = await import('fflate');
    const { writeFile } = await import('node:fs/promises');
    await writeFile(join(tmp, 'many.pt'), zipSync(entries));
    served = 0;
    requests = 0;
    const src = await httpSource(`${base}/tmp/many.pt`, { readAhead: 4096 });
    const r = await scan(src);
    expect(r.format).toBe('pytorch-zip');
    expect(r.problems).toEqual([]);
    expect(r.containerFindings).toEqual([]);
    expect(r.streams.map((s) => s.path.at(-1))).toEqual(['archive/data.pkl']);
    expect(requests).toBeLessThan(12);
    expect(served).toBeLessThan(128 * 1024); // end-record search (64 KiB), directory, data.pkl
  });
});
