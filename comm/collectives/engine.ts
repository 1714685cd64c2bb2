/**
 * Collective engines. A Communicator picks one engine when it first runs a collective
 * (pickEngine) and keeps it: every collective method is then validate -> engine -> result,
 * with no per-method choice of path.
 *
 * - MessageEngine: the tree, dissemination and exchange algorithms over byte messages on the
 *   communicator's collective context (any backend).
 * - SharedMemoryEngine: where the ranks share memory (sab), the typed collectives through
 *   one shared arena per communicator (collectives/shm.ts); the object collectives, alltoallv
 *   and reduce-scatter stay on messages.
 * - A backend's own (an MPI library's collectives): registered with registerCollectiveEngine
 *   by the backend's descriptor; it may extend MessageEngine and override what it has.
 *
 * Engines get arguments already validated on this rank (Communicator does that) and a CollChan
 * that carries the call's sequence number and signature; they return the result. `refuse`
 * enters a call whose arguments this rank rejected, the way the engine runs that operation,
 * so every rank that waits for this one raises the error too (collectives/guard.ts).
 */
import { ArgumentError } from '../../util/errors.js';
import { bytesOf, DTYPES, dtypeOf, kDTypes, viewOf, type DType, type TypedArray } from '../../util/dtype.js';
import type { Payload, Transport } from '../transport.js';
import type { Kernel, Op } from '../ops.js';
import { displsOf } from './chan.js';
import { binomialBcast, binomialReduce, disseminationBarrier, recursiveDoublingAllreduce, recursiveDoublingScan } from './tree.js';
import { directAllgather, gatherToRoot, pairwiseAlltoall, scatterFromRoot } from './exchange.js';
import { foldParts, kFoldAllBytes, shmEnabled, ShmRunner, slotBytes, type ShmEngine, type Placement } from './shm.js';
import { copyElems, longAllreduce, objectCombiner, reduceScatterInto, typedCombiner, type CollChan } from './typed.js';
import { chainBcast, kSegmentBytes, ringAllgather, ringAllreduce, segmentsOf } from './ring.js';
import { blockCounts } from './chan.js';
import type { CollOp } from './guard.js';
import { choose, kAlgorithms, kBcastTreeBytes, kChainSegmentBytes, recorded } from './choose.js';

/** Typed-array results of the v-collectives: the data and where each rank's part lies. */
export interface VResult<T extends TypedArray = TypedArray> {
  data: T;
  /** Elements per rank. */
  counts: number[];
  /** Offset (in elements) of each rank's part in `data`. */
  displs: number[];
}

/** Typed message header: 8 bytes, byte 0 the dtype index (255: an object message). */
export const kHeaderBytes = 8;
export const kObjectCode = 255;
const kHeaders: Uint8Array[] = [...DTYPES.map((_, i) => i), kObjectCode].map((code) => {
  const h = new Uint8Array(kHeaderBytes);
  h[0] = code;
  return h;
});
export const kObjectHeader = kHeaders[kHeaders.length - 1]!;

export function headerOf(dtype: DType): Uint8Array {
  return kHeaders[DTYPES.indexOf(dtype)]!;
}

type T = TypedArray;

/** What every engine implements (typed collectives on TypedArrays, object ones on msgpack bytes). */
export interface CollEngine {
  /** 'messages', 'shm', or the backend's name. */
  readonly kind: string;
  barrier(ch: CollChan): Promise<void>;
  /** The root passes `data` (its dtype `dt`); others undefined. */
  bcast(ch: CollChan, data: T | undefined, root: number, out: T | undefined): Promise<T>;
  /** The root passes its packed value and gets undefined; others get the bytes. */
  bcastObject(ch: CollChan, bytes: Uint8Array | undefined, root: number): Promise<Uint8Array | undefined>;
  reduce(ch: CollChan, data: T, op: Op, kernel: Kernel, root: number, out: T | undefined): Promise<T | undefined>;
  reduceObject(ch: CollChan, value: unknown, op: Op, root: number): Promise<unknown>;
  allreduce(ch: CollChan, data: T, op: Op, kernel: Kernel, out: T | undefined): Promise<T>;
  allreduceObject(ch: CollChan, value: unknown, op: Op, pack: (v: unknown) => Uint8Array, unpack: (b: Uint8Array) => unknown): Promise<unknown>;
  /** Inclusive or exclusive scan; an exclusive scan returns undefined on rank 0. */
  scan(ch: CollChan, data: T, op: Op, kernel: Kernel, exclusive: boolean, out: T | undefined): Promise<T | undefined>;
  scanObject(ch: CollChan, value: unknown, op: Op, exclusive: boolean): Promise<unknown>;
  gather(ch: CollChan, data: T, root: number, out: T | undefined): Promise<T | undefined>;
  gatherv(ch: CollChan, data: T, root: number, out: T | undefined, displs: readonly number[] | undefined): Promise<VResult | undefined>;
  /** The root gets every rank's bytes by rank (its own slot undefined). */
  gatherObject(ch: CollChan, bytes: Uint8Array, root: number): Promise<(Uint8Array | undefined)[] | undefined>;
  /** The root passes its array and every rank's (count, displ); every rank gets its block. */
  scatterv(ch: CollChan, root: number, data: T | undefined, counts: number[] | undefined, displs: number[] | undefined, out: T | undefined): Promise<T>;
  scatterObject(ch: CollChan, root: number, parts: Uint8Array[] | undefined): Promise<Uint8Array | undefined>;
  allgather(ch: CollChan, data: T, out: T | undefined): Promise<T>;
  allgatherv(ch: CollChan, data: T, out: T | undefined, displs: readonly number[] | undefined): Promise<VResult>;
  allgatherObject(ch: CollChan, bytes: Uint8Array): Promise<(Uint8Array | undefined)[]>;
  alltoall(ch: CollChan, data: T, out: T | undefined): Promise<T>;
  alltoallv(ch: CollChan, data: T, counts: number[], displs: number[], out: T | undefined, recvDispls: number[] | undefined): Promise<VResult>;
  alltoallObject(ch: CollChan, parts: Uint8Array[]): Promise<(Uint8Array | undefined)[]>;
  reduceScatter(ch: CollChan, data: T, counts: number[], kernel: Kernel, out: T | undefined): Promise<T>;
  /** Enters call `op` refusing this rank's arguments (`err`), then rejects with `err`. */
  refuse(ch: CollChan, op: CollOp, err: unknown): Promise<never>;
}

/** A backend's native engine: made per communicator, or undefined to use the default. */
export type CollEngineFactory = (t: Transport, ranks: readonly number[] | null, size: number) => CollEngine | undefined;

const native = new Map<string, CollEngineFactory>();

/** Registers the collective engine of backend `name` (its descriptor does this). */
export function registerCollectiveEngine(name: string, factory: CollEngineFactory): void {
  native.set(name, factory);
}

/** The engine a communicator of `size` ranks on `t` uses, chosen once per communicator. */
export function pickEngine(t: Transport, ranks: readonly number[] | null, size: number): CollEngine {
  const own = native.get(t.backend)?.(t, ranks, size);
  if (own) return own;
  if (shmEnabled(t, size)) return new SharedMemoryEngine(t, ranks);
  return kMessages;
}

// Result helpers (every engine's results take the same shapes and errors)
// ------------------------------------------------------------------------

export function checkOut(ch: CollChan, out: TypedArray, length: number, dtype: DType): void {
  if (dtypeOf(out) !== dtype || out.length < length) {
    throw new ArgumentError('out', `a ${dtype} array of at least ${length} elements`, out, ch.rank);
  }
}

export function countMismatch(ch: CollChan, what: string, r: number, got: number, expected: number): ArgumentError {
  return new ArgumentError('data', `the same length on every rank for ${what} (use the v form for different lengths)`, `rank ${r} sent ${got} elements, this rank ${expected}`, ch.rank);
}

export function checkCounts(ch: { rank: number; size: number }, counts: unknown, argument: string): number[] {
  const ok = Array.isArray(counts) && counts.length === ch.size && counts.every((n) => Number.isSafeInteger(n) && n >= 0);
  if (!ok) throw new ArgumentError(argument, `an array of ${ch.size} non-negative integers (one per rank)`, counts, ch.rank);
  return [...(counts as number[])];
}

/** Returns the reduction result: `res` is fresh unless it is the input itself (P = 1). */
function result<R extends TypedArray>(ch: CollChan, res: R, input: R, out: R | undefined): R {
  if (out) {
    if (out !== res) {
      checkOut(ch, out, input.length, dtypeOf(input)!);
      copyElems(out, res);
    }
    return out;
  }
  return (res === input ? input.slice() : res) as R;
}

export function copyOut<R extends TypedArray>(ch: CollChan, out: R, bytes: Uint8Array, dtype: DType): R {
  const bpe = kDTypes[dtype].bytes;
  checkOut(ch, out, bytes.byteLength / bpe, dtype);
  bytesOf(out).set(bytes);
  return out.subarray(0, bytes.byteLength / bpe) as R;
}

export function decodeTyped<R extends TypedArray>(ch: CollChan, msg: Uint8Array, out: R | undefined, what: string): R {
  const code = msg[0]!;
  const dtype = DTYPES[code];
  if (!dtype || msg.byteLength < kHeaderBytes) {
    throw new ArgumentError('message', `a typed-array message for ${what}`, code === kObjectCode ? 'an object message (use the *Object method)' : `code ${code}`, ch.rank);
  }
  const body = msg.subarray(kHeaderBytes);
  if (out) return copyOut(ch, out, body, dtype);
  return viewOf(dtype, body.buffer, body.byteOffset, body.byteLength / kDTypes[dtype].bytes) as R;
}

/** Where a non-root puts `len` bytes of dtype `code` from the root: the start of `out`, or a new array. */
function destFor<R extends TypedArray>(ch: CollChan, out: R | undefined, len: number, code: number): R {
  const dtype = DTYPES[code]!;
  const n = len / kDTypes[dtype].bytes;
  if (!out) return new kDTypes[dtype].ctor(n) as R;
  checkOut(ch, out, n, dtype);
  return out.subarray(0, n) as R;
}

/** Folds every rank's part (equal lengths, rank order) into `out` or a new array. */
function foldInto<R extends TypedArray>(ch: CollChan, parts: readonly Uint8Array[], data: R, kernel: Kernel, out: R | undefined): R {
  const dt = dtypeOf(data)!;
  const res = out ?? (new kDTypes[dt].ctor(data.length) as R);
  checkOut(ch, res, data.length, dt);
  foldParts(parts, dt, data.length, kernel, res.length === data.length ? res : res.subarray(0, data.length), ch.rank);
  return res;
}

/** Every rank's equal-length part (`got`, with this rank's own `data`) laid out in rank order. */
function concatEqual<R extends TypedArray>(ch: CollChan, what: string, data: R, got: readonly (Uint8Array | undefined)[], into?: R): R {
  const dt = dtypeOf(data)!;
  const n = data.length;
  const out = into ?? (new kDTypes[dt].ctor(n * ch.size) as R);
  checkOut(ch, out, n * ch.size, dt);
  const bpe = kDTypes[dt].bytes;
  for (let r = 0; r < ch.size; r++) {
    const part = r === ch.rank ? bytesOf(data) : got[r]!;
    if (part.byteLength !== n * bpe) throw countMismatch(ch, what, r, part.byteLength / bpe, n);
    bytesOf(out).set(part, r * n * bpe);
  }
  return out;
}

/** Where the root (or every rank) puts every rank's equal-length part, from their byte lengths. */
function placeEqual<R extends TypedArray>(ch: CollChan, what: string, data: R, lens: readonly number[], into?: R): Placement<R> {
  const dt = dtypeOf(data)!;
  const n = data.length;
  const out = into ?? (new kDTypes[dt].ctor(n * ch.size) as R);
  checkOut(ch, out, n * ch.size, dt);
  const bpe = kDTypes[dt].bytes;
  const bytes = bytesOf(out);
  const dests: Uint8Array[] = [];
  for (let r = 0; r < ch.size; r++) {
    if (lens[r] !== n * bpe) throw countMismatch(ch, what, r, lens[r]! / bpe, n);
    dests.push(bytes.subarray(r * n * bpe, (r + 1) * n * bpe));
  }
  return { into: dests, result: out };
}

/** The result of a v-gather from every rank's byte length, and where each rank's part goes in it. */
function placeV(ch: CollChan, lens: readonly number[], dt: DType, out: TypedArray | undefined, displs: readonly number[] | undefined): Placement<VResult> {
  const bpe = kDTypes[dt].bytes;
  const counts = lens.map((n, r) => {
    if (n % bpe !== 0) throw new ArgumentError('data', `${dt} arrays on every rank`, `rank ${r} sent ${n} bytes`, ch.rank);
    return n / bpe;
  });
  const ds = displs ? checkCounts(ch, displs, 'displs') : displsOf(counts);
  let end = 0;
  for (let r = 0; r < ch.size; r++) end = Math.max(end, ds[r]! + counts[r]!);
  const res = out ?? new kDTypes[dt].ctor(end);
  checkOut(ch, res, end, dt);
  const bytes = bytesOf(res);
  const into = counts.map((n, r) => bytes.subarray(ds[r]! * bpe, (ds[r]! + n) * bpe));
  return { into, result: { data: res, counts, displs: ds } };
}

function assembleV(ch: CollChan, parts: Uint8Array[], dt: DType, out: TypedArray | undefined, displs: readonly number[] | undefined): VResult {
  const { into, result: res } = placeV(ch, parts.map((p) => p.byteLength), dt, out, displs);
  for (let r = 0; r < ch.size; r++) into[r]!.set(parts[r]!);
  return res;
}

/**
 * `make()`, or when that throws (this rank's `out` or `displs` is wrong) `fresh()` and the
 * error: a rank in the middle of a ring or chain must still pass the data on, and raise after.
 */
function orFresh<R>(make: () => R, fresh: () => R): [R, unknown] {
  try {
    return [make(), undefined];
  } catch (err) {
    return [fresh(), err];
  }
}

const unitOf = (op: Op) => (op.name === 'MINLOC' || op.name === 'MAXLOC' ? 2 : 1);

// Messages
// --------

/** The message algorithms: every backend. */
export class MessageEngine implements CollEngine {
  readonly kind: string = 'messages';

  barrier(ch: CollChan): Promise<void> {
    return disseminationBarrier(ch);
  }

  /**
   * The root chooses (collectives/choose.ts): a binomial tree for everything, or the tree for
   * the first kBcastTreeBytes (with the dtype, the whole length and the choice, which only
   * the root knows) and a pipelined chain for the rest. Every non-root rank receives straight
   * into `out` when it has one (the tree's message lands wherever it fits in `out`).
   */
  bcast(ch: CollChan, data: T | undefined, root: number, out: T | undefined): Promise<T> {
    let algo = '';
    let n = 0;
    const set = (a: string, bytes: number) => void ((algo = a), (n = bytes));
    return recorded(ch, 'bcast', () => (ch.rank === root ? this.bcastRoot(ch, data!, root, out, set) : this.bcastLeaf(ch, root, out, set)), () => ({ algorithm: algo, choice: algo, bytes: n }));
  }

  private async bcastRoot(ch: CollChan, data: T, root: number, out: T | undefined, set: (algo: string, bytes: number) => void): Promise<T> {
    const dt = dtypeOf(data)!;
    const bytes = bytesOf(data);
    const algo = choose('bcast', ch.size, bytes.byteLength);
    set(algo, bytes.byteLength);
    const meta = new Uint8Array(16);
    meta[0] = DTYPES.indexOf(dt);
    meta[1] = kAlgorithms.bcast.indexOf(algo);
    new DataView(meta.buffer).setFloat64(8, bytes.byteLength, true);
    const first = Math.min(bytes.byteLength, algo === 'chain' ? kBcastTreeBytes : Infinity);
    await binomialBcast(ch, root, [meta, bytes.subarray(0, first)]);
    if (bytes.byteLength > first) await chainBcast(ch, root, segmentsOf(bytes.subarray(first), kChainSegmentBytes));
    if (out && out !== data) return copyOut(ch, out, bytes, dt);
    return data;
  }

  private async bcastLeaf(ch: CollChan, root: number, out: T | undefined, set: (algo: string, bytes: number) => void): Promise<T> {
    const head = new Uint8Array(24);
    const got = (await binomialBcast(ch, root, undefined, { head, into: out ? bytesOf(out) : undefined }))!;
    const dtype = DTYPES[head[8]!];
    const algo = kAlgorithms.bcast[head[9]!];
    if (!dtype || !algo) throw new ArgumentError('message', `a typed-array message for bcast from root ${root}`, `code ${head[8]}, algorithm ${head[9]}`, ch.rank);
    const total = new DataView(head.buffer).getFloat64(16, true);
    set(algo, total);
    const bpe = kDTypes[dtype].bytes;
    // The root's choice: the first bytes came down the tree, the rest come down the chain.
    const first = Math.min(total, algo === 'chain' ? kBcastTreeBytes : Infinity);
    // The destination: `out` if it fits, else a new array (and an error once the chain has passed on).
    let err: unknown;
    let res: T | undefined;
    if (out) {
      try {
        checkOut(ch, out, total / bpe, dtype);
        res = out.subarray(0, total / bpe) as T;
      } catch (e) {
        err = e;
      }
    }
    if (!out && total === first && got.byteLength === total) return viewOf(dtype, got.buffer, got.byteOffset, total / bpe) as T;
    res ??= new kDTypes[dtype].ctor(total / bpe) as T;
    const rb = bytesOf(res);
    if (got.byteLength !== first) err ??= new ArgumentError('message', `${first} bytes from root ${root}`, got.byteLength, ch.rank);
    else if (got.buffer !== rb.buffer || got.byteOffset !== rb.byteOffset) rb.set(got);
    if (total > first && !(await chainBcast(ch, root, segmentsOf(rb.subarray(first, total), kChainSegmentBytes)))) {
      err ??= new ArgumentError('message', `${total} bytes from root ${root}`, 'segments of other lengths', ch.rank);
    }
    if (err) throw err;
    return res;
  }

  bcastObject(ch: CollChan, bytes: Uint8Array | undefined, root: number): Promise<Uint8Array | undefined> {
    return binomialBcast(ch, root, bytes);
  }

  async reduce(ch: CollChan, data: T, op: Op, kernel: Kernel, root: number, out: T | undefined): Promise<T | undefined> {
    const res = await binomialReduce(ch, root, data, typedCombiner(ch.rank, data, kernel), op.commutative);
    if (ch.rank !== root) return undefined;
    return result(ch, res!, data, out);
  }

  reduceObject(ch: CollChan, value: unknown, op: Op, root: number): Promise<unknown> {
    return binomialReduce(ch, root, value, objectCombiner(op), op.commutative);
  }

  /**
   * Recursive doubling, or (collectives/choose.ts) reduce-scatter + allgather: a ring for
   * commutative ops, pairwise in rank order for the others. The ring needs a block per rank.
   */
  allreduce(ch: CollChan, data: T, op: Op, kernel: Kernel, into: T | undefined): Promise<T> {
    const unit = unitOf(op);
    const ring = data.length >= ch.size * unit && ch.size > 1 && choose('allreduce', ch.size, data.byteLength) === 'ring';
    const algo = !ring ? 'recursive-doubling' : op.commutative ? 'ring' : 'pairwise';
    return recorded(ch, 'allreduce', () => this.allreduceWith(ring, ch, data, op, kernel, into), () => ({ algorithm: algo, choice: ring ? 'ring' : algo, bytes: data.byteLength }));
  }

  private async allreduceWith(ring: boolean, ch: CollChan, data: T, op: Op, kernel: Kernel, into: T | undefined): Promise<T> {
    const unit = unitOf(op);
    if (ring) {
      const dt = dtypeOf(data)!;
      const out = into ?? new kDTypes[dt].ctor(data.length);
      checkOut(ch, out, data.length, dt);
      if (!op.commutative) {
        // Rank order: the owner of each block folds every rank's part of it in rank order.
        await longAllreduce(ch, data, out, kernel, unit);
        return out;
      }
      const counts = blockCounts(data.length / unit, ch.size).map((n) => n * unit);
      const res = out.length === data.length ? out : (out.subarray(0, data.length) as T);
      // The ring folds into `out` as partials arrive: in place (out over data) it needs the input apart.
      const src = out.buffer === data.buffer ? (data.slice() as T) : data;
      if (!(await ringAllreduce(ch, src, res, kernel, counts, displsOf(counts), unit, kSegmentBytes))) throw countMismatch(ch, 'allreduce', ch.rank, -1, data.length);
      return out;
    }
    const res = await recursiveDoublingAllreduce(ch, data, typedCombiner(ch.rank, data, kernel));
    return result(ch, res, data, into);
  }

  async allreduceObject(ch: CollChan, value: unknown, op: Op, pack: (v: unknown) => Uint8Array, unpack: (b: Uint8Array) => unknown): Promise<unknown> {
    const res = await binomialReduce(ch, 0, value, objectCombiner(op), false);
    const bytes = ch.rank === 0 ? pack(res) : undefined;
    const got = await binomialBcast(ch, 0, bytes);
    return unpack(got ?? bytes!);
  }

  async scan(ch: CollChan, data: T, op: Op, kernel: Kernel, exclusive: boolean, out: T | undefined): Promise<T | undefined> {
    const res = await recursiveDoublingScan(ch, data, typedCombiner(ch.rank, data, kernel), exclusive);
    return res === undefined ? undefined : result(ch, res, data, out);
  }

  scanObject(ch: CollChan, value: unknown, op: Op, exclusive: boolean): Promise<unknown> {
    return recursiveDoublingScan(ch, value, objectCombiner(op), exclusive);
  }

  async gather(ch: CollChan, data: T, root: number, out: T | undefined): Promise<T | undefined> {
    const got = await gatherToRoot(ch, root, bytesOf(data));
    if (!got) return undefined;
    return concatEqual(ch, 'gather', data, got, out);
  }

  async gatherv(ch: CollChan, data: T, root: number, out: T | undefined, displs: readonly number[] | undefined): Promise<VResult | undefined> {
    const got = await gatherToRoot(ch, root, bytesOf(data));
    if (!got) return undefined;
    got[ch.rank] = bytesOf(data);
    return assembleV(ch, got as Uint8Array[], dtypeOf(data)!, out, displs);
  }

  gatherObject(ch: CollChan, bytes: Uint8Array, root: number): Promise<(Uint8Array | undefined)[] | undefined> {
    return gatherToRoot(ch, root, bytes);
  }

  async scatterv(ch: CollChan, root: number, data: T | undefined, counts: number[] | undefined, displs: number[] | undefined, out: T | undefined): Promise<T> {
    if (ch.rank !== root) return decodeTyped(ch, (await scatterFromRoot(ch, root, undefined))!, out, `scatter from root ${root}`);
    const dt = dtypeOf(data!)!;
    const h = headerOf(dt);
    await scatterFromRoot(ch, root, counts!.map((n, r): Payload => [h, bytesOf(data!.subarray(displs![r]!, displs![r]! + n))]));
    return mine(ch, data!, dt, counts!, displs!, out);
  }

  scatterObject(ch: CollChan, root: number, parts: Uint8Array[] | undefined): Promise<Uint8Array | undefined> {
    return scatterFromRoot(ch, root, parts);
  }

  /** To every rank directly, or (collectives/choose.ts; every rank's length is the same) a ring, straight into place. */
  allgather(ch: CollChan, data: T, out: T | undefined): Promise<T> {
    const algo = ch.size === 1 ? 'direct' : choose('allgather', ch.size, data.byteLength);
    return recorded(ch, 'allgather', () => this.allgatherWith(algo, ch, data, out), () => ({ algorithm: algo, choice: algo, bytes: data.byteLength }));
  }

  private async allgatherWith(algo: string, ch: CollChan, data: T, out: T | undefined): Promise<T> {
    if (algo === 'direct') {
      const got = await directAllgather(ch, bytesOf(data));
      return concatEqual(ch, 'allgather', data, got, out);
    }
    const lens = new Array<number>(ch.size).fill(data.byteLength);
    // A short `out` here still takes its turn in the ring (into a new array), then raises.
    const [place, err] = orFresh(() => placeEqual(ch, 'allgather', data, lens, out), () => placeEqual(ch, 'allgather', data, lens));
    const { into, result: res } = place;
    into[ch.rank]!.set(bytesOf(data));
    const blocks = into.map((b) => segmentsOf(b!, kSegmentBytes));
    if (!(await ringAllgather(ch, blocks, ch.rank))) throw countMismatch(ch, 'allgather', ch.rank, -1, data.length);
    if (err) throw err;
    return res;
  }

  /**
   * One direct exchange of every rank's length, with its part when the direct algorithm is
   * chosen for that length (collectives/choose.ts); the other parts then go round a ring,
   * straight into place (every rank knows every length, so every choice, by then).
   */
  allgatherv(ch: CollChan, data: T, out: T | undefined, displs: readonly number[] | undefined): Promise<VResult> {
    let ringed = false;
    return recorded(ch, 'allgatherv', () => this.allgathervWith(ch, data, out, displs, (r) => (ringed = r)), () => ({ algorithm: ringed ? 'direct+ring' : 'direct', bytes: data.byteLength }));
  }

  private async allgathervWith(ch: CollChan, data: T, out: T | undefined, displs: readonly number[] | undefined, ringed: (any: boolean) => void): Promise<VResult> {
    const mine = bytesOf(data);
    const len = new Float64Array([mine.byteLength]);
    const direct = (n: number) => ch.size === 1 || choose('allgather', ch.size, n) === 'direct';
    const inline = direct(mine.byteLength);
    const got = await directAllgather(ch, inline ? [bytesOf(len), mine] : bytesOf(len));
    const lens = got.map((m, r) => (r === ch.rank ? mine.byteLength : new DataView(m!.buffer, m!.byteOffset, 8).getFloat64(0, true)));
    const dt = dtypeOf(data)!;
    const [place, err] = orFresh(() => placeV(ch, lens, dt, out, displs), () => placeV(ch, lens, dt, undefined, undefined));
    const { into, result: res } = place;
    const blocks: Uint8Array[][] = [];
    for (let r = 0; r < ch.size; r++) {
      const dst = into[r]!;
      const long = !direct(lens[r]!);
      blocks.push(long ? segmentsOf(dst, kSegmentBytes) : []);
      if (r === ch.rank) dst.set(mine);
      else if (!long) dst.set(got[r]!.subarray(8));
    }
    ringed(blocks.some((b) => b.length > 0));
    if (!(await ringAllgather(ch, blocks, ch.rank))) throw countMismatch(ch, 'allgatherv', ch.rank, -1, data.length);
    if (err) throw err;
    return res;
  }

  allgatherObject(ch: CollChan, bytes: Uint8Array): Promise<(Uint8Array | undefined)[]> {
    return directAllgather(ch, bytes);
  }

  async alltoall(ch: CollChan, data: T, into: T | undefined): Promise<T> {
    const { dt, n, bpe, out } = alltoallShape(ch, data, into);
    const parts = Array.from({ length: ch.size }, (_, j) => bytesOf(data.subarray(j * n, (j + 1) * n)));
    const ob = bytesOf(out);
    const dests = Array.from({ length: ch.size }, (_, j) => ob.subarray(j * n * bpe, (j + 1) * n * bpe));
    // Received straight into `out`, unless it shares memory with `data` (then whole, and copied).
    const got = await pairwiseAlltoall(ch, parts, out.buffer === data.buffer ? undefined : dests);
    void dt;
    if (out !== data) dests[ch.rank]!.set(parts[ch.rank]!);
    for (let r = 0; r < ch.size; r++) {
      if (r === ch.rank) continue;
      const part = got[r]!;
      if (part.byteLength !== n * bpe) throw countMismatch(ch, 'alltoall', r, part.byteLength / bpe, n);
      if (part.buffer !== ob.buffer || part.byteOffset !== dests[r]!.byteOffset) dests[r]!.set(part);
    }
    return out;
  }

  async alltoallv(ch: CollChan, data: T, counts: number[], displs: number[], out: T | undefined, recvDispls: number[] | undefined): Promise<VResult> {
    const parts = Array.from({ length: ch.size }, (_, j) => bytesOf(data.subarray(displs[j]!, displs[j]! + counts[j]!)));
    const got = await pairwiseAlltoall(ch, parts);
    got[ch.rank] = parts[ch.rank]!;
    return assembleV(ch, got as Uint8Array[], dtypeOf(data)!, out, recvDispls);
  }

  alltoallObject(ch: CollChan, parts: Uint8Array[]): Promise<(Uint8Array | undefined)[]> {
    return pairwiseAlltoall(ch, parts);
  }

  async reduceScatter(ch: CollChan, data: T, counts: number[], kernel: Kernel, out: T | undefined): Promise<T> {
    const dt = dtypeOf(data)!;
    const res = out ?? new kDTypes[dt].ctor(counts[ch.rank]!);
    checkOut(ch, res, counts[ch.rank]!, dt);
    await reduceScatterInto(ch, data, counts, displsOf(counts), res.subarray(0, counts[ch.rank]!), kernel);
    return res;
  }

  refuse(ch: CollChan, _op: CollOp, err: unknown): Promise<never> {
    return ch.reject(err);
  }
}

const kMessages = new MessageEngine();

/** This rank's block of a scatter, from the root's own array. */
function mine<R extends TypedArray>(ch: CollChan, data: R, dt: DType, counts: number[], displs: number[], out: R | undefined): R {
  const m = data.subarray(displs[ch.rank]!, displs[ch.rank]! + counts[ch.rank]!) as R;
  if (out) return copyOut(ch, out, bytesOf(m), dt);
  return m.slice() as R;
}

function alltoallShape<R extends TypedArray>(ch: CollChan, data: R, into: R | undefined): { dt: DType; n: number; bpe: number; out: R } {
  const dt = dtypeOf(data)!;
  const n = data.length / ch.size;
  const out = into ?? (new kDTypes[dt].ctor(data.length) as R);
  checkOut(ch, out, data.length, dt);
  return { dt, n, bpe: kDTypes[dt].bytes, out };
}

// Shared memory
// -------------

/** The collectives that run through the shared arena on the shared-memory engine. */
const kShmOps = new Set<CollOp>(['barrier', 'bcast', 'reduce', 'allreduce', 'scan', 'exscan', 'gather', 'gatherv', 'scatter', 'scatterv', 'allgather', 'allgatherv', 'alltoall']);

const barrierStep = (e: ShmEngine) => e.barrier();

/** Shared-memory collectives (see collectives/shm.ts); the rest on messages. */
export class SharedMemoryEngine extends MessageEngine {
  override readonly kind: string = 'shm';
  private readonly s: ShmRunner;

  constructor(t: Transport, ranks: readonly number[] | null) {
    super();
    this.s = new ShmRunner(t, ranks);
  }

  override barrier(ch: CollChan): Promise<void> {
    return this.s.run(ch, barrierStep);
  }

  override async bcast(ch: CollChan, data: T | undefined, root: number, out: T | undefined): Promise<T> {
    if (ch.rank === root) {
      const dt = dtypeOf(data!)!;
      await this.s.run(ch, (e) => e.bcast(root, bytesOf(data!), DTYPES.indexOf(dt)));
      if (out && out !== data) return copyOut(ch, out, bytesOf(data!), dt);
      return data!;
    }
    let res: T | undefined;
    await this.s.run(ch, (e) => e.bcast(root, undefined, 0, (len, code) => bytesOf((res = destFor(ch, out, len, code)))));
    return res!;
  }

  override async reduce(ch: CollChan, data: T, op: Op, kernel: Kernel, root: number, out: T | undefined): Promise<T | undefined> {
    if (data.byteLength <= slotBytes(ch.size)) return this.s.run(ch, (e) => e.gather(bytesOf(data), root, (parts) => foldInto(ch, parts, data, kernel, out), data.BYTES_PER_ELEMENT));
    await this.s.run(ch, (e) => e.announce(data.byteLength, data.BYTES_PER_ELEMENT));
    return super.reduce(ch, data, op, kernel, root, out);
  }

  override allreduce(ch: CollChan, data: T, op: Op, kernel: Kernel, out0: T | undefined): Promise<T> {
    // Not async: a short allreduce resolves without a detour through the microtask queue.
    let out: T;
    try {
      const dt = dtypeOf(data)!;
      out = out0 ?? new kDTypes[dt].ctor(data.length);
      checkOut(ch, out, data.length, dt);
    } catch (err) {
      return Promise.reject(err);
    }
    const into = out.length === data.length ? out : out.subarray(0, data.length);
    if (data.byteLength <= kFoldAllBytes) return this.s.allreduceFold(ch, data, into, kernel, out);
    return this.s.run(ch, (e) => e.allreduceBlocks(data, into, kernel, unitOf(op))).then(() => out);
  }

  override async scan(ch: CollChan, data: T, op: Op, kernel: Kernel, exclusive: boolean, out: T | undefined): Promise<T | undefined> {
    if (data.byteLength <= slotBytes(ch.size)) {
      // Rank 0 of an exclusive scan folds nothing: it gets undefined (the identity), as on messages.
      const upTo = exclusive ? ch.rank : ch.rank + 1;
      return this.s.run(ch, (e) => e.gather(bytesOf(data), 'prefix', (parts) => (upTo > 0 ? foldInto(ch, parts.slice(0, upTo), data, kernel, out) : undefined), data.BYTES_PER_ELEMENT));
    }
    // Above a slot: messages, once every rank has agreed on the length (see announce).
    await this.s.run(ch, (e) => e.announce(data.byteLength, data.BYTES_PER_ELEMENT));
    return super.scan(ch, data, op, kernel, exclusive, out);
  }

  override gather(ch: CollChan, data: T, root: number, out: T | undefined): Promise<T | undefined> {
    // Any size on shared memory: every rank takes the same path whatever the lengths.
    return this.s.run(ch, (e) => e.gatherv(bytesOf(data), root, (lens) => placeEqual(ch, 'gather', data, lens, out)));
  }

  override gatherv(ch: CollChan, data: T, root: number, out: T | undefined, displs: readonly number[] | undefined): Promise<VResult | undefined> {
    return this.s.run(ch, (e) => e.gatherv(bytesOf(data), root, (lens) => placeV(ch, lens, dtypeOf(data)!, out, displs)));
  }

  override async scatterv(ch: CollChan, root: number, data: T | undefined, counts: number[] | undefined, displs: number[] | undefined, out: T | undefined): Promise<T> {
    if (ch.rank !== root) {
      let res: T | undefined;
      await this.s.run(ch, (e) => e.scatterv(root, undefined, 0, (len, code) => bytesOf((res = destFor(ch, out, len, code)))));
      return res!;
    }
    const dt = dtypeOf(data!)!;
    const blocks = counts!.map((n, r) => bytesOf(data!.subarray(displs![r]!, displs![r]! + n)));
    await this.s.run(ch, (e) => e.scatterv(root, blocks, DTYPES.indexOf(dt)));
    return mine(ch, data!, dt, counts!, displs!, out);
  }

  override async allgather(ch: CollChan, data: T, out: T | undefined): Promise<T> {
    return (await this.s.run(ch, (e) => e.gatherv(bytesOf(data), 'all', (lens) => placeEqual(ch, 'allgather', data, lens, out))))!;
  }

  override async allgatherv(ch: CollChan, data: T, out: T | undefined, displs: readonly number[] | undefined): Promise<VResult> {
    return (await this.s.run(ch, (e) => e.gatherv(bytesOf(data), 'all', (lens) => placeV(ch, lens, dtypeOf(data)!, out, displs))))!;
  }

  override alltoall(ch: CollChan, data: T, into: T | undefined): Promise<T> {
    let shape: ReturnType<typeof alltoallShape<T>>;
    try {
      shape = alltoallShape(ch, data, into);
    } catch (err) {
      return Promise.reject(err);
    }
    const { n, bpe, out } = shape;
    // Any size on shared memory: every rank takes the same path whatever the lengths.
    const bytes = bytesOf(out);
    return this.s.run(ch, (e) => e.alltoall(bytesOf(data), (blocks) => {
      for (let r = 0; r < ch.size; r++) if (blocks[r] !== n * bpe) throw countMismatch(ch, 'alltoall', r, blocks[r]! / bpe, n);
      return { into: blocks.map((_, r) => bytes.subarray(r * n * bpe, (r + 1) * n * bpe)), result: out };
    }));
  }

  override async refuse(ch: CollChan, op: CollOp, err: unknown): Promise<never> {
    if (!kShmOps.has(op)) return ch.reject(err);
    const text = err instanceof Error ? err.message : String(err);
    // This rank's own error is the one to raise, whatever the others did in the call (the
    // arena's creation may fail on another rank's invalid arguments first).
    await this.s.run(ch, (e) => e.refuse(text)).catch(() => {});
    throw err;
  }
}

/** For exscan on rank 0: `out` or a new array filled with the op's identity (zeros when it has none). */
export function identityOf<R extends TypedArray>(ch: CollChan, data: R, op: Op, out: R | undefined): R {
  const dt = dtypeOf(data)!;
  const res = out ?? (new kDTypes[dt].ctor(data.length) as R);
  checkOut(ch, res, data.length, dt);
  const id = op.identity?.(dt);
  (res as unknown as { fill(v: unknown): void }).fill(id ?? (dt === 'int64' || dt === 'uint64' ? 0n : 0));
  return res;
}
