import type { EvidenceValue, ScanResult } from '../pickle/events.js';

/** A bytes or text literal in a pickle stream whose content starts like a pickle. */
export interface EmbeddedLiteral {
  /** Offset of the payload in the scanned stream. */
  offset: number;
  length: number;
}

// A binary pickle starts with PROTO 0-5; a protocol 0/1 one usually with a GLOBAL (`cmodule\nname\n`),
// possibly after a MARK. Both shapes are what `pickle.loads(b"...")` payloads look like.
const TEXT_PICKLE_HEAD = /^\(?c[A-Za-z_][\w.]*\n[A-Za-z_][\w.]*\n/;

function looksLikePickleHead(head: string): boolean {
  if (head.length >= 2 && head.charCodeAt(0) === 0x80 && head.charCodeAt(1) <= 5) return true;
  return TEXT_PICKLE_HEAD.test(head);
}

function hexToLatin1(hex: string): string {
  let out = '';
  for (let i = 0; i + 1 < hex.length; i += 2)
    out += String.fromCharCode(Number.parseInt(hex.slice(i, i + 2), 16));
  return out;
}

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
      case 'bytes':
        if (v.length >= 2 && looksLikePickleHead(hexToLatin1(v.preview.slice(0, 128))))
          found.set(v.offset, { offset: v.offset, length: v.length });
        return;
      case 'str':
        if (v.length >= 2 && looksLikePickleHead(v.value))
          found.set(v.offset, { offset: v.offset, length: v.length });
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
