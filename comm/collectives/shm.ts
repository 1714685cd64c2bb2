/**
 * Shared-memory collectives for every communicator whose ranks share memory (the sab
 * backend: ranks are threads of one process). Instead of messages through the rings (two
 * copies per hop and a doorbell per chunk), each communicator gets, on its first collective,
 * one SharedArrayBuffer of its own:
 *
 * - a control block: per rank one 64-byte line holding its arrival generation and the
 *   header (byte length, dtype code) of what it wrote, plus a line counting sleepers;
 * - a data arena: two banks of one slot per rank.
 *
 * Every collective step is a generation g, taken in call order on every rank. A rank that
 * writes its slot of bank g & 1, stores `arrive = g` (Atomics: release), and then waits only
 * for the ranks whose slots it reads (acquire). `arrive = g` also says "done with g - 1", so
 * before a rank writes bank g & 1 again it waits for every rank to have arrived at g - 1:
 * the readers of g - 2 (the same bank) are finished. Symmetric operations already waited for
 * that, so slots are reused without an extra round; rooted ones (bcast) pipeline two steps.
 *
 * Waiting (see wait and waitLater): a short synchronous spin on Atomics.load (nothing to
 * await when every rank is already there), then parking in Atomics.wait in short slices
 * (an arrival notifies when anyone sleeps) with the event loop served in between, then
 * Atomics.waitAsync for long waits; the transport is asked between slices whether the job
 * failed. With more ranks than cores the spin is cut to microseconds to yield the core.
 *
 * Reductions fold contributions in rank order, so every rank gets bit-identical results.
 * The arena is handed around once per communicator and job through a BroadcastChannel
 * (message payloads are bytes; a SharedArrayBuffer must travel as an object), named by rank
 * 0 over the first collective's own messages.
 */
import { BroadcastChannel, isMainThread } from 'node:worker_threads';
import { randomBytes } from 'node:crypto';
import { oversubscribed } from '../../util/cores.js';
import { ArgumentError } from '../../util/errors.js';
import { bytesOf, dtypeOf, viewOf, type DType, type TypedArray } from '../../util/dtype.js';
import type { Kernel } from '../ops.js';
import type { Transport } from '../transport.js';
import { blockCounts, displsOf, kEmpty, type Chan } from './chan.js';
import { binomialBcast } from './tree.js';
import { argErrFrom, kArgErr, type CollGuard, type ShmWait } from './guard.js';
import type { CollChan } from './typed.js';

/** Int32s per 64-byte line: ranks' flags never share a cache line. */
const kLine = 16;
/** Line 0: how many ranks sleep in Atomics.wait or waitAsync (arrivals notify only then). */
const kSleepers = 0;
/** Line 0: arrivals so far, summed over ranks (kept with more ranks than cores, see park). */
const kCount = 1;
/** Per-rank line fields (line q + 1). */
const kArrive = 0;
const kLen = 2; // + bank: bytes this rank wrote (uint32)
const kCode = 4; // + bank: dtype code of a bcast or scatter
const kTotalLo = 6; // + 2 * bank: whole byte length of a chunked gather's part (low, high 32 bits)
/**
 * Signature lines (after the ranks' lines, one per rank): for step g, at 4 * (g & 3), the
 * call's signature words 0 and 1 (collectives/guard.ts) and its sequence number. Four banks:
 * a rank checks the words of step g right after it arrived there itself, and no rank can
 * write step g + 4 before this rank has arrived at g + 2.
 */
const kSig = 0;
const kSigN = 1;
const kSigSeq = 2;

/**
 * Bytes of one rank's slot in one bank for a communicator of `size` ranks: a bank is about
 * 2 MiB (few steps per long operation: each costs a wake-up round when ranks outnumber
 * cores; still mostly in cache), a slot at least 64 KiB.
 */
export function slotBytes(size: number): number {
  return Math.max(64 << 10, Math.floor((2 << 20) / size / 4096) * 4096);
}
/** Allreduce up to this size: every rank folds every slot; above, each rank reduces one block per chunk. */
export const kFoldAllBytes = 4 << 10;

/** True when a communicator of `size` ranks on `t` uses the shared-memory collectives. */
export function shmEnabled(t: Transport, size: number): boolean {
  return t.capabilities.sharedMemory && size > 1 && process.env.SUPERSTEP_COMM_SHM !== '0';
}

type Wait = Promise<void> | undefined;

/** Longest a waiting rank blocks its thread at a time (Atomics.wait), and for how long in all before it sleeps without blocking. */
const kParkMs = 1;
const kParkForMs = 50;
/** After this long, a waiting rank also asks the collective guard (mismatches, a peer in bsp.sync). */
const kGuardMs = 20;
/** Rank threads may block in Atomics.wait; a main thread may not. */
const kCanBlock = !isMainThread;

const noop = () => {};

/** Runs `f` now when nothing waits, else after `w`. */
function then<T>(w: Wait, f: () => T | Promise<T>): T | Promise<T> {
  return w ? w.then(f) : f();
}

/**
 * Runs one communicator's shared-memory operations one at a time, in call order (ranks call
 * collectives in the same order, so step g is the same operation everywhere): at once when
 * none is in flight (so it may finish without a promise tick), else after the one that is.
 * The arena is created by the first operation, over that call's channel.
 */
export class ShmRunner {
  private engine: ShmEngine | undefined;
  private tail: Promise<unknown> | undefined;

  constructor(private readonly t: Transport, private readonly ranks: readonly number[] | null) {}

  /** allreduceFold through run, without a closure when nothing is in flight (the hot path). */
  allreduceFold<R>(ch: CollChan, data: TypedArray, out: TypedArray, kernel: Kernel, result: R): Promise<R> {
    const e = this.engine;
    if (!e || this.tail !== undefined) return this.run(ch, (en) => en.allreduceFold(data, out, kernel, result));
    let r: R | Promise<R>;
    try {
      e.s0 = ch.w0;
      e.s1 = ch.w1;
      e.sSeq = ch.seq;
      r = e.allreduceFold(data, out, kernel, result);
    } catch (err) {
      return Promise.reject(err);
    }
    if (!(r instanceof Promise)) return Promise.resolve(r);
    this.track(r);
    return r;
  }

  run<T>(ch: CollChan, f: (e: ShmEngine) => T | Promise<T>): Promise<T> {
    const e = this.engine;
    if (e && this.tail === undefined) {
      let r: T | Promise<T>;
      try {
        e.s0 = ch.w0;
        e.s1 = ch.w1;
        e.sSeq = ch.seq;
        r = f(e);
      } catch (err) {
        return Promise.reject(err);
      }
      if (!(r instanceof Promise)) return Promise.resolve(r);
      this.track(r);
      return r;
    }
    const go = async (): Promise<T> => {
      this.engine ??= await createEngine(ch, this.t, this.ranks);
      const en = this.engine;
      en.s0 = ch.w0;
      en.s1 = ch.w1;
      en.sSeq = ch.seq;
      return f(en);
    };
    const r = this.tail ? this.tail.then(go, go) : go();
    this.track(r);
    return r;
  }

  /** Marks `p` as the operation in flight; cleared as it settles, before its callers resume. */
  private track(p: Promise<unknown>): void {
    this.tail = p;
    const clear = () => {
      if (this.tail === p) this.tail = undefined;
    };
    p.then(clear, clear);
  }
}

/** Where each of a collective's parts sits: rank order, the caller's own part included. */
export type Parts = Uint8Array[];

/**
 * What a reader of a chunked gather does with the parts, decided from every rank's byte
 * length: `into[q]` receives rank q's bytes (undefined: skip them), `result` is returned.
 */
export interface Placement<R> {
  into: (Uint8Array | undefined)[];
  result: R;
}

/** Where the part of [at, at + n) falling in the window [lo, hi) starts and ends (a >= b: none). */
function overlap(at: number, n: number, lo: number, hi: number): [number, number] {
  return [Math.max(at, lo), Math.min(at + n, hi)];
}

export class ShmEngine {
  private gen = 0;
  private readonly ctl: Int32Array;
  private readonly u8: Uint8Array;
  /** The arena as float64s: the length table of a scatter. */
  private readonly f64: Float64Array;
  private readonly dataOff: number;
  /** How long wait spins before it parks, in ms. */
  private readonly spinMs: number;
  private readonly slotBytes: number;
  /** More ranks than cores: arrivals are also counted in one word (see park). */
  private readonly counted: boolean;
  /** Slot views of the last short allreduce, per bank (creating views costs more than the fold). */
  private views: TypedArray[][] = [[], []];
  private viewsKey: { dt: DType | undefined; n: number } = { dt: undefined, n: -1 };
  /** @internal The signature and sequence number of the call in progress (set by ShmRunner). */
  s0 = 0;
  s1 = 0;
  sSeq = 0;

  constructor(
    private readonly t: Transport,
    private readonly ranks: readonly number[] | null,
    readonly rank: number,
    readonly size: number,
    private readonly sab: SharedArrayBuffer,
    private readonly guard: CollGuard,
  ) {
    this.ctl = new Int32Array(sab, 0, (2 * size + 1) * kLine);
    this.u8 = new Uint8Array(sab);
    this.f64 = new Float64Array(sab, 0, sab.byteLength >> 3);
    this.dataOff = (2 * size + 1) * kLine * 4;
    this.slotBytes = slotBytes(size);
    // Spinning only pays while every rank has a core; otherwise it takes the core a late rank needs.
    // With a core each, spin as long as the sab transport does (5 ms): a peer's GC or JIT pause
    // outlasts a short spin, and a parked rank then costs a slow wake-up (0.1-2 ms on a VM).
    this.counted = oversubscribed(t.size);
    this.spinMs = this.counted ? 0.002 : 5;
  }

  // Steps
  // -----

  private next(): number {
    return (this.gen = (this.gen + 1) | 0);
  }

  private line(q: number): number {
    return (q + 1) * kLine;
  }

  /** Byte offset of rank q's slot in `bank`. */
  private slot(q: number, bank: number): number {
    return this.dataOff + (bank * this.size + q) * this.slotBytes;
  }

  /** Arrives at step g: this rank's writes for g are visible, and it is done with g - 1. */
  private publish(g: number): void {
    const i = this.line(this.rank) + kArrive;
    const s = this.sigLine(this.rank) + 4 * (g & 3);
    this.ctl[s + kSig] = this.s0;
    this.ctl[s + kSigN] = this.s1;
    this.ctl[s + kSigSeq] = this.sSeq;
    Atomics.store(this.ctl, i, g);
    if (this.counted) {
      const c = Atomics.add(this.ctl, kCount, 1) + 1;
      if (Atomics.load(this.ctl, kSleepers) !== 0) {
        Atomics.notify(this.ctl, i);
        // The last rank to arrive at g wakes everyone who waits for all of them at once.
        if (((c - Math.imul(this.size, g)) | 0) === 0) Atomics.notify(this.ctl, kCount);
      }
    } else if (Atomics.load(this.ctl, kSleepers) !== 0) {
      Atomics.notify(this.ctl, i);
    }
  }

  /** First rank in [lo, hi) that has not arrived at step g, or -1. */
  private behind(g: number, lo: number, hi: number): number {
    for (let q = lo; q < hi; q++) if (((Atomics.load(this.ctl, (q + 1) * kLine + kArrive) - g) | 0) < 0) return q;
    return -1;
  }

  /** Start of rank q's signature line. */
  private sigLine(q: number): number {
    return (this.size + 1 + q) * kLine;
  }

  /**
   * Waits until ranks [lo, hi) have arrived at step g: undefined if they have (no await
   * needed). `mine`: this rank has arrived at g itself, and checks that they called the same
   * collective there (free waits for the previous step without a check: the ranks that
   * arrive without waiting, a bcast's readers, may already have moved on).
   */
  private wait(g: number, lo: number, hi: number, mine = true): Wait {
    if (this.behind(g, lo, hi) < 0) return mine ? this.check(g, lo, hi) : undefined;
    const until = performance.now() + this.spinMs;
    do {
      for (let i = 0; i < 64; i++) if (this.behind(g, lo, hi) < 0) return mine ? this.check(g, lo, hi) : undefined;
    } while (performance.now() < until);
    const w = this.waitLater(g, lo, hi);
    return mine ? w.then(() => this.check(g, lo, hi)) : w;
  }

  /** Ranks [lo, hi) wrote the same signature and sequence number as this rank for step g, or a mismatch error. */
  private check(g: number, lo: number, hi: number): undefined {
    const c = this.ctl;
    const k = 4 * (g & 3);
    const me = this.sigLine(this.rank) + k;
    const a0 = c[me + kSig]!;
    const a1 = c[me + kSigN]!;
    const a2 = c[me + kSigSeq]!;
    for (let q = lo; q < hi; q++) {
      const l = (this.size + 1 + q) * kLine + k;
      if (c[l + kSig] !== a0 || c[l + kSigN] !== a1 || c[l + kSigSeq] !== a2) this.mismatch(q, g);
    }
    return undefined;
  }

  private mismatch(q: number, g: number): void {
    const c = this.ctl;
    const k = 4 * (g & 3);
    const me = this.sigLine(this.rank) + k;
    const l = this.sigLine(q) + k;
    const q0 = c[l + kSig]!;
    if ((q0 & 63) === kArgErr) {
      const off = this.slot(q, g & 1);
      throw argErrFrom(q, new TextDecoder().decode(this.u8.slice(off, off + this.lenOf(q, g & 1))), this.rank);
    }
    throw this.guard.mismatch(c[me + kSigSeq]!, q, q0, c[l + kSigN]!, c[l + kSigSeq]!);
  }

  /** Before writing this rank's slot of step g's bank: every rank is done with g - 2. */
  private free(g: number): Wait {
    return this.wait((g - 1) | 0, 0, this.size, false);
  }

  /**
   * Enters the current call refusing its arguments: one step whose slot holds the error's
   * message, which every rank that waits for this one raises (see guard.ts).
   */
  refuse(text: string): void | Promise<void> {
    this.s0 = kArgErr;
    this.s1 = -1;
    const g = this.next();
    return then(this.free(g), () => {
      const bytes = new TextEncoder().encode(text).subarray(0, this.slotBytes);
      this.write(g & 1, bytes, bytes.byteLength);
      this.publish(g);
    });
  }

  /**
   * The slow path of wait. First the thread parks on the slow rank's line (Atomics.wait: the
   * core goes to whoever needs it, a late rank or a garbage collector's helper, and the
   * arrival's notify wakes it in microseconds) for up to kParkMs at a time, yielding to the
   * event loop in between; after kParkForMs it sleeps in Atomics.waitAsync instead, which
   * blocks nothing. Between slices it asks the transport whether the job has failed.
   */
  private async waitLater(g: number, lo: number, hi: number): Promise<void> {
    const start = performance.now();
    let keepAlive: NodeJS.Timeout | undefined;
    let waiting: ShmWait | undefined;
    try {
      for (;;) {
        const sliceEnd = performance.now() + kParkMs;
        let slow = this.behind(g, lo, hi);
        while (slow >= 0 && kCanBlock) {
          const left = sliceEnd - performance.now();
          if (left <= 0) break;
          this.park(slow, g, left, lo === 0 && hi === this.size);
          slow = this.behind(g, lo, hi);
        }
        if (slow < 0) return;
        // Drain the rings: the slow rank may be blocked sending this rank a long message.
        this.t.poll?.();
        if (this.guard.failed) throw this.guard.failed;
        if (performance.now() - start >= kGuardMs) {
          // Slow: has a member found a mismatch, or does the slow rank wait elsewhere (guard.ts)?
          if (waiting?.from !== slow) {
            const q = slow;
            waiting = { from: q, seq: this.sSeq, since: start, still: () => ((Atomics.load(this.ctl, this.line(q) + kArrive) - g) | 0) < 0 };
          }
          this.guard.tick(waiting);
        }
        const failure = this.t.waitFailure?.(this.ranks ? this.ranks[slow]! : slow);
        // A rank may arrive and then finish between the look above and this check: it is gone
        // only if it is still behind once its state says finished.
        if (failure && ((Atomics.load(this.ctl, this.line(slow) + kArrive) - g) | 0) < 0) throw (await this.guard.poisoned()) ?? failure;
        if (failure) continue;
        if (kCanBlock && performance.now() - start < kParkForMs) {
          await new Promise<void>((resolve) => setImmediate(resolve));
          continue;
        }
        // A pending waitAsync does not keep a thread alive; a timer does.
        keepAlive ??= setInterval(noop, 1 << 30);
        const i = this.line(slow) + kArrive;
        Atomics.add(this.ctl, kSleepers, 1);
        const v = Atomics.load(this.ctl, i);
        if (((v - g) | 0) < 0) {
          const w = Atomics.waitAsync(this.ctl, i, v, 10);
          if (w.async) await w.value;
        }
        Atomics.sub(this.ctl, kSleepers, 1);
      }
    } finally {
      if (keepAlive) clearInterval(keepAlive);
    }
  }

  /** Blocks up to `ms` until rank `slow` arrives somewhere new (its arrival notifies sleepers). */
  private park(slow: number, g: number, ms: number, all: boolean): void {
    Atomics.add(this.ctl, kSleepers, 1);
    if (all && this.counted) {
      // With more ranks than cores, one wake-up for the whole group instead of a chain of
      // them (woken by the first slow rank, park on the next ...). The sum only reaches
      // size * g when every rank is at g; if it ever skips it, the timeout ends the park.
      const v = Atomics.load(this.ctl, kCount);
      if (this.behind(g, 0, this.size) >= 0) Atomics.wait(this.ctl, kCount, v, ms);
    } else {
      const i = this.line(slow) + kArrive;
      const v = Atomics.load(this.ctl, i);
      if (((v - g) | 0) < 0) Atomics.wait(this.ctl, i, v, ms);
    }
    Atomics.sub(this.ctl, kSleepers, 1);
  }

  private lenOf(q: number, bank: number): number {
    return this.ctl[this.line(q) + kLen + bank]! >>> 0;
  }

  /** Copies `bytes` into this rank's slot of `bank` (at byte `at`) and records `len` as its header. */
  private write(bank: number, bytes: Uint8Array, len: number, at = 0): void {
    const off = this.slot(this.rank, bank) + at;
    const n = bytes.byteLength;
    if (n <= 64) {
      // set() costs more than the copy for a few bytes.
      const u8 = this.u8;
      for (let i = 0; i < n; i++) u8[off + i] = bytes[i]!;
    } else {
      this.u8.set(bytes, off);
    }
    this.ctl[this.line(this.rank) + kLen + bank] = len;
  }

  // Operations
  // ----------

  barrier(): Wait {
    const g = this.next();
    this.publish(g);
    return this.wait(g, 0, this.size);
  }

  /**
   * Allreduce of short arrays: every rank writes its input, then folds every slot in rank
   * order into `out` (exactly data.length elements). Completes synchronously when every rank
   * is there.
   */
  allreduceFold<R>(data: TypedArray, out: TypedArray, kernel: Kernel, result: R): R | Promise<R> {
    // Written without closures on the path where nothing waits: this is the hot one.
    const g = this.next();
    const w = this.free(g);
    if (w) return w.then(() => this.foldWrite(g, data, out, kernel, result));
    return this.foldWrite(g, data, out, kernel, result);
  }

  private foldWrite<R>(g: number, data: TypedArray, out: TypedArray, kernel: Kernel, result: R): R | Promise<R> {
    const bank = g & 1;
    this.write(bank, bytesOf(data), data.byteLength);
    this.publish(g);
    const w = this.wait(g, 0, this.size);
    if (w) return w.then(() => this.foldRead(bank, data, out, kernel, result));
    return this.foldRead(bank, data, out, kernel, result);
  }

  private foldRead<R>(bank: number, data: TypedArray, out: TypedArray, kernel: Kernel, result: R): R {
    this.fold(bank, data, out, kernel);
    return result;
  }

  private fold(bank: number, data: TypedArray, out: TypedArray, kernel: Kernel): void {
    const dt = dtypeOf(data)!;
    const n = data.length;
    this.checkLens(bank, data.byteLength, data.BYTES_PER_ELEMENT, 'a reduction');
    const key = this.viewsKey;
    if (key.dt !== dt || key.n !== n) {
      this.views = [0, 1].map((b) => Array.from({ length: this.size }, (_, q) => viewOf(dt, this.sab, this.slot(q, b), n)));
      this.viewsKey = { dt, n };
    }
    const views = this.views[bank]!;
    kernel(views[0]!, views[1]!, out);
    for (let q = 2; q < this.size; q++) kernel(out, views[q]!, out);
  }

  private lengthMismatch(q: number, len: number, nbytes: number, bpe: number): ArgumentError {
    return new ArgumentError('data', 'the same length on every rank of a reduction', `rank ${q} contributed ${len / bpe} elements, this rank ${nbytes / bpe}`, this.rank);
  }

  /**
   * Instead of `gather`, on a rank whose reduction part is longer than a slot (it then uses
   * the message algorithms): one step publishing only its length, then a check that every
   * rank announced the same (a rank that took `gather` wrote its short part). So ranks whose
   * lengths differ across the slot size reject, in step, rather than wait on different paths.
   */
  announce(nbytes: number, bpe: number): void | Promise<void> {
    const g = this.next();
    return then(this.free(g), () => {
      const bank = g & 1;
      this.ctl[this.line(this.rank) + kLen + bank] = Math.min(nbytes, 0xffffffff);
      this.setTotal(bank, nbytes);
      this.publish(g);
      return then(this.wait(g, 0, this.size), () => {
        for (let q = 0; q < this.size; q++) {
          const len = this.lenOf(q, bank);
          const total = len > this.slotBytes ? this.totalOf(q, bank) : len;
          if (total !== nbytes) throw this.lengthMismatch(q, total, nbytes, bpe);
        }
      });
    });
  }

  /** Every rank wrote the same byte length in `bank`, or every rank throws the same error. */
  private checkLens(bank: number, nbytes: number, bpe: number, what: string): void {
    for (let q = 0; q < this.size; q++) {
      const len = this.lenOf(q, bank);
      if (len !== nbytes) {
        throw new ArgumentError('data', `the same length on every rank of ${what}`, `rank ${q} contributed ${len / bpe} elements, this rank ${nbytes / bpe}`, this.rank);
      }
    }
  }

  /**
   * Allreduce of long arrays, in chunks. In step k each rank writes into its slot only the
   * blocks of chunk k the others reduce, plus its own reduced block of chunk k - 1; after the
   * step it copies the others' blocks of chunk k - 1 out, and folds its own block of chunk k
   * (its input plus the others' slots, in rank order) straight into `out`. One step per
   * chunk, plus one. `unit` elements stay together (MINLOC/MAXLOC pairs).
   */
  async allreduceBlocks(data: TypedArray, out: TypedArray, kernel: Kernel, unit: number): Promise<void> {
    const { rank: me, size: p } = this;
    const dt = dtypeOf(data)!;
    const bpe = data.BYTES_PER_ELEMENT;
    const nbytes = data.byteLength;
    // A slot holds a chunk's inputs and, after them, one reduced block of the previous chunk.
    const chunkUnits = Math.floor((this.slotBytes * p) / (p + 1) / (bpe * unit));
    const totalUnits = data.length / unit;
    const steps = Math.max(1, Math.ceil(totalUnits / chunkUnits));
    const resultAt = chunkUnits * unit * bpe;
    const outBytes = bytesOf(out);
    const layout = (k: number) => {
      const counts = blockCounts(Math.min(chunkUnits, totalUnits - k * chunkUnits), p).map((c) => c * unit);
      return { base: k * chunkUnits * unit, counts, displs: displsOf(counts) };
    };
    let prev: ReturnType<typeof layout> | undefined;
    for (let k = 0; k <= steps; k++) {
      const cur = k < steps ? layout(k) : undefined;
      const g = this.next();
      const w0 = this.free(g);
      if (w0) await w0;
      const bank = g & 1;
      const mySlot = this.slot(me, bank);
      if (cur) {
        const lo = cur.displs[me]!;
        const cnt = cur.counts[me]!;
        const end = cur.displs[p - 1]! + cur.counts[p - 1]!;
        const chunk = data.subarray(cur.base, cur.base + end);
        if (lo > 0) this.u8.set(bytesOf(chunk.subarray(0, lo)), mySlot);
        if (lo + cnt < end) this.u8.set(bytesOf(chunk.subarray(lo + cnt)), mySlot + (lo + cnt) * bpe);
      }
      if (prev && prev.counts[me]! > 0) {
        const lo = prev.base + prev.displs[me]!;
        this.u8.set(bytesOf(out.subarray(lo, lo + prev.counts[me]!)), mySlot + resultAt);
      }
      this.ctl[this.line(me) + kLen + bank] = nbytes;
      this.publish(g);
      const w = this.wait(g, 0, p);
      if (w) await w;
      if (k === 0) this.checkLens(bank, nbytes, bpe, 'a reduction');
      if (prev) {
        for (let q = 0; q < p; q++) {
          const cnt = prev.counts[q]!;
          if (q === me || cnt === 0) continue;
          const off = this.slot(q, bank) + resultAt;
          outBytes.set(this.u8.subarray(off, off + cnt * bpe), (prev.base + prev.displs[q]!) * bpe);
        }
      }
      if (cur && cur.counts[me]! > 0) {
        const lo = cur.displs[me]!;
        const cnt = cur.counts[me]!;
        const mine = out.subarray(cur.base + lo, cur.base + lo + cnt);
        const part = (q: number) => (q === me ? data.subarray(cur.base + lo, cur.base + lo + cnt) : viewOf(dt, this.sab, this.slot(q, bank) + lo * bpe, cnt));
        kernel(part(0), part(1), mine);
        for (let q = 2; q < p; q++) kernel(mine, part(q), mine);
      }
      prev = cur;
    }
  }

  /**
   * The one step of a short reduction (reduce, scan, exscan): every rank publishes `bytes`
   * (at most slotBytes(size)); `use` then gets views of the parts of ranks [0, size)
   * (`'all'`), of every rank on the root only (a rank number; others get undefined), or of
   * ranks [0, rank] (`'prefix'`). The views are only valid during the call (the slots are
   * reused two steps on): `use` copies or folds them. A rank whose part is longer than a
   * slot takes `announce` instead; its readers reject here (its length, not its bytes).
   */
  gather<R>(bytes: Uint8Array, from: 'all' | 'prefix' | number, use: (parts: Parts) => R, bpe = 1): R | undefined | Promise<R | undefined> {
    const g = this.next();
    return then(this.free(g), () => {
      const bank = g & 1;
      this.write(bank, bytes, bytes.byteLength);
      this.publish(g);
      if (typeof from === 'number' && from !== this.rank) return undefined;
      const hi = from === 'prefix' ? this.rank + 1 : this.size;
      return then(this.wait(g, 0, hi), () => {
        const parts: Parts = [];
        for (let q = 0; q < hi; q++) {
          const off = this.slot(q, bank);
          const len = this.lenOf(q, bank);
          if (len > this.slotBytes) throw this.lengthMismatch(q, this.totalOf(q, bank), bytes.byteLength, bpe);
          parts.push(q === this.rank ? bytes : this.u8.subarray(off, off + len));
        }
        return use(parts);
      });
    });
  }

  /** Records `len` (any size) as this rank's whole part length in `bank`'s header. */
  private setTotal(bank: number, len: number): void {
    const i = this.line(this.rank) + kTotalLo + 2 * bank;
    this.ctl[i] = len | 0;
    this.ctl[i + 1] = Math.floor(len / 2 ** 32);
  }

  private totalOf(q: number, bank: number): number {
    const i = this.line(q) + kTotalLo + 2 * bank;
    return (this.ctl[i]! >>> 0) + this.ctl[i + 1]! * 2 ** 32;
  }

  /** Arrives at `n` steps at once: for a rank with nothing more to write or read in them. */
  private skip(n: number): void {
    for (let k = 0; k < n; k++) this.publish(this.next());
  }

  /**
   * Gather of every rank's bytes, of any lengths and any size. Step 1: every rank writes the
   * first slotBytes of its part into its slot and its whole length into its header, and
   * waits for every rank, so every rank knows every length and so how many steps follow
   * (the same number everywhere, whatever the lengths). The rest of every part, concatenated
   * in rank order, then streams through the whole bank, one bank per step. The readers (every
   * rank for `'all'`, else the root) get the lengths in `place`, which says where each
   * part goes; it may throw (a length mismatch): the steps still run to the end on every
   * rank, then the error is raised. Others get undefined. One step, with nothing to await
   * when every rank is there, while every part fits a slot.
   */
  gatherv<R>(bytes: Uint8Array, from: 'all' | number, place: (lens: readonly number[]) => Placement<R>): R | undefined | Promise<R | undefined> {
    const g = this.next();
    return then(this.free(g), () => {
      const bank = g & 1;
      this.write(bank, bytes.byteLength <= this.slotBytes ? bytes : bytes.subarray(0, this.slotBytes), 0);
      this.setTotal(bank, bytes.byteLength);
      this.publish(g);
      return then(this.wait(g, 0, this.size), () => this.gathervFirst(bank, bytes, from, place));
    });
  }

  private gathervFirst<R>(bank: number, bytes: Uint8Array, from: 'all' | number, place: (lens: readonly number[]) => Placement<R>): R | undefined | Promise<R | undefined> {
    const { rank: me, size: p, slotBytes: slot } = this;
    const lens: number[] = [];
    for (let q = 0; q < p; q++) lens.push(q === me ? bytes.byteLength : this.totalOf(q, bank));
    const reader = from === 'all' || from === me;
    let into: (Uint8Array | undefined)[] | undefined;
    let result: R | undefined;
    let error: unknown;
    if (reader) {
      try {
        ({ into, result } = place(lens));
      } catch (err) {
        error = err;
      }
    }
    if (into) {
      for (let q = 0; q < p; q++) {
        const dest = into[q];
        if (!dest) continue;
        if (q === me) {
          dest.set(bytes);
        } else {
          const off = this.slot(q, bank);
          dest.set(this.u8.subarray(off, off + Math.min(lens[q]!, slot)));
        }
      }
    }
    // What is left beyond every part's first slot, as one stream in rank order.
    const at: number[] = [];
    let rest = 0;
    for (let q = 0; q < p; q++) {
      at.push(rest);
      rest += Math.max(0, lens[q]! - slot);
    }
    if (rest === 0) {
      if (error) throw error;
      return reader ? result : undefined;
    }
    return this.gathervRest(bytes, lens, at, rest, reader, into, result, error);
  }

  private async gathervRest<R>(
    bytes: Uint8Array, lens: readonly number[], at: readonly number[], rest: number, reader: boolean,
    into: (Uint8Array | undefined)[] | undefined, result: R | undefined, error: unknown,
  ): Promise<R | undefined> {
    const { rank: me, size: p, slotBytes: slot } = this;
    const cap = p * slot;
    const steps = Math.ceil(rest / cap);
    const mine = Math.max(0, lens[me]! - slot);
    for (let k = 0; k < steps; k++) {
      const lo = k * cap;
      const hi = Math.min(rest, lo + cap);
      const [a, b] = overlap(at[me]!, mine, lo, hi);
      if (!reader && (mine === 0 || at[me]! + mine <= lo)) {
        // Nothing more to write and nothing to read: arrive at the remaining steps now.
        this.skip(steps - k);
        break;
      }
      const g = this.next();
      const w0 = this.free(g);
      if (w0) await w0;
      const base = this.slot(0, g & 1);
      if (a < b) this.u8.set(bytes.subarray(slot + a - at[me]!, slot + b - at[me]!), base + a - lo);
      this.publish(g);
      if (!reader) continue;
      const w = this.wait(g, 0, p);
      if (w) await w;
      if (!into) continue;
      for (let q = 0; q < p; q++) {
        const dest = into[q];
        if (!dest || q === me) continue;
        const [x, y] = overlap(at[q]!, Math.max(0, lens[q]! - slot), lo, hi);
        if (x < y) dest.set(this.u8.subarray(base + x - lo, base + y - lo), slot + x - at[q]!);
      }
    }
    if (error) throw error;
    return reader ? result : undefined;
  }

  /**
   * Scatter of the root's blocks (any lengths, any size): the root writes a table of every
   * block's byte length (float64) at the start of the bank, then the blocks of the other
   * ranks in rank order as one stream through the whole bank, as many steps as it takes
   * (two in flight, as bcast). The root passes `blocks` (its own is not sent) and its dtype
   * code; the others pass `sink`, which gets their length and the code from the first step
   * and returns where their bytes go (it may throw: the steps still run to the end on every
   * rank, then the error is raised). Every rank derives the number of steps from the table.
   */
  scatterv(root: number, blocks: readonly Uint8Array[] | undefined, code: number, sink?: (len: number, code: number) => Uint8Array): void | Promise<void> {
    const { size: p } = this;
    const cap = p * this.slotBytes;
    const head = 8 * p;
    const g = this.next();
    if (this.rank === root) {
      return then(this.free(g), () => {
        const bank = g & 1;
        const base = this.slot(0, bank);
        let total = 0;
        for (let q = 0; q < p; q++) {
          const n = q === root ? 0 : blocks![q]!.byteLength;
          this.f64[(base >> 3) + q] = n;
          total += n;
        }
        this.ctl[this.line(root) + kCode + bank] = code;
        const steps = Math.ceil((head + total) / cap);
        this.scatterWrite(blocks!, root, 0, base, cap, head);
        this.publish(g);
        if (steps > 1) return this.scatterRootRest(blocks!, root, steps, cap, head);
      });
    }
    this.publish(g);
    return then(this.wait(g, root, root + 1), () => {
      const bank = g & 1;
      const base = this.slot(0, bank);
      let total = 0;
      let at = head;
      for (let q = 0; q < p; q++) {
        const n = this.f64[(base >> 3) + q]!;
        if (q < this.rank) at += n;
        total += n;
      }
      const len = this.f64[(base >> 3) + this.rank]!;
      let dest: Uint8Array | undefined;
      let error: unknown;
      try {
        dest = sink!(len, this.ctl[this.line(root) + kCode + bank]!);
      } catch (err) {
        error = err;
      }
      const steps = Math.ceil((head + total) / cap);
      const [a, b] = overlap(at, len, 0, cap);
      if (dest && a < b) dest.set(this.u8.subarray(base + a, base + b), a - at);
      if (steps > 1) return this.scatterRest(root, dest, at, len, steps, cap, error);
      if (error) throw error;
    });
  }

  /** The root's writes of scatter step k: the part of every block's stream range within the step's window. */
  private scatterWrite(blocks: readonly Uint8Array[], root: number, k: number, base: number, cap: number, head: number): void {
    const lo = k * cap;
    let at = head;
    for (let q = 0; q < this.size; q++) {
      if (q === root) continue;
      const blk = blocks[q]!;
      const [a, b] = overlap(at, blk.byteLength, lo, lo + cap);
      if (a < b) this.u8.set(blk.subarray(a - at, b - at), base + a - lo);
      at += blk.byteLength;
    }
  }

  private async scatterRootRest(blocks: readonly Uint8Array[], root: number, steps: number, cap: number, head: number): Promise<void> {
    for (let k = 1; k < steps; k++) {
      const g = this.next();
      const w = this.free(g);
      if (w) await w;
      this.scatterWrite(blocks, root, k, this.slot(0, g & 1), cap, head);
      this.publish(g);
    }
  }

  private async scatterRest(root: number, dest: Uint8Array | undefined, at: number, len: number, steps: number, cap: number, error: unknown): Promise<void> {
    for (let k = 1; k < steps; k++) {
      const lo = k * cap;
      if (len === 0 || at + len <= lo) {
        // This rank's block is all read: arrive at the remaining steps now.
        this.skip(steps - k);
        break;
      }
      const g = this.next();
      this.publish(g);
      const w = this.wait(g, root, root + 1);
      if (w) await w;
      const base = this.slot(0, g & 1);
      const [a, b] = overlap(at, len, lo, lo + cap);
      if (dest && a < b) dest.set(this.u8.subarray(base + a - lo, base + b - lo), a - at);
    }
    if (error) throw error;
  }

  /**
   * All-to-all of equal blocks, any size: `bytes` holds size blocks. Each step moves up to
   * `sub` bytes of every block (a slot holds one piece per destination, at stride min(block,
   * sub), so a short all-to-all is one copy of `bytes` into the slot). Step 1 carries every
   * rank's whole length, so every rank knows every rank's block and the number of steps (the
   * longest block's). The readers' `place` gets the block length each rank sent and says
   * where each goes; it may throw (a mismatch): the steps still run to the end on every rank,
   * then the error is raised. One step, with nothing to await when every rank is there,
   * while every block fits.
   */
  alltoall<R>(bytes: Uint8Array, place: (blocks: readonly number[]) => Placement<R>): R | Promise<R> {
    const g = this.next();
    return then(this.free(g), () => {
      const bank = g & 1;
      const block = Math.floor(bytes.byteLength / this.size);
      this.alltoallWrite(bank, bytes, block, 0);
      this.setTotal(bank, bytes.byteLength);
      this.publish(g);
      return then(this.wait(g, 0, this.size), () => {
        const { rank: me, size: p } = this;
        const sub = this.alltoallSub();
        const blocks: number[] = [];
        let steps = 1;
        for (let q = 0; q < p; q++) {
          const b = q === me ? block : Math.floor(this.totalOf(q, bank) / p);
          blocks.push(b);
          steps = Math.max(steps, Math.ceil(b / sub));
        }
        let into: (Uint8Array | undefined)[] | undefined;
        let result: R | undefined;
        let error: unknown;
        try {
          ({ into, result } = place(blocks));
          into[me]?.set(bytes.subarray(me * block, (me + 1) * block));
        } catch (err) {
          error = err;
        }
        this.alltoallRead(bank, blocks, into, 0);
        if (steps === 1) {
          if (error) throw error;
          return result!;
        }
        return this.alltoallRest(bytes, block, blocks, steps, into, result, error);
      });
    });
  }

  /** Bytes of every block an all-to-all step moves (a slot holds one such piece per rank). */
  private alltoallSub(): number {
    return Math.floor(this.slotBytes / this.size / 64) * 64;
  }

  /** Writes piece k of every block of `bytes` into this rank's slot of `bank`. */
  private alltoallWrite(bank: number, bytes: Uint8Array, block: number, k: number): void {
    const sub = this.alltoallSub();
    if (block <= sub) {
      if (k === 0) this.write(bank, bytes, 0);
      return;
    }
    const off = this.slot(this.rank, bank);
    const lo = k * sub;
    const n = Math.min(block, lo + sub) - lo;
    if (n <= 0) return;
    for (let j = 0; j < this.size; j++) if (j !== this.rank) this.u8.set(bytes.subarray(j * block + lo, j * block + lo + n), off + j * sub);
  }

  /** Copies piece k of the block every other rank sent here out of `bank`. */
  private alltoallRead(bank: number, blocks: readonly number[], into: (Uint8Array | undefined)[] | undefined, k: number): void {
    if (!into) return;
    const sub = this.alltoallSub();
    const lo = k * sub;
    for (let q = 0; q < this.size; q++) {
      const dest = into[q];
      const b = blocks[q]!;
      const n = Math.min(b, lo + sub) - lo;
      if (!dest || q === this.rank || n <= 0) continue;
      const off = this.slot(q, bank) + this.rank * Math.min(b, sub);
      dest.set(this.u8.subarray(off, off + n), lo);
    }
  }

  private async alltoallRest<R>(bytes: Uint8Array, block: number, blocks: readonly number[], steps: number, into: (Uint8Array | undefined)[] | undefined, result: R | undefined, error: unknown): Promise<R> {
    for (let k = 1; k < steps; k++) {
      const g = this.next();
      const w0 = this.free(g);
      if (w0) await w0;
      this.alltoallWrite(g & 1, bytes, block, k);
      this.publish(g);
      const w = this.wait(g, 0, this.size);
      if (w) await w;
      this.alltoallRead(g & 1, blocks, into, k);
    }
    if (error) throw error;
    return result!;
  }

  /**
   * Broadcast of the root's bytes through the whole bank, in as many steps as it takes (two
   * steps in flight: the root writes one bank while the others copy out of the other). The
   * root passes `payload` and its dtype code; the others pass `sink`, which gets the length
   * and code from the first step and returns where the bytes go (it may throw: the steps
   * still run to the end on every rank, then the error is raised).
   */
  async bcast(root: number, payload: Uint8Array | undefined, code: number, sink?: (len: number, code: number) => Uint8Array): Promise<void> {
    const cap = this.size * this.slotBytes;
    const rootBank = (bank: number) => this.slot(0, bank);
    if (this.rank === root) {
      const len = payload!.byteLength;
      const steps = Math.max(1, Math.ceil(len / cap));
      for (let k = 0; k < steps; k++) {
        const g = this.next();
        const w = this.free(g);
        if (w) await w;
        const bank = g & 1;
        const part = payload!.subarray(k * cap, Math.min(len, (k + 1) * cap));
        this.u8.set(part, rootBank(bank));
        const l = this.line(root);
        this.ctl[l + kLen + bank] = len;
        this.ctl[l + kCode + bank] = code;
        this.publish(g);
      }
      return;
    }
    let dest: Uint8Array | undefined;
    let error: unknown;
    let steps = 1;
    for (let k = 0; k < steps; k++) {
      const g = this.next();
      this.publish(g);
      const w = this.wait(g, root, root + 1);
      if (w) await w;
      const bank = g & 1;
      const len = this.lenOf(root, bank);
      if (k === 0) {
        steps = Math.max(1, Math.ceil(len / cap));
        try {
          dest = sink!(len, this.ctl[this.line(root) + kCode + bank]!);
        } catch (err) {
          error = err;
        }
      }
      if (dest) {
        const n = Math.min(len, (k + 1) * cap) - k * cap;
        const off = rootBank(bank);
        dest.set(this.u8.subarray(off, off + n), k * cap);
      }
    }
    if (error) throw error;
  }
}

/**
 * Creates the communicator's arena: rank 0 allocates it and posts it on a BroadcastChannel
 * whose name it sends to everyone; it posts once every rank listens, then tells each by a
 * message (the others wait for that message, not for the post: if rank 0 fails instead, e.g.
 * on a peer's invalid arguments, what arrives is that error, passed on by the guard).
 */
async function createEngine(ch: CollChan, t: Transport, ranks: readonly number[] | null): Promise<ShmEngine> {
  const { rank: me, size: p } = ch;
  const bytes = (2 * p + 1) * kLine * 4 + 2 * p * slotBytes(p);
  const nameBytes = me === 0 ? new TextEncoder().encode(`superstep.comm.shm.${randomBytes(12).toString('hex')}`) : undefined;
  const got = await binomialBcast(ch, 0, nameBytes);
  const name = new TextDecoder().decode(got ?? nameBytes!);
  const bc = new BroadcastChannel(name);
  try {
    if (me === 0) {
      for (let q = 1; q < p; q++) await ch.recv(q);
      const sab = new SharedArrayBuffer(bytes);
      bc.postMessage(sab);
      await Promise.all(Array.from({ length: p - 1 }, (_, i) => ch.send(i + 1, kEmpty)));
      // Everyone must have it before the channel goes: one more round.
      for (let q = 1; q < p; q++) await ch.recv(q);
      return new ShmEngine(t, ranks, me, p, sab, ch.guard);
    }
    const sabP = new Promise<SharedArrayBuffer>((resolve) => {
      bc.onmessage = (e: unknown) => resolve((e as { data: SharedArrayBuffer }).data);
    });
    await ch.send(0, kEmpty);
    // Posted (the channel delivers it), or rank 0's error instead.
    await ch.recv(0);
    const sab = await sabP;
    await ch.send(0, kEmpty);
    return new ShmEngine(t, ranks, me, p, sab, ch.guard);
  } finally {
    bc.close();
  }
}

/** Folds equal-length parts in rank order into `out` (parts.length >= 1). */
export function foldParts(parts: readonly Uint8Array[], dt: DType, n: number, kernel: Kernel, out: TypedArray, rank: number): void {
  const bpe = out.BYTES_PER_ELEMENT;
  const view = (q: number) => {
    const b = parts[q]!;
    if (b.byteLength !== n * bpe) {
      throw new ArgumentError('data', 'the same length on every rank of a reduction', `rank ${q} contributed ${b.byteLength / bpe} elements, this rank ${n}`, rank);
    }
    return viewOf(dt, b.buffer, b.byteOffset, n);
  };
  if (parts.length === 1) {
    bytesOf(out).set(parts[0]!);
    return;
  }
  kernel(view(0), view(1), out);
  for (let q = 2; q < parts.length; q++) kernel(out, view(q), out);
}
