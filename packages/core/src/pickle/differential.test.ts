import { describe, expect, it } from 'vitest';
import type { OpcodeTraceEntry } from './events.js';
import { scanPickle } from './scan.js';
import { fixture, golden, manifest } from './test-support/fixtures.js';

const asTuples = (trace: OpcodeTraceEntry[] | undefined) =>
  (trace ?? []).map((t) => [t.offset, t.name, t.arg]);

// Differential test against pickletools.genops goldens written by fixtures/generators/pickles.py.
describe('opcode trace equals pickletools.genops', () => {
  for (const entry of manifest()) {
    it(entry.file, async () => {
      const g = golden(entry.file);
      // pickletools reads FRAMEs linearly; where brine deliberately follows the C unpickler
      // instead (frameDivergence fixtures), the genops comparison uses brine's linear reading.
      const reading = entry.frameDivergence ? 'linear' : 'c-file';
      const r = await scanPickle(fixture(entry.file), { traceOpcodes: true, frameReading: reading });
      expect(asTuples(r.trace)).toEqual(g.ops);
      if (g.error !== null) {
        // genops gave up: brine must say why, never report a clean complete stream silently
        expect(r.anomalies.length).toBeGreaterThan(0);
      }
    });
  }
});
