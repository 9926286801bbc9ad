/**
 * Node-only: writes a conversion to a file. Kept apart from `convert.ts` so the Workers bundle never
 * pulls in `node:fs`.
 *
 * The output goes to a temporary file beside the target and is renamed into place only when every byte
 * was written; a refusal or failure leaves no output and no temporary file. Without `force` an existing
 * target is never replaced, even if it appears while converting (the final step is a hard link, which
 * fails when the name exists).
 */
import { createHash } from 'node:crypto';
import { constants } from 'node:fs';
import { access, link, open, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { BrineError } from '../engine/types.js';
import type { ByteSource } from '../source/types.js';
import { type ConvertOptions, type ConvertResult, hashSource, prepareConversion } from './convert.js';
import { ConvertError } from './refusal.js';

/**
 * Hash reads are small so each synchronous digest update is short (about a millisecond): the copy's
 * I/O completions, which queue behind it on the main thread, are never held up for long.
 */
const HASH_CHUNK = 1024 * 1024;

export interface ConvertFileOptions extends ConvertOptions {
  /** Replace an existing output file. */
  force?: boolean;
  /** fsync the output before renaming it into place. */
  fsync?: boolean;
  /** Stops the conversion (Ctrl-C): the temporary file is removed and nothing is placed. */
  signal?: AbortSignal;
}

function checkAbort(signal: AbortSignal | undefined, file: string): void {
  if (signal?.aborted) throw new ConvertError('convert-io', 'interrupted; nothing written', file);
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path, constants.F_OK);
    return true;
  } catch {
    return false;
  }
}

/** Starts fetching the next chunk while the caller writes the current one. */
async function* readAhead<T>(source: AsyncGenerator<T>): AsyncGenerator<T> {
  let next = source.next();
  for (;;) {
    const r = await next;
    if (r.done) return;
    next = source.next();
    // A rejected prefetch must not go unhandled while the consumer is still busy.
    next.catch(() => {});
    yield r.value;
  }
}

/**
 * Converts a PyTorch checkpoint (zip or legacy) to a safetensors file at `outPath`, without unpickling.
 *
 * @throws ConvertError when the input is refused (`findings` holds the gate's report when the scan
 * refused), when `outPath` exists and `force` is not set, or when reading/writing fails.
 */
export async function convertToSafetensors(
  source: ByteSource,
  outPath: string,
  options: ConvertFileOptions = {},
): Promise<ConvertResult> {
  const started = performance.now();
  if (!options.force && (await exists(outPath))) {
    throw new ConvertError(
      'convert-output-exists',
      `${outPath} exists (use --force to replace it)`,
      source.name,
    );
  }
  const prepared = await prepareConversion(source, options);
  checkAbort(options.signal, source.name);
  const { plan } = prepared;
  const tmp = join(
    dirname(outPath),
    `.${basename(outPath)}.brine-${process.pid}-${Math.random().toString(36).slice(2)}.tmp`,
  );
  let handle: Awaited<ReturnType<typeof open>> | undefined;
  let placed = false;
  try {
    handle = await open(tmp, 'wx');
    const out = handle;
    await out.write(prepared.header('0'.repeat(64)), 0, undefined, 0);
    let position = plan.headerBytes;
    const copy = (async () => {
      for await (const chunk of readAhead(prepared.data())) {
        checkAbort(options.signal, source.name);
        let done = 0;
        while (done < chunk.length) {
          const { bytesWritten } = await out.write(chunk, done, chunk.length - done, position + done);
          done += bytesWritten;
        }
        position += chunk.length;
      }
    })();
    // The hash reads the whole input while the copy runs: reads and writes happen on libuv's threads,
    // so hashing on the main thread overlaps them.
    const hashing =
      options.sourceSha256 !== undefined
        ? Promise.resolve(options.sourceSha256.toLowerCase())
        : hashSource(source, options.createHash ? options.createHash() : createHash('sha256'), HASH_CHUNK);
    const [sha] = await Promise.all([hashing, copy]);
    checkAbort(options.signal, source.name);
    if (position !== plan.totalBytes) {
      throw new ConvertError('convert-io', `wrote ${position} of ${plan.totalBytes} bytes`, source.name);
    }
    await out.write(prepared.header(sha), 0, undefined, 0);
    if (options.fsync) await out.sync();
    await out.close();
    handle = undefined;
    if (options.force) {
      await rename(tmp, outPath);
    } else {
      try {
        await link(tmp, outPath);
      } catch (e) {
        if ((e as { code?: string }).code === 'EEXIST') {
          throw new ConvertError(
            'convert-output-exists',
            `${outPath} appeared while converting; not replaced`,
            source.name,
          );
        }
        throw e;
      }
      await unlink(tmp);
    }
    placed = true;
    return { ...plan, sourceSha256: sha, output: outPath, durationMs: performance.now() - started };
  } catch (e) {
    if (e instanceof BrineError) throw e;
    throw new ConvertError('convert-io', `cannot write ${outPath}: ${(e as Error).message}`, source.name);
  } finally {
    if (handle) await handle.close().catch(() => {});
    if (!placed) await unlink(tmp).catch(() => {});
  }
}
