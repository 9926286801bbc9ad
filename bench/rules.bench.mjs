// Rules stage speed: classifying 1 million imports must take well under a second, so the rules never
// show up next to I/O and opcode scanning. Uses the built package (npm run bench builds first).
import { classifyImport, evaluate } from '@brine/rules';

const typical = [
  ['collections', 'OrderedDict'],
  ['torch._utils', '_rebuild_tensor_v2'],
  ['torch._utils', '_rebuild_parameter'],
  ['torch', 'FloatStorage'],
  ['torch', 'BFloat16Storage'],
  ['torch.nn.modules.linear', 'Linear'],
  ['torch.nn.modules.conv', 'Conv2d'],
  ['numpy.core.multiarray', '_reconstruct'],
  ['numpy', 'dtype'],
  ['_codecs', 'encode'],
  ['os', 'system'],
  ['pathlib', 'os.system'],
  ['asyncio.unix_events', '_UnixSubprocessTransport._start'],
  ['statistics', 'mean'],
  ['mymodels.net', 'ResNetish'],
  ['numpy', '__builtins__'],
];

function time(label, n, fn) {
  const t0 = performance.now();
  fn();
  const ms = performance.now() - t0;
  console.log(
    `${label.padEnd(58)} ${ms.toFixed(1).padStart(8)} ms  (${((ms * 1e6) / n).toFixed(0)} ns/import)`,
  );
  return ms;
}

const N = 1_000_000;
let sink = 0;
// Warm-up so the JIT has compiled the hot path before timing.
for (let i = 0; i < 50_000; i++) sink += classifyImport(...typical[i % typical.length]).tier.length;

time('1M imports, 16 distinct names (real checkpoints repeat)', N, () => {
  for (let i = 0; i < N; i++) sink += classifyImport(...typical[i % typical.length]).tier.length;
});

const distinct = Array.from({ length: N }, (_, i) => [
  `pkg${i % 997}.models.m${i}`,
  i % 3 ? `Class${i}` : `a.b${i}.c`,
]);
time('1M imports, all distinct (no cache hits; dotted every 3rd)', N, () => {
  for (let i = 0; i < N; i++) sink += classifyImport(distinct[i][0], distinct[i][1], 4).tier.length;
});

const stdlibish = Array.from({ length: N }, (_, i) => [
  ['os', 'torch.nn', 'numpy.linalg', 'json', 'mypkg'][i % 5],
  `f${i}`,
]);
time('1M imports, distinct names in stdlib/torch/numpy/user modules', N, () => {
  for (let i = 0; i < N; i++) sink += classifyImport(stdlibish[i][0], stdlibish[i][1], 2).tier.length;
});

// A whole-file evaluation with many imports and calls.
const imports = [];
const calls = [];
for (let i = 0; i < 100_000; i++) {
  const [module, name] = typical[i % typical.length];
  imports.push({
    module,
    name,
    opcode: 'GLOBAL',
    offset: i * 20,
    pickleIndex: 0,
    protocol: 2,
    resolved: true,
    called: true,
  });
  calls.push({
    opcode: 'REDUCE',
    offset: i * 20 + 10,
    pickleIndex: 0,
    target: { kind: 'global', importIndex: i },
    args: [{ kind: 'str', value: 'x', offset: 0, length: 1, truncated: false }],
  });
}
const fileScan = {
  file: 'big.pkl',
  size: 2_000_000,
  format: 'pickle',
  formats: [],
  streams: [
    {
      path: ['big.pkl'],
      role: 'pickle',
      result: {
        imports,
        calls,
        persistentIds: [],
        extensions: [],
        anomalies: [],
        stats: {
          bytesScanned: 0,
          bytesSkipped: 0,
          opcodes: 0,
          pickles: 1,
          maxStackDepth: 0,
          memoEntries: 0,
          protocols: [2],
        },
        complete: true,
      },
    },
  ],
  containerFindings: [],
  problems: [],
  bytesRead: 0,
  durationMs: 0,
};
time('evaluate(): one stream with 100k imports + 100k calls', 100_000, () => {
  sink += evaluate(fileScan).findings.length;
});
if (sink === 42) console.log('');
