// brine pickle opcode scanner (AssemblyScript -> WASM, stub runtime, no GC objects).
//
// The scanner decodes a pickle byte stream the way CPython's C unpickler (Modules/_pickle.c)
// reads it and simulates its stack, mark stack and memo symbolically. It never builds Python
// objects: every value is a small record in a fixed-size pool, kept only as evidence.
//
// ---------------------------------------------------------------------------------------------
// Memory layout (all regions 16-byte aligned, computed once by `init` from the limits):
//
//   [0, __heap_base)          AssemblyScript static data (opcode table source, nothing else)
//   OPTAB   256 B             opcode -> protocol that introduced it (0xFF = not an opcode)
//   WIN     winCap + 16 B     input window; the host copies chunks in, the scanner consumes them
//   EV      evCap B           event buffer, drained by the host (decoded by one TS function)
//   STACK   maxStack * 4 B    value refs (u32 pool indexes)
//   MARKS   maxMarks * 4 B    stack lengths at each MARK
//   MEMO0   maxMemo * 8 B     outer pickle memo, direct keys:   (generation u32, ref u32)
//   MEMO1   maxMemo * 8 B     nested pickle memo (joblib object arrays), same shape
//   HASH0/1 HASH_SLOTS * 12 B memo keys >= maxMemo:             (key u32, generation u32, ref u32)
//   KEYS0/1 maxMemo * 4 B     memo keys in the order they were first set (the GC's memo roots,
//                             so a collection costs the memo's size, not its largest key)
//   GCWORK  maxValues * 4 B   mark-phase work list
//   POOL    grows on demand   value records, 64 B each, up to maxValues
//
// Only POOL grows after init (memory.grow), so memory is bounded by the limits, not the input.
// The hot loop allocates nothing but pool records; unreachable records are reclaimed by a
// mark-sweep pass run between opcodes (a safe point: every live value is on the stack or memo).
//
// Value record (64 B): +0 kind u8, +1 flags u8, +2 sub u8, +4 aux u32, +8..+64 payload.
//   STR   sub=encoding, aux=next continuation, +8 offset f64, +16 length f64,
//         +24 stored u16, +28..+64 first 36 bytes
//   CONT  aux=next, +8..+64 56 more bytes
//   SEQ   sub=container kind, +4 stored count u16, +8.. up to 14 child refs
//   INT64 +8 i64 · FLOAT +8 f64 · GLOBAL aux=import index · CALL aux=call index
//   EXT   aux=code · PERSID aux=persistent-id index · OPAQUE sub=reason
// Refs 1..15 are constants (None, True, False, opaque reasons) and are never collected; refs
// with the top bit set are small ints carried in the ref itself (no record).
//
// Frames: by default the scanner follows the C unpickler reading from a file object without
// peek() (io.BytesIO, which torch.load uses): FRAME makes the unpickler read exactly the frame
// into its buffer, and any read that needs more than what is left in that buffer silently drops
// the leftover bytes and continues right after the frame (CPython issue 154848). A buffered
// file behaves the same when the frame ends where its read-ahead ends (the published recipe
// pads the stream to put it there), and linearly otherwise. `linear` mode reads like
// pickle.loads/pickletools; the host runs both readings when a frame-crossing shows they differ.
//
// Dispatch: run() takes one opcode at a time through step() (every opcode, every anomaly);
// fastRun() decodes long runs of plain data opcodes without per-opcode bookkeeping and hands
// back to step() at the first byte it does not handle plainly.
// ---------------------------------------------------------------------------------------------

// ---- status codes returned to the host
const ST_NEED: i32 = 0; // consumed everything it could; give more input (or finish)
const ST_EVFULL: i32 = 1; // event buffer nearly full; drain and resume
const ST_DONE: i32 = 2; // scanning ended (fatal anomaly or single-pickle mode reached STOP)
const ST_PAUSE: i32 = 3; // after a BUILD of a watched class; host may skip / begin nested
const ST_IMPORT: i32 = 4; // an import was just emitted and the host watches imports

// step() results
const SR_OK: i32 = 0;
const SR_NEED: i32 = 1;
const SR_STOP: i32 = 2;
const SR_PAUSE: i32 = 3;
const SR_IMPORT: i32 = 4;

// ---- event types
const EV_IMPORT: u8 = 1;
const EV_CALLED: u8 = 2;
const EV_CALL: u8 = 3;
const EV_PERSID: u8 = 4;
const EV_EXT: u8 = 5;
const EV_ANOMALY: u8 = 6;
const EV_TRACE: u8 = 7;
const EV_PICKLE: u8 = 8;
const EV_PROTO: u8 = 9;
const EV_PAUSE: u8 = 10;

// ---- anomaly codes (mirrored by the TS decoder)
const A_UNKNOWN_OPCODE: u8 = 0;
const A_TRUNCATED: u8 = 1;
const A_UNDERFLOW: u8 = 2;
const A_MARK_MISSING: u8 = 3;
const A_MEMO_MISS: u8 = 4;
const A_BAD_MEMO_KEY: u8 = 5;
const A_NON_STRING_GLOBAL: u8 = 6;
const A_BAD_ARGUMENT: u8 = 7;
const A_MISPLACED_PROTO: u8 = 8;
const A_REPEATED_PROTO: u8 = 9;
const A_UNKNOWN_PROTO: u8 = 10;
const A_ABOVE_PROTOCOL: u8 = 11;
const A_FRAME_CROSSING: u8 = 12;
const A_OVERSIZED_FRAME: u8 = 13;
const A_STACK_NOT_EMPTY: u8 = 14;
const A_TRAILING: u8 = 15;
const A_LIMIT_STACK: u8 = 16;
const A_LIMIT_MARKS: u8 = 17;
const A_LIMIT_MEMO: u8 = 18;
const A_LIMIT_OPCODES: u8 = 19;
const A_LIMIT_STRINGS: u8 = 20;
const A_LIMIT_VALUES: u8 = 21;
const A_NESTED_FRAME: u8 = 22;
const A_FRAME_AT_STOP: u8 = 23;

// ---- value kinds
const K_FREE: u8 = 0;
const K_INT64: u8 = 1;
const K_FLOAT: u8 = 2;
const K_STR: u8 = 3;
const K_CONT: u8 = 4;
const K_SEQ: u8 = 5;
const K_GLOBAL: u8 = 6;
const K_CALL: u8 = 7;
const K_EXT: u8 = 8;
const K_PERSID: u8 = 9;
const K_OPAQUE: u8 = 10;
const K_NONE: u8 = 11;
const K_BOOL: u8 = 12;

// string encodings (STR sub), mirrored by the TS decoder
const E_UTF8: u8 = 0; // BINUNICODE family
const E_RAWUNICODE: u8 = 1; // UNICODE (raw-unicode-escape)
const E_PYSTRING: u8 = 2; // STRING line between the quotes (escapes not yet undone)
const E_LATIN1: u8 = 3; // BINSTRING / SHORT_BINSTRING
const E_BYTES: u8 = 4;
const E_BYTEARRAY: u8 = 5;
const E_LONG_LE: u8 = 6; // LONG1 / LONG4 two's complement little endian
const E_INT_TEXT: u8 = 7; // INT line
const E_LONG_TEXT: u8 = 8; // LONG line
const E_ASCII_LINE: u8 = 9; // PERSID line
const E_FLOAT_TEXT: u8 = 10; // FLOAT line
const E_GLOBAL_LINE: u8 = 11; // GLOBAL / INST module or name line

// container kinds (SEQ sub)
const C_TUPLE: u8 = 0;
const C_LIST: u8 = 1;
const C_SET: u8 = 2;
const C_FROZENSET: u8 = 3;
const C_DICT: u8 = 4;

// opaque reasons
const O_DEEP: u8 = 0;
const O_MARK: u8 = 1;
const O_MEMO_MISS: u8 = 2;
const O_UNDERFLOW: u8 = 3;
const O_BUFFER: u8 = 4;
const O_LIMIT: u8 = 5;
const O_UNKNOWN: u8 = 6;

// evidence value tags in events
const V_NONE: u8 = 0;
const V_TRUE: u8 = 1;
const V_FALSE: u8 = 2;
const V_INT64: u8 = 3;
const V_FLOAT: u8 = 4;
const V_STR: u8 = 5;
const V_SEQ: u8 = 6;
const V_GLOBAL: u8 = 7;
const V_CALL: u8 = 8;
const V_EXT: u8 = 9;
const V_PERSID: u8 = 10;
const V_OPAQUE: u8 = 11;

// trace argument tags
const T_NONE: u8 = 0;
const T_INT: u8 = 1; // i64
const T_VALUE: u8 = 2; // an evidence value (strings, bytes, text numbers)
const T_FLOAT: u8 = 3;
const T_PAIR: u8 = 4; // two STR values (GLOBAL / INST)

const REF_NONE: u32 = 1;
const REF_TRUE: u32 = 2;
const REF_FALSE: u32 = 3;
const REF_OPAQUE: u32 = 4; // + reason
const REF_IMM: u32 = 12; // stand-in record for immediate ints
const FIRST_DYNAMIC: u32 = 16;
// Refs with the top bit set are small ints (31-bit two's complement) held in the ref itself.
const IMM: u32 = 0x80000000;

const HASH_SLOTS: u32 = 65536;
const HASH_MAX_USED: u32 = 32768;
const EV_RESERVE: i32 = 300000; // room one opcode's events can need (bounded evidence)
const STR_INLINE: i32 = 36;
const CONT_BYTES: i32 = 56;
const SEQ_SLOTS: i32 = 14;
const MAX_DEPTH: i32 = 3;
const RESERVE_RECORDS: u32 = 32; // free records guaranteed before each opcode

// ---- opcode table: (byte, protocol) pairs, expanded into OPTAB at init
const OPCODES = memory.data<u8>([
  // protocol 0
  0x49, 0, 0x4c, 0, 0x53, 0, 0x4e, 0, 0x56, 0, 0x46, 0, 0x61, 0, 0x6c, 0, 0x74, 0, 0x64, 0,
  0x73, 0, 0x30, 0, 0x32, 0, 0x28, 0, 0x67, 0, 0x70, 0, 0x63, 0, 0x52, 0, 0x62, 0, 0x69, 0,
  0x2e, 0, 0x50, 0,
  // protocol 1
  0x4a, 1, 0x4b, 1, 0x4d, 1, 0x54, 1, 0x55, 1, 0x58, 1, 0x5d, 1, 0x65, 1, 0x29, 1, 0x7d, 1,
  0x75, 1, 0x31, 1, 0x68, 1, 0x6a, 1, 0x71, 1, 0x72, 1, 0x6f, 1, 0x51, 1, 0x47, 1,
  // protocol 2
  0x80, 2, 0x81, 2, 0x82, 2, 0x83, 2, 0x84, 2, 0x85, 2, 0x86, 2, 0x87, 2, 0x88, 2, 0x89, 2,
  0x8a, 2, 0x8b, 2,
  // protocol 3
  0x42, 3, 0x43, 3,
  // protocol 4
  0x8c, 4, 0x8d, 4, 0x8e, 4, 0x8f, 4, 0x90, 4, 0x91, 4, 0x92, 4, 0x93, 4, 0x94, 4, 0x95, 4,
  // protocol 5
  0x96, 5, 0x97, 5, 0x98, 5,
]);
const N_OPCODES: i32 = 68;

// ---- regions
let OPTAB: usize = 0;
let WIN: usize = 0;
let EV: usize = 0;
let STACK: usize = 0;
let MARKS: usize = 0;
let MEMO0: usize = 0;
let MEMO1: usize = 0;
let HASH0: usize = 0;
let HASH1: usize = 0;
let KEYS0: usize = 0;
let KEYS1: usize = 0;
let memoKeys: usize = 0;
let GCWORK: usize = 0;
let POOL: usize = 0;

// ---- limits / options
let winCap: i32 = 0;
let evCap: i32 = 0;
let maxStack: u32 = 0;
let maxMarks: u32 = 0;
let maxMemo: u32 = 0;
let maxValues: u32 = 0;
let maxItems: i32 = 8;
let retainCap: i32 = 256;
let maxOpcodes: f64 = 0;
let optTrace: bool = false;
let optMulti: bool = true;
let optLinear: bool = false;
let optWatch: bool = false;
let fastOk: bool = false;

// ---- window / position state
let cur: i32 = 0; // next unconsumed byte in WIN
let end: i32 = 0; // bytes held in WIN
let winBase: i64 = 0; // stream offset of WIN[0]
let skipRem: i64 = 0; // bytes still to drop from future input (skipped payload)
let eof: bool = false;
let done: bool = false;
let paused: bool = false;

// frame state: fEnd is the window index where the unpickler's buffer ends (-1 = no frame)
let frameEndAbs: i64 = -1;
let fEnd: i64 = -1;
let crossed: bool = false;
let lineStart: i64 = 0;

// ---- machine state
let sp: u32 = 0; // stack length
let stackBase: u32 = 0; // nested pickles keep the outer stack below this
let nMarks: u32 = 0;
let markBase: u32 = 0;
let proto: i32 = 0;
let protoSeen: bool = false;
let opsInPickle: f64 = 0;
let pickleIndex: u32 = 0;
let pickleCount: u32 = 0;
let pickleStart: i64 = 0;
let effectsAtPickleStart: u32 = 0;
let inNested: bool = false;
let junkMode: bool = false;
let pickleJustStarted: bool = false;
let fatalHit: bool = false;
let junkStart: i64 = 0;

// memo: current instance
let memoDirect: usize = 0;
let memoHash: usize = 0;
let memoGen: u32 = 1;
let memoCount: u32 = 0;
let memoMaxKey: u32 = 0; // highest direct key + 1 used in this generation
let memoHashUsed: u32 = 0;
// saved outer instance while nested
let outerGen: u32 = 0;
let outerCount: u32 = 0;
let outerMaxKey: u32 = 0;
let outerHashUsed: u32 = 0;
let outerProto: i32 = 0;
let outerProtoSeen: bool = false;
let outerPickleIndex: u32 = 0;
let outerFrameEndAbs: i64 = -1;
let outerOps: f64 = 0;
let genCounter: u32 = 1;

// pool
let poolCap: u32 = 0; // records addressable now
let poolTop: u32 = FIRST_DYNAMIC; // bump pointer
let freeHead: u32 = 0;
let freeCount: u32 = 0;

// counters
let nImports: u32 = 0;
let nCalls: u32 = 0;
let nPersids: u32 = 0;
let nExts: u32 = 0;
let opCount: f64 = 0;
let bytesSkipped: f64 = 0;
let maxDepthSeen: u32 = 0;
let maxMemoSeen: u32 = 0;
let evLen: i32 = 0;
let lastGlobal: u32 = 0;
let lastInstCall: u32 = 0;
let pauseCall: u32 = 0;

// ============================================================================================
// init
// ============================================================================================

@inline function align16(x: usize): usize {
  return (x + 15) & ~(<usize>15);
}

function ensureMemory(top: usize): bool {
  const have = <usize>memory.size() << 16;
  if (top <= have) return true;
  const pages = <i32>((top - have + 65535) >> 16);
  return memory.grow(pages) >= 0;
}

/**
 * Lays out memory for the given limits and resets all state. Returns 0, or -1 when memory
 * could not be grown. Flags: 1 trace, 2 multiple pickles, 4 linear frames, 8 watch imports.
 */
export function init(
  windowCap: i32,
  eventsCap: i32,
  stackLimit: u32,
  marksLimit: u32,
  memoLimit: u32,
  valuesLimit: u32,
  itemsLimit: i32,
  retainLimit: i32,
  opcodesLimit: f64,
  flags: i32,
): i32 {
  winCap = windowCap;
  evCap = eventsCap;
  maxStack = stackLimit;
  maxMarks = marksLimit;
  maxMemo = memoLimit;
  maxValues = valuesLimit < 64 ? 64 : valuesLimit;
  maxItems = itemsLimit < 1 ? 1 : itemsLimit > 8 ? 8 : itemsLimit;
  retainCap = retainLimit < 16 ? 16 : retainLimit > 1024 ? 1024 : retainLimit;
  maxOpcodes = opcodesLimit;
  optTrace = (flags & 1) != 0;
  optMulti = (flags & 2) != 0;
  optLinear = (flags & 4) != 0;
  optWatch = (flags & 8) != 0;
  // the fast path emits no trace and does not count toward an opcode limit one by one
  fastOk = !optTrace && maxOpcodes <= 0;

  let p = align16(__heap_base);
  OPTAB = p;
  p += 256;
  WIN = p;
  p = align16(p + <usize>winCap + 16);
  EV = p;
  p = align16(p + <usize>evCap);
  STACK = p;
  p = align16(p + (<usize>maxStack << 2));
  MARKS = p;
  p = align16(p + (<usize>maxMarks << 2));
  MEMO0 = p;
  p = align16(p + (<usize>maxMemo << 3));
  MEMO1 = p;
  p = align16(p + (<usize>maxMemo << 3));
  HASH0 = p;
  p = align16(p + <usize>HASH_SLOTS * 12);
  HASH1 = p;
  p = align16(p + <usize>HASH_SLOTS * 12);
  KEYS0 = p;
  p = align16(p + (<usize>maxMemo << 2));
  KEYS1 = p;
  p = align16(p + (<usize>maxMemo << 2));
  GCWORK = p;
  p = align16(p + (<usize>maxValues << 2));
  POOL = p;
  poolCap = <u32>4096 < maxValues ? <u32>4096 : maxValues;
  if (!ensureMemory(POOL + (<usize>poolCap << 6))) return -1;
  // Memo slots are never cleared: a slot counts only when its generation is the current one,
  // and generations only grow, so a new pickle (or a re-init) costs nothing.

  memory.fill(OPTAB, 0xff, 256);
  for (let i = 0; i < N_OPCODES; i++) {
    store<u8>(OPTAB + <usize>load<u8>(OPCODES + (i << 1)), load<u8>(OPCODES + (i << 1) + 1));
  }

  cur = 0;
  end = 0;
  winBase = 0;
  skipRem = 0;
  eof = false;
  done = false;
  fatalHit = false;
  paused = false;
  frameEndAbs = -1;
  fEnd = -1;
  crossed = false;
  sp = 0;
  stackBase = 0;
  nMarks = 0;
  markBase = 0;
  inNested = false;
  junkMode = false;
  memoDirect = MEMO0;
  memoHash = HASH0;
  memoKeys = KEYS0;
  memoCount = 0;
  memoMaxKey = 0;
  memoHashUsed = 0;
  poolTop = FIRST_DYNAMIC;
  freeHead = 0;
  freeCount = 0;
  nImports = 0;
  nCalls = 0;
  nPersids = 0;
  nExts = 0;
  opCount = 0;
  bytesSkipped = 0;
  maxDepthSeen = 0;
  maxMemoSeen = 0;
  evLen = 0;
  lastGlobal = 0;
  lastInstCall = 0;
  pauseCall = 0;
  pickleIndex = 0;
  pickleCount = 0;

  // constants
  setConst(REF_NONE, K_NONE, 0);
  setConst(REF_TRUE, K_BOOL, 1);
  setConst(REF_FALSE, K_BOOL, 0);
  for (let r: u32 = 0; r < 8; r++) setConst(REF_OPAQUE + r, K_OPAQUE, <u8>r);
  setConst(REF_IMM, K_INT64, 0);
  store<i64>(rec(REF_IMM), 0, 8);
  startPickle(0);
  return 0;
}

function setConst(ref: u32, kind: u8, sub: u8): void {
  const a = POOL + (<usize>ref << 6);
  store<u8>(a, kind);
  store<u8>(a, 0, 1);
  store<u8>(a, sub, 2);
}

// ============================================================================================
// host interface
// ============================================================================================

/** Moves unconsumed bytes to the window start; returns where the host may write. */
export function inputPtr(): usize {
  compact();
  return WIN + <usize>end;
}

/** How many bytes the host may write at inputPtr(). */
export function inputSpace(): i32 {
  return winCap - end;
}

function compact(): void {
  if (cur > 0) {
    if (end > cur) memory.copy(WIN, WIN + <usize>cur, <usize>(end - cur));
    winBase += <i64>cur;
    end -= cur;
    cur = 0;
    fEnd = frameEndAbs < 0 ? -1 : frameEndAbs - winBase;
  }
}

/** The host wrote `n` bytes at inputPtr(); scans them. */
export function push(n: i32): i32 {
  if (skipRem > 0 && n > 0) {
    // Window is fully consumed while a payload is being skipped, so dropped bytes sit at WIN[end].
    const s = <i64>n < skipRem ? n : <i32>skipRem;
    if (n > s) memory.copy(WIN + <usize>end, WIN + <usize>(end + s), <usize>(n - s));
    n -= s;
    skipRem -= <i64>s;
    winBase += <i64>s;
    fEnd = frameEndAbs < 0 ? -1 : frameEndAbs - winBase;
  }
  end += n;
  return run();
}

/** Continue after ST_EVFULL / ST_PAUSE / ST_IMPORT. */
export function resume(): i32 {
  paused = false;
  return run();
}

/** No more input will come: report truncation or trailing bytes, then stop. */
export function finish(): i32 {
  eof = true;
  return run();
}

/** Bytes the host may skip in its source instead of feeding them (a skipped payload). */
export function pendingSkip(): f64 {
  return <f64>skipRem;
}

/** Host skipped `n` bytes itself (it advanced its read offset instead of feeding them). */
export function skipped(n: f64): void {
  const k = <i64>n;
  skipRem -= k;
  winBase += k;
  fEnd = frameEndAbs < 0 ? -1 : frameEndAbs - winBase;
}

/** While paused: drop the next `n` bytes of the stream (joblib raw array data). */
export function skipBytes(n: f64): void {
  let k = <i64>n;
  const buffered = <i64>(end - cur);
  if (k <= buffered) {
    cur += <i32>k;
  } else {
    cur = end;
    skipRem += k - buffered;
  }
  bytesSkipped += n;
}

/** While paused: the next bytes are a complete pickle read by a nested pickle.load (joblib). */
export function beginNested(): i32 {
  if (inNested) return -1;
  inNested = true;
  outerGen = memoGen;
  outerCount = memoCount;
  outerMaxKey = memoMaxKey;
  outerHashUsed = memoHashUsed;
  outerProto = proto;
  outerProtoSeen = protoSeen;
  outerPickleIndex = pickleIndex;
  outerFrameEndAbs = frameEndAbs;
  outerOps = opsInPickle;
  stackBase = sp;
  markBase = nMarks;
  memoDirect = MEMO1;
  memoHash = HASH1;
  memoKeys = KEYS1;
  frameEndAbs = -1;
  fEnd = -1;
  startPickle(winBase + <i64>cur);
  return 0;
}

function endNested(): void {
  inNested = false;
  sp = stackBase;
  nMarks = markBase;
  stackBase = 0;
  markBase = 0;
  memoDirect = MEMO0;
  memoHash = HASH0;
  memoKeys = KEYS0;
  memoGen = outerGen;
  memoCount = outerCount;
  memoMaxKey = outerMaxKey;
  memoHashUsed = outerHashUsed;
  proto = outerProto;
  protoSeen = outerProtoSeen;
  pickleIndex = outerPickleIndex;
  opsInPickle = outerOps;
  frameEndAbs = outerFrameEndAbs;
  fEnd = frameEndAbs < 0 ? -1 : frameEndAbs - winBase;
}

/** After ST_IMPORT: the import just reported is one the host watches. */
export function markWatched(): void {
  if (lastGlobal != 0) store<u8>(rec(lastGlobal), load<u8>(rec(lastGlobal), 1) | 4, 1);
  if (lastInstCall != 0) store<u8>(rec(lastInstCall), load<u8>(rec(lastInstCall), 1) | 4, 1);
}

export function eventsPtr(): usize {
  return EV;
}
export function eventsLen(): i32 {
  return evLen;
}
export function eventsReset(): void {
  evLen = 0;
}
export function position(): f64 {
  return <f64>(winBase + <i64>cur);
}
export function statOpcodes(): f64 {
  return opCount;
}
export function statSkipped(): f64 {
  return bytesSkipped;
}
export function statPickles(): u32 {
  return pickleCount;
}
export function statMaxDepth(): u32 {
  return maxDepthSeen;
}
export function statMemo(): u32 {
  return maxMemoSeen;
}
export function statPoolCap(): u32 {
  return poolCap;
}
export function isDone(): i32 {
  return done ? 1 : 0;
}

// ============================================================================================
// events
// ============================================================================================

@inline function e8(v: u32): void {
  store<u8>(EV + <usize>evLen, <u8>v);
  evLen += 1;
}
@inline function e16(v: u32): void {
  store<u16>(EV + <usize>evLen, <u16>v);
  evLen += 2;
}
@inline function e32(v: u32): void {
  store<u32>(EV + <usize>evLen, v);
  evLen += 4;
}
@inline function ef64(v: f64): void {
  store<f64>(EV + <usize>evLen, v);
  evLen += 8;
}
@inline function ei64(v: i64): void {
  store<i64>(EV + <usize>evLen, v);
  evLen += 8;
}
@inline function eBytes(src: usize, n: i32): void {
  memory.copy(EV + <usize>evLen, src, <usize>n);
  evLen += n;
}

@inline function absAt(idx: i64): f64 {
  return <f64>(winBase + idx);
}

function anomaly(code: u8, at: f64, fatal: bool, d1: f64, d2: f64): void {
  if (fatal) fatalHit = true;
  e8(EV_ANOMALY);
  e8(code);
  e8(fatal ? 1 : 0);
  e8(0);
  e32(pickleIndex);
  ef64(at);
  ef64(d1);
  ef64(d2);
}

/** Writes the evidence encoding of a value (depth-bounded). */
function emitValue(ref: u32, depth: i32): void {
  if (ref >= IMM) {
    e8(V_INT64);
    ei64(<i64>((<i32>(ref << 1)) >> 1));
    return;
  }
  const a = rec(ref);
  const kind = load<u8>(a);
  if (kind == K_NONE) {
    e8(V_NONE);
  } else if (kind == K_BOOL) {
    e8(load<u8>(a, 2) != 0 ? V_TRUE : V_FALSE);
  } else if (kind == K_INT64) {
    e8(V_INT64);
    ei64(load<i64>(a, 8));
  } else if (kind == K_FLOAT) {
    e8(V_FLOAT);
    ef64(load<f64>(a, 8));
  } else if (kind == K_STR) {
    // deeper strings keep less, so one event stays far below EV_RESERVE
    const full = <i32>load<u16>(a, 24);
    const stored = depth >= 2 && full > 64 ? 64 : full;
    e8(V_STR);
    e8(load<u8>(a, 2));
    e8((load<u8>(a, 1) & 2) != 0 || full > stored ? 1 : 0);
    e16(stored);
    ef64(load<f64>(a, 8));
    ef64(load<f64>(a, 16));
    let n = stored < STR_INLINE ? stored : STR_INLINE;
    eBytes(a + 28, n);
    let left = stored - n;
    let next = load<u32>(a, 4);
    while (left > 0 && next != 0) {
      const c = rec(next);
      const k = left < CONT_BYTES ? left : CONT_BYTES;
      eBytes(c + 8, k);
      left -= k;
      next = load<u32>(c, 4);
    }
  } else if (kind == K_SEQ) {
    if (depth >= MAX_DEPTH) {
      e8(V_OPAQUE);
      e8(O_DEEP);
      return;
    }
    const sub = load<u8>(a, 2);
    const count = <i32>load<u16>(a, 4);
    e8(V_SEQ);
    e8(sub);
    e8((load<u8>(a, 1) & 2) != 0 ? 1 : 0);
    e16(sub == C_DICT ? count >> 1 : count);
    for (let i = 0; i < count; i++) emitValue(load<u32>(a + 8 + (<usize>i << 2)), depth + 1);
  } else if (kind == K_GLOBAL) {
    e8(V_GLOBAL);
    e32(load<u32>(a, 4));
  } else if (kind == K_CALL) {
    e8(V_CALL);
    e32(load<u32>(a, 4));
  } else if (kind == K_EXT) {
    e8(V_EXT);
    e32(load<u32>(a, 4));
  } else if (kind == K_PERSID) {
    e8(V_PERSID);
    e32(load<u32>(a, 4));
  } else {
    e8(V_OPAQUE);
    e8(kind == K_OPAQUE ? load<u8>(a, 2) : O_UNKNOWN);
  }
}

/** A string literal straight from the window (GLOBAL/INST lines, trace arguments). */
function emitWindowStr(enc: u8, idx: i64, len: i64): void {
  const stored = len < <i64>retainCap ? <i32>len : retainCap;
  e8(V_STR);
  e8(enc);
  e8(len > <i64>stored ? 1 : 0);
  e16(stored);
  ef64(absAt(idx));
  ef64(<f64>len);
  eBytes(WIN + <usize>idx, stored);
}

function traceHead(op: u32, at: i64, tag: u8): void {
  e8(EV_TRACE);
  e8(op);
  e8(tag);
  e8(0);
  ef64(absAt(at));
}

// ============================================================================================
// value pool and garbage collection
// ============================================================================================

/** Record address of a ref; immediate ints read as a zero INT64 stand-in (never written). */
@inline function rec(ref: u32): usize {
  return POOL + (<usize>(ref >= IMM ? REF_IMM : ref) << 6);
}

@inline function poolAvail(): u32 {
  return freeCount + (poolCap - poolTop);
}

function alloc(kind: u8, sub: u8): u32 {
  let ref: u32;
  if (freeHead != 0) {
    ref = freeHead;
    freeHead = load<u32>(rec(ref), 4);
    freeCount--;
  } else {
    ref = poolTop++;
  }
  const a = rec(ref);
  store<u8>(a, kind);
  store<u8>(a, 0, 1);
  store<u8>(a, sub, 2);
  store<u8>(a, 0, 3);
  store<u32>(a, 0, 4);
  return ref;
}

/**
 * Makes sure one opcode's allocations cannot fail: a string literal of 1024 retained bytes takes
 * 19 records, GLOBAL+INST two more. False = the value limit is hit.
 */
function reserve(): bool {
  if (poolAvail() >= RESERVE_RECORDS) return true;
  const rootsScanned = collect();
  // Grow when little was freed, or when scanning the roots cost more than the space won
  // (a sparse memo key must not make every collection expensive).
  if ((freeCount >= (poolCap >> 1) && rootsScanned <= freeCount) || poolCap >= maxValues) {
    return poolAvail() >= RESERVE_RECORDS;
  }
  let next = poolCap << 1;
  if (next > maxValues) next = maxValues;
  if (!ensureMemory(POOL + (<usize>next << 6))) return poolAvail() >= RESERVE_RECORDS;
  poolCap = next;
  return true;
}

@inline function markPush(ref: u32, top: u32): u32 {
  if (ref >= IMM) return top;
  const a = rec(ref);
  const f = load<u8>(a, 1);
  if ((f & 1) == 0 && ref >= FIRST_DYNAMIC) {
    store<u8>(a, f | 1, 1);
    store<u32>(GCWORK + (<usize>top << 2), ref);
    return top + 1;
  }
  return top;
}

function markMemo(direct: usize, hash: usize, keys: usize, gen: u32, count: u32, top: u32): u32 {
  for (let i: u32 = 0; i < count; i++) {
    const v = memoLookup(direct, hash, gen, load<u32>(keys + (<usize>i << 2)));
    if (v != 0) top = markPush(v, top);
  }
  return top;
}

/** Mark-sweep over the pool; returns how many root slots were scanned. */
function collect(): u32 {
  let top: u32 = 0;
  let roots: u32 = sp + memoCount;
  if (inNested) roots += outerCount;
  for (let i: u32 = 0; i < sp; i++) top = markPush(load<u32>(STACK + (<usize>i << 2)), top);
  if (pauseCall != 0) top = markPush(pauseCall, top);
  if (inNested) {
    top = markMemo(MEMO0, HASH0, KEYS0, outerGen, outerCount, top);
    top = markMemo(MEMO1, HASH1, KEYS1, memoGen, memoCount, top);
  } else {
    top = markMemo(MEMO0, HASH0, KEYS0, memoGen, memoCount, top);
  }
  while (top > 0) {
    top--;
    const ref = load<u32>(GCWORK + (<usize>top << 2));
    const a = rec(ref);
    const kind = load<u8>(a);
    if (kind == K_SEQ) {
      const n = <u32>load<u16>(a, 4);
      for (let i: u32 = 0; i < n; i++) top = markPush(load<u32>(a + 8 + (<usize>i << 2)), top);
    } else if (kind == K_STR || kind == K_CONT) {
      const next = load<u32>(a, 4);
      if (next != 0) top = markPush(next, top);
    }
  }
  freeHead = 0;
  freeCount = 0;
  for (let r: u32 = poolTop - 1; r >= FIRST_DYNAMIC; r--) {
    const a = rec(r);
    const f = load<u8>(a, 1);
    if (f & 1) {
      store<u8>(a, f & 0xfe, 1);
    } else {
      store<u8>(a, K_FREE);
      store<u32>(a, freeHead, 4);
      freeHead = r;
      freeCount++;
    }
  }
  return roots;
}

function newStr(enc: u8, idx: i64, len: i64): u32 {
  const stored = len < <i64>retainCap ? <i32>len : retainCap;
  const ref = alloc(K_STR, enc);
  const a = rec(ref);
  if (<i64>stored < len) store<u8>(a, 2, 1);
  store<f64>(a, absAt(idx), 8);
  store<f64>(a, <f64>len, 16);
  store<u16>(a, <u16>stored, 24);
  const src = WIN + <usize>idx;
  let n = stored < STR_INLINE ? stored : STR_INLINE;
  // short names and keys dominate dense pickles: word copies beat a bulk-memory call there
  // (rounding up to 4 stays inside the record: 28 + 36 = 64, and the window has 16 spare bytes)
  for (let i = 0; i < n; i += 4) store<u32>(a + 28 + <usize>i, load<u32>(src + <usize>i));
  let prev = a;
  while (n < stored) {
    const k = stored - n < CONT_BYTES ? stored - n : CONT_BYTES;
    const c = alloc(K_CONT, 0);
    memory.copy(rec(c) + 8, src + <usize>n, <usize>k);
    store<u32>(prev, c, 4);
    prev = rec(c);
    n += k;
  }
  return ref;
}

function newInt(v: i64): u32 {
  // most ints in a data pickle are small: carry them in the ref itself, no record, no GC work
  if (v >= -0x40000000 && v < 0x40000000) return IMM | (<u32>v & 0x7fffffff);
  const ref = alloc(K_INT64, 0);
  store<i64>(rec(ref), v, 8);
  return ref;
}

function newFloat(v: f64): u32 {
  const ref = alloc(K_FLOAT, 0);
  store<f64>(rec(ref), v, 8);
  return ref;
}

function newTagged(kind: u8, aux: u32): u32 {
  const ref = alloc(kind, 0);
  store<u32>(rec(ref), aux, 4);
  return ref;
}

function newSeq(kind: u8): u32 {
  return alloc(K_SEQ, kind);
}

/** Appends a child to a container record; beyond the evidence bound it only sets `truncated`. */
function seqAdd(seq: u32, item: u32): void {
  const a = rec(seq);
  if (load<u8>(a) != K_SEQ) return;
  if (load<u8>(a, 2) == C_DICT) {
    // APPEND on a dict fails in the unpickler; keep the dict's pairs aligned
    store<u8>(a, load<u8>(a, 1) | 2, 1);
    return;
  }
  const n = <i32>load<u16>(a, 4);
  if (n < maxItems) {
    store<u32>(a + 8 + (<usize>n << 2), item);
    store<u16>(a, <u16>(n + 1), 4);
  } else {
    store<u8>(a, load<u8>(a, 1) | 2, 1);
  }
}

function seqAddPair(seq: u32, k: u32, v: u32): void {
  const a = rec(seq);
  if (load<u8>(a) != K_SEQ) return;
  if (load<u8>(a, 2) != C_DICT) {
    // SETITEM on a list or tuple is not a new element: only note that the value changed
    store<u8>(a, load<u8>(a, 1) | 2, 1);
    return;
  }
  const n = <i32>load<u16>(a, 4);
  const pairs = maxItems < SEQ_SLOTS >> 1 ? maxItems : SEQ_SLOTS >> 1;
  if (n < pairs << 1) {
    store<u32>(a + 8 + (<usize>n << 2), k);
    store<u32>(a + 12 + (<usize>n << 2), v);
    store<u16>(a, <u16>(n + 2), 4);
  } else {
    store<u8>(a, load<u8>(a, 1) | 2, 1);
  }
}

// ============================================================================================
// stack, marks, memo
// ============================================================================================

@inline function fence(): u32 {
  return nMarks > markBase ? load<u32>(MARKS + (<usize>(nMarks - 1) << 2)) : stackBase;
}

function push1(ref: u32): bool {
  if (sp >= maxStack) return false;
  store<u32>(STACK + (<usize>sp << 2), ref);
  sp++;
  if (sp > maxDepthSeen) maxDepthSeen = sp;
  return true;
}

@inline function top1(): u32 {
  return load<u32>(STACK + (<usize>(sp - 1) << 2));
}

@inline function at(i: u32): u32 {
  return load<u32>(STACK + (<usize>i << 2));
}

function memoPut(key: u32, ref: u32): i32 {
  if (key < maxMemo) {
    const s = memoDirect + (<usize>key << 3);
    if (load<u32>(s) != memoGen) {
      if (memoCount >= maxMemo) return -1;
      store<u32>(memoKeys + (<usize>memoCount << 2), key);
      memoCount++;
      store<u32>(s, memoGen);
      if (key + 1 > memoMaxKey) memoMaxKey = key + 1;
    }
    store<u32>(s, ref, 4);
  } else {
    let h = (key * 0x9e3779b1) >> 16;
    while (true) {
      const s = memoHash + <usize>h * 12;
      if (load<u32>(s, 4) != memoGen) {
        if (memoHashUsed >= HASH_MAX_USED || memoCount >= maxMemo) return -1;
        memoHashUsed++;
        store<u32>(memoKeys + (<usize>memoCount << 2), key);
        memoCount++;
        store<u32>(s, key);
        store<u32>(s, memoGen, 4);
        store<u32>(s, ref, 8);
        break;
      }
      if (load<u32>(s) == key) {
        store<u32>(s, ref, 8);
        break;
      }
      h = (h + 1) & (HASH_SLOTS - 1);
    }
  }
  if (memoCount > maxMemoSeen) maxMemoSeen = memoCount;
  return 0;
}

@inline function memoGet(key: u32): u32 {
  return memoLookup(memoDirect, memoHash, memoGen, key);
}

function memoLookup(direct: usize, hash: usize, gen: u32, key: u32): u32 {
  if (key < maxMemo) {
    const s = direct + (<usize>key << 3);
    return load<u32>(s) == gen ? load<u32>(s, 4) : 0;
  }
  let h = (key * 0x9e3779b1) >> 16;
  while (true) {
    const s = hash + <usize>h * 12;
    if (load<u32>(s, 4) != gen) return 0;
    if (load<u32>(s) == key) return load<u32>(s, 8);
    h = (h + 1) & (HASH_SLOTS - 1);
  }
  return 0;
}

function startPickle(at: i64): void {
  sp = stackBase;
  nMarks = markBase;
  memoGen = ++genCounter;
  memoCount = 0;
  memoMaxKey = 0;
  memoHashUsed = 0;
  proto = 0;
  protoSeen = false;
  opsInPickle = 0;
  pickleIndex = pickleCount;
  pickleCount++;
  pickleStart = at;
  pickleJustStarted = true;
  effectsAtPickleStart = nImports + nCalls + nPersids + nExts;
  e8(EV_PICKLE);
  e8(0);
  e8(0);
  e8(0);
  e32(pickleIndex);
  ef64(<f64>at);
}

// ============================================================================================
// reading helpers (window indexes are i64 so frame ends beyond the window compare safely)
// ============================================================================================

/** Where a fixed-size read of `n` bytes at `p` really starts (C unpickler frame buffering). */
@inline function field(p: i64, n: i64): i64 {
  if (p < fEnd && p + n > fEnd) {
    crossed = true;
    return fEnd;
  }
  return p;
}

@inline function have(p: i64, n: i64): bool {
  return p + n <= <i64>end;
}

function findNL(from: i64, to: i64): i64 {
  let i = from;
  const base = WIN;
  // 16 bytes at a time: lines (GLOBAL names, protocol-0 text) are the only scans
  while (i + 16 <= to) {
    const v = v128.load(base + <usize>i);
    const m = i8x16.bitmask(i8x16.eq(v, i8x16.splat(10)));
    if (m != 0) return i + <i64>ctz(m);
    i += 16;
  }
  while (i < to) {
    if (load<u8>(base + <usize>i) == 10) return i;
    i++;
  }
  return -1;
}

/** Index of the newline ending the line read at `p` (-1 = need more); sets lineStart. */
function line(p: i64): i64 {
  if (p < fEnd) {
    const e = fEnd < <i64>end ? fEnd : <i64>end;
    const nl = findNL(p, e);
    if (nl >= 0) {
      lineStart = p;
      return nl;
    }
    if (fEnd > <i64>end) return -1;
    crossed = true;
    p = fEnd;
  }
  if (p > <i64>end) return -1;
  const nl = findNL(p, <i64>end);
  if (nl >= 0) lineStart = p;
  return nl;
}

@inline function u32at(p: i64): u32 {
  return load<u32>(WIN + <usize>p);
}

/** Decimal memo key of a PUT/GET line (int(line) in base 10); -1 = not a valid key. */
function decimalKey(p: i64, e: i64): i64 {
  while (p < e && isSpace(load<u8>(WIN + <usize>p))) p++;
  while (e > p && isSpace(load<u8>(WIN + <usize>(e - 1)))) e--;
  if (p < e && load<u8>(WIN + <usize>p) == 0x2b) p++;
  if (p >= e) return -1;
  let v: i64 = 0;
  let prevDigit = false;
  for (let i = p; i < e; i++) {
    const c = load<u8>(WIN + <usize>i);
    if (c >= 0x30 && c <= 0x39) {
      v = v * 10 + <i64>(c - 0x30);
      if (v > 0xffffffff) return -1;
      prevDigit = true;
    } else if (c == 0x5f && prevDigit && i + 1 < e) {
      prevDigit = false;
    } else {
      return -1;
    }
  }
  return prevDigit ? v : -1;
}

@inline function isSpace(c: u8): bool {
  return c == 0x20 || (c >= 9 && c <= 13);
}

// ============================================================================================
// the scanner loop
// ============================================================================================

function run(): i32 {
  if (done) return ST_DONE;
  while (true) {
    if (evLen > evCap - EV_RESERVE) return ST_EVFULL;
    if (fEnd >= 0 && <i64>cur >= fEnd) {
      fEnd = -1;
      frameEndAbs = -1;
    }
    if (cur >= end) {
      if (!eof || skipRem > 0) {
        if (eof && skipRem > 0) {
          anomaly(A_TRUNCATED, position(), true, <f64>skipRem, 0);
          done = true;
          return ST_DONE;
        }
        return ST_NEED;
      }
      endOfInput();
      done = true;
      return ST_DONE;
    }
    if (junkMode) {
      if (!resync()) {
        if (done) return ST_DONE;
        return ST_NEED;
      }
      continue;
    }
    if (!reserve()) {
      anomaly(A_LIMIT_VALUES, position(), true, <f64>maxValues, 0);
      done = true;
      return ST_DONE;
    }
    if (fastOk && fastRun() > 0) continue;
    const opStart = cur;
    const evMark = evLen;
    crossed = false;
    lastGlobal = 0;
    lastInstCall = 0;
    pickleJustStarted = false;
    const r = step();
    if (r == SR_NEED) {
      evLen = evMark;
      cur = opStart;
      if (eof) {
        truncatedAt(opStart);
        done = true;
        return ST_DONE;
      }
      if (opStart == 0 && end >= winCap) {
        anomaly(A_LIMIT_STRINGS, position(), true, <f64>winCap, 0);
        done = true;
        return ST_DONE;
      }
      return ST_NEED;
    }
    if (crossed) {
      anomaly(A_FRAME_CROSSING, absAt(<i64>opStart), false, 0, 0);
    }
    opCount += 1;
    // STOP opens the next pickle inside step(); its opcodes start counting from the next one
    if (!pickleJustStarted) opsInPickle += 1;
    if (maxOpcodes > 0 && opCount > maxOpcodes) {
      anomaly(A_LIMIT_OPCODES, absAt(<i64>opStart), true, maxOpcodes, 0);
      done = true;
    }
    if (done) {
      // a fatal anomaly: the scan ends at the opcode that raised it, wherever the chunk ended
      if (fatalHit) {
        cur = opStart;
        skipRem = 0;
      }
      return ST_DONE;
    }
    if (r == SR_PAUSE) {
      paused = true;
      return ST_PAUSE;
    }
    if (r == SR_IMPORT) return ST_IMPORT;
    if (r == SR_STOP) return ST_DONE;
  }
  return ST_DONE;
}

function truncatedAt(opStart: i32): void {
  if (pickleIndex > 0 && !inNested && nImports + nCalls + nPersids + nExts == effectsAtPickleStart) {
    pickleCount--;
    anomaly(A_TRAILING, <f64>pickleStart, false, <f64>(winBase + <i64>end) - <f64>pickleStart, 0);
    return;
  }
  anomaly(A_TRUNCATED, absAt(<i64>opStart), true, 0, 0);
}

function endOfInput(): void {
  if (junkMode) {
    // the input ended while looking past trailing bytes: already reported
    junkMode = false;
    return;
  }
  if (inNested) {
    anomaly(A_TRUNCATED, position(), true, 0, 0);
    return;
  }
  if (opsInPickle > 0) {
    // the stream ended inside a pickle that never reached STOP
    truncatedAt(cur);
  } else if (pickleIndex > 0) {
    // nothing followed the last STOP: the pickle opened after it does not exist
    pickleCount--;
  } else {
    // no opcode at all: pickle.load raises EOFError on empty input
    pickleCount--;
    anomaly(A_TRUNCATED, position(), true, 0, 0);
  }
}

/** After junk following a STOP: look for a protocol 2+ header within 256 bytes (multi-stream). */
function resync(): bool {
  while (cur < end) {
    if (<i64>cur + winBase - junkStart >= 256) {
      junkMode = false;
      done = true;
      return false;
    }
    if (load<u8>(WIN + <usize>cur) == 0x80) {
      if (cur + 1 >= end) {
        if (eof) {
          cur = end;
          continue;
        }
        return false;
      }
      if (load<u8>(WIN + <usize>(cur + 1)) <= 5) {
        junkMode = false;
        startPickle(winBase + <i64>cur);
        return true;
      }
    }
    cur++;
  }
  if (eof) {
    junkMode = false;
    done = true;
  }
  return false;
}

@inline function underflow(at: i64): void {
  anomaly(A_UNDERFLOW, absAt(at), false, 0, 0);
}

/** Pops one value above the fence; an opaque placeholder (and an anomaly) on underflow. */
function pop1(at: i64): u32 {
  if (sp <= fence()) {
    underflow(at);
    return REF_OPAQUE + O_UNDERFLOW;
  }
  sp--;
  return at_(sp);
}

@inline function at_(i: u32): u32 {
  return load<u32>(STACK + (<usize>i << 2));
}

/** Stack index of the topmost mark (items above it are the mark's), or -1 with an anomaly. */
function popMark(at: i64): i64 {
  if (nMarks <= markBase) {
    anomaly(A_MARK_MISSING, absAt(at), false, 0, 0);
    return -1;
  }
  nMarks--;
  return <i64>load<u32>(MARKS + (<usize>nMarks << 2));
}

function pushOrLimit(ref: u32, at: i64): bool {
  if (push1(ref)) return true;
  anomaly(A_LIMIT_STACK, absAt(at), true, <f64>maxStack, 0);
  done = true;
  return false;
}

function emitImport(kind: u8, at: i64, resolved: bool): void {
  e8(EV_IMPORT);
  e8(kind);
  e8(resolved ? 1 : 0);
  e8(<u32>proto);
  e32(nImports);
  e32(pickleIndex);
  ef64(absAt(at));
}

/** Marks an import as called when a call applies it (the value is a GLOBAL record). */
function noteCallee(target: u32): void {
  const a = rec(target);
  if (load<u8>(a) == K_GLOBAL) {
    e8(EV_CALLED);
    e8(0);
    e8(0);
    e8(0);
    e32(load<u32>(a, 4));
  }
}

function newCall(target: u32): u32 {
  const c = newTagged(K_CALL, nCalls);
  // a call of a watched class yields a watched object (for pauseAfterBuildOf)
  if ((load<u8>(rec(target), 1) & 4) != 0) store<u8>(rec(c), 4, 1);
  return c;
}

function emitCallHead(kind: u8, at: i64, argc: u32, hasKw: bool): void {
  e8(EV_CALL);
  e8(kind);
  e8(hasKw ? 1 : 0);
  e8(0);
  e32(nCalls);
  e32(pickleIndex);
  e32(argc);
  ef64(absAt(at));
}

/** Emits `count` values from the stack starting at index `from` as call arguments. */
function emitStackItems(from: u32, count: u32): void {
  for (let i: u32 = 0; i < count; i++) emitValue(at_(from + i), 1);
}

/** Emits the items of an args value (a tuple record) as positional arguments. */
function argCount(args: u32): u32 {
  const a = rec(args);
  if (load<u8>(a) == K_SEQ && load<u8>(a, 2) == C_TUPLE) return <u32>load<u16>(a, 4);
  return 1;
}
function emitArgs(args: u32): void {
  const a = rec(args);
  if (load<u8>(a) == K_SEQ && load<u8>(a, 2) == C_TUPLE) {
    const n = <u32>load<u16>(a, 4);
    for (let i: u32 = 0; i < n; i++) emitValue(load<u32>(a + 8 + (<usize>i << 2)), 1);
  } else {
    emitValue(args, 1);
  }
}

/** Protocol of an opcode byte, 0xFF when it is not an opcode. */
@inline function opProto(op: u32): u32 {
  return <u32>load<u8>(OPTAB + <usize>op);
}

function step(): i32 {
  const o = <i64>cur;
  const op = <u32>load<u8>(WIN + <usize>cur);
  const opP = opProto(op);
  if (opP == 0xff) {
    if (pickleIndex > 0 && !inNested && nImports + nCalls + nPersids + nExts == effectsAtPickleStart) {
      // bytes after a STOP that do not form a pickle (text, padding...): if nothing they decoded
      // to could run, report them as trailing bytes, then look for another pickle
      anomaly(A_TRAILING, <f64>pickleStart, false, 0, 0);
      junkMode = true;
      junkStart = winBase + o;
      pickleCount--;
      // not an opcode: undo the count run() is about to add
      opCount -= 1;
      opsInPickle -= 1;
      return SR_OK;
    }
    anomaly(A_UNKNOWN_OPCODE, absAt(o), true, <f64>op, 0);
    done = true;
    return SR_OK;
  }
  if (protoSeen && opP > <u32>proto && op != 0x80) {
    anomaly(A_ABOVE_PROTOCOL, absAt(o), false, <f64>op, <f64>proto);
  }
  const p = o + 1;
  switch (op) {
    // ---------------------------------------------------------------- ints
    case 0x4a: {
      // BININT
      const q = field(p, 4);
      if (!have(q, 4)) return SR_NEED;
      const v = <i64>load<i32>(WIN + <usize>q);
      if (optTrace) {
        traceHead(op, o, T_INT);
        ei64(v);
      }
      cur = <i32>(q + 4);
      if (!pushOrLimit(newInt(v), o)) return SR_OK;
      return SR_OK;
    }
    case 0x4b: {
      // BININT1
      const q = field(p, 1);
      if (!have(q, 1)) return SR_NEED;
      const v = <i64>load<u8>(WIN + <usize>q);
      if (optTrace) {
        traceHead(op, o, T_INT);
        ei64(v);
      }
      cur = <i32>(q + 1);
      pushOrLimit(newInt(v), o);
      return SR_OK;
    }
    case 0x4d: {
      // BININT2
      const q = field(p, 2);
      if (!have(q, 2)) return SR_NEED;
      const v = <i64>load<u16>(WIN + <usize>q);
      if (optTrace) {
        traceHead(op, o, T_INT);
        ei64(v);
      }
      cur = <i32>(q + 2);
      pushOrLimit(newInt(v), o);
      return SR_OK;
    }
    case 0x49: // INT
    case 0x4c: // LONG
    case 0x46: {
      // FLOAT
      const nl = line(p);
      if (nl < 0) return SR_NEED;
      const enc = op == 0x49 ? E_INT_TEXT : op == 0x4c ? E_LONG_TEXT : E_FLOAT_TEXT;
      const ls = lineStart;
      const v = newStr(enc, ls, nl - ls);
      if (optTrace) {
        traceHead(op, o, T_VALUE);
        emitValue(v, 0);
      }
      cur = <i32>(nl + 1);
      pushOrLimit(v, o);
      return SR_OK;
    }
    case 0x8a: // LONG1
    case 0x8b: {
      // LONG4
      const hn: i64 = op == 0x8a ? 1 : 4;
      const q = field(p, hn);
      if (!have(q, hn)) return SR_NEED;
      let n: i64 = op == 0x8a ? <i64>load<u8>(WIN + <usize>q) : <i64>load<i32>(WIN + <usize>q);
      if (n < 0) {
        anomaly(A_BAD_ARGUMENT, absAt(o), true, <f64>n, 0);
        done = true;
        return SR_OK;
      }
      return payload(op, o, q + hn, n, E_LONG_LE);
    }
    case 0x47: {
      // BINFLOAT (big endian)
      const q = field(p, 8);
      if (!have(q, 8)) return SR_NEED;
      const v = reinterpret<f64>(bswap<u64>(load<u64>(WIN + <usize>q)));
      if (optTrace) {
        traceHead(op, o, T_FLOAT);
        ef64(v);
      }
      cur = <i32>(q + 8);
      pushOrLimit(newFloat(v), o);
      return SR_OK;
    }
    // ---------------------------------------------------------------- strings / bytes
    case 0x53: {
      // STRING: a quoted repr; C requires matching quotes
      const nl = line(p);
      if (nl < 0) return SR_NEED;
      const ls = lineStart;
      let s = ls;
      let e = nl;
      if (e - s >= 2) {
        const q0 = load<u8>(WIN + <usize>s);
        const q1 = load<u8>(WIN + <usize>(e - 1));
        if ((q0 == 0x27 || q0 == 0x22) && q1 == q0) {
          s++;
          e--;
        } else {
          anomaly(A_BAD_ARGUMENT, absAt(o), false, 0, 0);
        }
      } else {
        anomaly(A_BAD_ARGUMENT, absAt(o), false, 0, 0);
      }
      const v = newStr(E_PYSTRING, s, e - s);
      if (optTrace) {
        traceHead(op, o, T_VALUE);
        emitValue(v, 0);
      }
      cur = <i32>(nl + 1);
      pushOrLimit(v, o);
      return SR_OK;
    }
    case 0x56: {
      // UNICODE
      const nl = line(p);
      if (nl < 0) return SR_NEED;
      const ls = lineStart;
      const v = newStr(E_RAWUNICODE, ls, nl - ls);
      if (optTrace) {
        traceHead(op, o, T_VALUE);
        emitValue(v, 0);
      }
      cur = <i32>(nl + 1);
      pushOrLimit(v, o);
      return SR_OK;
    }
    case 0x54: // BINSTRING (C reads the size unsigned)
    case 0x58: // BINUNICODE
    case 0x42: {
      // BINBYTES
      const q = field(p, 4);
      if (!have(q, 4)) return SR_NEED;
      const n = <i64>u32at(q);
      return payload(op, o, q + 4, n, op == 0x54 ? E_LATIN1 : op == 0x58 ? E_UTF8 : E_BYTES);
    }
    case 0x55: // SHORT_BINSTRING
    case 0x43: // SHORT_BINBYTES
    case 0x8c: {
      // SHORT_BINUNICODE
      const q = field(p, 1);
      if (!have(q, 1)) return SR_NEED;
      const n = <i64>load<u8>(WIN + <usize>q);
      return payload(op, o, q + 1, n, op == 0x55 ? E_LATIN1 : op == 0x43 ? E_BYTES : E_UTF8);
    }
    case 0x8d: // BINUNICODE8
    case 0x8e: // BINBYTES8
    case 0x96: {
      // BYTEARRAY8
      const q = field(p, 8);
      if (!have(q, 8)) return SR_NEED;
      const n = load<i64>(WIN + <usize>q);
      if (n < 0) {
        anomaly(A_BAD_ARGUMENT, absAt(o), true, <f64>n, 0);
        done = true;
        return SR_OK;
      }
      return payload(op, o, q + 8, n, op == 0x8d ? E_UTF8 : op == 0x8e ? E_BYTES : E_BYTEARRAY);
    }
    // ---------------------------------------------------------------- constants
    case 0x4e: // NONE
    case 0x88: // NEWTRUE
    case 0x89: {
      // NEWFALSE
      if (optTrace) traceHead(op, o, T_NONE);
      cur = <i32>p;
      pushOrLimit(op == 0x4e ? REF_NONE : op == 0x88 ? REF_TRUE : REF_FALSE, o);
      return SR_OK;
    }
    // ---------------------------------------------------------------- containers
    case 0x5d: // EMPTY_LIST
    case 0x29: // EMPTY_TUPLE
    case 0x7d: // EMPTY_DICT
    case 0x8f: {
      // EMPTY_SET
      if (optTrace) traceHead(op, o, T_NONE);
      cur = <i32>p;
      const k = op == 0x5d ? C_LIST : op == 0x29 ? C_TUPLE : op == 0x7d ? C_DICT : C_SET;
      pushOrLimit(newSeq(k), o);
      return SR_OK;
    }
    case 0x85: // TUPLE1
    case 0x86: // TUPLE2
    case 0x87: {
      // TUPLE3
      if (optTrace) traceHead(op, o, T_NONE);
      cur = <i32>p;
      const n = op - 0x84;
      const t = newSeq(C_TUPLE);
      const f = fence();
      if (sp < f + n) {
        underflow(o);
        const avail = sp - f;
        for (let i: u32 = 0; i < n - avail; i++) seqAdd(t, REF_OPAQUE + O_UNDERFLOW);
        for (let i: u32 = f; i < sp; i++) seqAdd(t, at_(i));
        sp = f;
      } else {
        for (let i: u32 = sp - n; i < sp; i++) seqAdd(t, at_(i));
        sp -= n;
      }
      pushOrLimit(t, o);
      return SR_OK;
    }
    case 0x74: // TUPLE
    case 0x6c: // LIST
    case 0x91: {
      // FROZENSET
      if (optTrace) traceHead(op, o, T_NONE);
      cur = <i32>p;
      const k = op == 0x74 ? C_TUPLE : op == 0x6c ? C_LIST : C_FROZENSET;
      const t = newSeq(k);
      const m = popMark(o);
      if (m >= 0) {
        for (let i = <u32>m; i < sp; i++) seqAdd(t, at_(i));
        sp = <u32>m;
      }
      pushOrLimit(t, o);
      return SR_OK;
    }
    case 0x64: {
      // DICT
      if (optTrace) traceHead(op, o, T_NONE);
      cur = <i32>p;
      const t = newSeq(C_DICT);
      const m = popMark(o);
      if (m >= 0) {
        if ((sp - <u32>m) & 1) anomaly(A_BAD_ARGUMENT, absAt(o), false, 0, 0);
        for (let i = <u32>m; i + 1 < sp; i += 2) seqAddPair(t, at_(i), at_(i + 1));
        sp = <u32>m;
      }
      pushOrLimit(t, o);
      return SR_OK;
    }
    case 0x61: {
      // APPEND
      if (optTrace) traceHead(op, o, T_NONE);
      cur = <i32>p;
      const v = pop1(o);
      if (sp <= fence()) {
        underflow(o);
        return SR_OK;
      }
      seqAdd(top1(), v);
      return SR_OK;
    }
    case 0x65: // APPENDS
    case 0x90: {
      // ADDITEMS
      if (optTrace) traceHead(op, o, T_NONE);
      cur = <i32>p;
      const m = popMark(o);
      if (m < 0) return SR_OK;
      const mk = <u32>m;
      if (mk <= fence() || mk == 0) {
        underflow(o);
        sp = mk;
        return SR_OK;
      }
      const target = at_(mk - 1);
      for (let i = mk; i < sp; i++) seqAdd(target, at_(i));
      sp = mk;
      return SR_OK;
    }
    case 0x73: {
      // SETITEM
      if (optTrace) traceHead(op, o, T_NONE);
      cur = <i32>p;
      const v = pop1(o);
      const k = pop1(o);
      if (sp <= fence()) {
        underflow(o);
        return SR_OK;
      }
      seqAddPair(top1(), k, v);
      return SR_OK;
    }
    case 0x75: {
      // SETITEMS
      if (optTrace) traceHead(op, o, T_NONE);
      cur = <i32>p;
      const m = popMark(o);
      if (m < 0) return SR_OK;
      const mk = <u32>m;
      if (mk <= fence() || mk == 0) {
        underflow(o);
        sp = mk;
        return SR_OK;
      }
      if ((sp - mk) & 1) anomaly(A_BAD_ARGUMENT, absAt(o), false, 0, 0);
      const target = at_(mk - 1);
      for (let i = mk; i + 1 < sp; i += 2) seqAddPair(target, at_(i), at_(i + 1));
      sp = mk;
      return SR_OK;
    }
    // ---------------------------------------------------------------- stack manipulation
    case 0x30: {
      // POP: pops a mark when the top of stack is exactly at it (C load_pop)
      if (optTrace) traceHead(op, o, T_NONE);
      cur = <i32>p;
      if (nMarks > markBase && load<u32>(MARKS + (<usize>(nMarks - 1) << 2)) == sp) {
        nMarks--;
      } else if (sp <= fence()) {
        underflow(o);
      } else {
        sp--;
      }
      return SR_OK;
    }
    case 0x32: {
      // DUP
      if (optTrace) traceHead(op, o, T_NONE);
      cur = <i32>p;
      if (sp <= fence()) {
        underflow(o);
        pushOrLimit(REF_OPAQUE + O_UNDERFLOW, o);
      } else {
        pushOrLimit(top1(), o);
      }
      return SR_OK;
    }
    case 0x28: {
      // MARK
      if (optTrace) traceHead(op, o, T_NONE);
      cur = <i32>p;
      if (nMarks >= maxMarks) {
        anomaly(A_LIMIT_MARKS, absAt(o), true, <f64>maxMarks, 0);
        done = true;
        return SR_OK;
      }
      store<u32>(MARKS + (<usize>nMarks << 2), sp);
      nMarks++;
      return SR_OK;
    }
    case 0x31: {
      // POP_MARK
      if (optTrace) traceHead(op, o, T_NONE);
      cur = <i32>p;
      const m = popMark(o);
      if (m >= 0) sp = <u32>m;
      return SR_OK;
    }
    // ---------------------------------------------------------------- memo
    case 0x67: // GET
    case 0x70: {
      // PUT
      const nl = line(p);
      if (nl < 0) return SR_NEED;
      const ls = lineStart;
      const key = decimalKey(ls, nl);
      if (optTrace) {
        traceHead(op, o, T_VALUE);
        emitValue(newStr(E_INT_TEXT, ls, nl - ls), 0);
      }
      cur = <i32>(nl + 1);
      if (key < 0) {
        anomaly(A_BAD_MEMO_KEY, absAt(o), false, 0, 0);
        if (op == 0x67) pushOrLimit(REF_OPAQUE + O_MEMO_MISS, o);
        return SR_OK;
      }
      return op == 0x67 ? doGet(<u32>key, o) : doPut(<u32>key, o);
    }
    case 0x68: // BINGET
    case 0x71: {
      // BINPUT
      const q = field(p, 1);
      if (!have(q, 1)) return SR_NEED;
      const key = <u32>load<u8>(WIN + <usize>q);
      if (optTrace) {
        traceHead(op, o, T_INT);
        ei64(<i64>key);
      }
      cur = <i32>(q + 1);
      return op == 0x68 ? doGet(key, o) : doPut(key, o);
    }
    case 0x6a: // LONG_BINGET
    case 0x72: {
      // LONG_BINPUT
      const q = field(p, 4);
      if (!have(q, 4)) return SR_NEED;
      const key = u32at(q);
      if (optTrace) {
        traceHead(op, o, T_INT);
        ei64(<i64>key);
      }
      cur = <i32>(q + 4);
      return op == 0x6a ? doGet(key, o) : doPut(key, o);
    }
    case 0x94: {
      // MEMOIZE: the key is the number of memo entries, not the last key used
      if (optTrace) traceHead(op, o, T_NONE);
      cur = <i32>p;
      return doPut(memoCount, o);
    }
    // ---------------------------------------------------------------- imports
    case 0x63: // GLOBAL
    case 0x69: {
      // INST
      const nl1 = line(p);
      if (nl1 < 0) return SR_NEED;
      const s1 = lineStart;
      const nl2 = line(nl1 + 1);
      if (nl2 < 0) return SR_NEED;
      const s2 = lineStart;
      if (optTrace) {
        traceHead(op, o, T_PAIR);
        emitWindowStr(E_GLOBAL_LINE, s1, nl1 - s1);
        emitWindowStr(E_GLOBAL_LINE, s2, nl2 - s2);
      }
      cur = <i32>(nl2 + 1);
      emitImport(op == 0x63 ? 0 : 2, o, true);
      emitWindowStr(E_GLOBAL_LINE, s1, nl1 - s1);
      emitWindowStr(E_GLOBAL_LINE, s2, nl2 - s2);
      const g = newTagged(K_GLOBAL, nImports);
      nImports++;
      lastGlobal = g;
      if (op == 0x63) {
        pushOrLimit(g, o);
      } else {
        // INST: class from the lines, arguments from the mark
        noteCallee(g);
        const m = popMark(o);
        const c = newCall(g);
        lastInstCall = c;
        let argc: u32 = 0;
        let from: u32 = sp;
        if (m >= 0) {
          from = <u32>m;
          argc = sp - from;
        }
        // arguments come straight off the stack: only the first few are evidence
        const shown = argc < <u32>maxItems ? argc : <u32>maxItems;
        emitCallHead(4, o, shown, false);
        emitValue(g, 1);
        emitStackItems(from, shown);
        sp = from;
        nCalls++;
        pushOrLimit(c, o);
      }
      return optWatch ? SR_IMPORT : SR_OK;
    }
    case 0x93: {
      // STACK_GLOBAL: both operands must be str (C checks the exact type)
      if (optTrace) traceHead(op, o, T_NONE);
      cur = <i32>p;
      const name = pop1(o);
      const mod = pop1(o);
      const okM = isStr(mod);
      const okN = isStr(name);
      if (!okM || !okN) anomaly(A_NON_STRING_GLOBAL, absAt(o), false, 0, 0);
      emitImport(1, o, okM && okN);
      emitValue(mod, 1);
      emitValue(name, 1);
      const g = newTagged(K_GLOBAL, nImports);
      nImports++;
      lastGlobal = g;
      pushOrLimit(g, o);
      return optWatch ? SR_IMPORT : SR_OK;
    }
    // ---------------------------------------------------------------- calls
    case 0x52: {
      // REDUCE
      if (optTrace) traceHead(op, o, T_NONE);
      cur = <i32>p;
      const args = pop1(o);
      const fn = pop1(o);
      noteCallee(fn);
      const c = newCall(fn);
      emitCallHead(0, o, argCount(args), false);
      emitValue(fn, 1);
      emitArgs(args);
      nCalls++;
      pushOrLimit(c, o);
      return SR_OK;
    }
    case 0x81: {
      // NEWOBJ
      if (optTrace) traceHead(op, o, T_NONE);
      cur = <i32>p;
      const args = pop1(o);
      const cls = pop1(o);
      noteCallee(cls);
      const c = newCall(cls);
      emitCallHead(1, o, argCount(args), false);
      emitValue(cls, 1);
      emitArgs(args);
      nCalls++;
      pushOrLimit(c, o);
      return SR_OK;
    }
    case 0x92: {
      // NEWOBJ_EX
      if (optTrace) traceHead(op, o, T_NONE);
      cur = <i32>p;
      const kw = pop1(o);
      const args = pop1(o);
      const cls = pop1(o);
      noteCallee(cls);
      const c = newCall(cls);
      emitCallHead(2, o, argCount(args), true);
      emitValue(cls, 1);
      emitArgs(args);
      emitValue(kw, 1);
      nCalls++;
      pushOrLimit(c, o);
      return SR_OK;
    }
    case 0x6f: {
      // OBJ: class is the first item after the mark
      if (optTrace) traceHead(op, o, T_NONE);
      cur = <i32>p;
      const m = popMark(o);
      if (m < 0) return SR_OK;
      const mk = <u32>m;
      if (sp <= mk) {
        underflow(o);
        return SR_OK;
      }
      const cls = at_(mk);
      noteCallee(cls);
      const c = newCall(cls);
      const argc = sp - mk - 1;
      const shown = argc < <u32>maxItems ? argc : <u32>maxItems;
      emitCallHead(3, o, shown, false);
      emitValue(cls, 1);
      emitStackItems(mk + 1, shown);
      sp = mk;
      nCalls++;
      pushOrLimit(c, o);
      return SR_OK;
    }
    case 0x62: {
      // BUILD: state applied to the object below it, which stays on the stack
      if (optTrace) traceHead(op, o, T_NONE);
      cur = <i32>p;
      const state = pop1(o);
      let target: u32 = REF_OPAQUE + O_UNDERFLOW;
      if (sp <= fence()) underflow(o);
      else target = top1();
      const callIdx = nCalls;
      emitCallHead(5, o, 1, false);
      emitValue(target, 1);
      emitValue(state, 1);
      nCalls++;
      if ((load<u8>(rec(target), 1) & 4) != 0 && load<u8>(rec(target)) == K_CALL) {
        e8(EV_PAUSE);
        e8(0);
        e8(0);
        e8(0);
        e32(callIdx);
        ef64(absAt(<i64>cur));
        pauseCall = state;
        return SR_PAUSE;
      }
      return SR_OK;
    }
    // ---------------------------------------------------------------- persistent ids, extensions
    case 0x50: {
      // PERSID
      const nl = line(p);
      if (nl < 0) return SR_NEED;
      const ls = lineStart;
      const v = newStr(E_ASCII_LINE, ls, nl - ls);
      if (optTrace) {
        traceHead(op, o, T_VALUE);
        emitValue(v, 0);
      }
      cur = <i32>(nl + 1);
      emitPersid(0, o, v);
      return SR_OK;
    }
    case 0x51: {
      // BINPERSID
      if (optTrace) traceHead(op, o, T_NONE);
      cur = <i32>p;
      emitPersid(1, o, pop1(o));
      return SR_OK;
    }
    case 0x82: // EXT1
    case 0x83: // EXT2
    case 0x84: {
      // EXT4
      const n: i64 = op == 0x82 ? 1 : op == 0x83 ? 2 : 4;
      const q = field(p, n);
      if (!have(q, n)) return SR_NEED;
      const code = op == 0x82 ? <u32>load<u8>(WIN + <usize>q) : op == 0x83 ? <u32>load<u16>(WIN + <usize>q) : u32at(q);
      if (optTrace) {
        traceHead(op, o, T_INT);
        ei64(op == 0x84 ? <i64>(<i32>code) : <i64>code);
      }
      cur = <i32>(q + n);
      e8(EV_EXT);
      e8(<u32>n);
      e8(0);
      e8(0);
      e32(code);
      e32(pickleIndex);
      ef64(absAt(o));
      nExts++;
      pushOrLimit(newTagged(K_EXT, code), o);
      return SR_OK;
    }
    // ---------------------------------------------------------------- protocol / framing
    case 0x80: {
      // PROTO
      const q = field(p, 1);
      if (!have(q, 1)) return SR_NEED;
      const v = <i32>load<u8>(WIN + <usize>q);
      if (optTrace) {
        traceHead(op, o, T_INT);
        ei64(<i64>v);
      }
      cur = <i32>(q + 1);
      if (v > 5) anomaly(A_UNKNOWN_PROTO, absAt(o), false, <f64>v, 0);
      if (protoSeen) anomaly(A_REPEATED_PROTO, absAt(o), false, <f64>v, 0);
      else if (opsInPickle > 0) anomaly(A_MISPLACED_PROTO, absAt(o), false, <f64>v, 0);
      protoSeen = true;
      proto = v;
      e8(EV_PROTO);
      e8(<u32>v);
      return SR_OK;
    }
    case 0x95: {
      // FRAME
      const q = field(p, 8);
      if (!have(q, 8)) return SR_NEED;
      const n = load<i64>(WIN + <usize>q);
      if (optTrace) {
        traceHead(op, o, T_INT);
        ei64(n);
      }
      const after = q + 8;
      if (n < 0 || n > 0x40000) anomaly(A_OVERSIZED_FRAME, absAt(o), false, <f64>n, 0);
      cur = <i32>after;
      if (n < 0) {
        done = true;
        return SR_OK;
      }
      if (optLinear) return SR_OK;
      if (after < fEnd) {
        if (after + n <= fEnd) {
          // C keeps its current buffer: the inner FRAME changes nothing (pickle.py rejects it)
          anomaly(A_NESTED_FRAME, absAt(o), false, <f64>n, 0);
          return SR_OK;
        }
        // the leftover of the current buffer is dropped; the new frame starts after it
        crossed = true;
        cur = <i32>(fEnd < <i64>end ? fEnd : <i64>end);
        if (fEnd > <i64>end) {
          // keep the frame boundary; bytes up to it are skipped as they arrive
          skipRem = fEnd - <i64>end;
          cur = end;
        }
        frameEndAbs = winBase + fEnd + n;
      } else {
        frameEndAbs = winBase + after + n;
      }
      fEnd = frameEndAbs - winBase;
      return SR_OK;
    }
    case 0x2e: {
      // STOP
      if (optTrace) traceHead(op, o, T_NONE);
      cur = <i32>p;
      pop1(o);
      if (sp > stackBase || nMarks > markBase) {
        anomaly(A_STACK_NOT_EMPTY, absAt(o), false, <f64>(sp - stackBase), <f64>(nMarks - markBase));
      }
      let nextAt: i64 = winBase + <i64>cur;
      if (!optLinear && fEnd > <i64>cur) {
        // a new Unpickler on the same file starts where the buffered frame ended
        anomaly(A_FRAME_AT_STOP, absAt(o), false, <f64>(fEnd - <i64>cur), 0);
        nextAt = winBase + fEnd;
        if (fEnd <= <i64>end) {
          cur = <i32>fEnd;
        } else {
          skipRem = fEnd - <i64>end;
          cur = end;
        }
        fEnd = -1;
        frameEndAbs = -1;
      }
      if (inNested) {
        endNested();
        return SR_OK;
      }
      if (!optMulti) {
        done = true;
        // single-pickle mode: the host reports what follows (it knows the input size)
        return SR_STOP;
      }
      startPickle(nextAt);
      return SR_OK;
    }
    // ---------------------------------------------------------------- out-of-band buffers
    case 0x97: {
      // NEXT_BUFFER
      if (optTrace) traceHead(op, o, T_NONE);
      cur = <i32>p;
      pushOrLimit(REF_OPAQUE + O_BUFFER, o);
      return SR_OK;
    }
    case 0x98: {
      // READONLY_BUFFER
      if (optTrace) traceHead(op, o, T_NONE);
      cur = <i32>p;
      if (sp <= fence()) underflow(o);
      return SR_OK;
    }
    default:
      break;
  }
  anomaly(A_UNKNOWN_OPCODE, absAt(o), true, <f64>op, 0);
  done = true;
  return SR_OK;
}


function isStr(ref: u32): bool {
  const a = rec(ref);
  if (load<u8>(a) != K_STR) return false;
  const e = load<u8>(a, 2);
  return e == E_UTF8 || e == E_RAWUNICODE || e == E_PYSTRING || e == E_LATIN1;
}

function emitPersid(kind: u8, o: i64, pid: u32): void {
  e8(EV_PERSID);
  e8(kind);
  e8(0);
  e8(0);
  e32(nPersids);
  e32(pickleIndex);
  ef64(absAt(o));
  emitValue(pid, 1);
  const v = newTagged(K_PERSID, nPersids);
  nPersids++;
  pushOrLimit(v, o);
}

function doGet(key: u32, o: i64): i32 {
  const v = memoGet(key);
  if (v == 0) {
    anomaly(A_MEMO_MISS, absAt(o), false, <f64>key, 0);
    pushOrLimit(REF_OPAQUE + O_MEMO_MISS, o);
    return SR_OK;
  }
  pushOrLimit(v, o);
  return SR_OK;
}

function doPut(key: u32, o: i64): i32 {
  if (sp <= fence()) {
    underflow(o);
    return SR_OK;
  }
  if (memoPut(key, top1()) < 0) {
    anomaly(A_LIMIT_MEMO, absAt(o), true, <f64>maxMemo, 0);
    done = true;
  }
  return SR_OK;
}

/** A counted payload at window index `q` (size `n`): keep a prefix, skip the rest. */
function payload(op: u32, o: i64, q0: i64, n: i64, enc: u8): i32 {
  const q = field(q0, n);
  const keep = n < <i64>retainCap ? n : <i64>retainCap;
  if (!have(q, keep)) return SR_NEED;
  const v = newStr(enc, q, n);
  if (optTrace) {
    traceHead(op, o, T_VALUE);
    emitValue(v, 0);
  }
  if (q + n <= <i64>end) {
    cur = <i32>(q + n);
  } else {
    skipRem = q + n - <i64>end;
    cur = end;
  }
  bytesSkipped += <f64>(n - keep);
  pushOrLimit(v, o);
  return SR_OK;
}

// ============================================================================================
// fast path: the opcodes that make up most of a data pickle, decoded in one tight loop.
// It handles only the plain case of each; anything unusual (an anomaly, a limit, a frame
// boundary within reach, a GLOBAL...) stops it and step() takes over at the same byte, so both
// paths give identical results (the chunking tests compare traced runs, which use step() only,
// with untraced ones).
// ============================================================================================

function fastRun(): i32 {
  let lim: i64 = <i64>end - 264;
  if (fEnd >= 0 && fEnd - 264 < lim) lim = fEnd - 264;
  if (<i64>cur > lim) return 0;
  const L = <i32>lim;
  const stackCap = maxStack > 4 ? maxStack - 4 : 0;
  // PROTO is not handled here, so the protocol is fixed for the whole run: protocol 4+ (or
  // none declared) needs no per-opcode check, as every fast opcode exists since protocol 4
  const checkProto = protoSeen && proto < 4;
  // stack depth lives in a local for the loop (helpers below never touch sp)
  let s = sp;
  let deepest = s;
  let c = cur;
  let n = 0;
  let stop = false;
  while (c <= L) {
    // same threshold as reserve(), so both paths reach the value limit at the same opcode
    if (poolAvail() < RESERVE_RECORDS || s >= stackCap) break;
    const op = <u32>load<u8>(WIN + <usize>c);
    if (checkProto && opProto(op) > <u32>proto) break;
    let pushed: u32 = 0;
    switch (op) {
      case 0x4e: // NONE
        pushed = REF_NONE;
        c += 1;
        break;
      case 0x88: // NEWTRUE
        pushed = REF_TRUE;
        c += 1;
        break;
      case 0x89: // NEWFALSE
        pushed = REF_FALSE;
        c += 1;
        break;
      case 0x4b: // BININT1
        pushed = IMM | <u32>load<u8>(WIN + <usize>(c + 1));
        c += 2;
        break;
      case 0x4d: // BININT2
        pushed = IMM | <u32>load<u16>(WIN + <usize>(c + 1));
        c += 3;
        break;
      case 0x4a: // BININT
        pushed = newInt(<i64>load<i32>(WIN + <usize>(c + 1)));
        c += 5;
        break;
      case 0x47: // BINFLOAT
        pushed = newFloat(reinterpret<f64>(bswap<u64>(load<u64>(WIN + <usize>(c + 1)))));
        c += 9;
        break;
      case 0x8c: {
        // SHORT_BINUNICODE
        const len = <i32>load<u8>(WIN + <usize>(c + 1));
        if (len > retainCap) {
          stop = true;
          break;
        }
        pushed = newStr(E_UTF8, <i64>(c + 2), <i64>len);
        c += 2 + len;
        break;
      }
      case 0x28: // MARK
        if (nMarks >= maxMarks) {
          stop = true;
          break;
        }
        store<u32>(MARKS + (<usize>nMarks << 2), s);
        nMarks++;
        c += 1;
        break;
      case 0x5d: // EMPTY_LIST
        pushed = newSeq(C_LIST);
        c += 1;
        break;
      case 0x29: // EMPTY_TUPLE
        pushed = newSeq(C_TUPLE);
        c += 1;
        break;
      case 0x7d: // EMPTY_DICT
        pushed = newSeq(C_DICT);
        c += 1;
        break;
      case 0x85: // TUPLE1
      case 0x86: // TUPLE2
      case 0x87: {
        // TUPLE3
        const k = op - 0x84;
        if (s < fence() + k) {
          stop = true;
          break;
        }
        const t = newSeq(C_TUPLE);
        for (let i: u32 = s - k; i < s; i++) seqAdd(t, at_(i));
        s -= k;
        pushed = t;
        c += 1;
        break;
      }
      case 0x65: // APPENDS
      case 0x75: {
        // SETITEMS
        if (nMarks <= markBase) {
          stop = true;
          break;
        }
        const mk = load<u32>(MARKS + (<usize>(nMarks - 1) << 2));
        const below = nMarks - 1 > markBase ? load<u32>(MARKS + (<usize>(nMarks - 2) << 2)) : stackBase;
        if (mk <= below || mk == 0 || (op == 0x75 && ((s - mk) & 1) != 0)) {
          stop = true;
          break;
        }
        nMarks--;
        const target = at_(mk - 1);
        if (op == 0x65) {
          for (let i = mk; i < s; i++) seqAdd(target, at_(i));
        } else {
          for (let i = mk; i + 1 < s; i += 2) seqAddPair(target, at_(i), at_(i + 1));
        }
        s = mk;
        c += 1;
        break;
      }
      case 0x61: // APPEND
        if (s < fence() + 2) {
          stop = true;
          break;
        }
        s--;
        seqAdd(at_(s - 1), at_(s));
        c += 1;
        break;
      case 0x73: // SETITEM
        if (s < fence() + 3) {
          stop = true;
          break;
        }
        s -= 2;
        seqAddPair(at_(s - 1), at_(s), at_(s + 1));
        c += 1;
        break;
      case 0x71: // BINPUT
        if (s <= fence() || memoPut(<u32>load<u8>(WIN + <usize>(c + 1)), at_(s - 1)) < 0) {
          stop = true;
          break;
        }
        c += 2;
        break;
      case 0x94: // MEMOIZE
        if (s <= fence() || memoPut(memoCount, at_(s - 1)) < 0) {
          stop = true;
          break;
        }
        c += 1;
        break;
      case 0x68: {
        // BINGET
        const v = memoGet(<u32>load<u8>(WIN + <usize>(c + 1)));
        if (v == 0) {
          stop = true;
          break;
        }
        pushed = v;
        c += 2;
        break;
      }
      case 0x30: // POP (a mark at the top is left to step())
        if (s <= fence() || (nMarks > markBase && load<u32>(MARKS + (<usize>(nMarks - 1) << 2)) == s)) {
          stop = true;
          break;
        }
        s--;
        c += 1;
        break;
      default:
        stop = true;
        break;
    }
    if (stop) break;
    if (pushed != 0) {
      store<u32>(STACK + (<usize>s << 2), pushed);
      s++;
      if (s > deepest) deepest = s;
    }
    n++;
  }
  sp = s;
  if (deepest > maxDepthSeen) maxDepthSeen = deepest;
  cur = c;
  opCount += <f64>n;
  opsInPickle += <f64>n;
  return n;
}
