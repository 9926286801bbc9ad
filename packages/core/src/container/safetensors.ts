import type { ForwardReader } from '../source/stream.js';
import type { ContainerReader, ReaderContext } from './types.js';

/**
 * safetensors: an 8-byte little-endian header length, a JSON header, raw tensor bytes. It carries
 * no code; what can go wrong is a header that lies (offsets outside the file, overlapping
 * tensors, unknown dtypes), which loaders have mishandled. A broken header is a finding.
 */
export const safetensorsReader: ContainerReader = {
  format: 'safetensors',
  version: '1',
  detect: (head, size) => isSafetensors(head, size),
  stream: readSafetensors,
};

/** Bytes per element of each dtype the safetensors spec names (sub-byte types count in bits). */
const DTYPE_BITS: Record<string, number> = {
  BOOL: 8,
  U8: 8,
  I8: 8,
  F8_E5M2: 8,
  F8_E4M3: 8,
  F8_E8M0: 8,
  I16: 16,
  U16: 16,
  F16: 16,
  BF16: 16,
  I32: 32,
  U32: 32,
  F32: 32,
  C64: 64,
  F64: 64,
  I64: 64,
  U64: 64,
  F4: 4,
  F6_E2M3: 6,
  F6_E3M2: 6,
};

const MAX_HEADER = 100 * 1024 * 1024; // the reference implementation's own cap

function headerLength(head: Uint8Array): number {
  let n = 0;
  for (let i = 7; i >= 0; i--) n = n * 256 + (head[i] as number);
  return n;
}

export function isSafetensors(head: Uint8Array, size: number | undefined): boolean {
  if (head.length < 10) return false;
  const n = headerLength(head);
  if (n < 2 || n > MAX_HEADER || (size !== undefined && 8 + n > size)) return false;
  return head[8] === 0x7b; // '{'
}

async function readSafetensors(reader: ForwardReader, ctx: ReaderContext): Promise<void> {
  const pre = await reader.read(8);
  const n = headerLength(pre);
  const bad = (message: string, evidence?: Record<string, string | number | boolean>) =>
    ctx.note({
      kind: 'finding',
      code: 'safetensors-bad-header',
      message,
      offset: 8,
      ...(evidence ? { evidence } : {}),
    });
  const raw = await reader.read(n);
  if (raw.length < n) return bad(`header promises ${n} bytes, file has ${raw.length}`);
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(raw));
  } catch (e) {
    return bad(`header is not valid UTF-8 JSON: ${e instanceof Error ? e.message : e}`);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header))
    return bad('header is not a JSON object');
  const dataSize = reader.size === undefined ? undefined : reader.size - 8 - n;
  const spans: Array<[number, number, string]> = [];
  for (const [name, info] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (
        typeof info !== 'object' ||
        info === null ||
        Object.values(info).some((v) => typeof v !== 'string')
      ) {
        bad('__metadata__ must map strings to strings', { tensor: name });
      }
      continue;
    }
    const t = info as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    const bits = typeof t?.dtype === 'string' ? DTYPE_BITS[t.dtype] : undefined;
    if (bits === undefined) {
      bad(`tensor "${name}" has unknown dtype ${JSON.stringify(t?.dtype)}`, { tensor: name });
      continue;
    }
    if (!Array.isArray(t.shape) || !t.shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      bad(`tensor "${name}" has a bad shape`, { tensor: name });
      continue;
    }
    const off = t.data_offsets;
    if (!Array.isArray(off) || off.length !== 2 || !off.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      bad(`tensor "${name}" has bad data_offsets`, { tensor: name });
      continue;
    }
    const [begin, end] = off as [number, number];
    const want = Math.ceil(((t.shape as number[]).reduce((a, b) => a * b, 1) * bits) / 8);
    if (end < begin || end - begin !== want) {
      bad(`tensor "${name}" spans ${end - begin} bytes but its shape and dtype need ${want}`, {
        tensor: name,
      });
    }
    if (dataSize !== undefined && end > dataSize) {
      bad(`tensor "${name}" ends at ${end}, past the ${dataSize} bytes of data`, {
        tensor: name,
        end,
        dataSize,
      });
    }
    spans.push([begin, end, name]);
  }
  spans.sort((a, b) => a[0] - b[0]);
  for (let i = 1; i < spans.length; i++) {
    const a = spans[i - 1] as [number, number, string];
    const b = spans[i] as [number, number, string];
    if (b[0] < a[1]) bad(`tensors "${a[2]}" and "${b[2]}" overlap`, { first: a[2], second: b[2] });
  }
  ctx.setFormat('safetensors');
}
