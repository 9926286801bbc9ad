import { BrineError } from '../engine/types.js';

/**
 * Streaming decoder for the LZ4 frame format (what `lz4.frame`, and so joblib's `lz4`
 * compression, writes). Hand-written because the npm LZ4 readers either need native code or
 * decode a whole frame at once; this one keeps only the 64 KiB match window and one block.
 */
export class Lz4FrameDecoder {
  private buf: Uint8Array = new Uint8Array(0);
  private state: 'magic' | 'descriptor' | 'block' | 'checksum' | 'skip' = 'magic';
  private blockMax = 0;
  private blockChecksum = false;
  private contentChecksum = false;
  private independent = true;
  private skipLeft = 0;
  private history: Uint8Array = new Uint8Array(0);
  /** True once at least one complete frame ended (more frames may follow). */
  ended = false;

  constructor(private readonly emit: (chunk: Uint8Array) => void) {}

  push(data: Uint8Array): void {
    this.buf = this.buf.length ? join(this.buf, data) : data;
    for (;;) {
      const progressed = this.step();
      if (!progressed) break;
    }
  }

  /** Throws when input ended inside a frame. */
  finish(): void {
    if (this.state !== 'magic' || this.buf.length) {
      throw new BrineError('lz4-truncated', 'LZ4 frame ends early');
    }
    if (!this.ended) throw new BrineError('lz4-truncated', 'no complete LZ4 frame');
  }

  private take(n: number): Uint8Array | undefined {
    if (this.buf.length < n) return undefined;
    const out = this.buf.subarray(0, n);
    this.buf = this.buf.subarray(n);
    return out;
  }

  private step(): boolean {
    switch (this.state) {
      case 'magic': {
        if (this.buf.length < 4) return false;
        const m = u32(this.buf, 0);
        if (m === 0x184d2204) {
          this.take(4);
          this.state = 'descriptor';
          this.ended = false;
          return true;
        }
        if ((m & 0xfffffff0) === 0x184d2a50) {
          if (this.buf.length < 8) return false;
          this.skipLeft = u32(this.buf, 4);
          this.take(8);
          this.state = 'skip';
          return true;
        }
        throw new BrineError('lz4-bad-data', `bad LZ4 frame magic 0x${m.toString(16)}`);
      }
      case 'skip': {
        const k = Math.min(this.skipLeft, this.buf.length);
        this.take(k);
        this.skipLeft -= k;
        if (this.skipLeft === 0) this.state = 'magic';
        return k > 0;
      }
      case 'descriptor': {
        if (this.buf.length < 2) return false;
        const flg = this.buf[0] as number;
        const bd = this.buf[1] as number;
        if (flg >> 6 !== 1) throw new BrineError('lz4-bad-data', 'unsupported LZ4 frame version');
        const len = 3 + (flg & 0x08 ? 8 : 0) + (flg & 0x01 ? 4 : 0);
        if (!this.take(len)) return false;
        const code = (bd >> 4) & 7;
        if (code < 4) throw new BrineError('lz4-bad-data', 'bad LZ4 block size code');
        this.blockMax = 1 << (8 + 2 * code);
        this.independent = (flg & 0x20) !== 0;
        this.blockChecksum = (flg & 0x10) !== 0;
        this.contentChecksum = (flg & 0x04) !== 0;
        this.history = new Uint8Array(0);
        this.state = 'block';
        return true;
      }
      case 'block': {
        if (this.buf.length < 4) return false;
        const word = u32(this.buf, 0);
        if (word === 0) {
          this.take(4);
          this.state = 'checksum';
          return true;
        }
        const size = word & 0x7fffffff;
        if (size > this.blockMax)
          throw new BrineError('lz4-bad-data', `LZ4 block of ${size} bytes exceeds its frame's maximum`);
        const total = 4 + size + (this.blockChecksum ? 4 : 0);
        const block = this.take(total);
        if (!block) return false;
        const data = block.subarray(4, 4 + size);
        const out = word & 0x80000000 ? data.slice() : this.decodeBlock(data);
        if (!this.independent) this.history = tail(this.history, out, 65536);
        if (out.length) this.emit(out);
        return true;
      }
      case 'checksum': {
        if (this.contentChecksum && !this.take(4)) return false;
        this.state = 'magic';
        this.ended = true;
        return true;
      }
    }
  }

  private decodeBlock(src: Uint8Array): Uint8Array {
    const h = this.independent ? 0 : this.history.length;
    const dst = new Uint8Array(h + this.blockMax);
    if (h) dst.set(this.history);
    let s = 0;
    let d = h;
    const bad = (why: string) => new BrineError('lz4-bad-data', `corrupt LZ4 block: ${why}`);
    while (s < src.length) {
      const token = src[s++] as number;
      let lit = token >> 4;
      if (lit === 15) {
        let b: number;
        do {
          if (s >= src.length) throw bad('literal length');
          b = src[s++] as number;
          lit += b;
        } while (b === 255);
      }
      if (s + lit > src.length || d + lit > dst.length) throw bad('literals overrun');
      dst.set(src.subarray(s, s + lit), d);
      s += lit;
      d += lit;
      if (s >= src.length) break; // the last sequence has literals only
      if (s + 2 > src.length) throw bad('offset');
      const offset = (src[s] as number) | ((src[s + 1] as number) << 8);
      s += 2;
      if (offset === 0 || offset > d) throw bad('offset outside the window');
      let len = (token & 15) + 4;
      if ((token & 15) === 15) {
        let b: number;
        do {
          if (s >= src.length) throw bad('match length');
          b = src[s++] as number;
          len += b;
        } while (b === 255);
      }
      if (d + len > dst.length) throw bad('match overruns the block');
      for (let i = 0; i < len; i++, d++) dst[d] = dst[d - offset] as number;
    }
    return dst.slice(h, d);
  }
}

function u32(b: Uint8Array, o: number): number {
  return (
    ((b[o] as number) |
      ((b[o + 1] as number) << 8) |
      ((b[o + 2] as number) << 16) |
      ((b[o + 3] as number) << 24)) >>>
    0
  );
}

function join(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

function tail(history: Uint8Array, next: Uint8Array, max: number): Uint8Array {
  if (next.length >= max) return next.slice(next.length - max);
  const keep = Math.min(history.length, max - next.length);
  const out = new Uint8Array(keep + next.length);
  out.set(history.subarray(history.length - keep));
  out.set(next, keep);
  return out;
}
