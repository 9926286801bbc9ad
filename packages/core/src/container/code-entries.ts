import type { ForwardReader } from '../source/stream.js';
import { MAX_PACKAGE_SOURCE_BYTES } from './torch-package.js';
import type { TorchScriptCollector } from './torchscript.js';
import { BytecodeError, bytecodeOperators } from './torchscript-bytecode.js';
import type { ReaderContext } from './types.js';

/*
 * Reading the entries of a torch zip that hold code rather than pickles: TorchScript `code/` and
 * torch.package sources (text), and the mobile `bytecode.pkl` operator table. Shared by the
 * random-access (pytorch.ts) and streaming (zip-stream.ts) zip readers so both judge the same bytes.
 */

/** Bytes of a `code/` entry (or `bytecode.pkl`) read for TorchScript analysis. */
const MAX_CODE_BYTES = MAX_PACKAGE_SOURCE_BYTES;

/**
 * Reads source text that a loader compiles. Beyond {@link MAX_CODE_BYTES} the rest would go unread,
 * so the entry is a problem (never clean) rather than half-judged.
 */
export async function readCodeText(
  reader: ForwardReader,
  entry: string,
  size: number | undefined,
  ctx: ReaderContext,
  use: (text: string) => void,
): Promise<void> {
  const bytes = await reader.read(MAX_CODE_BYTES + 1);
  if (bytes.length > MAX_CODE_BYTES || (size !== undefined && size > MAX_CODE_BYTES)) {
    ctx.note({
      kind: 'problem',
      code: 'limit-code-size',
      message: `source entry is larger than ${MAX_CODE_BYTES} bytes; brine reads no more of it`,
      entry,
    });
  }
  use(new TextDecoder().decode(bytes.subarray(0, MAX_CODE_BYTES)));
}

/** Reads the operator tables of a mobile `bytecode.pkl` (peeked: the scanner then reads the same bytes). */
export async function readBytecode(
  reader: ForwardReader,
  entry: string,
  size: number | undefined,
  script: TorchScriptCollector,
  ctx: ReaderContext,
): Promise<void> {
  const bytes = await reader.peek(MAX_CODE_BYTES + 1);
  if (bytes.length > MAX_CODE_BYTES || (size !== undefined && size > MAX_CODE_BYTES)) {
    ctx.note({
      kind: 'problem',
      code: 'limit-code-size',
      message: `bytecode.pkl is larger than ${MAX_CODE_BYTES} bytes; its operator table was not read`,
      entry,
    });
    return;
  }
  try {
    script.addOperators(entry, bytecodeOperators(bytes));
  } catch (err) {
    if (!(err instanceof BytecodeError)) throw err;
    ctx.note({
      kind: 'problem',
      code: 'torchscript-bytecode-unreadable',
      message: `operator table of bytecode.pkl cannot be read (${err.message} at ${err.offset}); the lite interpreter's calls cannot be judged`,
      entry,
      offset: err.offset,
    });
  }
}
