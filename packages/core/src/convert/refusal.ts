import { BrineError } from '../engine/types.js';

/**
 * Why a conversion was refused. Every refusal happens before a byte of output is written, except
 * `convert-io` (the input changed or failed mid-copy), after which the temporary output is removed.
 */
export type ConvertErrorCode =
  /** The pickle imports something outside the data-only allowlist (the import is named). */
  | 'convert-forbidden-global'
  /** The pickle uses an opcode the restricted interpreter never accepts (INST, OBJ, EXT*, PERSID...). */
  | 'convert-forbidden-opcode'
  /** The pickle is malformed or shaped unlike anything torch.save writes (stack misuse, wrong types...). */
  | 'convert-malformed-pickle'
  /** A tensor's size/stride/offset does not fit its storage, or its arguments are not what torch writes. */
  | 'convert-bad-tensor'
  /** A storage record is missing, compressed, of the wrong size, or referenced with two dtypes. */
  | 'convert-bad-storage'
  /** The input is not a PyTorch zip or legacy checkpoint this converter understands. */
  | 'convert-unsupported-input'
  /** Two values flatten to the same safetensors name (`a.b` as a key and `a` → `b` nested). */
  | 'convert-name-collision'
  /** A size limit protecting memory/time was exceeded. */
  | 'convert-limit'
  /** The scanner and rules found something that fails the weights-only policy. */
  | 'convert-refused-by-scan'
  /** The output path exists and `force` was not given. */
  | 'convert-output-exists'
  /** Reading the input or writing the output failed. */
  | 'convert-io';

/** A refused or failed conversion. `findings` carries the scan report when the scan gate refused. */
export class ConvertError extends BrineError {
  constructor(
    override readonly code: ConvertErrorCode,
    message: string,
    file?: string,
    offset?: number,
    /** The gate's report (whatever the gate returned), for frontends to print. */
    readonly findings?: unknown,
  ) {
    super(code, message, file, offset);
    this.name = 'ConvertError';
  }
}
