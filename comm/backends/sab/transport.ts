/**
 * The sab backend: ranks are worker threads of one process; every ordered pair of ranks
 * has an SPSC ring (ring.ts), and every rank a doorbell that peers bump only to wake it
 * from sleep.
 *
 * One progress engine per rank moves bytes: it pushes queued sends into outgoing rings and
 * drains incoming rings into the match queue. It runs whenever an operation is pending:
 * first a short spin that polls the rings themselves (no shared counter written on the hot
 * path) and yields to microtasks between looks, then Atomics.waitAsync on the doorbell,
 * which frees the event loop. With more ranks than cores the spin is cut short so that
 * waiting ranks give their core to the ones with work.
 */
import { oversubscribed as outnumbered } from '../../../util/cores.js';
import { AbortedError, ArgumentError, ClosedError, PeerGoneError } from '../../../util/errors.js';
import { MatchQueue, type Posted } from '../../matching.js';
import {
  ANY_SOURCE,
  ANY_TAG,
  concatPayload,
  payloadLength,
  payloadParts,
  type Message,
  type MessageInfo,
  type Payload,
  type Transport,
  type TransportStats,
} from '../../transport.js';
import {
  kAbort,
  kAbortRank,
  kBarrier,
  kDoorbell,
  kFailed,
  kMaxMessageBytes,
  kSleeping,
  rankState,
  slot,
  type SabWorld,
} from './layout.js';
import { Ring } from './ring.js';

interface OutgoingSend {
  context: number;
  tag: number;
  epoch: number;
  parts: readonly Uint8Array[];
  /** Payload bytes already written (-1 until the header is). */
  done: number;
  length: number;
  resolve(): void;
  reject(err: unknown): void;
}

interface IncomingPartial {
  context: number;
  tag: number;
  data: Uint8Array;
  filled: number;
  /** The receive it was matched to when its header arrived, if any. */
  claimed: Posted | undefined;
  epoch: number;
}

interface Waiter {
  ready(): boolean;
  /** Needs every rank to take part (a barrier), so any rank gone fails it. */
  collective: boolean;
  resolve(): void;
  reject(err: unknown): void;
}

export interface SabTransportOptions {
  /** Relays SharedArrayBuffer handles between ranks (the launcher's main thread does it). */
  shareRelay?: (buffer: SharedArrayBuffer) => Promise<SharedArrayBuffer[]>;
  /** Spin iterations before sleeping; default scales with ranks per core. */
  spin?: number;
  /** How long the progress loop spins before it sleeps, in ms (default 5; 0.05 with more ranks than cores). */
  spinMs?: number;
  /** Looks of the synchronous spin in recv and barrier before handing over to the async loop. */
  syncSpin?: number;
  /** How long one sleep lasts before liveness is re-checked, in ms. */
  sleepMs?: number;
}

/** Largest chunk moved between doorbells, so producer and consumer copy in parallel. */
const kChunk = 256 << 10;
/**
 * A message above kChunk whose header arrives before any receive from its source is posted
 * waits in the ring up to kDeferMs for one (a rendezvous, as MPI's for long messages), rather
 * than being copied twice through a fresh buffer. A peer one step ahead sends its next
 * message while this rank still finishes the last one; at 4 MiB the double copy and the
 * allocation made an exchange 4x slower. After kDeferMs it is buffered as before, so a
 * program that never posts the receive still makes progress.
 */
const kDeferMs = 2;
const kResolved = Promise.resolve();
/** Unexpected messages up to this size share slabs of kSlabBytes. */
const kSmall = 1024;
const kSlabBytes = 64 << 10;

export function createSabTransport(world: SabWorld, rank: number, options: SabTransportOptions = {}): SabTransport {
  return new SabTransport(world, rank, options);
}

/** Epoch of a queued message (the job it belongs to). */
const kEpochOf = new WeakMap<Message, number>();

export class SabTransport implements Transport {
  readonly backend = 'sab';
  readonly capabilities = { sharedMemory: true };
  readonly size: number;
  readonly stats: TransportStats = { bytesSent: 0, bytesReceived: 0, messagesSent: 0, messagesReceived: 0 };

  private readonly ctl: Int32Array;
  private readonly out: (Ring | undefined)[] = [];
  private readonly in: (Ring | undefined)[] = [];
  private readonly sendQueues: OutgoingSend[][] = [];
  private readonly partials: (IncomingPartial | undefined)[] = [];
  /** Per source: when the large unclaimed message at the head of its ring was first seen (0: none). */
  private readonly deferredSince: number[] = [];
  private readonly queue = new MatchQueue();
  private readonly waiters = new Set<Waiter>();
  private readonly spinBudget: number;
  private readonly spinMs: number;
  private readonly syncSpin: number;
  private readonly sleepMs: number;
  private driving = false;
  private closed = false;
  private barrierGen = 0;
  private queuedSends = 0;
  private rr = 0;
  private epoch = 0;
  /** Per destination: free ring bytes after the last attempt to push queued sends. */
  private readonly lastFree: number[] = [];
  private slab = new Uint8Array(kSlabBytes);
  private slabOff = 0;
  /** Receives matched at header time whose payload is still streaming in. */
  private claimedInFlight = 0;
  private readonly early: Message[] = [];
  private readonly shareRelay: SabTransportOptions['shareRelay'];

  constructor(private readonly world: SabWorld, readonly rank: number, options: SabTransportOptions) {
    this.size = world.size;
    this.ctl = new Int32Array(world.control);
    for (let p = 0; p < this.size; p++) {
      const o = world.rings[rank * this.size + p];
      const i = world.rings[p * this.size + rank];
      this.out.push(o && new Ring(o, 'producer'));
      this.in.push(i && new Ring(i, 'consumer'));
      this.sendQueues.push([]);
      this.partials.push(undefined);
      this.deferredSince.push(0);
      this.lastFree.push(0);
    }
    this.barrierGen = Atomics.load(this.ctl, slot(rank, kBarrier));
    const oversubscribed = outnumbered(this.size);
    // Waking a sleeper through Atomics.waitAsync takes milliseconds here (measured 2-4 ms in
    // a rank thread), so a wait shorter than that is cheaper spun than slept; and a short
    // spin lets one late rank push its partner to sleep, which then wakes late in turn.
    this.spinBudget = options.spin ?? (oversubscribed ? 20 : 1 << 30);
    this.spinMs = options.spinMs ?? (oversubscribed ? 0.05 : 5);
    this.syncSpin = options.syncSpin ?? (oversubscribed ? 0 : 20000);
    this.sleepMs = options.sleepMs ?? 50;
    this.shareRelay = options.shareRelay;
  }

  async shareBuffers(buffer: SharedArrayBuffer): Promise<SharedArrayBuffer[]> {
    const failure = this.checkUsable();
    if (failure) throw failure;
    if (!(buffer instanceof SharedArrayBuffer)) throw new ArgumentError('buffer', 'a SharedArrayBuffer', buffer, this.rank);
    if (!this.shareRelay) throw new ArgumentError('transport', 'one started by the sab launcher (no relay for shared buffers)', 'none', this.rank);
    // Messages on the rings first: a peer may still be blocked sending to us.
    await this.flush();
    return this.shareRelay(buffer);
  }

  poll(): void {
    if (!this.closed && !this.driving) this.progress();
  }

  waitFailure(peer?: number): Error | undefined {
    const failure = this.checkUsable();
    if (failure || peer === undefined || peer === this.rank) return failure;
    const state = rankState(this.ctl, peer, this.epoch);
    if (state === 0) return undefined;
    return new PeerGoneError(peer, `rank ${peer} has ${state === kFailed ? 'failed' : 'finished'} while this rank waits for it in a collective`, this.rank);
  }

  // Point-to-point
  // --------------

  send(dest: number, context: number, tag: number, payload: Payload): Promise<void> {
    const failure = this.checkUsable();
    if (failure) return Promise.reject(failure);
    if (!Number.isInteger(dest) || dest < 0 || dest >= this.size) {
      return Promise.reject(new ArgumentError('dest', `a rank in 0..${this.size - 1}`, dest, this.rank));
    }
    const single = payload instanceof Uint8Array;
    const length = single ? payload.byteLength : payloadLength(payload);
    if (length > kMaxMessageBytes) {
      return Promise.reject(new ArgumentError('payload', `at most ${kMaxMessageBytes} bytes`, length, this.rank));
    }
    this.stats.bytesSent += length;
    this.stats.messagesSent++;
    if (dest === this.rank) {
      // Buffered send to self: one copy into a buffer the receiver will own.
      this.arrived(this.rank, context, tag, concatPayload(payloadParts(payload), length));
      return Promise.resolve();
    }
    const q = this.sendQueues[dest]!;
    const ring = this.out[dest]!;
    if (q.length === 0 && length <= kChunk) {
      // Eager path for small messages: header and payload go in at once, nothing allocated.
      const hb = ring.headerBytes();
      if (ring.fits(hb + length)) {
        ring.writeHeader(context, tag, length, this.epoch);
        if (single) ring.write(payload, hb);
        else {
          let off = hb;
          for (const p of payload) {
            ring.write(p, off);
            off += p.byteLength;
          }
        }
        ring.publish(hb + length);
        this.ring(dest);
        return kResolved;
      }
    }
    const parts = payloadParts(payload);
    const epoch = this.epoch;
    return new Promise<void>((resolve, reject) => {
      q.push({ context, tag, epoch, parts, done: -1, length, resolve, reject });
      this.queuedSends++;
      // Eager path: write straight away if the ring has room.
      if (q.length === 1) this.pushSends(dest);
      // The rest moves in the progress loop, started after this task: the loop drains the
      // incoming rings, and a caller that sends and then posts its receives (bsp.sync, an
      // exchange) must post them first, or a large message arriving now has no receive to
      // stream into and is copied twice through a fresh buffer (measured: 4x slower at 4 MiB).
      if (this.queuedSends > 0) queueMicrotask(this.driveLater);
    });
  }

  recv(source: number, context: number, tag: number, into?: Uint8Array): Promise<Message> {
    const failure = this.checkUsable();
    if (failure) return Promise.reject(failure);
    if (source !== ANY_SOURCE && (!Number.isInteger(source) || source < 0 || source >= this.size)) {
      return Promise.reject(new ArgumentError('source', `a rank in 0..${this.size - 1} or ANY_SOURCE`, source, this.rank));
    }
    if (source !== ANY_SOURCE && source !== this.rank && this.queuedSends === 0 && !this.queue.hasWaiters && this.partials[source] === undefined) {
      // Nothing else is posted, so the next message from `source` that matches is ours: the
      // queued ones first, then the ring's, read without posting a receive.
      const direct = this.queue.receiveNow(source, context, tag, into) ?? this.recvDirect(source, context, tag, into);
      if (direct) return Promise.resolve(direct);
    }
    const now = this.queue.receiveNow(source, context, tag, into);
    if (now) return Promise.resolve(now);
    // Posted before the rings are drained, so a message whose header is there now is matched
    // at header time and streams straight into `into`.
    const { entry, promise } = this.queue.post(source, context, tag, into);
    this.progress();
    // Short synchronous spin: a reply that is about to land costs a fraction of a
    // microsecond this way, against tens for a trip through the event loop.
    for (let i = 0; i < this.syncSpin && !entry.done; i++) {
      if (this.anyChange()) this.progress();
    }
    if (!entry.done) this.drive();
    return promise;
  }

  /**
   * The fast path of recv: spins (up to syncSpin looks) on `source`'s ring alone and takes
   * its first record if that is a whole message of this job matching (context, tag). Anything
   * else (another envelope, a message still streaming in, an abort) is left to the general path.
   */
  private recvDirect(source: number, context: number, tag: number, into: Uint8Array | undefined): Message | undefined {
    const ring = this.in[source]!;
    for (let i = 0; ; i++) {
      const used = ring.used();
      const hb = ring.headerBytes();
      if (used >= hb) {
        const length = ring.header(2) >>> 0;
        const got = ring.header(1);
        if (ring.header(0) !== context || (tag !== ANY_TAG && got !== tag) || ring.header(3) !== this.epoch || used - hb < length) return undefined;
        const data = into !== undefined && into.byteLength >= length ? (into.byteLength === length ? into : into.subarray(0, length)) : this.alloc(length);
        ring.read(data, hb);
        if (ring.release(hb + length)) this.ring(source);
        this.stats.bytesReceived += length;
        this.stats.messagesReceived++;
        return { source, context, tag: got, data };
      }
      if (i >= this.syncSpin || ((i & 1023) === 1023 && Atomics.load(this.ctl, kAbort) !== 0)) return undefined;
    }
  }

  iprobe(source: number, context: number, tag: number): MessageInfo | undefined {
    this.progress();
    return this.queue.peek(source, context, tag);
  }

  probe(source: number, context: number, tag: number): Promise<MessageInfo> {
    this.progress();
    const p = this.queue.probe(source, context, tag);
    this.drive();
    return p;
  }

  barrier(): Promise<void> {
    const failure = this.checkUsable();
    if (failure) return Promise.reject(failure);
    const gen = ++this.barrierGen;
    Atomics.store(this.ctl, slot(this.rank, kBarrier), gen);
    for (let r = 0; r < this.size; r++) if (r !== this.rank) this.ring(r);
    // With nothing else to move, a short synchronous spin: a partner that is about to arrive
    // costs one cache-line transfer, not a trip through the async progress loop.
    const spin = this.queuedSends === 0 && this.claimedInFlight === 0 ? this.syncSpin : 0;
    for (let i = 0; ; i++) {
      if (this.barrierPassed(gen)) return kResolved;
      if (i >= spin || ((i & 1023) === 1023 && Atomics.load(this.ctl, kAbort) !== 0)) break;
    }
    return this.waitUntil(() => this.barrierPassed(gen), true);
  }

  /** True once every rank has entered barrier generation `gen`. */
  private barrierPassed(gen: number): boolean {
    for (let r = 0; r < this.size; r++) if (Atomics.load(this.ctl, slot(r, kBarrier)) - gen < 0) return false;
    return true;
  }

  abort(reason: string): void {
    if (Atomics.compareExchange(this.ctl, kAbort, 0, 1) === 0) Atomics.store(this.ctl, kAbortRank, this.rank);
    for (let r = 0; r < this.size; r++) this.ring(r, true);
    this.failAll(new AbortedError(`job aborted by rank ${this.rank}: ${reason}`, this.rank, this.rank));
  }

  /** Waits until every queued send has been written into its ring. */
  flush(): Promise<void> {
    if (this.queuedSends === 0) return Promise.resolve();
    return this.waitUntil(() => this.queuedSends === 0);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    try {
      if (!this.checkUsable()) await this.flush();
    } finally {
      this.closed = true;
      this.failAll(new ClosedError('transport is closed', this.rank));
    }
  }

  /**
   * Starts job `epoch` on this rank: drains the rings and drops what earlier jobs left
   * unreceived. Messages are stamped with their sender's epoch, so messages of the new job
   * that a faster peer already sent are kept.
   */
  beginEpoch(epoch: number): number {
    const dropped = this.queue.drop();
    this.queue.dropPosted();
    this.epoch = epoch;
    this.progress();
    const early = this.early.splice(0);
    for (const m of early) if (kEpochOf.get(m) === epoch) this.queue.deliver(m);
    return dropped + early.length;
  }

  // Progress engine
  // ---------------

  /** Moves whatever bytes can move now, without waiting. */
  private progress(): void {
    if (this.queuedSends > 0) for (let d = 0; d < this.size; d++) if (this.sendQueues[d]!.length) this.pushSends(d);
    const n = this.size;
    const start = this.rr;
    this.rr = (this.rr + 1) % n;
    for (let k = 0; k < n; k++) {
      const s = (start + k) % n;
      const ring = this.in[s];
      if (ring && ring.used() > 0) this.pull(s, ring);
    }
  }

  /** Writes queued sends to `dest` until its ring is full. */
  private pushSends(dest: number): void {
    const ring = this.out[dest]!;
    const q = this.sendQueues[dest]!;
    let wrote = false;
    try {
      this.pushSendsInto(dest, ring, q, () => (wrote = true));
    } finally {
      // What anyChange compares with: the room left when we could write no more.
      this.lastFree[dest] = ring.free();
    }
    if (wrote) this.ring(dest);
  }

  private pushSendsInto(dest: number, ring: Ring, q: OutgoingSend[], wrote: () => void): void {
    while (q.length) {
      const s = q[0]!;
      let free = ring.free();
      if (s.done < 0) {
        const hb = ring.headerBytes();
        if (free < hb) break;
        ring.writeHeader(s.context, s.tag, s.length, s.epoch);
        ring.publish(hb);
        s.done = 0;
        free -= hb;
        wrote();
      }
      // Find where we are in the parts and copy chunk by chunk, publishing each.
      let skip = s.done;
      for (const part of s.parts) {
        if (skip >= part.byteLength) {
          skip -= part.byteLength;
          continue;
        }
        let off = skip;
        skip = 0;
        while (off < part.byteLength && free > 0) {
          const n = Math.min(part.byteLength - off, free, kChunk);
          ring.write(part.subarray(off, off + n));
          ring.publish(n);
          this.ring(dest);
          off += n;
          free -= n;
          s.done += n;
          wrote();
        }
        if (off < part.byteLength) break;
      }
      if (s.done < s.length) break;
      q.shift();
      this.queuedSends--;
      s.resolve();
    }
  }

  /** Reads whatever has arrived from `source`, completing messages in order. */
  private pull(source: number, ring: Ring): void {
    let released = false;
    for (;;) {
      let p = this.partials[source];
      let used = ring.used();
      if (!p) {
        const hb = ring.headerBytes();
        if (used < hb) break;
        const context = ring.header(0);
        const tag = ring.header(1);
        const length = ring.header(2) >>> 0;
        const epoch = ring.header(3);
        // Match now, so the payload streams straight into the receiver's buffer.
        const claimed = epoch === this.epoch ? this.queue.claim(source, context, tag) : undefined;
        if (!claimed && length > kChunk && epoch === this.epoch && this.defer(source)) break;
        this.deferredSince[source] = 0;
        if (ring.release(hb)) released = true;
        used -= hb;
        const into = claimed?.into;
        const data = into && into.byteLength >= length ? into.subarray(0, length) : this.alloc(length);
        if (used >= length) {
          // The whole message is here: no partial state, one release, one doorbell.
          ring.read(data);
          if (ring.release(length)) released = true;
          this.complete(source, context, tag, data, claimed, epoch);
          continue;
        }
        p = { context, tag, data, filled: 0, claimed, epoch };
        if (claimed) this.claimedInFlight++;
        this.partials[source] = p;
      }
      while (p.filled < p.data.byteLength && used > 0) {
        const n = Math.min(p.data.byteLength - p.filled, used, kChunk);
        ring.read(p.data.subarray(p.filled, p.filled + n));
        if (ring.release(n)) this.ring(source);
        p.filled += n;
        used -= n;
      }
      if (p.filled < p.data.byteLength) break;
      this.partials[source] = undefined;
      if (p.claimed) this.claimedInFlight--;
      this.complete(source, p.context, p.tag, p.data, p.claimed, p.epoch);
    }
    if (released) this.ring(source);
  }

  /**
   * True while the large unclaimed message at the head of `source`'s ring should wait for its
   * receive (kDeferMs): only while nothing at all is posted for that source, since a posted
   * receive that does not match it wants a message behind it, and a probe wants to see it.
   */
  private defer(source: number): boolean {
    if (this.queue.wantsFrom(source)) return false;
    const now = performance.now();
    if (this.deferredSince[source] === 0) this.deferredSince[source] = now;
    return now - this.deferredSince[source]! < kDeferMs;
  }

  private complete(source: number, context: number, tag: number, data: Uint8Array, claimed: Posted | undefined, epoch: number): void {
    if (claimed) {
      this.stats.bytesReceived += data.byteLength;
      this.stats.messagesReceived++;
      claimed.resolve({ source, context, tag, data });
    } else if (epoch >= this.epoch) {
      this.arrived(source, context, tag, data, epoch);
    }
  }

  /**
   * A buffer for an unexpected message. Small ones are carved, 8-byte aligned, out of a
   * shared slab: allocating an ArrayBuffer costs more than the copy itself.
   */
  private alloc(length: number): Uint8Array {
    if (length > kSmall) return new Uint8Array(length);
    if (this.slabOff + length > this.slab.byteLength) {
      this.slab = new Uint8Array(kSlabBytes);
      this.slabOff = 0;
    }
    const out = this.slab.subarray(this.slabOff, this.slabOff + length);
    this.slabOff += (length + 7) & ~7;
    return out;
  }

  private arrived(source: number, context: number, tag: number, data: Uint8Array, epoch = this.epoch): void {
    this.stats.bytesReceived += data.byteLength;
    this.stats.messagesReceived++;
    const msg: Message = { source, context, tag, data };
    if (epoch !== this.epoch) {
      // A faster peer's message of the next job: keep it out of this job's receives.
      kEpochOf.set(msg, epoch);
      this.early.push(msg);
      return;
    }
    this.queue.deliver(msg);
  }

  /**
   * Wakes `rank` if it sleeps. A rank that is awake polls the rings themselves (anyChange),
   * so the common case costs one load here and no shared write at all.
   */
  private ring(rank: number, force = false): void {
    if (force || Atomics.load(this.ctl, slot(rank, kSleeping)) !== 0) {
      const i = slot(rank, kDoorbell);
      Atomics.add(this.ctl, i, 1);
      Atomics.notify(this.ctl, i);
    }
  }

  /**
   * True if something this rank waits for may have moved since the last progress(): data in
   * an incoming ring (progress drains them all), room freed in a ring a queued send waits
   * on, a waiter's condition, or an abort.
   */
  private anyChange(): boolean {
    for (let s = 0; s < this.size; s++) {
      const r = this.in[s];
      if (r !== undefined && r.used() > 0) return true;
    }
    if (this.queuedSends > 0) {
      for (let d = 0; d < this.size; d++) if (this.sendQueues[d]!.length && this.out[d]!.free() > this.lastFree[d]!) return true;
    }
    for (const w of this.waiters) if (w.ready()) return true;
    return Atomics.load(this.ctl, kAbort) !== 0;
  }

  private waitUntil(ready: () => boolean, collective = false): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.waiters.add({ ready, resolve, reject, collective });
      this.drive();
    });
  }

  private hasWork(): boolean {
    return this.queuedSends > 0 || this.waiters.size > 0 || this.queue.hasWaiters || this.claimedInFlight > 0;
  }

  /** Settles waiters whose condition holds; returns true if any did. */
  private settleWaiters(): boolean {
    let any = false;
    for (const w of this.waiters) {
      if (w.ready()) {
        this.waiters.delete(w);
        w.resolve();
        any = true;
      }
    }
    return any;
  }

  private readonly driveLater = (): void => this.drive();

  /** Runs the progress loop until nothing is pending. Only one loop runs at a time. */
  private drive(): void {
    if (this.driving) return;
    this.driving = true;
    void this.loop();
  }

  private async loop(): Promise<void> {
    const bell = slot(this.rank, kDoorbell);
    const sleeping = slot(this.rank, kSleeping);
    let keepAlive: NodeJS.Timeout | undefined;
    let slept = false;
    try {
      for (;;) {
        this.progress();
        this.settleWaiters();
        if (!this.hasWork()) return;
        const failure = this.checkUsable();
        if (failure) {
          this.failAll(failure);
          return;
        }
        if (slept) {
          this.checkPeers();
          slept = false;
          if (!this.hasWork()) return;
        }
        // Spin, yielding to microtasks so that continuations of settled operations run.
        let changed = false;
        const spinUntil = performance.now() + this.spinMs;
        for (let i = 0; i < this.spinBudget; i++) {
          if ((i & 63) === 63 && performance.now() > spinUntil) break;
          await undefined;
          if (this.anyChange()) {
            changed = true;
            break;
          }
          if (!this.hasWork()) return;
        }
        if (changed) continue;
        // Sleep. A pending waitAsync does not keep the event loop alive, so a timer does.
        // Order matters: read the bell, announce sleep, look once more, then wait on the
        // value read first; a peer that published before our look is seen by the look, one
        // that published after it sees `sleeping` and bumps the bell, ending the wait.
        keepAlive ??= setInterval(() => {}, 1 << 30);
        const seen = Atomics.load(this.ctl, bell);
        Atomics.store(this.ctl, sleeping, 1);
        if (!this.anyChange()) {
          const w = Atomics.waitAsync(this.ctl, bell, seen, this.sleepMs);
          if (w.async) await w.value;
        }
        Atomics.store(this.ctl, sleeping, 0);
        slept = true;
      }
    } finally {
      // Cleared synchronously on exit: an operation posted right after must start a new loop.
      this.driving = false;
      if (keepAlive) clearInterval(keepAlive);
    }
  }

  // Failure
  // -------

  private checkUsable(): Error | undefined {
    if (Atomics.load(this.ctl, kAbort) !== 0) {
      const who = Atomics.load(this.ctl, kAbortRank);
      // -2: the launcher stopped the job (a signal, or the command that started it is gone).
      const why = who >= 0 ? `job aborted: rank ${who} failed` : who === -2 ? 'job aborted: job stopped by the launcher (a signal, or the command that started it is gone)' : 'job aborted';
      const err = new AbortedError(why, who >= 0 ? who : undefined, this.rank);
      this.failAll(err);
      return err;
    }
    if (this.closed) return new ClosedError('transport is closed', this.rank);
    return undefined;
  }

  /** Fails operations that wait on a rank that has finished or failed. */
  private checkPeers(): Error | undefined {
    const gone = (r: number) => rankState(this.ctl, r, this.epoch);
    const describe = (r: number) => (gone(r) === kFailed ? 'failed' : 'finished');
    for (let d = 0; d < this.size; d++) {
      if (this.sendQueues[d]!.length && gone(d) !== 0) {
        return new PeerGoneError(d, `send to rank ${d} can never complete: rank ${d} has ${describe(d)} without receiving it`, this.rank);
      }
    }
    const drained = (s: number) => !this.partials[s] && (this.in[s]?.used() ?? 0) === 0;
    for (let s = 0; s < this.size; s++) {
      const p = this.partials[s];
      if (p?.claimed && gone(s) !== 0 && (this.in[s]?.used() ?? 0) === 0) {
        this.partials[s] = undefined;
        this.claimedInFlight--;
        p.claimed.reject(new PeerGoneError(s, `rank ${s} has ${describe(s)} in the middle of sending a message`, this.rank));
      }
    }
    this.queue.failWhere((p) => {
      if (p.source === ANY_SOURCE) {
        for (let s = 0; s < this.size; s++) if (s !== this.rank && (gone(s) === 0 || !drained(s))) return undefined;
        return new PeerGoneError(-1, `receive from any rank (tag ${p.tag}) can never complete: every other rank has finished`, this.rank);
      }
      if (p.source !== this.rank && gone(p.source) !== 0 && drained(p.source)) {
        return new PeerGoneError(p.source, `receive from rank ${p.source} (tag ${p.tag}) can never complete: rank ${p.source} has ${describe(p.source)}`, this.rank);
      }
      return undefined;
    });
    for (const w of this.waiters) {
      if (!w.collective) continue;
      for (let r = 0; r < this.size; r++) {
        if (r !== this.rank && gone(r) !== 0 && !w.ready()) {
          const err = new PeerGoneError(r, `rank ${r} has ${describe(r)} while this rank waits for it in a barrier`, this.rank);
          this.waiters.delete(w);
          w.reject(err);
          break;
        }
      }
    }
    return undefined;
  }

  private failAll(err: unknown): void {
    this.queue.fail(err);
    for (const w of this.waiters) w.reject(err);
    this.waiters.clear();
    for (const q of this.sendQueues) {
      for (const s of q.splice(0)) s.reject(err);
    }
    this.queuedSends = 0;
    for (let s = 0; s < this.size; s++) {
      const p = this.partials[s];
      if (p?.claimed) {
        p.claimed.reject(err);
        this.partials[s] = undefined;
      }
    }
    this.claimedInFlight = 0;
  }
}
