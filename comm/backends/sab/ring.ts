/**
 * A single-producer single-consumer byte ring in a SharedArrayBuffer.
 *
 * head and tail are free-running Int32 byte counters; `(head - tail) | 0` is the fill level
 * (exact while capacity <= 2^30) and `pos & mask` the index. The producer writes bytes with
 * plain stores and then publishes them with Atomics.store(head); the consumer's
 * Atomics.load(head) makes those bytes visible (seq-cst atomics order the plain accesses).
 *
 * Records start on a 16-byte boundary (the producer skips up to 15 bytes before a header), so
 * a header is four aligned Int32 words that never wrap. Each side keeps the other's counter
 * cached and the consumer hands space back in batches (kReleaseEvery): on the tiny-message path
 * neither side touches the other's counter line, only the head line and the record's line.
 */
import { kHead, kRecordHeaderBytes, kRingHeaderBytes, kTail } from './layout.js';

/** The consumer publishes its tail once this many bytes (at most a quarter of the ring) are read. */
const kReleaseEvery = 16 << 10;

export class Ring {
  readonly capacity: number;
  private readonly mask: number;
  private readonly ctl: Int32Array;
  private readonly data: Uint8Array;
  /** The data region as Int32 words, for record headers. */
  private readonly words: Int32Array;
  /** Our own counter (producer: head written; consumer: bytes read). Only this side writes it. */
  private own: number;
  /** Producer: the tail last loaded. Consumer: the tail last published. */
  private other: number;
  private readonly releaseEvery: number;

  constructor(buffer: SharedArrayBuffer, readonly side: 'producer' | 'consumer') {
    this.capacity = buffer.byteLength - kRingHeaderBytes;
    this.mask = this.capacity - 1;
    this.ctl = new Int32Array(buffer, 0, kRingHeaderBytes / 4);
    this.data = new Uint8Array(buffer, kRingHeaderBytes, this.capacity);
    this.words = new Int32Array(buffer, kRingHeaderBytes, this.capacity >> 2);
    this.own = Atomics.load(this.ctl, side === 'producer' ? kHead : kTail);
    this.other = Atomics.load(this.ctl, kTail);
    // Batching is safe: a producer that waits for room sees at least 3/4 of the ring free, or
    // the consumer has more than a quarter to read and releases as soon as it has.
    this.releaseEvery = Math.min(kReleaseEvery, this.capacity >> 2);
  }

  /** Producer: bytes it may write now (loads the consumer's tail). */
  free(): number {
    this.other = Atomics.load(this.ctl, kTail);
    return this.capacity - ((this.own - this.other) | 0);
  }

  /** Producer: true if `n` bytes fit; loads the tail only when the cached one says no. */
  fits(n: number): boolean {
    return this.capacity - ((this.own - this.other) | 0) >= n || this.free() >= n;
  }

  /** Consumer: bytes it may read now. */
  used(): number {
    return (Atomics.load(this.ctl, kHead) - this.own) | 0;
  }

  /** Bytes a record header at our position takes, its alignment skip included. */
  headerBytes(): number {
    return (-this.own & 15) + kRecordHeaderBytes;
  }

  /** Producer: writes a record header at our (aligned) position, without publishing. */
  writeHeader(context: number, tag: number, length: number, epoch: number): void {
    const i = (((this.own + 15) & ~15) & this.mask) >> 2;
    const w = this.words;
    w[i] = context;
    w[i + 1] = tag;
    w[i + 2] = length;
    w[i + 3] = epoch;
  }

  /** Consumer: word `k` (0 context, 1 tag, 2 length, 3 epoch) of the header at our position. */
  header(k: number): number {
    return this.words[((((this.own + 15) & ~15) & this.mask) >> 2) + k]!;
  }

  /** Producer: copies `src` in at `at` bytes past the head (caller checked room) without publishing. */
  write(src: Uint8Array, at = 0): void {
    const start = (this.own + at) & this.mask;
    const n = src.length;
    if (n <= 32 && start + n <= this.capacity) {
      // A byte loop beats subarray + set for the few bytes of a small message.
      const d = this.data;
      for (let i = 0; i < n; i++) d[start + i] = src[i]!;
      return;
    }
    const first = Math.min(n, this.capacity - start);
    this.data.set(first === n ? src : src.subarray(0, first), start);
    if (first < n) this.data.set(src.subarray(first), 0);
  }

  /** Producer: makes `n` written bytes visible to the consumer. */
  publish(n: number): void {
    this.own = (this.own + n) | 0;
    Atomics.store(this.ctl, kHead, this.own);
  }

  /** Consumer: copies dst.length bytes out from `at` bytes past our position (caller checked used()). */
  read(dst: Uint8Array, at = 0): void {
    const start = (this.own + at) & this.mask;
    const n = dst.length;
    if (n <= 32 && start + n <= this.capacity) {
      const d = this.data;
      for (let i = 0; i < n; i++) dst[i] = d[start + i]!;
      return;
    }
    const first = Math.min(n, this.capacity - start);
    dst.set(this.data.subarray(start, start + first));
    if (first < n) dst.set(this.data.subarray(0, n - first), first);
  }

  /**
   * Consumer: marks `n` read bytes done. They go back to the producer in batches; returns true
   * when this call published the tail (so a sleeping producer may want waking).
   */
  release(n: number): boolean {
    this.own = (this.own + n) | 0;
    if (((this.own - this.other) | 0) < this.releaseEvery) return false;
    this.other = this.own;
    Atomics.store(this.ctl, kTail, this.own);
    return true;
  }
}
