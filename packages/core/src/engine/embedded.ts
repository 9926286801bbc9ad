import type { EvidenceValue, ScanResult } from '../pickle/events.js';

/** A bytes or text literal in a pickle stream whose content starts like a pickle. */
export interface EmbeddedLiteral {
  /** Offset of the payload in the scanned stream. */
  offset: number;
  length: number;
  /** The first bytes the scanner kept as evidence (up to 64 for bytes literals). */
  head: Uint8Array;
}

// A binary pickle starts with PROTO 0-5; a protocol 0/1 one usually with a GLOBAL (`cmodule\nname\n`),
// possibly after a MARK. Both shapes are what `pickle.loads(b"...")` payloads look like.
const TEXT_PICKLE_HEAD = /^\(?c[A-Za-z_][\w.]*\n[A-Za-z_][\w.]*\n/;

function looksLikePickleHead(head: string): boolean {
  if (head.length >= 2 && head.charCodeAt(0) === 0x80 && head.charCodeAt(1) <= 5) return true;
  return TEXT_PICKLE_HEAD.test(head);
}

function hexToBytes(hex: string): Uint8Array {
  const out = new Uint8Array(hex.length >> 1);
  for (let i = 0; i < out.length; i++) out[i] = Number.parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

const latin1 = (b: Uint8Array) => String.fromCharCode(...b);
const latin1Bytes = (s: string) => Uint8Array.from(s, (c) => c.charCodeAt(0) & 0xff);

/**
 * The literals handed to calls (arguments, keyword arguments, BUILD state) that hold a pickle of their
 * own: `pickle.loads(b"\x80\x04...")`, `torch.load(BytesIO(...))`, `Grammar.loads({}, <pickle>)`.
 * Loading the outer file unpickles them too, so the engine scans them as streams of their own.
 */
export function embeddedPickleLiterals(result: ScanResult, max = 64): EmbeddedLiteral[] {
  const found = new Map<number, EmbeddedLiteral>();
  const visit = (v: EvidenceValue | undefined, depth: number) => {
    if (!v || depth > 4 || found.size >= max) return;
    switch (v.kind) {
      case 'bytes': {
        const head = hexToBytes(v.preview);
        if (v.length >= 2 && looksLikePickleHead(latin1(head)))
          found.set(v.offset, { offset: v.offset, length: v.length, head });
        return;
      }
      case 'str':
        if (v.length >= 2 && looksLikePickleHead(v.value))
          found.set(v.offset, { offset: v.offset, length: v.length, head: latin1Bytes(v.value) });
        return;
      case 'tuple':
      case 'list':
      case 'set':
      case 'frozenset':
        for (const item of v.items) visit(item, depth + 1);
        return;
      case 'dict':
        for (const [k, val] of v.entries) {
          visit(k, depth + 1);
          visit(val, depth + 1);
        }
        return;
      default:
        return;
    }
  };
  for (const call of result.calls) {
    for (const a of call.args) visit(a, 0);
    visit(call.kwargs, 0);
  }
  return [...found.values()].sort((a, b) => a.offset - b.offset);
}
