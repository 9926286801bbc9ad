import type { ForwardReader } from '../source/stream.js';
import type { ContainerReader, ReaderContext } from './types.js';

/**
 * GGUF (llama.cpp): typed key/value metadata and raw tensors. No loader unpickles anything in
 * it, so it is recognised and reported as a format that carries no code. The header (metadata
 * and tensor descriptions) is walked so a cut or lying header is a finding; tensor data is not read.
 */
export const ggufReader: ContainerReader = {
  format: 'gguf',
  version: '1',
  detect: (head) =>
    head.length >= 8 && head[0] === 0x47 && head[1] === 0x47 && head[2] === 0x55 && head[3] === 0x46,
  stream: readGguf,
};

/** Sizes of the fixed-width metadata value types (gguf_type 0..12; 8 = string, 9 = array). */
const FIXED: Record<number, number> = { 0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8 };
const MAX_STRING = 1 << 24;
const MAX_COUNT = 1 << 24;

class Truncated extends Error {}

async function readGguf(reader: ForwardReader, ctx: ReaderContext): Promise<void> {
  ctx.setFormat('gguf');
  const bad = (message: string, evidence?: Record<string, string | number | boolean>) =>
    ctx.note({
      kind: 'finding',
      code: 'gguf-bad-header',
      message,
      offset: reader.position,
      ...(evidence ? { evidence } : {}),
    });
  const bytes = async (n: number) => {
    const b = await reader.read(n);
    if (b.length < n) throw new Truncated();
    return new DataView(b.buffer, b.byteOffset, b.length);
  };
  const u32 = async () => (await bytes(4)).getUint32(0, true);
  const u64 = async () => Number((await bytes(8)).getBigUint64(0, true));
  const str = async () => {
    const n = await u64();
    if (n > MAX_STRING) throw new RangeError(`string of ${n} bytes`);
    await bytes(n);
  };
  const value = async (type: number, depth: number): Promise<void> => {
    const fixed = FIXED[type];
    if (fixed !== undefined) return void (await bytes(fixed));
    if (type === 8) return str();
    if (type === 9 && depth === 0) {
      const inner = await u32();
      const count = await u64();
      if (count > MAX_COUNT) throw new RangeError(`array of ${count} items`);
      const size = FIXED[inner];
      if (size !== undefined) return void (await reader.skip(size * count));
      for (let i = 0; i < count; i++) await value(inner, depth + 1);
      return;
    }
    throw new RangeError(`unknown value type ${type}`);
  };
  try {
    await bytes(4);
    const version = await u32();
    if (version < 2 || version > 3) {
      bad(`unsupported GGUF version ${version}`, { version });
      return;
    }
    const tensors = await u64();
    const kvs = await u64();
    if (tensors > MAX_COUNT || kvs > MAX_COUNT) {
      bad(`implausible counts: ${tensors} tensors, ${kvs} metadata keys`, { tensors, kvs });
      return;
    }
    for (let i = 0; i < kvs; i++) {
      await str();
      await value(await u32(), 0);
    }
    for (let i = 0; i < tensors; i++) {
      await str();
      const dims = await u32();
      if (dims > 8) throw new RangeError(`tensor with ${dims} dimensions`);
      await bytes(8 * dims + 4 + 8);
    }
  } catch (e) {
    if (e instanceof Truncated) bad('GGUF header is cut short');
    else if (e instanceof RangeError) bad(`GGUF header is malformed: ${e.message}`);
    else throw e;
  }
}
