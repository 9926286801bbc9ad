import type { FileReport, RuleDoc } from '@brine/rules';
import type { RunReport } from '../run.js';

/** Hand-built reports covering every verdict, a container path, a waiver and hostile evidence. */
export const sampleRules: RuleDoc[] = [
  {
    id: 'BRINE-PKL-001',
    name: 'dangerous-import',
    title: 'Pickle imports a callable that runs commands or code',
    severity: 'critical',
    explanation:
      'The unpickler imports every GLOBAL it meets and calls whatever REDUCE applies it to, so a model file that names os.system runs a shell command when it is loaded.',
    remediation:
      'Do not load this file. Ask the publisher for a safetensors version, or load it with torch.load(weights_only=True) after review.',
    references: ['https://docs.python.org/3/library/pickle.html'],
    tags: ['pickle', 'rce'],
  },
  {
    id: 'BRINE-PKL-010',
    name: 'unknown-import',
    title: 'Pickle imports something that is not on the allowlist',
    severity: 'medium',
    explanation:
      'The file imports a global brine does not know. It may be harmless library code or a gadget.',
    remediation: 'Check where the module comes from. Add it to a policy allowlist if it is expected.',
    references: [],
    tags: ['pickle'],
  },
];

const dangerous: FileReport = {
  file: 'models/evil.pkl',
  size: 61,
  format: 'pickle',
  verdict: 'dangerous',
  reasons: ['os.system is called when the file is loaded'],
  findings: [
    {
      ruleId: 'BRINE-PKL-001',
      severity: 'critical',
      verdict: 'dangerous',
      fails: true,
      message: 'os.system is imported and called on load',
      path: ['models/evil.pkl'],
      offset: 2,
      length: 11,
      opcode: 'GLOBAL',
      symbol: 'os.system',
      call: "os.system('touch /tmp/brine-pwned')",
    },
  ],
  imports: [
    {
      module: 'os',
      name: 'system',
      tier: 'dangerous',
      family: 'command-execution',
      path: ['models/evil.pkl'],
      offset: 2,
      opcode: 'GLOBAL',
      called: true,
    },
  ],
  problems: [],
  stats: { bytesRead: 61, durationMs: 0.4, pickles: 1, opcodes: 7 },
  fails: true,
};

const clean: FileReport = {
  file: 'models/resnet.pt',
  size: 3 * 1024 * 1024 * 1024,
  format: 'pytorch-zip',
  verdict: 'clean',
  reasons: [],
  findings: [],
  imports: [
    {
      module: 'torch._utils',
      name: '_rebuild_tensor_v2',
      tier: 'safe',
      path: ['models/resnet.pt', 'archive/data.pkl'],
      offset: 40,
      opcode: 'STACK_GLOBAL',
      called: true,
    },
    {
      module: 'collections',
      name: 'OrderedDict',
      tier: 'safe',
      path: ['models/resnet.pt', 'archive/data.pkl'],
      offset: 12,
      opcode: 'STACK_GLOBAL',
      called: true,
    },
  ],
  problems: [],
  stats: { bytesRead: 96 * 1024, durationMs: 3.2, pickles: 1, opcodes: 4211 },
  fails: false,
};

const suspicious: FileReport = {
  file: 'models/custom.joblib',
  size: 2048,
  format: 'joblib',
  verdict: 'suspicious',
  reasons: ['imports mylib.layers.Custom, which is not on the allowlist'],
  findings: [
    {
      ruleId: 'BRINE-PKL-010',
      severity: 'medium',
      verdict: 'suspicious',
      fails: false,
      message: 'mylib.layers.Custom is not on the allowlist',
      path: ['models/custom.joblib'],
      offset: 300,
      opcode: 'STACK_GLOBAL',
      symbol: 'mylib.layers.Custom',
    },
    {
      ruleId: 'BRINE-PKL-010',
      severity: 'medium',
      verdict: 'suspicious',
      fails: false,
      message: 'sklearn.tree._tree.Tree is not on the allowlist',
      path: ['models/custom.joblib'],
      offset: 900,
      opcode: 'STACK_GLOBAL',
      symbol: 'sklearn.tree._tree.Tree',
      waived: { reason: 'sklearn trees are reviewed' },
    },
  ],
  imports: [
    {
      module: 'mylib.layers',
      name: 'Custom',
      tier: 'unknown',
      path: ['models/custom.joblib'],
      offset: 300,
      opcode: 'STACK_GLOBAL',
      called: false,
    },
    {
      module: 'numpy',
      name: 'dtype',
      tier: 'safe',
      path: ['models/custom.joblib'],
      offset: 120,
      opcode: 'STACK_GLOBAL',
      called: true,
    },
  ],
  problems: [],
  stats: { bytesRead: 2048, durationMs: 0.9, pickles: 2, opcodes: 180 },
  fails: false,
};

const broken: FileReport = {
  file: 'models/broken \u001b[2Jname.pt',
  size: 5000,
  format: 'pytorch-zip',
  verdict: 'unscannable',
  reasons: ['archive/data.pkl is truncated'],
  findings: [
    {
      ruleId: 'BRINE-PKL-001',
      severity: 'critical',
      verdict: 'dangerous',
      fails: true,
      message: 'posix.system is imported and called on load',
      path: ['models/broken \u001b[2Jname.pt', 'archive/data.pkl'],
      offset: 7,
      fileOffset: 107,
      opcode: 'STACK_GLOBAL',
      symbol: 'posix.system',
      call: "posix.system('echo \u001b]0;owned\u0007 \u202egnp.')",
    },
  ],
  imports: [],
  problems: [
    {
      code: 'truncated',
      message: 'pickle stream ends without STOP',
      path: ['models/broken \u001b[2Jname.pt', 'archive/data.pkl'],
      offset: 77,
    },
  ],
  stats: { bytesRead: 5000, durationMs: 1.1, pickles: 1, opcodes: 9 },
  fails: true,
};

/** A run with one file of every verdict. */
export function sampleRun(overrides: Partial<RunReport> = {}): RunReport {
  return {
    tool: { name: 'brine', version: '0.1.0', rulesetVersion: '2026.11.0', engineVersion: 'scanner-1' },
    files: [dangerous, clean, suspicious, broken],
    startedAt: '2026-11-25T18:00:00.000Z',
    durationMs: 1234,
    policy: 'default',
    ...overrides,
  };
}

/** The same files one by one, to build runs with exactly the verdicts a test needs. */
export const sampleFiles = { dangerous, clean, suspicious, broken };
