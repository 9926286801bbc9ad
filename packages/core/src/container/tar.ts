import { type ForwardReader, limitReader } from '../source/stream.js';
import { readLegacyTarMember } from './legacy-torch.js';
import { isPickleStart } from './pickle.js';
import type { ContainerReader, ReaderContext } from './types.js';

/**
 * tar (ustar, GNU and pax long names, old v7 headers), read front to back so a `.tar.gz` is
 * scanned as it decompresses. Every member is handed to the engine, which detects its format by
 * content. PyTorch ≤ 0.1.10 saved checkpoints as a tar of `sys_info`, `pickle`, `storages` and
 * `tensors`; such an archive is reported as `legacy-torch-tar`.
 */
export const tarReader: ContainerReader = {
  format: 'tar',
  version: '1',
  detect: (head) => isTar(head),
  stream: readTar,
};

const LEGACY_TORCH_MEMBERS = ['sys_info', 'pickle', 'storages', 'tensors'];

function checksumOk(h: Uint8Array): boolean {
  const stored = parseOctal(h.subarray(148, 156));
  if (stored === undefined) return false;
  let sum = 0;
  for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 0x20 : (h[i] as number);
  return sum === stored;
}

export function isTar(head: Uint8Array): boolean {
  if (head.length < 512) return false;
  const magic = String.fromCharCode(...head.subarray(257, 262));
  if (magic === 'ustar') return true;
  return head[0] !== 0 && checksumOk(head);
}

function parseOctal(b: Uint8Array): number | undefined {
  if (((b[0] as number) & 0x80) !== 0) {
    // GNU base-256 for sizes past 8 GiB
    let n = (b[0] as number) & 0x7f;
    for (let i = 1; i < b.length; i++) n = n * 256 + (b[i] as number);
    return n;
  }
  const s = String.fromCharCode(...b)
    .replace(/\0.*$/s, '')
    .trim();
  if (s === '') return 0;
  if (!/^[0-7]+$/.test(s)) return undefined;
  return Number.parseInt(s, 8);
}

const cstr = (b: Uint8Array) =>
  new TextDecoder().decode(b.subarray(0, b.indexOf(0) === -1 ? b.length : b.indexOf(0)));

async function readTar(reader: ForwardReader, ctx: ReaderContext): Promise<void> {
  let longName: string | undefined;
  let paxPath: string | undefined;
  let count = 0;
  const names: string[] = [];
  for (;;) {
    const at = reader.position;
    const h = await reader.read(512);
    if (h.length === 0) {
      ctx.note({
        kind: 'finding',
        code: 'tar-no-end-marker',
        message: 'tar archive ends without its end-of-archive blocks',
        offset: at,
      });
      break;
    }
    if (h.length < 512) {
      ctx.note({ kind: 'problem', code: 'tar-truncated', message: 'tar header cut short', offset: at });
      break;
    }
    if (h.every((b) => b === 0)) break;
    if (!checksumOk(h)) {
      ctx.note({
        kind: 'problem',
        code: 'tar-bad-header',
        message: 'tar header checksum does not match',
        offset: at,
      });
      break;
    }
    if (++count > ctx.budget.maxEntries) {
      ctx.note({
        kind: 'problem',
        code: 'limit-entries',
        message: `more than ${ctx.budget.maxEntries} tar members`,
        offset: at,
      });
      break;
    }
    const size = parseOctal(h.subarray(124, 136)) ?? 0;
    const type = String.fromCharCode(h[156] as number);
    const prefix = h[257] === 0x75 ? cstr(h.subarray(345, 500)) : '';
    const base = cstr(h.subarray(0, 100));
    const name = paxPath ?? longName ?? (prefix ? `${prefix}/${base}` : base);
    const padded = Math.ceil(size / 512) * 512;
    if (type === 'L' || type === 'x') {
      const body = await reader.read(Math.min(size, 1 << 20));
      await reader.skip(padded - body.length);
      if (type === 'L') longName = cstr(body);
      else paxPath = /(?:^|\n)\d+ path=([^\n]*)\n/.exec(new TextDecoder().decode(body))?.[1];
      continue;
    }
    longName = undefined;
    paxPath = undefined;
    if (type === '0' || type === '\0' || type === '7') {
      names.push(name);
      const member = limitReader(reader, size, name);
      if ((name === 'storages' || name === 'tensors') && isPickleStart(await member.peek(256))) {
        await readLegacyTarMember(name, member, ctx);
      } else {
        await ctx.nestedStream(member, name, { role: 'tar member' });
      }
      await member.skip(size); // whatever the member's reader left unread
      if (member.position < size) {
        ctx.note({
          kind: 'problem',
          code: 'tar-truncated',
          message: `member "${name}" is cut short`,
          entry: name,
          offset: at,
        });
        break;
      }
      await reader.skip(padded - size);
    } else {
      await reader.skip(padded);
    }
  }
  if (LEGACY_TORCH_MEMBERS.every((m) => names.includes(m))) ctx.setFormat('legacy-torch-tar');
}
