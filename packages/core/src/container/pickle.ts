import type { ForwardReader } from '../source/stream.js';
import type { ContainerReader, ReaderContext } from './types.js';

/**
 * A bare pickle stream: what `pickle.load`, `joblib.load` and torch's legacy loader read from
 * offset 0. Back-to-back pickles are all scanned (torch's legacy loader reads five in a row), and
 * joblib's raw array bytes are skipped so the rest of the stream is still seen.
 */
export const pickleReader: ContainerReader = {
  format: 'pickle',
  version: '1',
  detect: (head) => isPickleStart(head),
  stream: readPickle,
};

async function readPickle(reader: ForwardReader, ctx: ReaderContext): Promise<void> {
  const fileOffset = reader.sourceOffset();
  const { scan } = await ctx.scanPickle(reader, undefined, 'pickle.load', {
    joblib: true,
    ...(fileOffset === undefined ? {} : { fileOffset }),
  });
  const r = scan.result;
  const joblib = r.imports.some((i) => i.module === 'joblib.numpy_pickle' && i.name === 'NumpyArrayWrapper');
  if (joblib) ctx.setFormat('joblib');
  // GHSA-97f8-7cmv-76j2: torch's legacy loader unpickles the first pickle to read the magic
  // number. A stacked file whose first pickle imports or calls anything is built to run code
  // there while scanners that expect a literal give up.
  // (joblib object arrays are nested pickles, not stacked ones; legacy files stack five)
  if (!joblib && r.stats.pickles >= 3) {
    const first = r.imports.filter((i) => i.pickleIndex === 0);
    const calls = r.calls.filter((c) => c.pickleIndex === 0);
    if (first.length || calls.length) {
      ctx.note({
        kind: 'finding',
        code: 'legacy-magic-not-literal',
        message:
          'first of several stacked pickles computes its value instead of holding the literal torch magic number; torch.load runs it while reading the header',
        offset: first[0]?.offset ?? calls[0]?.offset ?? 0,
        evidence: {
          pickles: r.stats.pickles,
          imports: first.map((i) => `${i.module}.${i.name}`).join(', '),
          calls: calls.length,
        },
      });
    }
  }
}

const OPCODE_START = new Set(
  '(.0123456789:;<=>?@BCFGIJKLMNPQRSTUVXabcdeghijklmopqrstu}])'.split('').map((c) => c.charCodeAt(0)),
);

const isIdent = (s: string) => /^[A-Za-z_][\w.]*$/.test(s);

/**
 * True when `head` starts like a pickle. Protocol 2+ announces itself (`\x80` + protocol);
 * protocol 0/1 pickles have no header, so the first opcode and its argument must be well formed
 * (a `.txt` holding `cos\nsystem\n...` is a pickle to `pickle.load`, CVE-2025-1889).
 */
export function isPickleStart(head: Uint8Array): boolean {
  if (head.length < 2) return false;
  const b0 = head[0] as number;
  if (b0 === 0x80) return (head[1] as number) <= 5;
  const text = String.fromCharCode(...head.subarray(0, 256));
  const line = (from: number) => {
    const nl = text.indexOf('\n', from);
    return nl === -1 ? undefined : text.slice(from, nl);
  };
  switch (text[0]) {
    case 'c': {
      // GLOBAL module\nname\n
      const mod = line(1);
      if (mod === undefined || !isIdent(mod)) return false;
      const name = line(2 + mod.length);
      return name !== undefined && isIdent(name);
    }
    case '(':
    case ']':
    case '}':
    case ')':
      return OPCODE_START.has(head[1] as number);
    case 'N':
      return head[1] === 0x2e || OPCODE_START.has(head[1] as number);
    case 'I':
    case 'L':
    case 'F': {
      const v = line(1);
      return v !== undefined && /^[-+]?[\d.e]+L?$/i.test(v);
    }
    case 'S': {
      const v = line(1);
      return v !== undefined && /^(['"]).*\1$/.test(v);
    }
    case 'V': {
      const v = line(1);
      return v !== undefined && v.length < 200 && head.length > v.length + 2;
    }
    case 'P': {
      const v = line(1);
      return v !== undefined && v.length < 200 && /^[\x20-\x7e]*$/.test(v);
    }
    default:
      return false;
  }
}
