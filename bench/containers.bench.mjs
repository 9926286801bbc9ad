#!/usr/bin/env node
// Container reading cost of `scan()` (built @brine/core) on big model files, next to Python's
// zipfile + pickletools doing the same job (find the pickles, walk their opcodes, skip tensor data).
// Inputs, generated once under bench-data/containers/ by Debian's python3 with torch/joblib/numpy,
// are sparse: tensor bytes are zeros written as holes, so 4 GiB of inputs cost almost no disk.
//   - a ~2 GiB torch.save zip checkpoint (200 float32 tensors of 10 MiB)
//   - a ~1 GiB legacy (stacked-pickle) checkpoint (100 tensors of 10 MiB)
//   - a ~1 GiB joblib file (a dict of numpy arrays and a fitted-model-like dict)
// Goal: time and memory independent of tensor size (2 GiB checkpoint < 100 ms, < 100 MB RSS).
// Each measurement runs in a fresh process (peak RSS is per process); the best of 5 runs is shown.
//
//   node bench/containers.bench.mjs [--skip-python] [--runs 5]
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const data = join(root, 'bench-data', 'containers');
const core = join(root, 'packages/core/dist/index.js');
const args = process.argv.slice(2);
const skipPython = args.includes('--skip-python');
const RUNS = Number(args[args.indexOf('--runs') + 1]) || 5;
const PY = '/usr/bin/python3';

mkdirSync(data, { recursive: true });

const GENERATE = `
import io, os, sys, numpy as np
class Sparse(io.RawIOBase):
    """File writer that turns all-zero writes into seeks, leaving holes."""
    def __init__(self, path): self.f = open(path, 'wb'); self.pos = 0; self.end = 0
    def writable(self): return True
    def seekable(self): return True
    def tell(self): return self.pos
    def seek(self, off, whence=0):
        self.pos = off if whence == 0 else self.pos + off if whence == 1 else self.end + off
        return self.pos
    def write(self, b):
        mv = memoryview(b).cast('B')
        if len(mv) >= 4096 and not np.frombuffer(mv, np.uint8).any():
            self.pos += len(mv)
        else:
            self.f.seek(self.pos); self.f.write(mv); self.pos += len(mv)
        self.end = max(self.end, self.pos)
        return len(mv)
    def close(self):
        self.f.truncate(self.end); self.f.close()
out, kind = sys.argv[1], sys.argv[2]
w = Sparse(out)
if kind in ('zip', 'legacy'):
    import torch
    n = 200 if kind == 'zip' else 100
    sd = {f'layer{i}.weight': torch.zeros(10 * 1024 * 1024 // 4) for i in range(n)}
    torch.save(sd, w, _use_new_zipfile_serialization=(kind == 'zip'))
elif kind == 'joblib':
    import joblib
    obj = {'coef': [np.zeros(8 * 1024 * 1024 // 8) for _ in range(128)], 'meta': {'n_features': 10, 'classes': list(range(10))}}
    joblib.dump(obj, w)
else:
    import joblib
    codec = kind.split('-')[1]
    w.close(); os.remove(out)
    obj = {'coef': [np.zeros(8 * 1024 * 1024 // 8) for _ in range(32 if codec == 'zlib' else 8)], 'meta': {'n_features': 10}}
    joblib.dump(obj, out, compress=(codec, 1))
    sys.exit(0)
w.close()
`;

const PYTHON_JOB = `
import pickletools, resource, sys, time, zipfile, io
path, kind = sys.argv[1], sys.argv[2]
def run():
    ops = 0
    if kind == 'zip':
        with zipfile.ZipFile(path) as z:
            for name in z.namelist():
                if name.endswith('.pkl'):
                    ops += sum(1 for _ in pickletools.genops(z.read(name)))
    elif kind == 'legacy':
        # genops on the file object stops right after each STOP: five stacked pickles
        with open(path, 'rb') as f:
            for _ in range(5):
                for op, arg, p in pickletools.genops(f):
                    ops += 1
    elif kind.startswith('joblib-'):
        # the least a Python scanner must do: decompress the whole stream (arrays included)
        import zlib, lzma
        d = zlib.decompressobj() if kind.endswith('zlib') else lzma.LZMADecompressor()
        with open(path, 'rb') as f:
            while True:
                c = f.read(1 << 20)
                if not c:
                    break
                ops += len(d.decompress(c))
    else:
        # genops cannot skip joblib's raw array bytes: it walks until the first array, then fails
        with open(path, 'rb') as f:
            try:
                for _ in pickletools.genops(f):
                    ops += 1
            except Exception:
                pass
    return ops
best = None
for _ in range(int(sys.argv[3])):
    t = time.perf_counter(); ops = run(); dt = (time.perf_counter() - t) * 1000
    best = dt if best is None else min(best, dt)
print(f'{best:.1f} {ops} {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024}')
`;

const NODE_JOB = `
const { openFileSource, scan } = await import(${JSON.stringify(core)});
const [path, runs] = [process.argv[1], Number(process.argv[2])];
let best = Infinity, last;
for (let i = 0; i < runs; i++) {
  const src = await openFileSource(path);
  const t = performance.now();
  last = await scan(src);
  best = Math.min(best, performance.now() - t);
  await src.close();
}
const opcodes = last.streams.reduce((a, s) => a + s.result.stats.opcodes, 0);
console.log(JSON.stringify({ ms: best, bytesRead: last.bytesRead, streams: last.streams.length, opcodes,
  problems: last.problems.map((p) => p.code), format: last.format, rss: process.resourceUsage().maxRSS / 1024 }));
`;

const inputs = [
  { file: 'checkpoint-2g.pt', kind: 'zip', label: '~2 GiB torch zip (200 × 10 MiB)' },
  { file: 'legacy-1g.pt', kind: 'legacy', label: '~1 GiB legacy torch (100 × 10 MiB)' },
  { file: 'model-1g.joblib', kind: 'joblib', label: '~1 GiB joblib (128 arrays × 8 MiB)' },
  { file: 'model-256m.joblib.zlib', kind: 'joblib-zlib', label: 'joblib zlib, 256 MiB inflated', runs: 2 },
  { file: 'model-64m.joblib.lzma', kind: 'joblib-lzma', label: 'joblib lzma, 64 MiB inflated', runs: 2 },
];

const fmtMiB = (n) => `${(n / 2 ** 20).toFixed(1)} MiB`;
if (!existsSync(core)) {
  console.log('packages/core/dist missing: run `npm run build -w @brine/core` first');
  process.exit(1);
}
for (const inp of inputs) {
  const path = join(data, inp.file);
  if (!existsSync(path)) {
    const t = performance.now();
    const g = spawnSync(PY, ['-c', GENERATE, path, inp.kind], { encoding: 'utf8' });
    if (g.status !== 0) {
      console.log(
        `could not generate ${inp.file} (needs ${PY} with torch, joblib, numpy): ${g.stderr.trim().split('\n').pop()}`,
      );
      continue;
    }
    console.log(`generated ${inp.file} in ${((performance.now() - t) / 1000).toFixed(1)} s`);
  }
}

console.log(
  '\nfile                                   size        brine ms  bytes read   peak RSS | python ms  peak RSS',
);
for (const inp of inputs) {
  const path = join(data, inp.file);
  if (!existsSync(path)) continue;
  const size = statSync(path).size;
  const runs = String(inp.runs ?? RUNS);
  const n = spawnSync(process.execPath, ['--input-type=module', '-e', NODE_JOB, path, runs], {
    encoding: 'utf8',
  });
  if (n.status !== 0) {
    console.log(`${inp.label}: brine failed: ${n.stderr.trim().split('\n').slice(-3).join(' ')}`);
    continue;
  }
  const r = JSON.parse(n.stdout.trim().split('\n').pop());
  let py = 'skipped';
  if (!skipPython) {
    const p = spawnSync(PY, ['-c', PYTHON_JOB, path, inp.kind, runs], { encoding: 'utf8' });
    if (p.status === 0) {
      const [ms, ops, rss] = p.stdout.trim().split(' ');
      const what = inp.kind.startsWith('joblib-')
        ? `${ops} bytes decompressed, no opcodes walked`
        : `${ops} opcodes${inp.kind === 'joblib' ? ', stops at the first array' : ''}`;
      py = `${Number(ms).toFixed(1).padStart(9)}  ${rss.padStart(5)} MB  (${what})`;
    } else py = `failed: ${p.stderr.trim().split('\n').pop()}`;
  }
  console.log(
    `${inp.label.padEnd(38)} ${fmtMiB(size).padStart(11)} ${r.ms.toFixed(1).padStart(9)} ${fmtMiB(r.bytesRead).padStart(11)} ${`${r.rss.toFixed(0)} MB`.padStart(10)} | ${py}`,
  );
  console.log(
    `${''.padEnd(38)} format=${r.format} streams=${r.streams} opcodes=${r.opcodes}${r.problems.length ? ` problems=${r.problems.join(',')}` : ''}`,
  );
}
