import { BrineError } from '../engine/types.js';

/**
 * Streaming decoder for the LZMA "alone" format (`.lzma`, Python's `lzma.FORMAT_ALONE`, which is
 * what `joblib.dump(compress='lzma')` writes). The npm LZMA readers decode whole buffers into
 * arrays; this one keeps only the dictionary window, so a multi-GB joblib file streams through in
 * bounded memory. It follows the decoder in the LZMA SDK's `LzmaSpec.cpp` step by step.
 */
const TOP = 1 << 24;
const PROB_INIT = 1024;
/** Bytes a single literal or match can consume at most, with margin: decode a packet only with this much buffered. */
const PACKET_INPUT = 128;
/** Dictionaries above this are refused: liblzma's presets stop at 64 MiB. */
const MAX_DICT = 256 * 1024 * 1024;
/** Output per decoding step (see `more`). */
const OUTPUT_STEP = 1024 * 1024;

class BitTree {
  readonly probs: Uint16Array;
  constructor(readonly bits: number) {
    this.probs = new Uint16Array(1 << bits).fill(PROB_INIT);
  }
}

class LenDecoder {
  choice = new Uint16Array(2).fill(PROB_INIT);
  low: BitTree[] = [];
  mid: BitTree[] = [];
  high = new BitTree(8);
  constructor(posStates: number) {
    for (let i = 0; i < posStates; i++) {
      this.low.push(new BitTree(3));
      this.mid.push(new BitTree(3));
    }
  }
}

export class LzmaAloneDecoder {
  private input = new Uint8Array(0);
  private inPos = 0;
  private finished = false;
  private headerDone = false;
  private ended = false;

  // properties
  private lc = 0;
  private lp = 0;
  private pb = 0;
  private dictSize = 0;
  private unpackSize = -1;

  // range decoder
  private range = 0xffffffff;
  private code = 0;

  // window
  private dict = new Uint8Array(0);
  private dictPos = 0;
  private full = false;
  private total = 0;
  private emitted = 0;

  // model
  private literal = new Uint16Array(0);
  private isMatch = new Uint16Array(192).fill(PROB_INIT);
  private isRep = new Uint16Array(12).fill(PROB_INIT);
  private isRepG0 = new Uint16Array(12).fill(PROB_INIT);
  private isRepG1 = new Uint16Array(12).fill(PROB_INIT);
  private isRepG2 = new Uint16Array(12).fill(PROB_INIT);
  private isRep0Long = new Uint16Array(192).fill(PROB_INIT);
  private posSlot = [0, 1, 2, 3].map(() => new BitTree(6));
  private posDecoders = new Uint16Array(115).fill(PROB_INIT);
  private align = new BitTree(4);
  private lenDec = new LenDecoder(16);
  private repLenDec = new LenDecoder(16);
  private state = 0;
  private rep0 = 0;
  private rep1 = 0;
  private rep2 = 0;
  private rep3 = 0;

  constructor(private readonly emit: (chunk: Uint8Array) => void) {}

  push(chunk: Uint8Array): void {
    const rest = this.input.subarray(this.inPos);
    const next = new Uint8Array(rest.length + chunk.length);
    next.set(rest);
    next.set(chunk, rest.length);
    this.input = next;
    this.inPos = 0;
    this.run();
  }

  /** Marks the end of input; call {@link more} until it returns false, then {@link end}. */
  finish(): void {
    this.finished = true;
    this.run();
  }

  /**
   * Decodes more of the buffered input. Each call emits at most about {@link OUTPUT_STEP} bytes,
   * so a tiny input that expands enormously (zeros compress ~7000:1) never sits in memory at once.
   */
  more(): boolean {
    if (this.ended || !this.headerDone) return false;
    if (!this.finished && this.input.length - this.inPos < PACKET_INPUT) return false;
    const before = this.total;
    this.run();
    return this.total > before || this.ended;
  }

  /** Throws unless the stream reached its end marker or declared size. */
  end(): void {
    if (!this.ended) {
      if (this.unpackSize >= 0 && this.total === this.unpackSize) this.ended = true;
      else throw new BrineError('lzma-truncated', 'LZMA stream ends early');
    }
    this.flush();
  }

  private run() {
    if (this.ended) return;
    if (!this.headerDone) {
      if (this.input.length - this.inPos < 18) {
        if (this.finished) throw new BrineError('lzma-truncated', 'LZMA header cut short');
        return;
      }
      this.readHeader();
    }
    const windowFlush = Math.min(64 * 1024, this.dict.length >> 1);
    const stopAt = this.total + OUTPUT_STEP;
    while (
      !this.ended &&
      this.total < stopAt &&
      (this.finished || this.input.length - this.inPos >= PACKET_INPUT)
    ) {
      if (this.unpackSize >= 0 && this.total >= this.unpackSize) {
        this.ended = true;
        break;
      }
      this.packet();
      if (this.total - this.emitted >= windowFlush) this.flush();
    }
    this.flush();
  }

  private readHeader() {
    const h = this.input.subarray(this.inPos);
    let d = h[0] as number;
    if (d >= 225) throw new BrineError('lzma-bad-data', 'bad LZMA properties byte');
    this.lc = d % 9;
    d = Math.floor(d / 9);
    this.lp = d % 5;
    this.pb = Math.floor(d / 5);
    this.dictSize = Math.max(
      4096,
      ((h[1] as number) | ((h[2] as number) << 8) | ((h[3] as number) << 16) | ((h[4] as number) << 24)) >>>
        0,
    );
    if (this.dictSize > MAX_DICT)
      throw new BrineError(
        'limit-lzma-dictionary',
        `LZMA dictionary of ${this.dictSize} bytes is above the limit`,
      );
    let size = 0;
    let unknown = true;
    for (let i = 12; i >= 5; i--) {
      if (h[i] !== 0xff) unknown = false;
      size = size * 256 + (h[i] as number);
    }
    this.unpackSize = unknown ? -1 : size;
    const windowSize = unknown ? this.dictSize : Math.max(4096, Math.min(this.dictSize, size));
    this.dict = new Uint8Array(windowSize);
    this.literal = new Uint16Array(0x300 << (this.lc + this.lp)).fill(PROB_INIT);
    if (h[13] !== 0) throw new BrineError('lzma-bad-data', 'LZMA range coder must start with a zero byte');
    this.code =
      (((h[14] as number) << 24) |
        ((h[15] as number) << 16) |
        ((h[16] as number) << 8) |
        (h[17] as number)) >>>
      0;
    this.range = 0xffffffff;
    this.inPos += 18;
    this.headerDone = true;
    if (this.code === this.range) throw new BrineError('lzma-bad-data', 'bad LZMA range coder start');
  }

  private byte(): number {
    if (this.inPos >= this.input.length) throw new BrineError('lzma-truncated', 'LZMA stream ends early');
    return this.input[this.inPos++] as number;
  }

  private normalize() {
    if (this.range < TOP) {
      this.range = (this.range << 8) >>> 0;
      this.code = ((this.code << 8) | this.byte()) >>> 0;
    }
  }

  private bit(probs: Uint16Array, i: number): number {
    const p = probs[i] as number;
    const bound = (this.range >>> 11) * p;
    let b: number;
    if (this.code < bound) {
      this.range = bound;
      probs[i] = p + ((2048 - p) >>> 5);
      b = 0;
    } else {
      this.range -= bound;
      this.code -= bound;
      probs[i] = p - (p >>> 5);
      b = 1;
    }
    this.normalize();
    return b;
  }

  private direct(n: number): number {
    let res = 0;
    for (let i = 0; i < n; i++) {
      this.range >>>= 1;
      let b = 0;
      if (this.code >= this.range) {
        this.code -= this.range;
        b = 1;
      }
      res = res * 2 + b;
      this.normalize();
    }
    return res;
  }

  private tree(t: BitTree): number {
    let m = 1;
    for (let i = 0; i < t.bits; i++) m = (m << 1) + this.bit(t.probs, m);
    return m - (1 << t.bits);
  }

  private reverse(probs: Uint16Array, base: number, bits: number): number {
    let m = 1;
    let sym = 0;
    for (let i = 0; i < bits; i++) {
      const b = this.bit(probs, base + m);
      m = (m << 1) + b;
      sym |= b << i;
    }
    return sym;
  }

  private len(d: LenDecoder, posState: number): number {
    if (this.bit(d.choice, 0) === 0) return this.tree(d.low[posState] as BitTree);
    if (this.bit(d.choice, 1) === 0) return 8 + this.tree(d.mid[posState] as BitTree);
    return 16 + this.tree(d.high);
  }

  private getByte(dist: number): number {
    let i = this.dictPos - dist;
    if (i < 0) i += this.dict.length;
    return this.dict[i] as number;
  }

  private put(b: number) {
    this.dict[this.dictPos++] = b;
    this.total++;
    if (this.dictPos === this.dict.length) {
      this.flush();
      this.dictPos = 0;
      this.full = true;
    }
  }

  private flush() {
    const pending = this.total - this.emitted;
    if (pending <= 0) return;
    const end = this.dictPos === 0 && this.full ? this.dict.length : this.dictPos;
    const start = end - pending;
    if (start >= 0) this.emit(this.dict.slice(start, end));
    else {
      this.emit(this.dict.slice(this.dict.length + start));
      this.emit(this.dict.slice(0, end));
    }
    this.emitted = this.total;
  }

  private packet() {
    const posState = this.total & ((1 << this.pb) - 1);
    const s = this.state;
    if (this.bit(this.isMatch, (s << 4) + posState) === 0) {
      this.literalByte();
      this.state = s < 4 ? 0 : s < 10 ? s - 3 : s - 6;
      return;
    }
    let len: number;
    if (this.bit(this.isRep, s) !== 0) {
      if (this.total === 0) throw new BrineError('lzma-bad-data', 'LZMA repeat match before any output');
      if (this.bit(this.isRepG0, s) === 0) {
        if (this.bit(this.isRep0Long, (s << 4) + posState) === 0) {
          this.state = s < 7 ? 9 : 11;
          this.put(this.getByte(this.rep0 + 1));
          return;
        }
      } else {
        let dist: number;
        if (this.bit(this.isRepG1, s) === 0) dist = this.rep1;
        else {
          if (this.bit(this.isRepG2, s) === 0) dist = this.rep2;
          else {
            dist = this.rep3;
            this.rep3 = this.rep2;
          }
          this.rep2 = this.rep1;
        }
        this.rep1 = this.rep0;
        this.rep0 = dist;
      }
      len = this.len(this.repLenDec, posState);
      this.state = s < 7 ? 8 : 11;
    } else {
      this.rep3 = this.rep2;
      this.rep2 = this.rep1;
      this.rep1 = this.rep0;
      len = this.len(this.lenDec, posState);
      this.state = s < 7 ? 7 : 10;
      this.rep0 = this.distance(len);
      if (this.rep0 === 0xffffffff) {
        if (this.code !== 0)
          throw new BrineError('lzma-bad-data', 'LZMA end marker with a non-zero range coder');
        if (this.unpackSize >= 0 && this.total !== this.unpackSize) {
          throw new BrineError('lzma-bad-data', 'LZMA end marker before the declared size');
        }
        this.ended = true;
        return;
      }
      if (this.rep0 >= this.dictSize || (!this.full && this.rep0 >= this.dictPos)) {
        throw new BrineError('lzma-bad-data', 'LZMA match distance outside the window');
      }
    }
    len += 2;
    if (this.unpackSize >= 0 && this.total + len > this.unpackSize) {
      throw new BrineError('lzma-bad-data', 'LZMA match runs past the declared size');
    }
    for (let i = 0; i < len; i++) this.put(this.getByte(this.rep0 + 1));
  }

  private literalByte() {
    const prev = this.total > 0 ? this.getByte(1) : 0;
    const litState = ((this.total & ((1 << this.lp) - 1)) << this.lc) + (prev >>> (8 - this.lc));
    const base = 0x300 * litState;
    const probs = this.literal;
    let sym = 1;
    if (this.state >= 7) {
      let match = this.getByte(this.rep0 + 1);
      do {
        const mb = (match >>> 7) & 1;
        match <<= 1;
        const b = this.bit(probs, base + ((1 + mb) << 8) + sym);
        sym = (sym << 1) | b;
        if (mb !== b) break;
      } while (sym < 0x100);
    }
    while (sym < 0x100) sym = (sym << 1) | this.bit(probs, base + sym);
    this.put(sym - 0x100);
  }

  private distance(len: number): number {
    const lenState = Math.min(len, 3);
    const slot = this.tree(this.posSlot[lenState] as BitTree);
    if (slot < 4) return slot;
    const directBits = (slot >>> 1) - 1;
    let dist = (2 | (slot & 1)) * 2 ** directBits;
    if (slot < 14) dist += this.reverse(this.posDecoders, dist - slot, directBits);
    else {
      dist += this.direct(directBits - 4) * 16;
      dist += this.reverse(this.align.probs, 0, 4);
    }
    return dist;
  }
}
