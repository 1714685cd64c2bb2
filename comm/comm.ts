/**
 * Communicator: mpi4py's point-to-point, collective and communicator API over the Transport
 * contract only, so it runs on every backend.
 *
 * Names show cost, as in mpi4py: `send`, `bcast`, `allreduce` ... move typed arrays as raw
 * bytes; `sendObject`, `bcastObject`, `allreduceObject` ... move any msgpack-able value
 * (typed arrays inside included). Every typed collective allocates its result, or writes
 * into the caller's buffer given as `{ out }`.
 *
 * Contexts: every communicator owns two transport contexts, one for point-to-point and one
 * for its collectives, so user messages (even with ANY_TAG) never meet collective traffic
 * and no message ever crosses communicators. They come from the registry (comm/contexts.ts):
 * the world's are fixed, dup/split/create agree on a pair free on every member with one
 * collective on the parent, and `free()` gives it back, MPI-style. Each collective call
 * takes the next value of a per-communicator sequence number as its tag, so collectives in
 * flight at once never match each other's messages.
 *
 * Every method is async and rejects (never throws synchronously) on bad arguments.
 */
import { ArgumentError, ClosedError } from '../util/errors.js';
import { bytesOf, DTYPES, dtypeOf, kDTypes, viewOf, type DType, type TypedArray } from '../util/dtype.js';
import { context, jobSlot } from './context.js';
import { packr } from './packr.js';
import { ContextRegistry, kWorldColl, kWorldP2P } from './contexts.js';
import { ANY_SOURCE, ANY_TAG, type Message, type Transport } from './transport.js';
import { kernelOf, Op, resolveOp, SUM, type Kernel } from './ops.js';
import { PROC_NULL, Request, Status, UNDEFINED } from './request.js';
import { Group } from './group.js';
import { displsOf } from './collectives/chan.js';
import type { CartComm } from './cart.js';
import { CollChan } from './collectives/typed.js';
import { CollGuard, kArgErr, kSeqMask, sigWord, type CollOp } from './collectives/guard.js';
import { checkCounts, headerOf, identityOf, kHeaderBytes, kObjectCode, kObjectHeader, pickEngine, type CollEngine, type VResult } from './collectives/engine.js';

export type { VResult };

/** `{ out }`: write the result into this array instead of allocating one. */
export interface OutOption<T extends TypedArray> {
  out?: T;
}

/** Options of receives: `out` to receive into, `status` to fill with the envelope. */
export interface RecvOptions<T extends TypedArray> extends OutOption<T> {
  status?: Status;
}

/** @internal What a communicator is made of. */
interface Core {
  readonly t: Transport;
  /** World ranks of the members (null: the identity, for the world). */
  readonly ranks: readonly number[] | null;
  /** World rank -> rank here (null: identity). */
  readonly fromWorld: Map<number, number> | null;
  readonly rank: number;
  readonly size: number;
  readonly p2p: number;
  readonly coll: number;
  /** Sequence number of the next collective on this communicator. */
  seq: number;
  /** The collective engine, chosen on first use (collectives/engine.ts). */
  engine?: CollEngine;
  /** Signatures of the calls so far, mismatch detection (collectives/guard.ts). */
  guard?: CollGuard;
  /** Set by free(): the contexts went back to the registry. */
  freed?: boolean;
}

/** This rank's context registry, per job. */
function contexts(): ContextRegistry {
  return jobSlot('comm.contexts', () => new ContextRegistry());
}

/** A communicator: a group of ranks with its own message space. */
export class Communicator {
  /** @internal */
  protected constructor(private readonly fixed: Core | undefined) {}

  /** @internal The world's core is per job and per thread: resolved on each use. */
  protected core(): Core {
    if (this.fixed) {
      if (this.fixed.freed) throw new ClosedError('this communicator was freed (comm.free())', this.fixed.t.rank);
      return this.fixed;
    }
    return jobSlot('comm.world', () => {
      const t = context().transport;
      return { t, ranks: null, fromWorld: null, rank: t.rank, size: t.size, p2p: kWorldP2P, coll: kWorldColl, seq: 0 };
    });
  }

  /** @internal */
  static fromCore(core: Core): Communicator {
    return new Communicator(core);
  }

  /** This process's rank in the communicator, 0 .. size - 1. */
  get rank(): number {
    return this.core().rank;
  }

  /** Number of ranks in the communicator. */
  get size(): number {
    return this.core().size;
  }

  /**
   * What runs this communicator's collectives: 'shm' (shared memory, sab), 'messages'
   * (superstep's algorithms over messages) or a backend's own ('mpi': the MPI library's, for
   * long allreduce, allgather and alltoall of the world communicator). Chosen once.
   */
  get collectiveEngine(): string {
    const c = this.core();
    return this.engine(c).kind;
  }

  /** The backend's name ('sab', 'tcp', 'self'). */
  get backend(): string {
    return this.core().t.backend;
  }

  /** The members of this communicator as a Group. */
  get group(): Group {
    const c = this.core();
    const members = c.ranks ?? Array.from({ length: c.size }, (_, i) => i);
    return new Group(members, c.t.rank);
  }

  // Point-to-point
  // --------------

  /** Sends a typed array to rank `dest` (resolves when `data` may be reused). */
  async send(data: TypedArray, dest: number, tag = 0): Promise<void> {
    const c = this.core();
    const dt = this.checkArray(data, 'data');
    if (this.checkPeer(dest, 'dest', false) === PROC_NULL) return;
    this.checkTag(tag, 'tag', false);
    await c.t.send(this.toWorld(c, dest), c.p2p, tag, [headerOf(dt), bytesOf(data)]);
  }

  /**
   * Receives a typed array from `source` (default ANY_SOURCE) with `tag` (default ANY_TAG).
   * Allocating form: resolves with an array of the sender's dtype (a view of the received
   * buffer, no copy). With `{ out }`: copies into `out` (same dtype, large enough) and
   * resolves with the part of `out` that was filled.
   */
  async recv<T extends TypedArray = TypedArray>(source = ANY_SOURCE, tag = ANY_TAG, options: RecvOptions<T> = {}): Promise<T> {
    const c = this.core();
    if (this.checkPeer(source, 'source', true) === PROC_NULL) {
      options.status?.set({ source: PROC_NULL, tag: ANY_TAG, byteLength: 0, count: 0 });
      return (options.out ? options.out.subarray(0, 0) : new Uint8Array(0)) as T;
    }
    this.checkTag(tag, 'tag', true);
    const m = await c.t.recv(source === ANY_SOURCE ? ANY_SOURCE : this.toWorld(c, source), c.p2p, tag);
    return this.unpackTyped<T>(c, m, options);
  }

  /** Sends any msgpack-able value (typed arrays inside included) to rank `dest`. */
  async sendObject(value: unknown, dest: number, tag = 0): Promise<void> {
    const c = this.core();
    if (this.checkPeer(dest, 'dest', false) === PROC_NULL) return;
    this.checkTag(tag, 'tag', false);
    await c.t.send(this.toWorld(c, dest), c.p2p, tag, [kObjectHeader, this.pack(value)]);
  }

  /** Receives a value sent with sendObject. */
  async recvObject<V = unknown>(source = ANY_SOURCE, tag = ANY_TAG, options: { status?: Status } = {}): Promise<V> {
    const c = this.core();
    if (this.checkPeer(source, 'source', true) === PROC_NULL) {
      options.status?.set({ source: PROC_NULL, tag: ANY_TAG, byteLength: 0, count: 0 });
      return undefined as V;
    }
    this.checkTag(tag, 'tag', true);
    const m = await c.t.recv(source === ANY_SOURCE ? ANY_SOURCE : this.toWorld(c, source), c.p2p, tag);
    return this.unpackObject<V>(c, m, options.status);
  }

  /** Sends `data` to `dest` and receives from `source` at once (no deadlock in a ring). */
  async sendrecv<T extends TypedArray = TypedArray>(
    data: TypedArray, dest: number, sendtag = 0, source = ANY_SOURCE, recvtag = ANY_TAG, options: RecvOptions<T> = {},
  ): Promise<T> {
    const s = this.send(data, dest, sendtag);
    const r = this.recv<T>(source, recvtag, options);
    const [, got] = await Promise.all([s, r]);
    return got;
  }

  /** sendrecv for values. */
  async sendrecvObject<V = unknown>(value: unknown, dest: number, sendtag = 0, source = ANY_SOURCE, recvtag = ANY_TAG, options: { status?: Status } = {}): Promise<V> {
    const [, got] = await Promise.all([this.sendObject(value, dest, sendtag), this.recvObject<V>(source, recvtag, options)]);
    return got;
  }

  /** Nonblocking send of a typed array: `data` must not change until the request completes. */
  isend(data: TypedArray, dest: number, tag = 0): Request<void> {
    return new Request(this.send(data, dest, tag));
  }

  /** Nonblocking receive; the request's value is the received array, its status the envelope. */
  irecv<T extends TypedArray = TypedArray>(source = ANY_SOURCE, tag = ANY_TAG, options: OutOption<T> = {}): Request<T> {
    const status = new Status();
    const req = new Request<T>(this.recv<T>(source, tag, { ...options, status }));
    return withStatus(req, status);
  }

  /** Nonblocking sendObject. */
  isendObject(value: unknown, dest: number, tag = 0): Request<void> {
    return new Request(this.sendObject(value, dest, tag));
  }

  /** Nonblocking recvObject. */
  irecvObject<V = unknown>(source = ANY_SOURCE, tag = ANY_TAG): Request<V> {
    const status = new Status();
    return withStatus(new Request<V>(this.recvObject<V>(source, tag, { status })), status);
  }

  /** The envelope of a message that has arrived (without receiving it), or undefined. */
  async iprobe(source = ANY_SOURCE, tag = ANY_TAG): Promise<Status | undefined> {
    const c = this.core();
    if (this.checkPeer(source, 'source', true) === PROC_NULL) return new Status(PROC_NULL, ANY_TAG, 0, 0);
    this.checkTag(tag, 'tag', true);
    const info = c.t.iprobe(source === ANY_SOURCE ? ANY_SOURCE : this.toWorld(c, source), c.p2p, tag);
    if (!info) return undefined;
    const n = info.byteLength - kHeaderBytes;
    return new Status(this.fromWorld(c, info.source), info.tag, n, n);
  }

  /** Waits until a matching message has arrived; resolves with its envelope (count in bytes). */
  async probe(source = ANY_SOURCE, tag = ANY_TAG): Promise<Status> {
    const c = this.core();
    if (this.checkPeer(source, 'source', true) === PROC_NULL) return new Status(PROC_NULL, ANY_TAG, 0, 0);
    this.checkTag(tag, 'tag', true);
    const info = await c.t.probe(source === ANY_SOURCE ? ANY_SOURCE : this.toWorld(c, source), c.p2p, tag);
    const n = info.byteLength - kHeaderBytes;
    return new Status(this.fromWorld(c, info.source), info.tag, n, n);
  }

  // Collective communications
  // -------------------------
  //
  // Every method: the call's signature and sequence number (begin), this rank's arguments
  // checked (a rank that rejects them enters the call refusing it, so every rank that waits for
  // it raises the error too: catch and retry works), then the communicator's engine.

  /** Returns once every rank of the communicator has called barrier. */
  barrier(): Promise<void> {
    // Not async: on shared memory it resolves without a trip through the microtask queue.
    let c: Core;
    let ch: CollChan;
    try {
      c = this.core();
      ch = this.begin(c, kBarrierSig, -1);
    } catch (err) {
      return Promise.reject(err);
    }
    return this.engine(c).barrier(ch);
  }

  /**
   * Broadcasts the root's typed array. Non-root ranks pass `null` (allocating form: they get a
   * new array of the root's dtype) or `{ out }`. The root gets its own `data` back.
   */
  async bcast<T extends TypedArray = TypedArray>(data: T | null | undefined, root = 0, options: OutOption<T> = {}): Promise<T> {
    const c = this.core();
    const ch = this.begin(c, sigWord('bcast', { root }), -1);
    try {
      this.checkRoot(c, root);
      if (c.rank === root) this.checkArray(data, 'data');
      if (options.out !== undefined) this.checkArray(options.out, 'out');
    } catch (err) {
      return this.refuse(c, ch, 'bcast', err);
    }
    return this.engine(c).bcast(ch, c.rank === root ? data! : undefined, root, options.out) as Promise<T>;
  }

  /** Broadcasts any value from the root; every rank gets (a copy of) it. */
  async bcastObject<V = unknown>(value: V, root = 0): Promise<V> {
    const c = this.core();
    const ch = this.begin(c, sigWord('bcastObject', { root }), -1);
    let bytes: Uint8Array | undefined;
    try {
      this.checkRoot(c, root);
      if (c.rank === root) bytes = this.pack(value);
    } catch (err) {
      return this.refuse(c, ch, 'bcastObject', err);
    }
    const got = await this.engine(c).bcastObject(ch, bytes, root);
    if (c.rank === root) return c.size === 1 ? value : (packr.unpack(bytes!) as V);
    return packr.unpack(got!) as V;
  }

  /** Reduces every rank's array elementwise with `op` (default SUM); the root gets the result. */
  async reduce<T extends TypedArray>(data: T, op: Op | string = SUM, root = 0, options: OutOption<T> = {}): Promise<T | undefined> {
    const c = this.core();
    const ch = this.begin(c, sigWord('reduce', { root, data, rop: opName(op) }), countOf(data));
    let o: Op;
    let kernel: Kernel;
    try {
      this.checkRoot(c, root);
      ({ o, kernel } = this.reductionArgs(c, data, op, c.rank === root ? options.out : undefined));
    } catch (err) {
      return this.refuse(c, ch, 'reduce', err);
    }
    return this.engine(c).reduce(ch, data, o, kernel, root, options.out) as Promise<T | undefined>;
  }

  /** reduce for values: `op` (an Op or a function (a, b)) combines values in rank order. */
  async reduceObject<V = unknown>(value: V, op: Op | string | ((a: V, b: V) => V) = SUM, root = 0): Promise<V | undefined> {
    const c = this.core();
    const ch = this.begin(c, sigWord('reduceObject', { root, rop: opName(op) }), -1);
    let o: Op;
    try {
      this.checkRoot(c, root);
      o = resolveOp(op, c.rank);
    } catch (err) {
      return this.refuse(c, ch, 'reduceObject', err);
    }
    return this.engine(c).reduceObject(ch, value, o, root) as Promise<V | undefined>;
  }

  /**
   * Reduces every rank's array elementwise with `op`; every rank gets the bit-identical result.
   * On shared memory (sab): short arrays folded by every rank from every slot, long ones
   * block by block (each block folded by one rank, in rank order). On messages: recursive
   * doubling, or reduce-scatter then allgather for long arrays.
   */
  allreduce<T extends TypedArray>(data: T, op: Op | string = SUM, options: OutOption<T> = {}): Promise<T> {
    // Not async: a short allreduce on shared memory resolves without a detour through the
    // microtask queue, so errors are caught here and become rejections.
    let c: Core;
    let ch: CollChan;
    try {
      c = this.core();
      ch = this.begin(c, sigWord('allreduce', { data, rop: opName(op) }), countOf(data));
    } catch (err) {
      return Promise.reject(err);
    }
    let o: Op;
    let kernel: Kernel;
    try {
      ({ o, kernel } = this.reductionArgs(c, data, op, options.out));
    } catch (err) {
      return this.refuse(c, ch, 'allreduce', err);
    }
    return this.engine(c).allreduce(ch, data, o, kernel, options.out) as Promise<T>;
  }

  /** allreduce for values (reduce to rank 0 in rank order, then bcast: identical everywhere). */
  async allreduceObject<V = unknown>(value: V, op: Op | string | ((a: V, b: V) => V) = SUM): Promise<V> {
    const c = this.core();
    const ch = this.begin(c, sigWord('allreduceObject', { rop: opName(op) }), -1);
    let o: Op;
    try {
      o = resolveOp(op, c.rank);
    } catch (err) {
      return this.refuse(c, ch, 'allreduceObject', err);
    }
    return this.engine(c).allreduceObject(ch, value, o, (v) => this.pack(v), (b) => packr.unpack(b)) as Promise<V>;
  }

  /** Inclusive prefix reduction: rank r gets data(0) op ... op data(r). */
  scan<T extends TypedArray>(data: T, op: Op | string = SUM, options: OutOption<T> = {}): Promise<T> {
    return this.scanImpl('scan', data, op, options.out) as Promise<T>;
  }

  /**
   * Exclusive prefix reduction: rank r gets data(0) op ... op data(r-1). Rank 0 gets the op's
   * identity (0 for SUM, 1 for PROD, ...; zeros when the op has none), so an exscan of counts
   * gives offsets directly.
   */
  exscan<T extends TypedArray>(data: T, op: Op | string = SUM, options: OutOption<T> = {}): Promise<T> {
    return this.scanImpl('exscan', data, op, options.out) as Promise<T>;
  }

  private async scanImpl<T extends TypedArray>(name: 'scan' | 'exscan', data: T, op: Op | string, out: T | undefined): Promise<T> {
    const c = this.core();
    const ch = this.begin(c, sigWord(name, { data, rop: opName(op) }), countOf(data));
    let o: Op;
    let kernel: Kernel;
    try {
      ({ o, kernel } = this.reductionArgs(c, data, op, out));
    } catch (err) {
      return this.refuse(c, ch, name, err);
    }
    const res = await this.engine(c).scan(ch, data, o, kernel, name === 'exscan', out);
    return (res ?? identityOf(ch, data, o, out)) as T;
  }

  /** scan for values. */
  async scanObject<V = unknown>(value: V, op: Op | string | ((a: V, b: V) => V) = SUM): Promise<V> {
    return (await this.scanObjectImpl('scanObject', value, op)) as V;
  }

  /** exscan for values: rank 0 gets undefined. */
  exscanObject<V = unknown>(value: V, op: Op | string | ((a: V, b: V) => V) = SUM): Promise<V | undefined> {
    return this.scanObjectImpl('exscanObject', value, op) as Promise<V | undefined>;
  }

  private async scanObjectImpl(name: 'scanObject' | 'exscanObject', value: unknown, op: unknown): Promise<unknown> {
    const c = this.core();
    const ch = this.begin(c, sigWord(name, { rop: opName(op) }), -1);
    let o: Op;
    try {
      o = resolveOp(op, c.rank);
    } catch (err) {
      return this.refuse(c, ch, name, err);
    }
    return this.engine(c).scanObject(ch, value, o, name === 'exscanObject');
  }

  /**
   * Gathers equal-length arrays to the root: it gets their concatenation in rank order
   * (size * data.length elements); others get undefined.
   */
  async gather<T extends TypedArray>(data: T, root = 0, options: OutOption<T> = {}): Promise<T | undefined> {
    const c = this.core();
    const ch = this.begin(c, sigWord('gather', { root, data }), countOf(data));
    try {
      this.checkRoot(c, root);
      this.checkArray(data, 'data');
      if (c.rank === root) this.checkOutArg(c, options.out, data, data.length * c.size);
    } catch (err) {
      return this.refuse(c, ch, 'gather', err);
    }
    return this.engine(c).gather(ch, data, root, options.out) as Promise<T | undefined>;
  }

  /** Gathers arrays of any lengths to the root: it gets data, counts and displs. */
  async gatherv<T extends TypedArray>(data: T, root = 0, options: OutOption<T> & { displs?: number[] } = {}): Promise<VResult<T> | undefined> {
    const c = this.core();
    const ch = this.begin(c, sigWord('gatherv', { root, data }), -1);
    try {
      this.checkRoot(c, root);
      this.checkArray(data, 'data');
      if (c.rank === root) {
        this.checkOutArg(c, options.out, data, 0);
        if (options.displs !== undefined) checkCounts(c, options.displs, 'displs');
      }
    } catch (err) {
      return this.refuse(c, ch, 'gatherv', err);
    }
    return this.engine(c).gatherv(ch, data, root, options.out, options.displs) as Promise<VResult<T> | undefined>;
  }

  /** Gathers one value per rank to the root (a list in rank order). */
  async gatherObject<V = unknown>(value: V, root = 0): Promise<V[] | undefined> {
    const c = this.core();
    const ch = this.begin(c, sigWord('gatherObject', { root }), -1);
    let bytes: Uint8Array;
    try {
      this.checkRoot(c, root);
      bytes = this.pack(value);
    } catch (err) {
      return this.refuse(c, ch, 'gatherObject', err);
    }
    const got = await this.engine(c).gatherObject(ch, bytes, root);
    if (!got) return undefined;
    return got.map((b, r) => (r === c.rank ? value : (packr.unpack(b!) as V)));
  }

  /**
   * Scatters the root's array in equal blocks (its length must be a multiple of size); rank r
   * gets block r. Non-roots pass null (or anything; ignored).
   */
  async scatter<T extends TypedArray = TypedArray>(data: T | null | undefined, root = 0, options: OutOption<T> = {}): Promise<T> {
    const c = this.core();
    const ch = this.begin(c, sigWord('scatter', { root }), -1);
    let counts: number[] | undefined;
    try {
      this.checkRoot(c, root);
      if (options.out !== undefined) this.checkArray(options.out, 'out');
      if (c.rank === root) {
        this.checkArray(data, 'data');
        if (data!.length % c.size !== 0) throw new ArgumentError('data', `an array whose length is a multiple of the communicator size ${c.size}`, data!.length, c.rank);
        counts = new Array<number>(c.size).fill(data!.length / c.size);
      }
    } catch (err) {
      return this.refuse(c, ch, 'scatter', err);
    }
    return this.engine(c).scatterv(ch, root, data ?? undefined, counts, counts && displsOf(counts), options.out) as Promise<T>;
  }

  /** Scatters blocks of given `counts` (and `displs`) of the root's array; rank r gets block r. */
  async scatterv<T extends TypedArray = TypedArray>(
    data: T | null | undefined, counts: readonly number[] | null | undefined, root = 0, options: OutOption<T> & { displs?: readonly number[] } = {},
  ): Promise<T> {
    const c = this.core();
    const ch = this.begin(c, sigWord('scatterv', { root }), -1);
    let cs: number[] | undefined;
    let ds: number[] | undefined;
    try {
      this.checkRoot(c, root);
      if (options.out !== undefined) this.checkArray(options.out, 'out');
      if (c.rank === root) {
        this.checkArray(data, 'data');
        cs = checkCounts(c, counts, 'counts');
        ds = options.displs ? checkCounts(c, options.displs, 'displs') : displsOf(cs);
        for (let r = 0; r < c.size; r++) {
          if (ds[r]! + cs[r]! > data!.length) throw new ArgumentError('counts', `blocks inside data (length ${data!.length})`, `rank ${r}: displ ${ds[r]} + count ${cs[r]}`, c.rank);
        }
      }
    } catch (err) {
      return this.refuse(c, ch, 'scatterv', err);
    }
    return this.engine(c).scatterv(ch, root, data ?? undefined, cs, ds, options.out) as Promise<T>;
  }

  /** Scatters the root's list of `size` values; rank r gets values[r]. */
  async scatterObject<V = unknown>(values: readonly V[] | null | undefined, root = 0): Promise<V> {
    const c = this.core();
    const ch = this.begin(c, sigWord('scatterObject', { root }), -1);
    let parts: Uint8Array[] | undefined;
    try {
      this.checkRoot(c, root);
      if (c.rank === root) {
        if (!Array.isArray(values) || values.length !== c.size) throw new ArgumentError('values', `an array of ${c.size} values (one per rank)`, values, c.rank);
        parts = values.map((v) => this.pack(v));
      }
    } catch (err) {
      return this.refuse(c, ch, 'scatterObject', err);
    }
    const got = await this.engine(c).scatterObject(ch, root, parts);
    if (c.rank === root) return values![root]!;
    return packr.unpack(got!) as V;
  }

  /** Every rank gets the concatenation of every rank's equal-length array, in rank order. */
  async allgather<T extends TypedArray>(data: T, options: OutOption<T> = {}): Promise<T> {
    const c = this.core();
    const ch = this.begin(c, sigWord('allgather', { data }), countOf(data));
    try {
      this.checkArray(data, 'data');
      this.checkOutArg(c, options.out, data, data.length * c.size);
    } catch (err) {
      return this.refuse(c, ch, 'allgather', err);
    }
    return this.engine(c).allgather(ch, data, options.out) as Promise<T>;
  }

  /** Every rank gets every rank's array (any lengths): data, counts and displs. */
  async allgatherv<T extends TypedArray>(data: T, options: OutOption<T> & { displs?: number[] } = {}): Promise<VResult<T>> {
    const c = this.core();
    const ch = this.begin(c, sigWord('allgatherv', { data }), -1);
    try {
      this.checkArray(data, 'data');
      this.checkOutArg(c, options.out, data, 0);
      if (options.displs !== undefined) checkCounts(c, options.displs, 'displs');
    } catch (err) {
      return this.refuse(c, ch, 'allgatherv', err);
    }
    return this.engine(c).allgatherv(ch, data, options.out, options.displs) as Promise<VResult<T>>;
  }

  /** Every rank gets the list of every rank's value. */
  async allgatherObject<V = unknown>(value: V): Promise<V[]> {
    const c = this.core();
    const ch = this.begin(c, sigWord('allgatherObject'), -1);
    let bytes: Uint8Array;
    try {
      bytes = this.pack(value);
    } catch (err) {
      return this.refuse(c, ch, 'allgatherObject', err);
    }
    const got = await this.engine(c).allgatherObject(ch, bytes);
    return got.map((b, r) => (r === c.rank ? value : (packr.unpack(b!) as V)));
  }

  /**
   * All-to-all in equal blocks: `data` holds size blocks; block j goes to rank j, and the
   * result's block i came from rank i. On shared memory (sab) through the slots, any size;
   * on messages, pairwise exchange.
   */
  async alltoall<T extends TypedArray>(data: T, options: OutOption<T> = {}): Promise<T> {
    const c = this.core();
    const ch = this.begin(c, sigWord('alltoall', { data }), countOf(data));
    try {
      this.checkArray(data, 'data');
      if (data.length % c.size !== 0) throw new ArgumentError('data', `an array whose length is a multiple of the communicator size ${c.size}`, data.length, c.rank);
      this.checkOutArg(c, options.out, data, data.length);
    } catch (err) {
      return this.refuse(c, ch, 'alltoall', err);
    }
    return this.engine(c).alltoall(ch, data, options.out) as Promise<T>;
  }

  /**
   * All-to-all with per-destination `counts` (and `displs`) into `data`; the result holds what
   * each rank sent here, in rank order, with counts and displs.
   */
  async alltoallv<T extends TypedArray>(
    data: T, counts: readonly number[], options: OutOption<T> & { displs?: readonly number[]; recvDispls?: number[] } = {},
  ): Promise<VResult<T>> {
    const c = this.core();
    const ch = this.begin(c, sigWord('alltoallv', { data }), -1);
    let cs: number[];
    let ds: number[];
    try {
      this.checkArray(data, 'data');
      cs = checkCounts(c, counts, 'counts');
      ds = options.displs ? checkCounts(c, options.displs, 'displs') : displsOf(cs);
      for (let r = 0; r < c.size; r++) {
        if (ds[r]! + cs[r]! > data.length) throw new ArgumentError('counts', `blocks inside data (length ${data.length})`, `rank ${r}: displ ${ds[r]} + count ${cs[r]}`, c.rank);
      }
      this.checkOutArg(c, options.out, data, 0);
      if (options.recvDispls !== undefined) checkCounts(c, options.recvDispls, 'recvDispls');
    } catch (err) {
      return this.refuse(c, ch, 'alltoallv', err);
    }
    return this.engine(c).alltoallv(ch, data, cs, ds, options.out, options.recvDispls) as Promise<VResult<T>>;
  }

  /** All-to-all of values: `values[j]` goes to rank j; the result's item i came from rank i. */
  async alltoallObject<V = unknown>(values: readonly V[]): Promise<V[]> {
    const c = this.core();
    const ch = this.begin(c, sigWord('alltoallObject'), -1);
    let parts: Uint8Array[];
    try {
      if (!Array.isArray(values) || values.length !== c.size) throw new ArgumentError('values', `an array of ${c.size} values (one per rank)`, values, c.rank);
      parts = values.map((v) => this.pack(v));
    } catch (err) {
      return this.refuse(c, ch, 'alltoallObject', err);
    }
    const got = await this.engine(c).alltoallObject(ch, parts);
    return got.map((b, r) => (r === c.rank ? values[r]! : (packr.unpack(b!) as V)));
  }

  /**
   * Reduces elementwise, then scatters the result in equal blocks: rank r gets block r
   * (data.length must be a multiple of size).
   */
  reduceScatterBlock<T extends TypedArray>(data: T, op: Op | string = SUM, options: OutOption<T> = {}): Promise<T> {
    return this.reduceScatterImpl('reduceScatterBlock', data, undefined, op, options.out);
  }

  /** Reduces elementwise, then scatters blocks of `counts`: rank r gets counts[r] elements. */
  reduceScatter<T extends TypedArray>(data: T, counts: readonly number[], op: Op | string = SUM, options: OutOption<T> = {}): Promise<T> {
    return this.reduceScatterImpl('reduceScatter', data, counts, op, options.out);
  }

  private async reduceScatterImpl<T extends TypedArray>(name: 'reduceScatter' | 'reduceScatterBlock', data: T, counts: readonly number[] | undefined, op: Op | string, out: T | undefined): Promise<T> {
    const c = this.core();
    const ch = this.begin(c, sigWord(name, { data, rop: opName(op) }), countOf(data));
    let cs: number[];
    let kernel: Kernel;
    try {
      this.checkArray(data, 'data');
      if (name === 'reduceScatterBlock') {
        if (data.length % c.size !== 0) throw new ArgumentError('data', `an array whose length is a multiple of the communicator size ${c.size}`, data.length, c.rank);
        cs = new Array<number>(c.size).fill(data.length / c.size);
      } else {
        cs = checkCounts(c, counts, 'counts');
        const total = cs.reduce((a, b) => a + b, 0);
        if (total !== data.length) throw new ArgumentError('counts', `counts summing to data.length (${data.length})`, cs, c.rank);
      }
      kernel = kernelOf(resolveOp(op, c.rank), data, c.rank);
      this.checkOutArg(c, out, data, cs[c.rank]!);
    } catch (err) {
      return this.refuse(c, ch, name, err);
    }
    return this.engine(c).reduceScatter(ch, data, cs, kernel, out) as Promise<T>;
  }

  /** reduceScatter for values: `values` has one item per rank; rank r gets the reduction of items r. */
  async reduceScatterObject<V = unknown>(values: readonly V[], op: Op | string | ((a: V, b: V) => V) = SUM): Promise<V> {
    const c = this.core();
    const ch = this.begin(c, sigWord('reduceScatterObject', { rop: opName(op) }), -1);
    let o: Op;
    let parts: Uint8Array[];
    try {
      if (!Array.isArray(values) || values.length !== c.size) throw new ArgumentError('values', `an array of ${c.size} values (one per rank)`, values, c.rank);
      o = resolveOp(op, c.rank);
      parts = values.map((v) => this.pack(v));
    } catch (err) {
      return this.refuse(c, ch, 'reduceScatterObject', err);
    }
    const got = await this.engine(c).alltoallObject(ch, parts);
    let acc: V | undefined;
    for (let r = 0; r < c.size; r++) {
      const v = r === c.rank ? values[r]! : (packr.unpack(got[r]!) as V);
      acc = r === 0 ? v : (o.combine(acc, v) as V);
    }
    return acc as V;
  }

  /** reduceScatter for values with a block per rank (objects have no fixed size: same as reduceScatterObject). */
  reduceScatterBlockObject<V = unknown>(values: readonly V[], op: Op | string | ((a: V, b: V) => V) = SUM): Promise<V> {
    return this.reduceScatterObject(values, op);
  }

  /** gatherv for values: values may differ in size anyway, so this is gatherObject. */
  gathervObject<V = unknown>(value: V, root = 0): Promise<V[] | undefined> {
    return this.gatherObject(value, root);
  }

  /** scatterv for values: the same as scatterObject. */
  scattervObject<V = unknown>(values: readonly V[] | null | undefined, root = 0): Promise<V> {
    return this.scatterObject(values, root);
  }

  /** allgatherv for values: the same as allgatherObject. */
  allgathervObject<V = unknown>(value: V): Promise<V[]> {
    return this.allgatherObject(value);
  }

  /** alltoallv for values: the same as alltoallObject. */
  alltoallvObject<V = unknown>(values: readonly V[]): Promise<V[]> {
    return this.alltoallObject(values);
  }

  // Communicators
  // -------------

  /** A new communicator with the same members and a message space of its own. Collective. */
  async dup(): Promise<Communicator> {
    const c = this.core();
    const ctx = await this.agreeContext(c);
    return Communicator.fromCore(this.deriveCore(c, c.ranks ?? Array.from({ length: c.size }, (_, i) => i), ctx));
  }

  /**
   * Splits into one communicator per `color`, ranks ordered by (`key`, old rank). Ranks that
   * pass `UNDEFINED` as color get null. Collective.
   */
  async split(color: number, key = 0): Promise<Communicator | null> {
    const c = this.core();
    const mine = new Int32Array(2);
    try {
      if (!Number.isInteger(color) || (color < 0 && color !== UNDEFINED)) throw new ArgumentError('color', 'a non-negative integer or UNDEFINED', color, c.rank);
      if (!Number.isInteger(key) || Math.abs(key) > 2 ** 31 - 1) throw new ArgumentError('key', 'an int32', key, c.rank);
    } catch (err) {
      // The others are in the allgather below: refuse it, so they raise the error too.
      return this.refuse(c, this.begin(c, sigWord('allgather', { data: mine }), 2), 'allgather', err);
    }
    mine.set([color, key]);
    const all = await this.allgather(mine);
    const ctx = await this.agreeContext(c, color !== UNDEFINED);
    if (color === UNDEFINED) return null;
    const members: { r: number; key: number }[] = [];
    for (let r = 0; r < c.size; r++) if (all[r * 2] === color) members.push({ r, key: all[r * 2 + 1]! });
    members.sort((a, b) => a.key - b.key || a.r - b.r);
    return Communicator.fromCore(this.deriveCore(c, members.map((m) => this.toWorld(c, m.r)), ctx));
  }

  /** A communicator of `group`'s members (a subgroup of this one); others get null. Collective. */
  async create(group: Group): Promise<Communicator | null> {
    const c = this.core();
    if (!(group instanceof Group)) {
      const err = new ArgumentError('group', 'a Group (from comm.group.include/exclude)', group, c.rank);
      // The others are in agreeContext's first allreduce: refuse it, so they raise the error too.
      return this.refuse(c, this.begin(c, sigWord('allreduce', { data: contexts().window(0), rop: 'BOR' }), contexts().window(0).length), 'allreduce', err);
    }
    const member = group.members.includes(c.t.rank);
    const ctx = await this.agreeContext(c, member);
    if (!member) return null;
    return Communicator.fromCore(this.deriveCore(c, group.members, ctx));
  }

  /**
   * A Cartesian grid over the first prod(dims) ranks (others get null): `coords`,
   * `shift(dim, disp)`, `sub(remainDims)`. Collective.
   */
  async cart(dims: readonly number[], periods?: readonly boolean[]): Promise<CartComm | null> {
    // Loaded on use: cart.ts extends this class, so a static import would be circular.
    const { cart } = await import('./cart.js');
    return cart(this, dims, periods);
  }

  /**
   * Frees this communicator (MPI's Comm.Free): its contexts go back to the registry for later
   * dup/split/create, and any later use of it rejects with a ClosedError. Every member frees
   * it, once its traffic on it is done (as in MPI, a message still unreceived is erroneous).
   * The world cannot be freed.
   */
  async free(): Promise<void> {
    const c = this.core();
    if (c.ranks === null) throw new ArgumentError('comm', 'a communicator made by dup, split, create or cart (the world cannot be freed)', 'world', c.rank);
    c.freed = true;
    // The guard stops listening: the pair may serve another communicator next.
    c.guard?.close();
    contexts().release(c.p2p);
  }

  // Internals
  // ---------

  /** @internal The communicator's collective engine, chosen once (collectives/engine.ts). */
  protected engine(c: Core): CollEngine {
    return (c.engine ??= pickEngine(c.t, c.ranks, c.size));
  }

  /** @internal The communicator's collective guard (collectives/guard.ts). */
  protected guard(c: Core): CollGuard {
    return (c.guard ??= new CollGuard(c.t, c.ranks, c.fromWorld, c.coll, c.rank, c.size));
  }

  /**
   * @internal Starts a collective call: its sequence number and signature (w0, w1), recorded
   * for the guard. Throws when the communicator already failed (a mismatch) or the calls so
   * far disagree.
   */
  protected begin(c: Core, w0: number, w1: number): CollChan {
    const g = this.guard(c);
    const seq = c.seq & kSeqMask;
    g.record(seq, w0, w1);
    c.seq++;
    return new CollChan(c.t, c.ranks, c.coll, seq, c.rank, c.size, g, w0, w1);
  }

  /** @internal Enters the call `ch` refusing this rank's arguments: every rank raises the error. */
  protected refuse(c: Core, ch: CollChan, op: CollOp, err: unknown): Promise<never> {
    this.guard(c).record(ch.seq, kArgErr, -1);
    return this.engine(c).refuse(ch, op, err);
  }

  /**
   * @internal Enters this communicator's next collective, `op` with `root`, refusing it with
   * `err`: rejects with `err` here, and every rank waiting in that call rejects with a
   * CollectiveArgumentError naming this rank (for layers above whose collective found an
   * argument error on one rank, e.g. the root's table of DistFrame.fromArrow).
   */
  refuseCollective(op: CollOp, root: number | undefined, err: unknown): Promise<never> {
    let c: Core;
    let ch: CollChan;
    try {
      c = this.core();
      ch = this.begin(c, sigWord(op, { root }), -1);
    } catch (e) {
      return Promise.reject(e);
    }
    return this.refuse(c, ch, op, err);
  }

  /**
   * @internal Agrees with every rank of `c` on a context pair free on all of them (comm/contexts.ts);
   * `take`: this rank is a member of the new communicator and holds the pair until free().
   */
  protected async agreeContext(c: Core, take = true): Promise<number> {
    const reg = contexts();
    for (let w = 0; !ContextRegistry.beyondLast(w); w++) {
      const or = await this.allreduce(reg.window(w), 'BOR');
      const ctx = reg.firstFree(w, or);
      if (ctx === undefined) continue;
      if (take) reg.take(ctx);
      return ctx;
    }
    throw new ArgumentError('communicators', 'fewer than 2^30 alive at once (free() the ones no longer used)', 'every context pair is in use', c.rank);
  }

  /** @internal */
  protected deriveCore(c: Core, worldRanks: readonly number[], ctx: number): Core {
    const fromWorld = new Map<number, number>();
    worldRanks.forEach((w, i) => fromWorld.set(w, i));
    return { t: c.t, ranks: worldRanks, fromWorld, rank: fromWorld.get(c.t.rank) ?? -1, size: worldRanks.length, p2p: ctx, coll: ctx + 1, seq: 0 };
  }

  private toWorld(c: Core, r: number): number {
    return c.ranks ? c.ranks[r]! : r;
  }

  private fromWorld(c: Core, w: number): number {
    return c.fromWorld ? c.fromWorld.get(w) ?? -1 : w;
  }

  private checkPeer(r: unknown, argument: string, anyOk: boolean): number {
    const c = this.core();
    if (r === PROC_NULL) return PROC_NULL;
    if (anyOk && r === ANY_SOURCE) return r;
    if (!Number.isInteger(r) || (r as number) < 0 || (r as number) >= c.size) {
      throw new ArgumentError(argument, `a rank in 0..${c.size - 1}${anyOk ? ', ANY_SOURCE' : ''} or PROC_NULL`, r, c.rank);
    }
    return r as number;
  }

  private checkTag(tag: unknown, argument: string, anyOk: boolean): void {
    if (anyOk && tag === ANY_TAG) return;
    if (!Number.isInteger(tag) || (tag as number) < 0 || (tag as number) > 0x7fffffff) {
      throw new ArgumentError(argument, `an integer tag in 0..2^31-1${anyOk ? ' or ANY_TAG' : ''}`, tag, this.core().rank);
    }
  }

  private checkRoot(c: Core, root: unknown): void {
    if (!Number.isInteger(root) || (root as number) < 0 || (root as number) >= c.size) {
      throw new ArgumentError('root', `a rank in 0..${c.size - 1}`, root, c.rank);
    }
  }

  private checkArray(data: unknown, argument: string): DType {
    const dt = isTyped(data) ? dtypeOf(data) : undefined;
    if (!dt) throw new ArgumentError(argument, 'a typed array (use the *Object method for other values)', data, this.core().rank);
    return dt;
  }

  /** `out`, when given, is an array of `data`'s dtype with at least `n` elements. */
  /** The checks every typed reduction makes on this rank: the array, the op, its kernel, `out`. */
  private reductionArgs(c: Core, data: TypedArray, op: Op | string, out: unknown): { o: Op; kernel: Kernel } {
    this.checkArray(data, 'data');
    const o = resolveOp(op, c.rank);
    const kernel = kernelOf(o, data, c.rank);
    this.checkOutArg(c, out, data, data.length);
    return { o, kernel };
  }

  private checkOutArg(c: Core, out: unknown, data: TypedArray, n: number): void {
    if (out === undefined) return;
    const dt = dtypeOf(data)!;
    if (!isTyped(out) || dtypeOf(out) !== dt || (out as TypedArray).length < n) {
      throw new ArgumentError('out', `a ${dt} array of at least ${n} elements`, out, c.rank);
    }
  }

  private checkOut(c: Core, out: TypedArray, length: number, dtype: DType): void {
    if (dtypeOf(out) !== dtype || out.length < length) {
      throw new ArgumentError('out', `a ${dtype} array of at least ${length} elements`, out, c.rank);
    }
  }

  private pack(value: unknown): Uint8Array {
    try {
      return packr.pack(value);
    } catch (err) {
      throw new ArgumentError('value', 'a value msgpack can encode', `${typeof value}: ${(err as Error).message}`, this.core().rank);
    }
  }

  private decodeTyped<T extends TypedArray>(c: Core, msg: Uint8Array, out: T | undefined, what: string): T {
    const code = msg[0]!;
    const dtype = DTYPES[code];
    if (!dtype || msg.byteLength < kHeaderBytes) {
      throw new ArgumentError('message', `a typed-array message for ${what}`, code === kObjectCode ? 'an object message (use the *Object method)' : `code ${code}`, c.rank);
    }
    const body = msg.subarray(kHeaderBytes);
    if (out) {
      const bpe = kDTypes[dtype].bytes;
      this.checkOut(c, out, body.byteLength / bpe, dtype);
      bytesOf(out).set(body);
      return out.subarray(0, body.byteLength / bpe) as T;
    }
    return viewOf(dtype, body.buffer, body.byteOffset, body.byteLength / kDTypes[dtype].bytes) as T;
  }

  private unpackTyped<T extends TypedArray>(c: Core, m: Message, options: RecvOptions<T>): T {
    const res = this.decodeTyped<T>(c, m.data, options.out, 'recv');
    options.status?.set({ source: this.fromWorld(c, m.source), tag: m.tag, byteLength: m.data.byteLength - kHeaderBytes, count: res.length });
    return res;
  }

  private unpackObject<V>(c: Core, m: Message, status: Status | undefined): V {
    if (m.data[0] !== kObjectCode) {
      throw new ArgumentError('message', 'an object message for recvObject', `a typed array of ${DTYPES[m.data[0]!] ?? '?'} (use recv) from rank ${this.fromWorld(c, m.source)}`, c.rank);
    }
    status?.set({ source: this.fromWorld(c, m.source), tag: m.tag, byteLength: m.data.byteLength - kHeaderBytes, count: 1 });
    return packr.unpack(m.data.subarray(kHeaderBytes)) as V;
  }
}

/** A typed array (not a DataView). */
function isTyped(x: unknown): x is TypedArray {
  return ArrayBuffer.isView(x) && !(x instanceof DataView) && dtypeOf(x) !== undefined;
}

/** Element count of a typed-array argument for a signature (-1: not one). */
function countOf(x: unknown): number {
  return isTyped(x) ? x.length | 0 : -1;
}

/** Name of a reduction op for a signature. */
function opName(op: unknown): string {
  if (op instanceof Op) return op.name;
  if (typeof op === 'string') return op.toUpperCase();
  return 'user';
}

const kBarrierSig = sigWord('barrier');

/** Keeps the status of a receive request in sync with the receive's. */
function withStatus<T>(req: Request<T>, status: Status): Request<T> {
  req.wait().then(
    () => req.status.set(status),
    () => {},
  );
  return req;
}

class WorldCommunicator extends Communicator {
  constructor() {
    super(undefined);
  }
}

/**
 * The current rank's world communicator: every rank of the job. It resolves the rank's
 * transport on each use, so one module instance serves every job of a World.
 */
export const world: Communicator = new WorldCommunicator();
