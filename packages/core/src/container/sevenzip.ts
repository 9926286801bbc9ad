import type { SevenZipModuleFactory } from '7z-wasm';
import { bufferSource } from '../source/buffer.js';
import type { ByteSource } from '../source/types.js';
import type { ContainerReader, ReaderContext } from './types.js';

/**
 * 7z archives (the nullifAI attack shipped PyTorch archives as 7z). Read with 7z-wasm (7-Zip
 * 24.09 compiled to WebAssembly): its file system is in memory, so the archive must fit under
 * `maxBufferedBytes`, and the listed sizes are checked against the inflate budget before anything
 * is extracted.
 */
export const sevenZipReader: ContainerReader = {
  format: '7z',
  version: '1',
  detect: (h) =>
    h[0] === 0x37 && h[1] === 0x7a && h[2] === 0xbc && h[3] === 0xaf && h[4] === 0x27 && h[5] === 0x1c,
  open: read7z,
};

/** Loaded on first use (7-Zip's WASM is 1.5 MB); the package is UMD, so its default export may be nested. */
let factory: Promise<SevenZipModuleFactory> | undefined;
function loadSevenZip(): Promise<SevenZipModuleFactory> {
  factory ??= import('7z-wasm').then((m) => {
    const d = (m as unknown as { default: unknown }).default as { default?: unknown };
    return (d.default ?? d) as SevenZipModuleFactory;
  });
  return factory;
}

interface Listed {
  path: string;
  size: number;
  isDir: boolean;
}

async function read7z(source: ByteSource, ctx: ReaderContext): Promise<void> {
  const limit = ctx.limits.maxBufferedBytes;
  if (source.size > limit) {
    ctx.note({
      kind: 'problem',
      code: 'limit-buffer',
      message: `7z archive of ${source.size} bytes is above the ${limit}-byte limit for in-memory archives`,
    });
    return;
  }
  const data = await source.read(0, source.size);
  const out: string[] = [];
  const SevenZip = await loadSevenZip();
  const sz = await SevenZip({
    print: (s: string) => out.push(s),
    printErr: (s: string) => out.push(s),
    // 7-Zip asks for a password on stdin for encrypted archives: answer EOF instead of blocking.
    stdin: () => null as unknown as number,
  });
  const dir = `/a${Math.random().toString(36).slice(2)}`;
  sz.FS.mkdir(dir);
  const archive = `${dir}/in.7z`;
  const fd = sz.FS.open(archive, 'w+');
  sz.FS.write(fd, data, 0, data.length);
  sz.FS.close(fd);

  run(sz, ['l', '-slt', '-ba', '-bd', '-p', archive], out);
  const listed = parseListing(out.join('\n'));
  const files = listed.filter((f) => !f.isDir);
  if (files.length > ctx.budget.maxEntries) {
    ctx.note({
      kind: 'problem',
      code: 'limit-entries',
      message: `7z archive lists ${files.length} files, above the limit`,
    });
    return;
  }
  const total = files.reduce((a, f) => a + f.size, 0);
  try {
    ctx.budget.chargeInflated(total, source.name);
  } catch (e) {
    ctx.note({
      kind: 'problem',
      code: 'limit-inflate',
      message: `7z archive would unpack to ${total} bytes: ${e instanceof Error ? e.message : e}`,
    });
    return;
  }
  if (total > limit) {
    ctx.note({
      kind: 'problem',
      code: 'limit-buffer',
      message: `7z archive unpacks to ${total} bytes, above the in-memory limit`,
    });
    return;
  }
  out.length = 0;
  const code = run(sz, ['x', '-y', '-bd', '-p', `-o${dir}/out`, archive], out);
  if (code !== 0) {
    ctx.note({
      kind: 'problem',
      code: '7z-error',
      message: `7-Zip could not extract the archive: ${out.filter((l) => /error|wrong|unsupported|can not/i.test(l)).join('; ') || `exit ${code}`}`,
    });
  }
  for (const f of files) {
    let bytes: Uint8Array;
    try {
      bytes = sz.FS.readFile(`${dir}/out/${f.path}`) as Uint8Array;
    } catch {
      ctx.note({
        kind: 'problem',
        code: '7z-error',
        message: 'member could not be extracted',
        entry: f.path,
      });
      continue;
    }
    await ctx.nested(bufferSource(f.path, bytes), f.path, { role: '7z member' });
  }
}

function run(sz: { callMain(args: string[]): unknown }, args: string[], out: string[]): number {
  try {
    const r = sz.callMain(args);
    return typeof r === 'number' ? r : 0;
  } catch (e) {
    const status = (e as { status?: number }).status;
    if (typeof status === 'number') return status;
    out.push(String(e));
    return 2;
  }
}

function parseListing(text: string): Listed[] {
  const items: Listed[] = [];
  let cur: Listed | undefined;
  for (const line of text.split('\n')) {
    const path = /(?:^|\s)Path = (.*)$/.exec(line);
    if (path) {
      cur = { path: path[1] as string, size: 0, isDir: false };
      items.push(cur);
      continue;
    }
    if (!cur) continue;
    const size = /^Size = (\d+)$/.exec(line);
    if (size) cur.size = Number(size[1]);
    if (/^Folder = \+$/.test(line) || /^Attributes = D/.test(line)) cur.isDir = true;
  }
  return items;
}
