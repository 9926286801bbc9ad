import { describe, expect, it } from 'vitest';
import { scan } from '../engine/scan.js';
import { bufferSource } from '../source/buffer.js';
import { fixture } from './test-support/fixtures.js';

// xz-decompress lets one xz stream decode at a time per realm. These run in one module realm, in
// order, as the CLI, the worker and the browser page scan file after file.
const within = <T>(p: Promise<T>, ms = 5_000) =>
  Promise.race([p, new Promise<'hung'>((r) => setTimeout(() => r('hung'), ms))]);

/** python3: lzma.compress(lzma.compress(open('evil.pkl','rb').read(), format=FORMAT_XZ), format=FORMAT_XZ) */
const XZ_IN_XZ = Uint8Array.from(
  Buffer.from(
    'fd377a585a000004e6d6b4460200210116000000742fe5a301006ffd377a585a000004e6d6b4460200210116000000742fe5a3' +
      '010035800263706f7369780a73797374656d0a71005816000000746f756368202f746d702f6272696e652d70776e656471018571' +
      '025271032e000000412454ce89bd2a2400014e363942c6811fb6f37d010000000004595a00215b9b54e51d3b65000188017000' +
      '000044cbe967b1c467fb020000000004595a',
    'hex',
  ),
);

describe('xz streams one after another', () => {
  it('a pickle that stops early does not leave the next xz scan waiting forever', async () => {
    for (const name of ['evil.pkl.xz', 'joblib-evil.joblib.xz', 'codec-text.xz', 'evil.pkl.xz']) {
      const result = await within(scan(bufferSource(name, fixture(name))));
      expect(result, name).not.toBe('hung');
      if (result !== 'hung') expect(result.formats.map((f) => f.format)).toContain('xz');
    }
  });

  it('xz inside xz is reported, not decoded into a deadlock', async () => {
    const result = await within(scan(bufferSource('evil.pkl.xz.xz', XZ_IN_XZ)));
    expect(result).not.toBe('hung');
    if (result === 'hung') return;
    expect(result.problems.map((p) => p.code)).toContain('xz-nested');
    // And the lock is free again for the next file.
    expect(await within(scan(bufferSource('evil.pkl.xz', fixture('evil.pkl.xz'))))).not.toBe('hung');
  });
});
