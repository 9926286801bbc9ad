import type { EvidenceValue, ScanResult } from '@brine/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { evaluate } from './evaluate.js';
import { builtinPolicies } from './policy.js';
import { fileScan } from './test-support/scan-builder.js';

const index = fc.integer({ min: -1, max: 8 });
const { value: evidence } = fc.letrec<{ value: EvidenceValue }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    fc.constant<EvidenceValue>({ kind: 'none' }),
    fc.integer().map<EvidenceValue>((n) => ({ kind: 'int', value: String(n) })),
    fc
      .string()
      .map<EvidenceValue>((s) => ({ kind: 'str', value: s, offset: 0, length: s.length, truncated: false })),
    fc
      .constantFrom('', '80', '8004', '800295')
      .map<EvidenceValue>((p) => ({ kind: 'bytes', preview: p, offset: 0, length: 9, truncated: false })),
    index.map<EvidenceValue>((i) => ({ kind: 'global', importIndex: i })),
    index.map<EvidenceValue>((i) => ({ kind: 'call', callIndex: i })),
    index.map<EvidenceValue>((i) => ({ kind: 'persid', persidIndex: i })),
    fc.nat(300).map<EvidenceValue>((code) => ({ kind: 'ext', code })),
    fc
      .array(tie('value'), { maxLength: 6 })
      .map<EvidenceValue>((items) => ({ kind: 'tuple', items, truncated: false })),
    fc
      .array(fc.tuple(tie('value'), tie('value')), { maxLength: 3 })
      .map<EvidenceValue>((entries) => ({ kind: 'dict', entries, truncated: false })),
  ),
}));

const scanResult: fc.Arbitrary<ScanResult> = fc.record({
  imports: fc.array(
    fc.record({
      module: fc.constantFrom('os', 'torch', 'collections', 'mypkg', '', 'pathlib'),
      name: fc.constantFrom('system', 'FloatStorage', 'OrderedDict', 'Net', 'os.system', '__globals__', ''),
      opcode: fc.constantFrom('GLOBAL' as const, 'STACK_GLOBAL' as const, 'INST' as const),
      offset: fc.nat(1000),
      pickleIndex: fc.nat(2),
      protocol: fc.nat(5),
      resolved: fc.boolean(),
      called: fc.boolean(),
    }),
    { maxLength: 8 },
  ),
  calls: fc.array(
    fc.record({
      opcode: fc.constantFrom('REDUCE' as const, 'BUILD' as const, 'NEWOBJ' as const, 'OBJ' as const),
      offset: fc.nat(1000),
      pickleIndex: fc.nat(2),
      target: evidence,
      args: fc.array(evidence, { maxLength: 3 }),
    }),
    { maxLength: 8 },
  ),
  persistentIds: fc.array(
    fc.record({
      opcode: fc.constant('BINPERSID' as const),
      offset: fc.nat(1000),
      pickleIndex: fc.nat(2),
      pid: evidence,
    }),
    { maxLength: 3 },
  ),
  extensions: fc.array(
    fc.record({
      opcode: fc.constant('EXT1' as const),
      offset: fc.nat(1000),
      pickleIndex: fc.nat(2),
      code: fc.nat(255),
    }),
    { maxLength: 2 },
  ),
  anomalies: fc.array(
    fc.record({
      code: fc.constantFrom(
        'truncated' as const,
        'unknown-opcode' as const,
        'frame-crossing' as const,
        'memo-miss' as const,
        'trailing-bytes' as const,
      ),
      offset: fc.nat(1000),
      pickleIndex: fc.nat(2),
      message: fc.constant('m'),
      fatal: fc.boolean(),
    }),
    { maxLength: 3 },
  ),
  stats: fc.constant({
    bytesScanned: 1,
    bytesSkipped: 0,
    opcodes: 1,
    pickles: 1,
    maxStackDepth: 1,
    memoEntries: 0,
    protocols: [2],
  }),
  complete: fc.boolean(),
});

describe('evaluate properties', () => {
  it('never throws, and a verdict is never clean when a stream is incomplete or anything dangerous is imported', () => {
    fc.assert(
      fc.property(
        fc.array(scanResult, { minLength: 1, maxLength: 3 }),
        fc.constantFrom('default', 'strict', 'weights-only' as const),
        (results, p) => {
          const streams = results.map((result, i) => ({ path: ['f.pkl', `s${i}`], role: 'pickle', result }));
          const r = evaluate(fileScan(streams), builtinPolicies[p as 'default']);
          if (results.some((x) => !x.complete)) expect(r.verdict).not.toBe('clean');
          if (r.imports.some((i) => i.tier === 'dangerous')) expect(r.verdict).toBe('dangerous');
          expect(r.fails).toBe(r.findings.some((f) => f.fails));
          if (r.verdict === 'dangerous' || r.verdict === 'unscannable') expect(r.fails).toBe(true);
        },
      ),
      { numRuns: 400 },
    );
  });
});
