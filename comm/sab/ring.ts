/**
 * A single-producer single-consumer byte ring in a SharedArrayBuffer.
 *
 * head and tail are free-running Int32 byte counters; `(head - tail) | 0` is the fill level
 * (exact while capacity <= 2^30) and `pos & mask` the index. The producer writes bytes with
 * plain stores and then publishes them with Atomics.store(head); the consumer's
 * Atomics.load(head) makes those bytes visible (seq-cst atomics order the plain accesses).
 */
import { kHead, kRingHeaderBytes, kTail } from './layout.js';

export class Ring {
  readonly capacity: number;
  private readonly mask: number;
  private readonly ctl: Int32Array;
  private readonly data: Uint8Array;
  /** Local copies of our own counter: only this side writes it. */
  private own: number;

  constructor(buffer: SharedArrayBuffer, readonly side: 'producer' | 'consumer') {
    this.capacity = buffer.byteLength - kRingHeaderBytes;
    this.mask = this.capacity - 1;
    this.ctl = new Int32Array(buffer, 0, kRingHeaderBytes / 4);
    this.data = new Uint8Array(buffer, kRingHeaderBytes, this.capacity);
    this.own = Atomics.load(this.ctl, side === 'producer' ? kHead : kTail);
  }

  /** Bytes the producer may write now. */
  free(): number {
    return this.capacity - ((this.own - Atomics.load(this.ctl, kTail)) | 0);
  }

  /** Bytes the consumer may read now. */
  used(): number {
    return (Atomics.load(this.ctl, kHead) - this.own) | 0;
  }

  /** Producer: copies `src` in (caller checked free() >= src.length) without publishing. */
  write(src: Uint8Array, at = 0): void {
    const start = (this.own + at) & this.mask;
    if (src.length <= 32 && start + src.length <= this.capacity) {
      // A byte loop beats subarray + set for the few bytes of a header or a small message.
      const d = this.data;
      for (let i = 0; i < src.length; i++) d[start + i] = src[i]!;
      return;
    }
    const first = Math.min(src.length, this.capacity - start);
    this.data.set(first === src.length ? src : src.subarray(0, first), start);
    if (first < src.length) this.data.set(src.subarray(first), 0);
  }

  /** Producer: makes `n` written bytes visible to the consumer. */
  publish(n: number): void {
    this.own = (this.own + n) | 0;
    Atomics.store(this.ctl, kHead, this.own);
  }

  /** Consumer: copies dst.length bytes out (caller checked used() >= dst.length) without releasing. */
  read(dst: Uint8Array, at = 0): void {
    const start = (this.own + at) & this.mask;
    if (dst.length <= 32 && start + dst.length <= this.capacity) {
      const d = this.data;
      for (let i = 0; i < dst.length; i++) dst[i] = d[start + i]!;
      return;
    }
    const first = Math.min(dst.length, this.capacity - start);
    dst.set(this.data.subarray(start, start + first));
    if (first < dst.length) dst.set(this.data.subarray(0, dst.length - first), first);
  }

  /** Consumer: hands `n` read bytes back to the producer. */
  release(n: number): void {
    this.own = (this.own + n) | 0;
    Atomics.store(this.ctl, kTail, this.own);
  }
}
