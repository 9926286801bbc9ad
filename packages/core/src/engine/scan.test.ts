import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { zipSync } from 'fflate';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixture, fixturePath, manifest } from '../container/test-support/fixtures.js';
import { writeSparseZip64 } from '../container/test-support/sparse-zip64.js';
import { bufferSource } from '../source/buffer.js';
import { openFileSource } from '../source/file.js';
import { scan } from './scan.js';
import type { FileScan } from './types.js';

const PAYLOAD_IMPORTS = ['posix.system', 'os.system', 'builtins.eval'];

async function scanFixture(name: string, options: Parameters<typeof scan>[1] = {}): Promise<FileScan> {
  const src = await openFileSource(fixturePath(name));
  try {
    return await scan(src, options);
  } finally {
    await src.close();
  }
}

const imports = (r: FileScan) =>
  r.streams.flatMap((s) => s.result.imports.map((i) => `${i.module}.${i.name}`));
const findings = (r: FileScan) => r.containerFindings.map((f) => f.code);
const problems = (r: FileScan) => r.problems.map((p) => p.code);
const hasPayload = (r: FileScan) =>
  imports(r).some((i) => PAYLOAD_IMPORTS.includes(i)) ||
  r.containerFindings.some((f) => f.code === 'torchscript-call' && f.evidence?.kind === 'unresolved');

describe('every manifest fixture', () => {
  const all = manifest();
  it('lists files that exist, with known expectations', () => {
    expect(all.length).toBeGreaterThan(60);
    for (const m of all) expect(['clean', 'suspicious', 'dangerous', 'unscannable']).toContain(m.expect);
  });

  it.each(all.map((m) => [m.file, m] as const))(
    '%s: the engine sees what the verdict needs',
    async (_n, m) => {
      const r = await scanFixture(m.file);
      expect(r.bytesRead).toBeLessThanOrEqual(Math.max(r.size, 64 * 1024));
      switch (m.expect) {
        case 'dangerous':
          // the payload is reached whatever container trick hides it
          expect(hasPayload(r)).toBe(true);
          break;
        case 'clean':
          expect(hasPayload(r)).toBe(false);
          expect(r.problems).toEqual([]);
          expect(r.format).not.toBe('unknown');
          for (const s of r.streams) expect(s.result.anomalies.filter((a) => a.fatal)).toEqual([]);
          break;
        case 'unscannable':
          expect(r.problems.length).toBeGreaterThan(0);
          break;
        case 'suspicious':
          expect(r.containerFindings.length + r.problems.length).toBeGreaterThan(0);
          break;
      }
    },
  );
});

describe('formats and streams', () => {
  it('torch zip: scans <prefix>/data.pkl only, never tensor data', async () => {
    const r = await scanFixture('torch-dtypes.pt');
    expect(r.format).toBe('pytorch-zip');
    expect(r.streams.map((s) => [s.path.slice(1).join('/'), s.role])).toEqual([
      ['archive/data.pkl', 'torch data.pkl'],
    ]);
    expect(r.streams[0]?.fileOffset).toBeGreaterThan(0);
    expect(imports(r)).toContain('torch._utils._rebuild_tensor_v2');
  });

  it('TorchScript: data.pkl, constants.pkl and debug pickles are scanned, code/ listed', async () => {
    const r = await scanFixture('torchscript.pt');
    expect(r.format).toBe('torchscript');
    const roles = r.streams.map((s) => s.role);
    expect(roles).toContain('torchscript data.pkl');
    expect(roles).toContain('torchscript constants.pkl');
    const code = r.containerFindings.find((f) => f.code === 'torchscript-code');
    expect(code?.evidence?.entries).toMatch(/code\/__torch__/);
    const calls = r.containerFindings.filter((f) => f.code === 'torchscript-call');
    expect(calls.map((f) => f.evidence?.kind)).not.toContain('unresolved');
    const evil = await scanFixture('torchscript-evil-code.pt');
    const hit = evil.containerFindings.find(
      (f) => f.code === 'torchscript-call' && f.evidence?.kind === 'unresolved',
    );
    expect(hit?.evidence?.target).toBe('os.system');
    expect(hit?.path.at(-1)).toMatch(/code\/.*\.py$/);
  });

  it('legacy torch: five pickles scanned in order, storage bytes skipped exactly', async () => {
    for (const f of [
      'torch-legacy.pt',
      'torch-legacy-dtypes.pt',
      'torch-legacy-shared.pt',
      'torch-legacy-protocol4.pt',
    ]) {
      const r = await scanFixture(f);
      expect(r.format).toBe('legacy-torch');
      expect(r.streams.map((s) => s.role)).toEqual([
        'torch legacy magic number',
        'torch legacy protocol version',
        'torch legacy sys_info',
        'torch legacy object',
        'torch legacy storage keys',
      ]);
      // the storage sizes add up to the end of the file: no trailing or truncation findings
      expect(r.containerFindings).toEqual([]);
      expect(r.problems).toEqual([]);
    }
  });

  it('legacy magic computed by eval is a finding, and the later payload is still seen (GHSA-97f8-7cmv-76j2)', async () => {
    const r = await scanFixture('torch-legacy-magic-bypass.pt');
    expect(findings(r)).toContain('legacy-magic-not-literal');
    expect(imports(r)).toEqual(expect.arrayContaining(['builtins.eval', 'posix.system']));
  });

  it('old tar layout: every pickle of every member scanned, raw storage and tensor bytes skipped', async () => {
    const ok = await scanFixture('torch-legacy-tar.pt');
    expect(ok.format).toBe('legacy-torch-tar');
    expect(ok.problems).toEqual([]);
    expect(ok.containerFindings).toEqual([]);
    for (const s of ok.streams) expect(s.result.anomalies).toEqual([]);
    expect(ok.streams.filter((s) => s.path.at(-1) === 'storages').map((s) => s.role)).toEqual([
      'torch 0.1 storages count',
      'torch 0.1 storages record',
      'torch 0.1 storages record',
    ]);
    const r = await scanFixture('torch-legacy-tar-evil.pt');
    expect(r.format).toBe('legacy-torch-tar');
    const hits = r.streams
      .filter((s) => s.result.imports.some((i) => i.name === 'system'))
      .map((s) => s.path.at(-1));
    // the payload after the raw storage bytes is reached, as is the one in the pickle member
    expect(hits).toEqual(['storages', 'pickle']);
  });

  it('joblib: array bytes are skipped, so the payload after them is seen with no anomaly', async () => {
    const r = await scanFixture('joblib-evil-after-arrays.joblib');
    expect(r.format).toBe('joblib');
    expect(imports(r)).toContain('posix.system');
    const s = r.streams[0];
    expect(s?.result.anomalies).toEqual([]);
    expect(s?.result.stats.bytesSkipped).toBeGreaterThanOrEqual(64 * 8 + 16 * 4);
  });

  it('joblib object arrays are scanned as nested pickles', async () => {
    const r = await scanFixture('joblib-evil-object-array.joblib');
    expect(imports(r)).toContain('posix.system');
    expect(r.streams[0]?.result.anomalies).toEqual([]);
  });

  it.each(['zlib', 'gzip', 'bz2', 'lzma', 'xz', 'lz4'])(
    'compressed joblib (%s) is decompressed and scanned',
    async (c) => {
      const r = await scanFixture(`joblib-evil.joblib.${c}`);
      expect(r.formats.map((f) => f.format)).toContain('joblib');
      expect(imports(r)).toContain('posix.system');
      expect(r.streams[0]?.result.anomalies).toEqual([]);
    },
  );

  it('npy: numeric data skipped, object arrays scanned; npz members too', async () => {
    expect((await scanFixture('numeric-v2.npy')).streams).toEqual([]);
    const obj = await scanFixture('object-evil.npy');
    expect(obj.streams[0]?.role).toBe('npy object array');
    const npz = await scanFixture('object-evil.npz');
    expect(npz.format).toBe('npz');
    expect(npz.streams.map((s) => s.path.at(-1))).toEqual(['objs.npy']);
    expect(findings(await scanFixture('numeric-truncated.npy'))).toContain('npy-truncated');
  });

  it('safetensors and GGUF are recognised as code-free; broken headers are findings', async () => {
    const ok = await scanFixture('model.safetensors');
    expect([ok.format, ok.streams.length, ok.containerFindings.length]).toEqual(['safetensors', 0, 0]);
    expect((await scanFixture('model.gguf')).format).toBe('gguf');
    for (const f of ['safetensors-overlap', 'safetensors-bad-dtype', 'safetensors-past-end']) {
      expect(findings(await scanFixture(`${f}.safetensors`))).toContain('safetensors-bad-header');
    }
  });

  it('7z, tar, tar.gz and gzip wrappers are opened', async () => {
    for (const [f, inner] of [
      ['torch-evil.7z', 'pytorch_model.bin'],
      ['nullifai.7z', 'broken.pt'],
      ['evil-tar.tar', 'model/pytorch_model.bin'],
      ['evil-tar.tar.gz', 'model.pkl'],
      ['torch-evil.pt.gz', '[gzip]'],
    ]) {
      const r = await scanFixture(f as string);
      expect(r.streams.some((s) => s.path.includes(inner as string))).toBe(true);
      expect(hasPayload(r)).toBe(true);
    }
  });
});

describe('name versus content', () => {
  it.each([
    ['evil-pickle.bin', 'pickle'],
    ['evil-pickle.safetensors', 'pickle'],
    ['evil-pickle.png', 'pickle'],
  ])('%s is detected by content and the mismatch reported', async (f, format) => {
    const r = await scanFixture(f);
    expect(r.format).toBe(format);
    const m = r.containerFindings.find((x) => x.code === 'name-format-mismatch');
    expect(m?.evidence).toMatchObject({ format });
  });

  it('a matching name is not reported', async () => {
    expect(findings(await scanFixture('torch-state-dict.pt'))).toEqual([]);
    expect(findings(await scanFixture('evil.pkl'))).toEqual([]);
  });

  it('unknown binary content is "not a model format", never a clean pickle', async () => {
    const r = await scanFixture('random.bin');
    expect(r.format).toBe('unknown');
    expect(problems(r)).toContain('not-a-model-format');
    expect(r.streams).toEqual([]);
  });

  it('an empty file is a problem', async () => {
    const r = await scan(bufferSource('empty.pt', new Uint8Array(0)));
    expect(problems(r)).toEqual(['empty-file']);
  });
});

describe('polyglots: both readings are scanned', () => {
  it('malicious pickle in front of a benign zip', async () => {
    const r = await scanFixture('polyglot-evil-pickle-benign-zip.pt');
    expect(r.format).toBe('pickle');
    expect(findings(r)).toEqual(expect.arrayContaining(['polyglot-zip', 'zip-prepended-data']));
    expect(r.streams[0]?.result.imports.map((i) => i.name)).toContain('system');
    expect(r.streams.some((s) => s.path.includes('[zip view]'))).toBe(true);
  });

  it('benign pickle in front of a malicious zip', async () => {
    const r = await scanFixture('polyglot-benign-pickle-evil-zip.pt');
    const zipStream = r.streams.find((s) => s.path.includes('[zip view]'));
    expect(zipStream?.result.imports.map((i) => i.name)).toContain('system');
  });
});

describe('zip tricks through the engine', () => {
  it('unknown bytes in front of a zip: the file is read as the zip, the leading data reported', async () => {
    const r = await scanFixture('zip-data-before.zip');
    expect(r.format).toBe('pytorch-zip');
    expect(r.problems).toEqual([]);
    expect(findings(r)).toEqual(['zip-data-before-first-entry']);
    expect(r.streams.map((s) => s.path)).toEqual([[fixturePath('zip-data-before.zip'), 'archive/data.pkl']]);
  });

  it.each([
    ['torch-evil-local-name.pt', 'zip-local-name-mismatch'],
    ['torch-evil-flag-0x1.pt', 'zip-flag-bits'],
    ['torch-evil-crc.pt', 'zip-crc-mismatch'],
    ['zip-duplicate-name.pt', 'zip-duplicate-name'],
    ['zip-overlap.zip', 'zip-overlapping-entries'],
    ['zip-out-of-bounds.zip', 'zip-entry-out-of-bounds'],
    ['zip-data-before.zip', 'zip-data-before-first-entry'],
    ['zip-data-after.zip', 'zip-data-after-directory'],
    ['zip-two-eocd.zip', 'zip-multiple-eocd'],
    ['zip-lying-size.zip', 'zip-size-mismatch'],
  ])('%s → %s, and the pickle is still scanned', async (f, code) => {
    const r = await scanFixture(f);
    expect(findings(r)).toContain(code);
    expect(imports(r)).toContain('posix.system');
  });

  it('a pickle named data.txt in a deflated entry is found by content (CVE-2025-1889)', async () => {
    const r = await scanFixture('zip-pickle-as-txt.zip');
    expect(r.streams.map((s) => s.path.at(-1))).toEqual(['model/data.txt']);
    const m = r.containerFindings.find((f) => f.code === 'name-format-mismatch');
    expect(m?.path.at(-1)).toBe('model/data.txt');
    expect(r.streams[0]?.fileOffset).toBeUndefined(); // deflated: no stored offset
  });

  it('both copies of a duplicated name are scanned', async () => {
    const r = await scanFixture('zip-duplicate-name.pt');
    expect(r.streams).toHaveLength(2);
  });
});

describe('limits and bad input', () => {
  it('a decompression bomb ends in limit-inflate in bounded time', async () => {
    const r = await scanFixture('bomb.pkl.gz', { limits: { maxInflatedBytes: 1024 * 1024 } });
    expect(r.format).toBe('gzip');
    expect(problems(r)).toContain('limit-inflate');
    const ok = await scanFixture('bomb.pkl.gz');
    expect(ok.problems).toEqual([]);
    expect(ok.streams[0]?.result.stats.bytesSkipped).toBeGreaterThan(8_000_000);
  });

  it('a zip entry inflating past its declared size stops there with a finding, not at the global budget', async () => {
    // data.pkl is the payload plus 32 MiB of zeros, and the directory declares only the payload.
    const evil = fixture('evil.pkl');
    const data = new Uint8Array(evil.length + 32 * 1024 * 1024);
    data.set(evil);
    const zip = zipSync({ 'archive/data.pkl': [data, { level: 6 }] });
    const cd = zip.findIndex(
      (_, i) => zip[i] === 0x50 && zip[i + 1] === 0x4b && zip[i + 2] === 1 && zip[i + 3] === 2,
    );
    new DataView(zip.buffer, zip.byteOffset).setUint32(cd + 24, evil.length, true);
    const r = await scan(bufferSource('overrun.pt', zip), { limits: { maxInflatedBytes: 8 * 1024 * 1024 } });
    expect(findings(r)).toContain('zip-entry-overrun');
    expect(problems(r)).not.toContain('limit-inflate');
    expect(hasPayload(r)).toBe(true);
  });

  it('nesting past the depth limit is a problem', async () => {
    const r = await scanFixture('nested-gzip-8.gz');
    expect(problems(r)).toContain('limit-depth');
    const shallow = await scanFixture('nested-gzip-8.gz', { limits: { maxDepth: 10 } });
    expect(hasPayload(shallow)).toBe(true);
  });

  it('entry counts above the limit are a problem, not silence', async () => {
    const r = await scanFixture('torch-dtypes.pt', { limits: { maxEntries: 3 } });
    expect(problems(r)).toContain('limit-entries');
  });

  it('a truncated archive is a problem, never clean', async () => {
    const r = await scanFixture('torch-truncated.pt');
    expect(problems(r)).toContain('zip-no-directory');
  });

  it('an aborted scan reports aborted', async () => {
    const ac = new AbortController();
    ac.abort();
    const r = await scanFixture('torch-state-dict.pt', { signal: ac.signal });
    expect(problems(r)).toContain('aborted');
  });

  it('cut-down copies of every fixture never throw and never come back clean-and-silent', async () => {
    for (const m of manifest()) {
      const bytes = fixture(m.file);
      for (const cut of [1, 7, Math.floor(bytes.length / 3), bytes.length - 3]) {
        if (cut <= 0 || cut >= bytes.length) continue;
        const r = await scan(bufferSource(m.file, bytes.subarray(0, cut)));
        expect(r.file).toBe(m.file);
        const noticed =
          r.problems.length > 0 ||
          r.containerFindings.length > 0 ||
          r.streams.some((s) => s.result.anomalies.length > 0 || !s.result.complete);
        // only cutting bytes no loader reads (tar's zero end blocks) may go unnoticed
        if (!bytes.subarray(cut).every((b) => b === 0)) expect(noticed, `${m.file} cut at ${cut}`).toBe(true);
      }
    }
  });
});

describe('multi-GB inputs', () => {
  let tmp: string;
  beforeAll(async () => {
    tmp = await mkdtemp(join(tmpdir(), 'brine-scan64-'));
  });
  afterAll(async () => {
    await rm(tmp, { recursive: true, force: true });
  });

  it('scans a sparse 4.5 GiB ZIP64 checkpoint by reading its directory and its pickle only', async () => {
    const path = join(tmp, 'big.pt');
    const evil = fixture('evil.pkl');
    await writeSparseZip64(path, 4.5 * 1024 ** 3, evil);
    const src = await openFileSource(path);
    const r = await scan(src);
    await src.close();
    expect(r.size).toBeGreaterThan(4.5 * 1024 ** 3);
    expect(r.format).toBe('pytorch-zip');
    expect(r.streams.map((s) => s.path.at(-1))).toEqual(['archive/data.pkl']);
    expect(r.streams[0]?.fileOffset).toBeGreaterThan(2 ** 32);
    expect(imports(r)).toContain('posix.system');
    expect(r.problems).toEqual([]);
    expect(r.bytesRead).toBeLessThan(512 * 1024);
  });
});

describe('FRAME readings', () => {
  it('a pickle whose FRAME readings differ is scanned both ways, in a file and inside a zip', async () => {
    const bytes = new Uint8Array(
      (await import('node:fs')).readFileSync(fixturePath('../pickles/bypass/b12-frame-divergence.pkl')),
    );
    const r = await scan(bufferSource('b12.pkl', bytes));
    expect(r.streams.map((s) => s.role)).toEqual(['pickle.load', 'pickle.load (pickle.loads FRAME reading)']);
    expect(r.streams[0]?.result.anomalies.map((a) => a.code)).toContain('frame-crossing');
    expect(r.streams[0]?.result.imports.map((i) => i.name)).toContain('system');
    for (const level of [0, 6] as const) {
      const zip = zipSync({ 'archive/data.pkl': [bytes, { level }] });
      const z = await scan(bufferSource('b12.pt', zip));
      expect(z.streams.map((s) => s.role)).toEqual([
        'torch data.pkl',
        'torch data.pkl (pickle.loads FRAME reading)',
      ]);
    }
  });
});

describe('zip methods only CPython reads', () => {
  it('bzip2 (12) and LZMA (14) entries are decoded and scanned, with a finding', async () => {
    const r = await scanFixture('zip-bzip2-lzma-methods.zip');
    expect(r.problems).toEqual([]);
    expect(r.streams.map((s) => [s.path.at(-1), s.result.imports.map((i) => i.name)])).toEqual([
      ['bz2.pkl', ['system']],
      ['lzma.pkl', ['system']],
    ]);
    expect(findings(r).filter((c) => c === 'zip-method-zipfile-only')).toHaveLength(2);
  });
});

describe('tensor storages that start like a pickle', () => {
  const dataPkl = fixture('evil.pkl').slice(); // any pickle will do for data.pkl here
  it('float bytes that begin with a PROTO byte are not taken for a pickle', async () => {
    const floats = new Uint8Array(4096);
    floats.set([0x80, 0x02, 0xff, 0xfe, 0x00, 0x13, 0x77]);
    const zip = zipSync({
      'archive/data.pkl': [dataPkl, { level: 0 }],
      'archive/data/0': [floats, { level: 0 }],
    });
    const r = await scan(bufferSource('m.pt', zip));
    expect(r.streams.map((s) => s.path.at(-1))).toEqual(['archive/data.pkl']);
  });

  it('a real pickle hidden as a storage entry is still scanned', async () => {
    const zip = zipSync({
      'archive/data.pkl': [new Uint8Array([0x80, 0x02, 0x7d, 0x2e]), { level: 0 }],
      'archive/data/0': [fixture('evil.pkl'), { level: 0 }],
    });
    const r = await scan(bufferSource('m.pt', zip));
    expect(r.streams.map((s) => s.path.at(-1))).toEqual(['archive/data.pkl', 'archive/data/0']);
    expect(r.streams[1]?.result.imports.map((i) => i.name)).toContain('system');
  });
});
