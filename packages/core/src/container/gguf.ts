import type { ForwardReader } from '../source/stream.js';
import type { ContainerReader, ReaderContext } from './types.js';

/**
 * GGUF (llama.cpp): typed key/value metadata and raw tensors. No loader unpickles anything in
 * it, so it is recognised and reported as a format that carries no code; only the fixed header
 * is checked.
 */
export const ggufReader: ContainerReader = {
  format: 'gguf',
  version: '1',
  detect: (head) =>
    head.length >= 8 && head[0] === 0x47 && head[1] === 0x47 && head[2] === 0x55 && head[3] === 0x46,
  stream: readGguf,
};

async function readGguf(reader: ForwardReader, ctx: ReaderContext): Promise<void> {
  const h = await reader.read(24);
  const version = h.length >= 8 ? new DataView(h.buffer, h.byteOffset, h.length).getUint32(4, true) : 0;
  if (version < 1 || version > 3) {
    ctx.note({
      kind: 'finding',
      code: 'gguf-bad-header',
      message: `unknown GGUF version ${version}`,
      offset: 4,
      evidence: { version },
    });
  }
  ctx.setFormat('gguf');
}
