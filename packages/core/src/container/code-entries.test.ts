import { describe, expect, it } from 'vitest';
import { chunkReader } from '../source/stream.js';
import { readBytecode, readCodeText } from './code-entries.js';
import { MAX_PACKAGE_SOURCE_BYTES } from './torch-package.js';
import { TorchScriptCollector } from './torchscript.js';
import type { Note, ReaderContext } from './types.js';

async function* one(bytes: Uint8Array): AsyncGenerator<Uint8Array> {
  yield bytes;
}

function context(notes: Note[]): ReaderContext {
  return { note: (n: Note) => notes.push(n) } as unknown as ReaderContext;
}

describe('code entries', () => {
  it('reads source up to the limit and reports the rest as not scanned', async () => {
    const notes: Note[] = [];
    const big = new Uint8Array(MAX_PACKAGE_SOURCE_BYTES + 10).fill(0x20);
    let got = -1;
    await readCodeText(chunkReader('x', one(big)), 'code/x.py', undefined, context(notes), (t) => {
      got = t.length;
    });
    expect(got).toBe(MAX_PACKAGE_SOURCE_BYTES);
    expect(notes).toMatchObject([{ kind: 'problem', code: 'limit-code-size', entry: 'code/x.py' }]);

    const small: Note[] = [];
    await readCodeText(
      chunkReader('y', one(new TextEncoder().encode('x = 1\n'))),
      'y',
      6,
      context(small),
      () => {},
    );
    expect(small).toEqual([]);
  });

  it('a bytecode.pkl whose operator table cannot be read is a problem, and is left unread by the peek', async () => {
    const notes: Note[] = [];
    const reader = chunkReader('b', one(new Uint8Array([0x80, 2, 0xff, 0x2e])));
    const script = new TorchScriptCollector();
    await readBytecode(reader, 'bytecode.pkl', 4, script, context(notes));
    expect(notes).toMatchObject([{ kind: 'problem', code: 'torchscript-bytecode-unreadable', offset: 2 }]);
    expect((await reader.read(10)).length).toBe(4); // the scanner still gets every byte
  });
});
