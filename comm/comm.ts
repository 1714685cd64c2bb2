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
import { ANY_SOURCE, ANY_TAG, type Message, type Payload, type Transport } from './transport.js';
import { kernelOf, resolveOp, SUM, type Kernel, type Op } from './ops.js';
import { PROC_NULL, Request, Status, UNDEFINED } from './request.js';
import { Group } from './group.js';
import { displsOf, type Chan } from './collectives/chan.js';
import {
  binomialBcast,
  binomialReduce,
  disseminationBarrier,
  recursiveDoublingAllreduce,
  recursiveDoublingScan,
} from './collectives/tree.js';
import { directAllgather, gatherToRoot, pairwiseAlltoall, scatterFromRoot } from './collectives/exchange.js';
import type { CartComm } from './cart.js';
import { foldParts, kFoldAllBytes, slotBytes, shmEnabled, ShmRunner, type Placement, type ShmEngine } from './collectives/shm.js';
import { CollChan, copyElems, longAllreduce, objectCombiner, reduceScatterInto, typedCombiner } from './collectives/typed.js';

/** Typed-array results of the v-collectives: the data and where each rank's part lies. */
export interface VResult<T extends TypedArray = TypedArray> {
  data: T;
  /** Elements per rank. */
  counts: number[];
  /** Offset (in elements) of each rank's part in `data`. */
  displs: number[];
}

/** `{ out }`: write the result into this array instead of allocating one. */
export interface OutOption<T extends TypedArray> {
  out?: T;
}

/** Options of receives: `out` to receive into, `status` to fill with the envelope. */
export interface RecvOptions<T extends TypedArray> extends OutOption<T> {
  status?: Status;
}

/** Threshold (bytes) above which allreduce uses reduce-scatter + allgather. */
const kLongAllreduce = 64 << 10;

/** Typed message header: 8 bytes, byte 0 the dtype index (255: an object message). */
const kHeaderBytes = 8;
const kObjectCode = 255;
const kHeaders: Uint8Array[] = [...DTYPES.map((_, i) => i), kObjectCode].map((code) => {
  const h = new Uint8Array(kHeaderBytes);
  h[0] = code;
  return h;
});
const kObjectHeader = kHeaders[kHeaders.length - 1]!;

function headerOf(dtype: DType): Uint8Array {
  return kHeaders[DTYPES.indexOf(dtype)]!;
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
  /** Shared-memory collectives (null: ranks do not share memory; undefined: not decided yet). */
  shm?: ShmRunner | null;
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

  /** Returns once every rank of the communicator has called barrier. */
  barrier(): Promise<void> {
    // Not async: on shared memory it resolves without a trip through the microtask queue.
    let c: Core;
    try {
      c = this.core();
    } catch (err) {
      return Promise.reject(err);
    }
    const ch = this.chan(c);
    const s = this.shm(c);
    if (s) return s.run(ch, barrierStep);
    // The world's barrier is the transport's own.
    if (c.ranks === null) return c.t.barrier();
    return disseminationBarrier(ch);
  }

  /**
   * Broadcasts the root's typed array. Non-root ranks pass `null` (allocating form: they get a
   * new array of the root's dtype) or `{ out }`. The root gets its own `data` back.
   */
  async bcast<T extends TypedArray = TypedArray>(data: T | null | undefined, root = 0, options: OutOption<T> = {}): Promise<T> {
    const c = this.core();
    this.checkRoot(c, root);
    const ch = this.chan(c);
    const s = this.shm(c);
    if (s) return this.shmBcast(c, s, ch, data, root, options.out);
    if (c.rank === root) {
      const dt = this.checkArray(data, 'data');
      await binomialBcast(ch, root, [headerOf(dt), bytesOf(data!)]);
      if (options.out && options.out !== data) return this.copyOut(c, options.out, bytesOf(data!), dt);
      return data!;
    }
    const msg = (await binomialBcast(ch, root, undefined))!;
    return this.decodeTyped<T>(c, msg, options.out, `bcast from root ${root}`);
  }

  /** Broadcasts any value from the root; every rank gets (a copy of) it. */
  async bcastObject<V = unknown>(value: V, root = 0): Promise<V> {
    const c = this.core();
    this.checkRoot(c, root);
    const ch = this.chan(c);
    if (c.rank === root) {
      const bytes = this.pack(value);
      await binomialBcast(ch, root, bytes);
      return c.size === 1 ? value : (packr.unpack(bytes) as V);
    }
    return packr.unpack((await binomialBcast(ch, root, undefined))!) as V;
  }

  /** Reduces every rank's array elementwise with `op` (default SUM); the root gets the result. */
  async reduce<T extends TypedArray>(data: T, op: Op | string = SUM, root = 0, options: OutOption<T> = {}): Promise<T | undefined> {
    const c = this.core();
    this.checkRoot(c, root);
    this.checkArray(data, 'data');
    const o = resolveOp(op, c.rank);
    const kernel = kernelOf(o, data, c.rank);
    const ch = this.chan(c);
    const s = this.shm(c);
    if (s) {
      if (data.byteLength <= slotBytes(c.size)) return s.run(ch, (e) => e.gather(bytesOf(data), root, (parts) => this.foldInto(c, parts, data, kernel, options.out), data.BYTES_PER_ELEMENT));
      await s.run(ch, (e) => e.announce(data.byteLength, data.BYTES_PER_ELEMENT));
    }
    const res = await binomialReduce(ch, root, data as TypedArray, typedCombiner(c.rank, data, kernel), o.commutative);
    if (c.rank !== root) return undefined;
    return this.result(c, res as T, data, options.out);
  }

  /** reduce for values: `op` (an Op or a function (a, b)) combines values in rank order. */
  async reduceObject<V = unknown>(value: V, op: Op | string | ((a: V, b: V) => V) = SUM, root = 0): Promise<V | undefined> {
    const c = this.core();
    this.checkRoot(c, root);
    const o = resolveOp(op, c.rank);
    return binomialReduce(this.chan(c), root, value, objectCombiner(o), o.commutative) as Promise<V | undefined>;
  }

  /**
   * Reduces every rank's array elementwise with `op`; every rank gets the bit-identical result.
   * On shared memory (sab): short arrays folded by every rank from every slot, long ones
   * block by block (each block folded by one rank, in rank order). On messages: recursive
   * doubling, or reduce-scatter then allgather for long arrays.
   */
  allreduce<T extends TypedArray>(data: T, op: Op | string = SUM, options: OutOption<T> = {}): Promise<T> {
    // Not async: a short allreduce on shared memory resolves without a detour through the
    // microtask queue, so argument errors are caught here and become rejections.
    try {
      const c = this.core();
      const dt = this.checkArray(data, 'data');
      const o = resolveOp(op, c.rank);
      const kernel = kernelOf(o, data, c.rank);
      const ch = this.chan(c);
      const s = this.shm(c);
      if (!s) return this.allreduceMessages(c, ch, data, dt, o, kernel, options.out);
      const out = options.out ?? (new kDTypes[dt].ctor(data.length) as T);
      this.checkOut(c, out, data.length, dt);
      const into = out.length === data.length ? out : out.subarray(0, data.length);
      if (data.byteLength <= kFoldAllBytes) return s.allreduceFold(ch, data, into, kernel, out);
      const unit = o.name === 'MINLOC' || o.name === 'MAXLOC' ? 2 : 1;
      return s.run(ch, (e) => e.allreduceBlocks(data, into, kernel, unit)).then(() => out);
    } catch (err) {
      return Promise.reject(err);
    }
  }

  private async allreduceMessages<T extends TypedArray>(c: Core, ch: Chan, data: T, dt: DType, o: Op, kernel: Kernel, into: T | undefined): Promise<T> {
    const unit = o.name === 'MINLOC' || o.name === 'MAXLOC' ? 2 : 1;
    if (data.byteLength >= kLongAllreduce && data.length >= c.size * unit && c.size > 1) {
      const out = into ?? (new kDTypes[dt].ctor(data.length) as T);
      this.checkOut(c, out, data.length, dt);
      await longAllreduce(ch, data, out, kernel, unit);
      return out;
    }
    const res = await recursiveDoublingAllreduce(ch, data as TypedArray, typedCombiner(c.rank, data, kernel));
    return this.result(c, res as T, data, into);
  }

  /** allreduce for values (reduce to rank 0 in rank order, then bcast: identical everywhere). */
  async allreduceObject<V = unknown>(value: V, op: Op | string | ((a: V, b: V) => V) = SUM): Promise<V> {
    const c = this.core();
    const o = resolveOp(op, c.rank);
    const ch = this.chan(c);
    const res = await binomialReduce(ch, 0, value, objectCombiner(o), false);
    const bytes = c.rank === 0 ? this.pack(res) : undefined;
    const got = await binomialBcast(ch, 0, bytes);
    return packr.unpack(got ?? bytes!) as V;
  }

  /** Inclusive prefix reduction: rank r gets data(0) op ... op data(r). */
  async scan<T extends TypedArray>(data: T, op: Op | string = SUM, options: OutOption<T> = {}): Promise<T> {
    const c = this.core();
    this.checkArray(data, 'data');
    const o = resolveOp(op, c.rank);
    const kernel = kernelOf(o, data, c.rank);
    const ch = this.chan(c);
    const s = this.shm(c);
    if (s) {
      if (data.byteLength <= slotBytes(c.size)) return (await s.run(ch, (e) => e.gather(bytesOf(data), 'prefix', (parts) => this.foldInto(c, parts, data, kernel, options.out), data.BYTES_PER_ELEMENT)))!;
      await s.run(ch, (e) => e.announce(data.byteLength, data.BYTES_PER_ELEMENT));
    }
    const res = await recursiveDoublingScan(ch, data as TypedArray, typedCombiner(c.rank, data, kernel), false);
    return this.result(c, res as T, data, options.out);
  }

  /**
   * Exclusive prefix reduction: rank r gets data(0) op ... op data(r-1). Rank 0 gets the op's
   * identity (0 for SUM, 1 for PROD, ...; zeros when the op has none), so an exscan of counts
   * gives offsets directly.
   */
  async exscan<T extends TypedArray>(data: T, op: Op | string = SUM, options: OutOption<T> = {}): Promise<T> {
    const c = this.core();
    const dt = this.checkArray(data, 'data');
    const o = resolveOp(op, c.rank);
    const kernel = kernelOf(o, data, c.rank);
    const ch = this.chan(c);
    const s = this.shm(c);
    let res: TypedArray | undefined;
    if (s && data.byteLength <= slotBytes(c.size)) {
      // Rank 0 folds nothing: it gets the identity below, as on the message path.
      const got = await s.run(ch, (e) => e.gather(bytesOf(data), 'prefix', (parts) => (c.rank > 0 ? this.foldInto(c, parts.slice(0, c.rank), data, kernel, options.out) : undefined), data.BYTES_PER_ELEMENT));
      if (got) return got;
    } else {
      // Above a slot: messages, once every rank has agreed on the length (see announce).
      if (s) await s.run(ch, (e) => e.announce(data.byteLength, data.BYTES_PER_ELEMENT));
      res = await recursiveDoublingScan(ch, data as TypedArray, typedCombiner(c.rank, data, kernel), true);
    }
    if (res === undefined) {
      const out = options.out ?? (new kDTypes[dt].ctor(data.length) as T);
      this.checkOut(c, out, data.length, dt);
      const id = o.identity?.(dt);
      (out as unknown as { fill(v: unknown): void }).fill(id ?? (dt === 'int64' || dt === 'uint64' ? 0n : 0));
      return out;
    }
    return this.result(c, res as T, data, options.out);
  }

  /** scan for values. */
  async scanObject<V = unknown>(value: V, op: Op | string | ((a: V, b: V) => V) = SUM): Promise<V> {
    const c = this.core();
    return (await recursiveDoublingScan(this.chan(c), value, objectCombiner(resolveOp(op, c.rank)), false)) as V;
  }

  /** exscan for values: rank 0 gets undefined. */
  async exscanObject<V = unknown>(value: V, op: Op | string | ((a: V, b: V) => V) = SUM): Promise<V | undefined> {
    const c = this.core();
    return recursiveDoublingScan(this.chan(c), value, objectCombiner(resolveOp(op, c.rank)), true) as Promise<V | undefined>;
  }

  /**
   * Gathers equal-length arrays to the root: it gets their concatenation in rank order
   * (size * data.length elements); others get undefined.
   */
  async gather<T extends TypedArray>(data: T, root = 0, options: OutOption<T> = {}): Promise<T | undefined> {
    const c = this.core();
    this.checkRoot(c, root);
    const dt = this.checkArray(data, 'data');
    const ch = this.chan(c);
    const s = this.shm(c);
    // Any size on shared memory: every rank takes the same path whatever the lengths.
    if (s) return s.run(ch, (e) => e.gatherv(bytesOf(data), root, (lens) => this.placeEqual(c, 'gather', data, dt, lens, options.out)));
    const got = await gatherToRoot(ch, root, bytesOf(data));
    if (!got) return undefined;
    return this.concatEqual(c, 'gather', data, dt, got, options.out);
  }

  /** Every rank's equal-length part (`got`, with this rank's own `data`) laid out in rank order. */
  private concatEqual<T extends TypedArray>(c: Core, what: string, data: T, dt: DType, got: readonly (Uint8Array | undefined)[], into?: T): T {
    const n = data.length;
    const out = into ?? (new kDTypes[dt].ctor(n * c.size) as T);
    this.checkOut(c, out, n * c.size, dt);
    const bpe = kDTypes[dt].bytes;
    for (let r = 0; r < c.size; r++) {
      const part = r === c.rank ? bytesOf(data) : got[r]!;
      if (part.byteLength !== n * bpe) throw this.countMismatch(c, what, r, part.byteLength / bpe, n);
      bytesOf(out).set(part, r * n * bpe);
    }
    return out;
  }

  /** Where the root (or every rank) puts every rank's equal-length part, from their byte lengths. */
  private placeEqual<T extends TypedArray>(c: Core, what: string, data: T, dt: DType, lens: readonly number[], into?: T): Placement<T> {
    const n = data.length;
    const out = into ?? (new kDTypes[dt].ctor(n * c.size) as T);
    this.checkOut(c, out, n * c.size, dt);
    const bpe = kDTypes[dt].bytes;
    const bytes = bytesOf(out);
    const dests: Uint8Array[] = [];
    for (let r = 0; r < c.size; r++) {
      if (lens[r] !== n * bpe) throw this.countMismatch(c, what, r, lens[r]! / bpe, n);
      dests.push(bytes.subarray(r * n * bpe, (r + 1) * n * bpe));
    }
    return { into: dests, result: out };
  }

  /** Gathers arrays of any lengths to the root: it gets data, counts and displs. */
  async gatherv<T extends TypedArray>(data: T, root = 0, options: OutOption<T> & { displs?: number[] } = {}): Promise<VResult<T> | undefined> {
    const c = this.core();
    this.checkRoot(c, root);
    const dt = this.checkArray(data, 'data');
    const ch = this.chan(c);
    const s = this.shm(c);
    if (s) return s.run(ch, (e) => e.gatherv(bytesOf(data), root, (lens) => this.placeV<T>(c, lens, dt, options.out, options.displs)));
    const got = await gatherToRoot(ch, root, bytesOf(data));
    if (!got) return undefined;
    got[c.rank] = bytesOf(data);
    return this.assembleV(c, got as Uint8Array[], dt, options.out, options.displs);
  }

  /** Gathers one value per rank to the root (a list in rank order). */
  async gatherObject<V = unknown>(value: V, root = 0): Promise<V[] | undefined> {
    const c = this.core();
    this.checkRoot(c, root);
    const got = await gatherToRoot(this.chan(c), root, this.pack(value));
    if (!got) return undefined;
    return got.map((b, r) => (r === c.rank ? value : (packr.unpack(b!) as V)));
  }

  /**
   * Scatters the root's array in equal blocks (its length must be a multiple of size); rank r
   * gets block r. Non-roots pass null (or anything; ignored).
   */
  async scatter<T extends TypedArray = TypedArray>(data: T | null | undefined, root = 0, options: OutOption<T> = {}): Promise<T> {
    const c = this.core();
    this.checkRoot(c, root);
    if (c.rank === root) {
      const dt = this.checkArray(data, 'data');
      if (data!.length % c.size !== 0) throw new ArgumentError('data', `an array whose length is a multiple of the communicator size ${c.size}`, data!.length, c.rank);
      const counts = new Array<number>(c.size).fill(data!.length / c.size);
      return this.scatterRoot(c, data!, dt, counts, displsOf(counts), options.out);
    }
    const ch = this.chan(c);
    const s = this.shm(c);
    if (s) return this.shmScatterRecv(c, s, ch, root, options.out);
    return this.decodeTyped<T>(c, (await scatterFromRoot(ch, root, undefined))!, options.out, `scatter from root ${root}`);
  }

  /** Scatters blocks of given `counts` (and `displs`) of the root's array; rank r gets block r. */
  async scatterv<T extends TypedArray = TypedArray>(
    data: T | null | undefined, counts: readonly number[] | null | undefined, root = 0, options: OutOption<T> & { displs?: readonly number[] } = {},
  ): Promise<T> {
    const c = this.core();
    this.checkRoot(c, root);
    if (c.rank === root) {
      const dt = this.checkArray(data, 'data');
      const cs = this.checkCounts(c, counts, 'counts');
      const ds = options.displs ? this.checkCounts(c, options.displs, 'displs') : displsOf(cs);
      for (let r = 0; r < c.size; r++) {
        if (ds[r]! + cs[r]! > data!.length) throw new ArgumentError('counts', `blocks inside data (length ${data!.length})`, `rank ${r}: displ ${ds[r]} + count ${cs[r]}`, c.rank);
      }
      return this.scatterRoot(c, data!, dt, cs, ds, options.out);
    }
    const ch = this.chan(c);
    const s = this.shm(c);
    if (s) return this.shmScatterRecv(c, s, ch, root, options.out);
    return this.decodeTyped<T>(c, (await scatterFromRoot(ch, root, undefined))!, options.out, `scatterv from root ${root}`);
  }

  /** Scatters the root's list of `size` values; rank r gets values[r]. */
  async scatterObject<V = unknown>(values: readonly V[] | null | undefined, root = 0): Promise<V> {
    const c = this.core();
    this.checkRoot(c, root);
    if (c.rank === root) {
      if (!Array.isArray(values) || values.length !== c.size) throw new ArgumentError('values', `an array of ${c.size} values (one per rank)`, values, c.rank);
      await scatterFromRoot(this.chan(c), root, values.map((v) => this.pack(v)));
      return values[root]!;
    }
    return packr.unpack((await scatterFromRoot(this.chan(c), root, undefined))!) as V;
  }

  /** Every rank gets the concatenation of every rank's equal-length array, in rank order. */
  async allgather<T extends TypedArray>(data: T, options: OutOption<T> = {}): Promise<T> {
    const c = this.core();
    const dt = this.checkArray(data, 'data');
    const ch = this.chan(c);
    const s = this.shm(c);
    if (s) return (await s.run(ch, (e) => e.gatherv(bytesOf(data), 'all', (lens) => this.placeEqual(c, 'allgather', data, dt, lens, options.out))))!;
    const got = await directAllgather(ch, bytesOf(data));
    return this.concatEqual(c, 'allgather', data, dt, got, options.out);
  }

  /** Every rank gets every rank's array (any lengths): data, counts and displs. */
  async allgatherv<T extends TypedArray>(data: T, options: OutOption<T> & { displs?: number[] } = {}): Promise<VResult<T>> {
    const c = this.core();
    const dt = this.checkArray(data, 'data');
    const ch = this.chan(c);
    const s = this.shm(c);
    if (s) return (await s.run(ch, (e) => e.gatherv(bytesOf(data), 'all', (lens) => this.placeV<T>(c, lens, dt, options.out, options.displs))))!;
    const got = await directAllgather(ch, bytesOf(data));
    got[c.rank] = bytesOf(data);
    return this.assembleV(c, got as Uint8Array[], dt, options.out, options.displs);
  }

  /** Every rank gets the list of every rank's value. */
  async allgatherObject<V = unknown>(value: V): Promise<V[]> {
    const c = this.core();
    const got = await directAllgather(this.chan(c), this.pack(value));
    return got.map((b, r) => (r === c.rank ? value : (packr.unpack(b!) as V)));
  }

  /**
   * All-to-all in equal blocks: `data` holds size blocks; block j goes to rank j, and the
   * result's block i came from rank i. On shared memory (sab) through the slots, any size;
   * on messages, pairwise exchange.
   */
  async alltoall<T extends TypedArray>(data: T, options: OutOption<T> = {}): Promise<T> {
    const c = this.core();
    const dt = this.checkArray(data, 'data');
    if (data.length % c.size !== 0) throw new ArgumentError('data', `an array whose length is a multiple of the communicator size ${c.size}`, data.length, c.rank);
    const n = data.length / c.size;
    const ch = this.chan(c);
    const s = this.shm(c);
    const out = options.out ?? (new kDTypes[dt].ctor(data.length) as T);
    this.checkOut(c, out, data.length, dt);
    const bpe = kDTypes[dt].bytes;
    const place = (got: readonly (Uint8Array | undefined)[]) => {
      for (let r = 0; r < c.size; r++) {
        const part = got[r]!;
        if (part.byteLength !== n * bpe) throw this.countMismatch(c, 'alltoall', r, part.byteLength / bpe, n);
        bytesOf(out).set(part, r * n * bpe);
      }
      return out;
    };
    if (s) {
      // Any size on shared memory: every rank takes the same path whatever the lengths.
      const bytes = bytesOf(out);
      return s.run(ch, (e) => e.alltoall(bytesOf(data), (blocks) => {
        for (let r = 0; r < c.size; r++) if (blocks[r] !== n * bpe) throw this.countMismatch(c, 'alltoall', r, blocks[r]! / bpe, n);
        return { into: blocks.map((_, r) => bytes.subarray(r * n * bpe, (r + 1) * n * bpe)), result: out };
      }));
    }
    const parts = Array.from({ length: c.size }, (_, j) => bytesOf(data.subarray(j * n, (j + 1) * n)));
    const got = await pairwiseAlltoall(ch, parts);
    got[c.rank] = parts[c.rank];
    return place(got);
  }

  /**
   * All-to-all with per-destination `counts` (and `displs`) into `data`; the result holds what
   * each rank sent here, in rank order, with counts and displs.
   */
  async alltoallv<T extends TypedArray>(
    data: T, counts: readonly number[], options: OutOption<T> & { displs?: readonly number[]; recvDispls?: number[] } = {},
  ): Promise<VResult<T>> {
    const c = this.core();
    const dt = this.checkArray(data, 'data');
    const cs = this.checkCounts(c, counts, 'counts');
    const ds = options.displs ? this.checkCounts(c, options.displs, 'displs') : displsOf(cs);
    for (let r = 0; r < c.size; r++) {
      if (ds[r]! + cs[r]! > data.length) throw new ArgumentError('counts', `blocks inside data (length ${data.length})`, `rank ${r}: displ ${ds[r]} + count ${cs[r]}`, c.rank);
    }
    const parts = Array.from({ length: c.size }, (_, j) => bytesOf(data.subarray(ds[j]!, ds[j]! + cs[j]!)));
    const got = await pairwiseAlltoall(this.chan(c), parts);
    got[c.rank] = parts[c.rank]!;
    return this.assembleV(c, got as Uint8Array[], dt, options.out, options.recvDispls);
  }

  /** All-to-all of values: `values[j]` goes to rank j; the result's item i came from rank i. */
  async alltoallObject<V = unknown>(values: readonly V[]): Promise<V[]> {
    const c = this.core();
    if (!Array.isArray(values) || values.length !== c.size) throw new ArgumentError('values', `an array of ${c.size} values (one per rank)`, values, c.rank);
    const got = await pairwiseAlltoall(this.chan(c), values.map((v) => this.pack(v)));
    return got.map((b, r) => (r === c.rank ? values[r]! : (packr.unpack(b!) as V)));
  }

  /**
   * Reduces elementwise, then scatters the result in equal blocks: rank r gets block r
   * (data.length must be a multiple of size).
   */
  async reduceScatterBlock<T extends TypedArray>(data: T, op: Op | string = SUM, options: OutOption<T> = {}): Promise<T> {
    const c = this.core();
    this.checkArray(data, 'data');
    if (data.length % c.size !== 0) throw new ArgumentError('data', `an array whose length is a multiple of the communicator size ${c.size}`, data.length, c.rank);
    return this.reduceScatterImpl(c, data, new Array(c.size).fill(data.length / c.size), op, options.out);
  }

  /** Reduces elementwise, then scatters blocks of `counts`: rank r gets counts[r] elements. */
  async reduceScatter<T extends TypedArray>(data: T, counts: readonly number[], op: Op | string = SUM, options: OutOption<T> = {}): Promise<T> {
    const c = this.core();
    this.checkArray(data, 'data');
    const cs = this.checkCounts(c, counts, 'counts');
    const total = cs.reduce((a, b) => a + b, 0);
    if (total !== data.length) throw new ArgumentError('counts', `counts summing to data.length (${data.length})`, cs, c.rank);
    return this.reduceScatterImpl(c, data, cs, op, options.out);
  }

  /** reduceScatter for values: `values` has one item per rank; rank r gets the reduction of items r. */
  async reduceScatterObject<V = unknown>(values: readonly V[], op: Op | string | ((a: V, b: V) => V) = SUM): Promise<V> {
    const c = this.core();
    if (!Array.isArray(values) || values.length !== c.size) throw new ArgumentError('values', `an array of ${c.size} values (one per rank)`, values, c.rank);
    const o = resolveOp(op, c.rank);
    const got = await pairwiseAlltoall(this.chan(c), values.map((v) => this.pack(v)));
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
    if (!Number.isInteger(color) || (color < 0 && color !== UNDEFINED)) throw new ArgumentError('color', 'a non-negative integer or UNDEFINED', color, c.rank);
    if (!Number.isInteger(key) || Math.abs(key) > 2 ** 31 - 1) throw new ArgumentError('key', 'an int32', key, c.rank);
    const all = await this.allgather(new Int32Array([color, key]));
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
    if (!(group instanceof Group)) throw new ArgumentError('group', 'a Group (from comm.group.include/exclude)', group, c.rank);
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
    contexts().release(c.p2p);
  }

  // Internals
  // ---------

  /** @internal The communicator's shared-memory collectives, where its ranks share memory. */
  protected shm(c: Core): ShmRunner | undefined {
    if (c.shm === undefined) c.shm = shmEnabled(c.t, c.size) ? new ShmRunner(c.t, c.ranks) : null;
    return c.shm ?? undefined;
  }

  /** bcast through shared memory: the root's bytes go through the arena, one copy in, one out. */
  private async shmBcast<T extends TypedArray>(c: Core, s: ShmRunner, ch: Chan, data: T | null | undefined, root: number, out: T | undefined): Promise<T> {
    if (c.rank === root) {
      const dt = this.checkArray(data, 'data');
      await s.run(ch, (e) => e.bcast(root, bytesOf(data!), DTYPES.indexOf(dt)));
      if (out && out !== data) return this.copyOut(c, out, bytesOf(data!), dt);
      return data!;
    }
    let res: T | undefined;
    await s.run(ch, (e) => e.bcast(root, undefined, 0, (len, code) => bytesOf((res = this.destFor(c, out, len, code)))));
    return res!;
  }

  /** A non-root's scatter(v) through shared memory: its block lands in `out` or a new array. */
  private async shmScatterRecv<T extends TypedArray>(c: Core, s: ShmRunner, ch: Chan, root: number, out: T | undefined): Promise<T> {
    let res: T | undefined;
    await s.run(ch, (e) => e.scatterv(root, undefined, 0, (len, code) => bytesOf((res = this.destFor(c, out, len, code)))));
    return res!;
  }

  /** Where a non-root puts `len` bytes of dtype `code` from the root: the start of `out`, or a new array. */
  private destFor<T extends TypedArray>(c: Core, out: T | undefined, len: number, code: number): T {
    const dtype = DTYPES[code]!;
    const n = len / kDTypes[dtype].bytes;
    if (!out) return new kDTypes[dtype].ctor(n) as T;
    this.checkOut(c, out, n, dtype);
    return out.subarray(0, n) as T;
  }

  /** Folds every rank's part (equal lengths, rank order) into `out` or a new array. */
  private foldInto<T extends TypedArray>(c: Core, parts: readonly Uint8Array[], data: T, kernel: Kernel, out: T | undefined): T {
    const dt = dtypeOf(data)!;
    const res = out ?? (new kDTypes[dt].ctor(data.length) as T);
    this.checkOut(c, res, data.length, dt);
    foldParts(parts, dt, data.length, kernel, res.length === data.length ? res : res.subarray(0, data.length), c.rank);
    return res;
  }

  /** @internal The next collective's channel. */
  protected chan(c: Core): Chan {
    return new CollChan(c.t, c.ranks, c.coll, c.seq++ & 0x7fffffff, c.rank, c.size);
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
    const dt = ArrayBuffer.isView(data) && !(data instanceof DataView) ? dtypeOf(data) : undefined;
    if (!dt) throw new ArgumentError(argument, 'a typed array (use the *Object method for other values)', data, this.core().rank);
    return dt;
  }

  private checkCounts(c: Core, counts: unknown, argument: string): number[] {
    const ok = Array.isArray(counts) && counts.length === c.size && counts.every((n) => Number.isSafeInteger(n) && n >= 0);
    if (!ok) throw new ArgumentError(argument, `an array of ${c.size} non-negative integers (one per rank)`, counts, c.rank);
    return [...(counts as number[])];
  }

  private checkOut(c: Core, out: TypedArray, length: number, dtype: DType): void {
    if (dtypeOf(out) !== dtype || out.length < length) {
      throw new ArgumentError('out', `a ${dtype} array of at least ${length} elements`, out, c.rank);
    }
  }

  private countMismatch(c: Core, what: string, r: number, got: number, expected: number): ArgumentError {
    return new ArgumentError('data', `the same length on every rank for ${what} (use the v form for different lengths)`, `rank ${r} sent ${got} elements, this rank ${expected}`, c.rank);
  }

  private pack(value: unknown): Uint8Array {
    try {
      return packr.pack(value);
    } catch (err) {
      throw new ArgumentError('value', 'a value msgpack can encode', `${typeof value}: ${(err as Error).message}`, this.core().rank);
    }
  }

  /** Returns the reduction result: `res` is fresh unless it is the input itself (P = 1). */
  private result<T extends TypedArray>(c: Core, res: T, input: T, out: T | undefined): T {
    if (out) {
      if (out !== res) {
        this.checkOut(c, out, input.length, dtypeOf(input)!);
        copyElems(out, res);
      }
      return out;
    }
    return (res === input ? input.slice() : res) as T;
  }

  private copyOut<T extends TypedArray>(c: Core, out: T, bytes: Uint8Array, dtype: DType): T {
    const bpe = kDTypes[dtype].bytes;
    this.checkOut(c, out, bytes.byteLength / bpe, dtype);
    bytesOf(out).set(bytes);
    return out.subarray(0, bytes.byteLength / bpe) as T;
  }

  private decodeTyped<T extends TypedArray>(c: Core, msg: Uint8Array, out: T | undefined, what: string): T {
    const code = msg[0]!;
    const dtype = DTYPES[code];
    if (!dtype || msg.byteLength < kHeaderBytes) {
      throw new ArgumentError('message', `a typed-array message for ${what}`, code === kObjectCode ? 'an object message (use the *Object method)' : `code ${code}`, c.rank);
    }
    const body = msg.subarray(kHeaderBytes);
    if (out) return this.copyOut(c, out, body, dtype);
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

  private async scatterRoot<T extends TypedArray>(c: Core, data: T, dt: DType, counts: number[], displs: number[], out: T | undefined): Promise<T> {
    const ch = this.chan(c);
    const s = this.shm(c);
    if (s) {
      const blocks = counts.map((n, r) => bytesOf(data.subarray(displs[r]!, displs[r]! + n)));
      await s.run(ch, (e) => e.scatterv(c.rank, blocks, DTYPES.indexOf(dt)));
    } else {
      const h = headerOf(dt);
      await scatterFromRoot(ch, c.rank, counts.map((n, r): Payload => [h, bytesOf(data.subarray(displs[r]!, displs[r]! + n))]));
    }
    const mine = data.subarray(displs[c.rank]!, displs[c.rank]! + counts[c.rank]!) as T;
    if (out) return this.copyOut(c, out, bytesOf(mine), dt);
    return mine.slice() as T;
  }

  private assembleV<T extends TypedArray>(c: Core, parts: Uint8Array[], dt: DType, out: T | undefined, displs: readonly number[] | undefined): VResult<T> {
    const { into, result } = this.placeV<T>(c, parts.map((p) => p.byteLength), dt, out, displs);
    for (let r = 0; r < c.size; r++) into[r]!.set(parts[r]!);
    return result;
  }

  /** The result of a v-gather from every rank's byte length, and where each rank's part goes in it. */
  private placeV<T extends TypedArray>(c: Core, lens: readonly number[], dt: DType, out: T | undefined, displs: readonly number[] | undefined): Placement<VResult<T>> {
    const bpe = kDTypes[dt].bytes;
    const counts = lens.map((n, r) => {
      if (n % bpe !== 0) throw new ArgumentError('data', `${dt} arrays on every rank`, `rank ${r} sent ${n} bytes`, c.rank);
      return n / bpe;
    });
    const ds = displs ? this.checkCounts(c, displs, 'displs') : displsOf(counts);
    let end = 0;
    for (let r = 0; r < c.size; r++) end = Math.max(end, ds[r]! + counts[r]!);
    const res = out ?? (new kDTypes[dt].ctor(end) as T);
    this.checkOut(c, res, end, dt);
    const bytes = bytesOf(res);
    const into = counts.map((n, r) => bytes.subarray(ds[r]! * bpe, (ds[r]! + n) * bpe));
    return { into, result: { data: res, counts, displs: ds } };
  }

  private async reduceScatterImpl<T extends TypedArray>(c: Core, data: T, counts: number[], op: Op | string, out: T | undefined): Promise<T> {
    const dt = dtypeOf(data)!;
    const o = resolveOp(op, c.rank);
    const kernel = kernelOf(o, data, c.rank);
    const displs = displsOf(counts);
    const res = out ?? (new kDTypes[dt].ctor(counts[c.rank]!) as T);
    this.checkOut(c, res, counts[c.rank]!, dt);
    await reduceScatterInto(this.chan(c), data, counts, displs, res.subarray(0, counts[c.rank]!), kernel);
    return res;
  }
}

const barrierStep = (e: ShmEngine) => e.barrier();

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
