import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadScannerModule } from '../pickle/wasm.js';
import { bufferSource } from '../source/buffer.js';
import { scan } from './scan.js';
import { scanStream } from './scan-stream.js';
import type { FileScan } from './types.js';

// Real TorchScript, mobile and torch.package files (fixtures/generators/torchscript.py, Debian's torch).
const dir = fileURLToPath(new URL('../../../../fixtures/torchscript/', import.meta.url));
const read = (name: string) => new Uint8Array(readFileSync(`${dir}${name}`));

beforeAll(async () => {
  await loadScannerModule();
});

async function* chunked(bytes: Uint8Array, size: number): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < bytes.length; i += size) yield bytes.slice(i, i + size);
}

/** The code facts of a scan, independent of the order readers report them in. */
const facts = (r: FileScan) =>
  r.containerFindings
    .filter((f) => f.code.startsWith('torchscript-call') || f.code.startsWith('torch-package'))
    .map((f) => `${f.code} ${f.path.slice(1).join('/')} ${JSON.stringify(f.evidence)}`)
    .sort();

describe('code inside torch archives', () => {
  it('names the host-reaching operator, its function and line in scripted code', async () => {
    const r = await scan(bufferSource('evil-save-setstate.pt', read('evil-save-setstate.pt')));
    expect(r.format).toBe('torchscript');
    const save = r.containerFindings.find((f) => f.evidence?.target === 'aten::save');
    expect(save?.evidence).toMatchObject({ kind: 'operator', function: 'SaveInSetstate.__setstate__' });
    expect(save?.evidence?.code).toMatch(/torch\.save\(w, "\/tmp\/brine-fixture\/written\.pt"\)/);
    expect(save?.path.at(-1)).toBe('archive/code/__torch__.py');
    expect(r.problems).toEqual([]);
  });

  it('reads the operator table of a mobile bytecode.pkl when code/ is gone', async () => {
    const r = await scan(bufferSource('m.ptl', read('evil-mobile-bytecode-only.ptl')));
    const ops = r.containerFindings
      .filter((f) => f.evidence?.via === 'bytecode')
      .map((f) => f.evidence?.target);
    expect(ops).toContain('aten::from_file');
    expect(r.streams.map((s) => s.role)).toContain('torchscript bytecode.pkl');
  });

  it('recognises torch.package by content and lists packaged, extern and mocked modules', async () => {
    const r = await scan(bufferSource('p.pt', read('package-mocked.pt')));
    expect(r.format).toBe('torch-package');
    const summary = r.containerFindings.find((f) => f.code === 'torch-package');
    expect(summary?.evidence).toMatchObject({ mocked: 'brine_optional_dep' });
    expect(String(summary?.evidence?.packaged)).toMatch(/brine_pkg_mocked\.net/);
    expect(String(summary?.evidence?.extern)).toMatch(/\btorch\b/);
    // .data/<n>.storage holds tensor bytes: never a pickle stream, never unscannable
    expect(r.problems).toEqual([]);
    const side = await scan(bufferSource('p.pt', read('package-side-effect.pt')));
    const call = side.containerFindings.find(
      (f) => f.code === 'torch-package-call' && f.evidence?.target === 'os.system',
    );
    expect(call?.evidence).toMatchObject({ line: 6, onLoad: true });
  });

  it('reads the TorchScript of ScriptModules a torch.package holds (.data/ts_code)', async () => {
    const r = await scan(bufferSource('p.pt', read('package-scripted-evil.pt')));
    expect(r.format).toBe('torch-package');
    const hit = r.containerFindings.find((f) => f.evidence?.target === 'aten::from_file');
    expect(hit?.path.at(-1)).toMatch(/\.data\/ts_code\/code\/__torch__\.py$/);
  });

  it('the streaming reader reports the same facts as the random-access reader', async () => {
    const files = readdirSync(dir).filter((f) => /\.(pt|ptl)$/.test(f));
    expect(files.length).toBeGreaterThan(10);
    for (const f of files) {
      const bytes = read(f);
      const random = await scan(bufferSource(f, bytes));
      const streamed = await scanStream(chunked(bytes, 777), { name: f, bufferLimit: 64 });
      expect(streamed.format, f).toBe(random.format);
      expect(facts(streamed), f).toEqual(facts(random));
      expect(streamed.problems, f).toEqual(random.problems);
    }
  });
});
