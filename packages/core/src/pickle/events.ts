/**
 * What the pickle scanner reports about one pickle byte stream.
 *
 * The scanner decodes opcodes and simulates the unpickler's stack, mark stack and memo without
 * executing anything. It knows nothing about what is dangerous: `@brine/rules` decides that.
 * Every offset is relative to the start of the scanned stream (the engine adds container paths).
 */

/** A value seen on the symbolic stack, kept short enough to be shown as evidence. */
export type EvidenceValue =
  | { kind: 'none' }
  | { kind: 'bool'; value: boolean }
  /** Exact decimal text, so big ints (LONG, LONG1, LONG4) survive. */
  | { kind: 'int'; value: string }
  | { kind: 'float'; value: number }
  /**
   * A text string (UNICODE family) or a protocol-0/1 STRING (decoded as latin-1 for display).
   * `length` is the full length in bytes of the encoded payload; `value` may be a prefix.
   * `offset`/`length` locate the payload in the stream so the engine can re-read it (nested pickles).
   */
  | { kind: 'str'; value: string; offset: number; length: number; truncated: boolean }
  /** bytes / bytearray payload; `preview` is hex of at most the first 64 bytes. */
  | { kind: 'bytes'; preview: string; offset: number; length: number; truncated: boolean }
  | { kind: 'tuple' | 'list' | 'set' | 'frozenset'; items: EvidenceValue[]; truncated: boolean }
  | { kind: 'dict'; entries: Array<[EvidenceValue, EvidenceValue]>; truncated: boolean }
  /** The object a GLOBAL / STACK_GLOBAL / INST imported: index into `ScanResult.imports`. */
  | { kind: 'global'; importIndex: number }
  /** The result of a REDUCE / NEWOBJ / NEWOBJ_EX / OBJ / INST: index into `ScanResult.calls`. */
  | { kind: 'call'; callIndex: number }
  /** An object produced by EXT1/EXT2/EXT4 (copyreg extension registry). */
  | { kind: 'ext'; code: number }
  /** The result of PERSID/BINPERSID: index into `ScanResult.persistentIds`. */
  | { kind: 'persid'; persidIndex: number }
  /** Something the scanner did not track (nested too deep, a limit was hit, a PickleBuffer...). */
  | { kind: 'opaque'; what: string };

export type ImportOpcode = 'GLOBAL' | 'STACK_GLOBAL' | 'INST';

/** One import the unpickler would perform (`find_class(module, name)`). */
export interface PickleImport {
  module: string;
  name: string;
  opcode: ImportOpcode;
  /** Offset of the importing opcode in the stream. */
  offset: number;
  /** Which back-to-back pickle of the stream (0-based; a new one starts after each STOP). */
  pickleIndex: number;
  /** Protocol in effect (PROTO arg, or 0/1 when absent); dotted names are walked by find_class only at >= 4. */
  protocol: number;
  /**
   * False when a STACK_GLOBAL operand was not a string the scanner could resolve (a memo miss,
   * an int, a call result...). `module`/`name` then describe what was there, e.g. `<call #3>`.
   */
  resolved: boolean;
  /** True once REDUCE/NEWOBJ/NEWOBJ_EX/OBJ/INST applies the imported object (directly or via memo). */
  called: boolean;
  /**
   * `module name` as written in the stream when the unpickler renames it before importing
   * (Python 2 names at protocol < 3, e.g. `__builtin__ eval` → `builtins.eval`).
   */
  writtenAs?: string;
}

export type CallOpcode = 'REDUCE' | 'NEWOBJ' | 'NEWOBJ_EX' | 'OBJ' | 'INST' | 'BUILD';

/** An application: a callable called, a class instantiated, or BUILD setting state on an object. */
export interface PickleCall {
  opcode: CallOpcode;
  offset: number;
  pickleIndex: number;
  /** The callable/class (REDUCE, NEWOBJ*, OBJ, INST) or the object receiving state (BUILD). */
  target: EvidenceValue;
  /** Positional arguments, or `[state]` for BUILD. */
  args: EvidenceValue[];
  /** NEWOBJ_EX keyword arguments. */
  kwargs?: EvidenceValue;
}

/** A PERSID/BINPERSID: the loader's `persistent_load(pid)` is called with `pid`. */
export interface PicklePersistentId {
  opcode: 'PERSID' | 'BINPERSID';
  offset: number;
  pickleIndex: number;
  pid: EvidenceValue;
}

/** An EXT1/EXT2/EXT4: an import through `copyreg`'s extension registry, invisible as a GLOBAL. */
export interface PickleExtension {
  opcode: 'EXT1' | 'EXT2' | 'EXT4';
  offset: number;
  pickleIndex: number;
  code: number;
}

export type AnomalyCode =
  | 'unknown-opcode'
  | 'truncated'
  | 'stack-underflow'
  | 'mark-missing'
  | 'memo-miss'
  | 'bad-memo-key'
  | 'non-string-global-operand'
  | 'bad-argument'
  | 'misplaced-proto'
  | 'repeated-proto'
  | 'unknown-proto'
  | 'opcode-above-protocol'
  | 'frame-crossing'
  | 'oversized-frame'
  | 'stack-not-empty-at-stop'
  | 'trailing-bytes'
  | 'limit-stack'
  | 'limit-marks'
  | 'limit-memo'
  | 'limit-opcodes'
  | 'limit-strings'
  /** The scanner itself failed (a bug, never expected): the stream was not fully scanned. */
  | 'scanner-error';

/** Something the unpickler would reject, or where scanners and loaders disagree. Never a crash. */
export interface PickleAnomaly {
  code: AnomalyCode;
  offset: number;
  pickleIndex: number;
  message: string;
  /** True when scanning stopped here: nothing after `offset` was seen. */
  fatal: boolean;
}

export interface ScanStats {
  /** Bytes the scanner consumed, including payloads it skipped over. */
  bytesScanned: number;
  /** Bytes of string/bytes payloads skipped without being copied into the scanner. */
  bytesSkipped: number;
  opcodes: number;
  /** Number of pickles (STOP-terminated or not) in the stream. */
  pickles: number;
  maxStackDepth: number;
  memoEntries: number;
  protocols: number[];
  /**
   * Size of the scanner's WASM memory at the end (window, stack, memo, value pool). Instances
   * are reused, so this can include growth from an earlier scan on the same instance.
   */
  wasmMemoryBytes?: number;
}

/** Opcode trace entry (only with `traceOpcodes`), shaped like `pickletools.genops` output. */
export interface OpcodeTraceEntry {
  offset: number;
  name: string;
  /** genops-style argument: number/string/null; ints as decimal strings; bytes as `{hex}`; long payloads as `{length}`. */
  arg: null | number | string | boolean | { hex: string } | { length: number };
}

export interface ScanResult {
  imports: PickleImport[];
  calls: PickleCall[];
  persistentIds: PicklePersistentId[];
  extensions: PickleExtension[];
  anomalies: PickleAnomaly[];
  stats: ScanStats;
  /** True when the scanner reached the end of input with no fatal anomaly. */
  complete: boolean;
  trace?: OpcodeTraceEntry[];
}
