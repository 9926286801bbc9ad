import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ByteSource, bufferSource, openFileSource } from '@brine/core';

/** Below this, standard input is kept in memory; above it, it is spooled to a temporary file. */
export const STDIN_MEMORY_LIMIT = 64 * 1024 * 1024;

/**
 * Makes standard input seekable. Containers need random access (a zip's directory is at its end),
 * and a pipe cannot seek, so a large stream goes to a temporary file instead of into memory.
 * `dispose` removes the temporary file.
 */
export async function stdinSource(
  input: NodeJS.ReadableStream = process.stdin,
  memoryLimit = STDIN_MEMORY_LIMIT,
  tmpRoot = tmpdir(),
): Promise<{ source: ByteSource; dispose: () => Promise<void> }> {
  const chunks: Buffer[] = [];
  let size = 0;
  let spool: { dir: string; path: string; out: ReturnType<typeof createWriteStream> } | undefined;
  for await (const chunk of input) {
    const buf = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer);
    size += buf.length;
    if (!spool && size > memoryLimit) {
      const dir = await mkdtemp(join(tmpRoot, 'brine-stdin-'));
      const path = join(dir, 'stdin');
      spool = { dir, path, out: createWriteStream(path) };
      for (const c of chunks.splice(0)) await write(spool.out, c);
    }
    if (spool) await write(spool.out, buf);
    else chunks.push(buf);
  }
  if (!spool) {
    return {
      source: bufferSource('<stdin>', new Uint8Array(Buffer.concat(chunks))),
      dispose: async () => {},
    };
  }
  const { dir, path, out } = spool;
  await new Promise<void>((resolve, reject) =>
    out.end((err?: Error | null) => (err ? reject(err) : resolve())),
  );
  const file = await openFileSource(path);
  const source: ByteSource = {
    name: '<stdin>',
    get size() {
      return file.size;
    },
    get bytesRead() {
      return file.bytesRead;
    },
    read: (offset, length) => file.read(offset, length),
    close: () => file.close(),
  };
  return { source, dispose: () => rm(dir, { recursive: true, force: true }) };
}

function write(out: ReturnType<typeof createWriteStream>, chunk: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    if (out.write(chunk, (err) => (err ? reject(err) : undefined))) resolve();
    else out.once('drain', resolve);
  });
}
