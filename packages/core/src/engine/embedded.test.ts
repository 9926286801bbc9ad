import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { bufferSource } from '../source/buffer.js';
import { scan } from './scan.js';

const ascii = (s: string) => Uint8Array.from(s, (c) => c.charCodeAt(0));
const cat = (...parts: Uint8Array[]) => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
};
const u32 = (n: number) => Uint8Array.of(n & 255, (n >> 8) & 255, (n >> 16) & 255, n >>> 24);

/** `module.name(arg)` as a protocol-3 pickle. */
function callWith(module: string, name: string, arg: Uint8Array): Uint8Array {
  return cat(ascii(`\x80\x03c${module}\n${name}\n`), arg, ascii('\x85R.'));
}
const text = (s: string) => cat(ascii('X'), u32(s.length), ascii(s));
const bytesLiteral = (b: Uint8Array) => cat(ascii('B'), u32(b.length), b);

const inner = callWith('os', 'system', text('touch /tmp/brine-pwned'));
const outer = callWith('pickle', 'loads', bytesLiteral(inner));
// PROTO 3 (2) + GLOBAL line (14) + BINBYTES opcode and length (5)
const innerOffset = 2 + 'cpickle\nloads\n'.length + 5;

describe('pickles embedded in literals', () => {
  it('are scanned as streams of their own, at ‹nested@offset›', async () => {
    const r = await scan(bufferSource('outer.pkl', outer));
    const nested = r.streams.find((s) => s.path.at(-1) === `‹nested@${innerOffset}›`);
    expect(nested, JSON.stringify(r.streams.map((s) => s.path))).toBeDefined();
    expect(nested?.result.imports.map((i) => `${i.module}.${i.name}`)).toEqual(['os.system']);
    expect(nested?.result.imports[0]?.called).toBe(true);
  });

  it('are followed inside one another, up to the depth limit', async () => {
    const twice = callWith('pickle', 'loads', bytesLiteral(outer));
    const r = await scan(bufferSource('twice.pkl', twice));
    const deepest = r.streams.find((s) => s.result.imports.some((i) => i.name === 'system'));
    expect(deepest?.path.filter((p) => p.startsWith('‹nested@'))).toHaveLength(2);

    let deep = inner;
    for (let i = 0; i < 10; i++) deep = callWith('pickle', 'loads', bytesLiteral(deep));
    const limited = await scan(bufferSource('deep.pkl', deep), { limits: { maxDepth: 3 } });
    expect(limited.problems.length).toBeGreaterThan(0);
  });

  it('ignore data that merely starts with a PROTO byte (array bytes), even where it cannot be re-read', async () => {
    const data = Uint8Array.from({ length: 96 }, (_, i) => (i === 0 ? 0x80 : i === 1 ? 2 : (i * 37) & 0xff));
    const outerData = callWith('numpy.core.multiarray', '_reconstruct', bytesLiteral(data));
    for (const [name, bytes] of [
      ['array.pkl', outerData],
      ['array.pkl.gz', gzipSync(outerData)],
    ] as const) {
      const r = await scan(bufferSource(name, bytes));
      expect(r.streams, name).toHaveLength(1);
      expect(
        r.problems.map((p) => p.code),
        name,
      ).not.toContain('nested-pickle-unscanned');
    }
  });

  it('leave plain bytes alone', async () => {
    const r = await scan(
      bufferSource('plain.pkl', callWith('builtins', 'bytearray', bytesLiteral(ascii('hello')))),
    );
    expect(r.streams).toHaveLength(1);
  });

  it('are reported, never silently dropped, when the stream cannot be read again', async () => {
    // A gzip member is decompressed once, front to back: the literal cannot be re-read afterwards.
    const r = await scan(bufferSource('outer.pkl.gz', gzipSync(outer)));
    expect(r.streams.some((s) => s.path.at(-1)?.startsWith('‹nested@'))).toBe(false);
    expect(r.problems.map((p) => p.code)).toContain('nested-pickle-unscanned');
  });
});
