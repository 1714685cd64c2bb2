/**
 * Collective call signatures and the guard that turns a mismatch into an error on every rank
 * instead of a hang or a silent wrong result.
 *
 * Every collective call takes the next value of its communicator's sequence number and has a
 * signature of two int32 words: the operation code, the root, the dtype and the reduction op
 * (word 0) and the element count where every rank passes it and it must agree (word 1; -1
 * where it need not). The signature travels in data that moves anyway, never in an extra round:
 * - messages: an 8-byte header in front of every collective message (the tag is the sequence
 *   number), checked by the receiver;
 * - shared memory (collectives/shm.ts): three words of each rank's control line per bank,
 *   written before the rank arrives at a step and checked by every rank that waits for it.
 *
 * A rank that sees a different signature (or sequence number) raises CollectiveMismatchError
 * and sends every other member a poison message naming both calls. Ranks that wait for
 * something a mismatched peer never sends find out through the guard's slow path: a receive
 * pending for a while tells its peer what it waits in (a WAIT notice: the peer compares with
 * what it called at that position), and the guard polls for poison messages, for notices and
 * for a peer that entered bsp.sync instead. Only waits that are already slow pay for this.
 *
 * A rank whose arguments are invalid for a collective that other ranks may already have
 * entered (a root's data, counts or values) enters it with the ARGERR code instead, carrying
 * the message: every rank then raises the error, and the ranks stay in step (catch and retry
 * works). A rank that receives an ARGERR passes it on to every other member once (word 1 then
 * names the rank whose arguments were invalid): a rank waiting for it in the call (a child in
 * a tree, the ranks waiting for rank 0's shared arena) would otherwise wait for a message it
 * never sends.
 */
import { ArgumentError, CollectiveArgumentError, CollectiveMismatchError } from '../../util/errors.js';
import { DTYPES, dtypeOf, type TypedArray } from '../../util/dtype.js';
import { ANY_SOURCE, ANY_TAG, type Transport } from '../transport.js';
import { context } from '../context.js';

/** Operation codes (word 0, bits 0-5). */
export const kCollOps = [
  '?', 'barrier', 'bcast', 'bcastObject', 'reduce', 'reduceObject', 'allreduce', 'allreduceObject', 'scan', 'exscan',
  'scanObject', 'exscanObject', 'gather', 'gatherv', 'gatherObject', 'scatter', 'scatterv', 'scatterObject', 'allgather',
  'allgatherv', 'allgatherObject', 'alltoall', 'alltoallv', 'alltoallObject', 'reduceScatterBlock', 'reduceScatter',
  'reduceScatterObject', 'split',
] as const;
export type CollOp = (typeof kCollOps)[number];
/** A rank that rejected its own arguments: its message follows (see the file comment). */
export const kArgErr = 63;

const kBuiltinOps = ['SUM', 'PROD', 'MIN', 'MAX', 'LAND', 'LOR', 'LXOR', 'BAND', 'BOR', 'BXOR', 'MINLOC', 'MAXLOC'];
const kUserOp = 63;

/** Sequence numbers (message tags) stay below the guard's own tags. */
export const kSeqMask = 0x3fffffff;
/** Tag of WAIT notices and of poison messages on a communicator's collective context. */
const kWaitTag = 0x7ffffffe;
const kPoisonTag = 0x7fffffff;
/** The BSP runtime's context (comm.ts: context 1 is the runtime's). */
const kBspContext = 1;
/** First word of a message to a rank in bsp.sync saying that a peer called a collective instead. */
export const kSyncPoison = 0xfffffff0;

/** Signature word 0 of a call. */
export function sigWord(op: CollOp, o: { root?: number; data?: TypedArray; rop?: string } = {}): number {
  const code = kCollOps.indexOf(op);
  const dt = o.data ? DTYPES.indexOf(dtypeOf(o.data)!) + 1 : 0;
  const ri = o.rop === undefined ? 0 : kBuiltinOps.indexOf(o.rop) + 1 || kUserOp;
  const root = o.root === undefined ? 0 : (o.root + 1) & 0xffff;
  return code | (dt << 6) | (ri << 10) | (root << 16);
}

/**
 * Two ranks' signatures of one call are compatible: equal, or either rank refused its
 * arguments (ARGERR), which every rank learns from the refusal itself. (A peer's WAIT notice
 * may reach a rank only after it refused the call: that is no mismatch.)
 */
function agrees(a0: number, a1: number, b0: number, b1: number): boolean {
  return (a0 === b0 && a1 === b1) || (a0 & 63) === kArgErr || (b0 & 63) === kArgErr;
}

/** What a signature says, for messages: `allreduce(float64 x 4, SUM)`. */
export function describeSig(w0: number, w1: number): string {
  const code = w0 & 63;
  if (code === kArgErr) return 'a collective with invalid arguments';
  const name = kCollOps[code] ?? `operation ${code}`;
  const dt = (w0 >>> 6) & 15;
  const ri = (w0 >>> 10) & 63;
  const root = (w0 >>> 16) & 0xffff;
  const args: string[] = [];
  if (root) args.push(`root ${root - 1}`);
  if (dt) args.push(`${DTYPES[dt - 1]}${w1 >= 0 ? ` x ${w1}` : ''}`);
  if (ri) args.push(ri === kUserOp ? 'a user op' : kBuiltinOps[ri - 1]!);
  return `${name}(${args.join(', ')})`;
}

export function sigHeader(w0: number, w1: number): Uint8Array {
  const h = new Uint8Array(8);
  put32(h, 0, w0);
  put32(h, 4, w1);
  return h;
}

function put32(b: Uint8Array, at: number, v: number): void {
  b[at] = v;
  b[at + 1] = v >>> 8;
  b[at + 2] = v >>> 16;
  b[at + 3] = v >>> 24;
}

export function get32(b: Uint8Array, at: number): number {
  return b[at]! | (b[at + 1]! << 8) | (b[at + 2]! << 16) | (b[at + 3]! << 24);
}

const enc = new TextEncoder();
const dec = new TextDecoder();

/** The payload of an ARGERR entry: its header and the error's message. */
export function argErrPayload(err: unknown): Uint8Array[] {
  return [sigHeader(kArgErr, -1), enc.encode(err instanceof Error ? err.message : String(err))];
}

/** An ARGERR passed on: word 1 names `origin`, the rank whose arguments were invalid. */
function forwardedArgErr(origin: number, text: Uint8Array): Uint8Array[] {
  return [sigHeader(kArgErr, origin), text];
}

/** The error every other rank raises for `from`'s ARGERR entry. */
export function argErrFrom(from: number, text: string, rank: number): CollectiveArgumentError {
  return new CollectiveArgumentError(`rank ${from} passed invalid arguments to this collective: ${text.replace(/^\[rank \d+\] /, '')}`, rank);
}

/** A bsp.sync message that is a peer's notice of a collective mismatch, or undefined. */
export function syncPoisonText(data: Uint8Array): string | undefined {
  if (data.byteLength < 8 || get32(data, 0) >>> 0 !== kSyncPoison) return undefined;
  return dec.decode(data.subarray(8));
}

interface Pending {
  /** Communicator rank waited for. */
  from: number;
  seq: number;
  w0: number;
  w1: number;
  start: number;
  notified: boolean;
  reject: (err: unknown) => void;
}

/** A shared-memory step waiting for communicator rank `from` since `since` (collectives/shm.ts). */
export interface ShmWait {
  from: number;
  seq: number;
  since: number;
  notified?: boolean;
  /** Still waiting for it. */
  still: () => boolean;
}

const kHist = 64;
/** A receive pending this long starts the slow checks (ms); ticks come this often. */
const kSlowMs = 20;
/** A wait this long tells its peer what it waits in, and looks for the peer in bsp.sync (ms). */
const kNotifyMs = 150;
/** Ticks without a call and without a wait before the guard stops listening (2 s). */
const kLingerTicks = 100;

/** One communicator's collective guard (see the file comment). */
export class CollGuard {
  /** Set once a mismatch is known: every later collective on the communicator rejects with it. */
  failed: Error | undefined;
  private readonly histSeq = new Int32Array(kHist).fill(-1);
  private readonly hist = new Int32Array(2 * kHist);
  private pending: Set<Pending> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private notices: Map<number, { from: number; w0: number; w1: number }> | undefined;
  private ticking = false;
  private closed = false;
  private last = -1;
  private calls = 0;
  private callsSeen = 0;
  private idleTicks = 0;
  /** The last call whose ARGERR this rank passed on (forward). */
  private forwarded = -1;
  /** The job this communicator belongs to: a World runs jobs one after another on one transport. */
  private readonly job = context().job;

  constructor(
    private readonly t: Transport,
    private readonly ranks: readonly number[] | null,
    private readonly fromWorld: Map<number, number> | null,
    private readonly coll: number,
    readonly rank: number,
    readonly size: number,
  ) {}

  private world(r: number): number {
    return this.ranks ? this.ranks[r]! : r;
  }

  private local(w: number): number {
    return this.fromWorld ? this.fromWorld.get(w) ?? -1 : w;
  }

  /** Records this rank's call `seq` (before it sends or waits for anything). */
  record(seq: number, w0: number, w1: number): void {
    if (this.failed) throw this.failed;
    if (this.closed) return;
    const i = seq & (kHist - 1);
    this.histSeq[i] = seq;
    this.hist[2 * i] = w0;
    this.hist[2 * i + 1] = w1;
    this.last = seq;
    this.calls++;
    // The guard keeps listening for a while after each call: a peer may still wait for this
    // rank in it (a mismatch this rank did not see), and only a listening rank answers.
    if (this.timer === undefined) this.startTimer();
    if (this.notices !== undefined) {
      const n = this.notices.get(seq);
      if (n) {
        this.notices.delete(seq);
        if (!agrees(n.w0, n.w1, w0, w1)) throw this.mismatch(seq, n.from, n.w0, n.w1);
      }
    }
  }

  /** Stops listening (the communicator was freed: its contexts may serve another one next). */
  close(): void {
    this.closed = true;
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** What this rank called at `seq`, if still remembered. */
  calledAt(seq: number): string | undefined {
    const i = seq & (kHist - 1);
    return this.histSeq[i] === seq ? describeSig(this.hist[2 * i]!, this.hist[2 * i + 1]!) : undefined;
  }

  /** A receive of collective call `seq` from communicator rank `from`, its signature checked. */
  recv(from: number, seq: number, w0: number, w1: number): Promise<Uint8Array> {
    return this.recvInto(from, seq, w0, w1, undefined, undefined);
  }

  /**
   * The same, landing where the caller wants it: the message's first head.byteLength bytes
   * (its 8-byte signature, then whatever else the algorithm puts in front) in `head`, the
   * rest in `into` (Transport.recvSplit streams it there; other backends receive and copy).
   * Resolves with the rest: a view of `into`, or of a fresh buffer when it did not fit.
   */
  recvInto(from: number, seq: number, w0: number, w1: number, head: Uint8Array | undefined, into: Uint8Array | undefined): Promise<Uint8Array> {
    if (this.failed) return Promise.reject(this.failed);
    const t = this.t;
    const split = head !== undefined && into !== undefined && t.recvSplit !== undefined;
    const p = split ? t.recvSplit!(this.world(from), this.coll, seq, head, into) : t.recv(this.world(from), this.coll, seq);
    return new Promise<Uint8Array>((resolve, reject) => {
      const e: Pending = { from, seq, w0, w1, start: performance.now(), notified: false, reject };
      this.add(e);
      p.then(
        (m) => {
          this.pending?.delete(e);
          if (this.failed) return reject(this.failed);
          if (m.head) {
            const h = m.head;
            const a = get32(h, 0);
            const b = get32(h, 4);
            if (a === w0 && b === w1) return resolve(m.data);
            // Another call's message, split as if it were this one's: read it whole again.
            const whole = new Uint8Array(h.byteLength + m.data.byteLength);
            whole.set(h);
            whole.set(m.data, h.byteLength);
            return reject(this.refused(seq, from, whole));
          }
          const d = m.data;
          if (d.byteLength < 8) return reject(this.mismatch(seq, from, 0, -1));
          const a = get32(d, 0);
          const b = get32(d, 4);
          if (a !== w0 || b !== w1) return reject(this.refused(seq, from, d));
          if (!head) return resolve(d.subarray(8));
          // Not split (no recvSplit, or it did not fit): the same result, by copies.
          const h = head.byteLength;
          if (d.byteLength < h) return resolve(d.subarray(8));
          head.set(d.subarray(0, h));
          const rest = d.subarray(h);
          if (into && rest.byteLength <= into.byteLength) {
            into.set(rest);
            return resolve(into.subarray(0, rest.byteLength));
          }
          resolve(rest);
        },
        (err) => {
          this.pending?.delete(e);
          // A peer that found a mismatch may have finished since: its poison came first.
          this.poisoned().then((f) => reject(f ?? err), () => reject(err));
        },
      );
    });
  }

  /**
   * Passes rank `origin`'s ARGERR of call `seq` on to every other member, once per call (see
   * the file comment). Only on the failing path: a call whose arguments all agree sends nothing.
   */
  private forward(seq: number, origin: number, text: Uint8Array): void {
    if (this.forwarded === seq) return;
    this.forwarded = seq;
    const payload = forwardedArgErr(origin, text);
    for (let q = 0; q < this.size; q++) if (q !== this.rank && q !== origin) this.t.send(this.world(q), this.coll, seq, payload).catch(() => {});
  }

  /**
   * The error for a message `d` of call `seq` from `from` whose signature is not this rank's.
   * A refusal (ARGERR) is passed on to the other members first, so every rank that waits in
   * the call hears it.
   */
  private refused(seq: number, from: number, d: Uint8Array): Error {
    const a = get32(d, 0);
    const b = get32(d, 4);
    if ((a & 63) === kArgErr) {
      const origin = b >= 0 && b < this.size ? b : from;
      this.forward(seq, origin, d.subarray(8));
      return argErrFrom(origin, dec.decode(d.subarray(8)), this.rank);
    }
    return this.mismatch(seq, from, a, b);
  }

  /** The mismatch a poison message already here reports, if any (see fail). */
  async poisoned(): Promise<Error | undefined> {
    if (this.failed) return this.failed;
    this.t.poll?.();
    const info = this.t.iprobe(ANY_SOURCE, this.coll, kPoisonTag);
    if (!info) return undefined;
    const m = await this.t.recv(info.source, this.coll, kPoisonTag);
    if (!this.failed) this.fail(`${dec.decode(m.data)} (reported by rank ${this.local(m.source)}; this rank, ${this.rank}, last called ${this.calledAt(this.last) ?? 'nothing'} as call #${this.last})`, false);
    return this.failed;
  }

  private add(e: Pending): void {
    (this.pending ??= new Set()).add(e);
    if (this.timer === undefined) this.startTimer();
  }

  private startTimer(): void {
    this.idleTicks = 0;
    this.timer = setInterval(() => this.tick(), kSlowMs);
    this.timer.unref();
  }

  /**
   * Raises a mismatch: the error this rank throws; every other member gets a poison message
   * naming both calls, and every pending collective receive here rejects.
   */
  mismatch(seq: number, other: number, w0: number, w1: number, otherSeq = seq): CollectiveMismatchError {
    const mine = this.calledAt(seq) ?? 'a collective';
    const theirs = w0 === 0 && w1 === -1 ? 'something that is not this collective' : describeSig(w0, w1);
    const text = otherSeq === seq
      ? `collective mismatch on a communicator of ${this.size}: at call #${seq} rank ${other} called ${theirs}, rank ${this.rank} called ${mine}`
      : `collective mismatch on a communicator of ${this.size}: rank ${other} is at call #${otherSeq} (${theirs}) while rank ${this.rank} is at call #${seq} (${mine}): a rank skipped or added a collective`;
    return this.fail(text, true);
  }

  /** A peer of `from` waits in bsp.sync while this rank waits for it in a collective. */
  private syncMismatch(seq: number, from: number, step: number): CollectiveMismatchError {
    const text = `collective mismatch: rank ${from} called bsp.sync() while rank ${this.rank} called ${this.calledAt(seq) ?? 'a collective'} (call #${seq} of a communicator of ${this.size}); every rank must call the same collectives in the same order`;
    // The ranks in sync wait for this rank's sync message: tell them instead.
    const note = enc.encode(text);
    const head = new Uint8Array(8);
    put32(head, 0, kSyncPoison);
    for (let q = 0; q < this.t.size; q++) if (q !== this.t.rank) this.t.send(q, kBspContext, step, [head, note]).catch(() => {});
    return this.fail(text, true);
  }

  private fail(text: string, tell: boolean): CollectiveMismatchError {
    if (this.failed instanceof CollectiveMismatchError) return this.failed;
    const err = new CollectiveMismatchError(text, this.rank);
    this.failed = err;
    if (tell) {
      const bytes = enc.encode(text);
      for (let q = 0; q < this.size; q++) if (q !== this.rank) this.t.send(this.world(q), this.coll, kPoisonTag, bytes).catch(() => {});
    }
    this.rejectAll(err);
    return err;
  }

  private rejectAll(err: Error): void {
    const all = this.pending;
    this.pending = undefined;
    if (all) for (const e of all) e.reject(err);
    if (this.timer !== undefined) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
  }

  /**
   * The slow path, every kSlowMs while a collective receive is pending (and from the
   * shared-memory waits): poison messages, WAIT notices, peers in bsp.sync. `waitingFor`:
   * a communicator rank a shared-memory step waits for since `since`.
   */
  tick(waitingFor?: ShmWait): void {
    if (this.ticking || this.failed) return;
    if (context().job !== this.job || this.closed) {
      // The job is over: the next one's messages on this context are not this guard's.
      if (this.timer !== undefined) clearInterval(this.timer);
      this.timer = undefined;
      return;
    }
    const now = performance.now();
    if (!waitingFor && !this.pending?.size) {
      // Idle: stop listening once no call came for kLingerTicks ticks.
      if (this.calls !== this.callsSeen) {
        this.callsSeen = this.calls;
        this.idleTicks = 0;
      } else if (++this.idleTicks >= kLingerTicks) {
        if (this.timer !== undefined) clearInterval(this.timer);
        this.timer = undefined;
        return;
      }
    }
    this.ticking = true;
    void this.slow(now, waitingFor).finally(() => {
      this.ticking = false;
    });
  }

  private async slow(now: number, waitingFor?: ShmWait): Promise<void> {
    const t = this.t;
    try {
      // A member found a mismatch.
      if (await this.poisoned()) return;
      // Members telling what they wait for.
      for (;;) {
        const info = t.iprobe(ANY_SOURCE, this.coll, kWaitTag);
        if (!info) break;
        const m = await t.recv(info.source, this.coll, kWaitTag);
        if (this.failed) return;
        const d = m.data;
        const from = this.local(m.source);
        const seq = get32(d, 0);
        const w0 = get32(d, 4);
        const w1 = get32(d, 8);
        const i = seq & (kHist - 1);
        if (this.histSeq[i] === seq) {
          if (!agrees(this.hist[2 * i]!, this.hist[2 * i + 1]!, w0, w1)) {
            this.mismatch(seq, from, w0, w1);
            return;
          }
        } else if (seq > this.last) {
          (this.notices ??= new Map()).set(seq, { from, w0, w1 });
        }
      }
      const waits: { from: number; seq: number; start: number; notified: boolean; w0?: number; w1?: number; still: () => boolean }[] = [];
      for (const e of this.pending ?? []) waits.push(Object.assign(e, { still: () => this.pending?.has(e) === true }));
      if (waitingFor) waits.push({ ...waitingFor, start: waitingFor.since, notified: waitingFor.notified ?? false });
      for (const e of waits) {
        if (now - e.start < kNotifyMs) continue;
        const w = this.world(e.from);
        // The peer waits in bsp.sync: its sync message to this rank is here. (Once more after
        // a turn of the event loop: what this rank waited for may have come just before it.)
        const sync = t.iprobe(w, kBspContext, ANY_TAG);
        if (sync) {
          await new Promise<void>((resolve) => setImmediate(resolve));
          if (this.failed) return;
          if (e.still()) {
            this.syncMismatch(e.seq, e.from, sync.tag);
            return;
          }
        }
        if (!e.notified) {
          e.notified = true;
          if (waitingFor && e.from === waitingFor.from) waitingFor.notified = true;
          const i = e.seq & (kHist - 1);
          const note = new Uint8Array(12);
          put32(note, 0, e.seq);
          put32(note, 4, this.histSeq[i] === e.seq ? this.hist[2 * i]! : (e.w0 ?? 0));
          put32(note, 8, this.histSeq[i] === e.seq ? this.hist[2 * i + 1]! : (e.w1 ?? -1));
          t.send(w, this.coll, kWaitTag, note).catch(() => {});
        }
      }
    } catch {
      // The transport failed: the pending operations reject by themselves.
    }
  }
}

/** Checks that `data` is a typed array (the argument check shared by every typed collective). */
export function checkTyped(data: unknown, argument: string, rank: number): void {
  const dt = ArrayBuffer.isView(data) && !(data instanceof DataView) ? dtypeOf(data) : undefined;
  if (!dt) throw new ArgumentError(argument, 'a typed array (use the *Object method for other values)', data, rank);
}
