/**
 * The pieces of the typed-array and object collectives that do not depend on the
 * Communicator class: the per-call channel, the combiners the tree algorithms use, and the
 * long-message reduce-scatter / allreduce.
 */
import { ArgumentError } from '../../util/errors.js';
import { bytesOf, dtypeOf, kDTypes, viewOf, type DType, type TypedArray } from '../../util/dtype.js';
import { packr } from '../packr.js';
import type { Payload, Transport } from '../transport.js';
import type { Kernel, Op } from '../ops.js';
import { blockCounts, displsOf, type Chan } from './chan.js';
import { directAllgather } from './exchange.js';
import type { Combiner } from './tree.js';
import { argErrPayload, sigHeader, type CollGuard } from './guard.js';

const ignore = () => {};
/** `p`, marked as handled (see CollChan). */
function handled<R>(p: Promise<R>): Promise<R> {
  p.catch(ignore);
  return p;
}

// Classes rather than object literals of closures: collectives create these on every call,
// and methods on a prototype cost nothing to create.

/** One collective call's view of a communicator: its ranks, its context, its tag and its signature. */
export class CollChan implements Chan {
  private readonly header: Uint8Array;
  constructor(
    private readonly t: Transport,
    /** World ranks of the members (null: identity). */
    private readonly ranks: readonly number[] | null,
    /** The communicator's collective context. */
    readonly context: number,
    /** The call's sequence number: its messages' tag. */
    readonly seq: number,
    readonly rank: number,
    readonly size: number,
    readonly guard: CollGuard,
    /** The call's signature (collectives/guard.ts). */
    readonly w0: number,
    readonly w1: number,
  ) {
    this.header = sigHeader(w0, w1);
  }
  // Algorithms start sends and receives before they await them (a send beside the receive of
  // the same round, a ring's receives in a row): when the job fails, one of them rejects while
  // the algorithm awaits another, and is never awaited at all. Each is marked handled here, so
  // that it cannot surface as an unhandled rejection (a raw stack beside the launcher's
  // summary); whoever awaits it still gets the error.
  send(to: number, data: Payload): Promise<void> {
    const parts = data instanceof Uint8Array ? [this.header, data] : [this.header, ...data];
    return handled(this.t.send(this.ranks ? this.ranks[to]! : to, this.context, this.seq, parts));
  }
  recv(from: number): Promise<Uint8Array> {
    return handled(this.guard.recv(from, this.seq, this.w0, this.w1));
  }
  recvInto(from: number, head: Uint8Array, into: Uint8Array | undefined): Promise<Uint8Array> {
    return handled(this.guard.recvInto(from, this.seq, this.w0, this.w1, head, into));
  }
  /** Enters the call with invalid arguments: every member that waits for this rank raises `err` too. */
  async reject(err: unknown): Promise<never> {
    const payload = argErrPayload(err);
    await Promise.all(Array.from({ length: this.size }, (_, q) => (q === this.rank ? undefined : this.t.send(this.ranks ? this.ranks[q]! : q, this.context, this.seq, payload).catch(() => {}))));
    throw err;
  }
}

class TypedCombiner implements Combiner<TypedArray> {
  private readonly dt: DType;
  private readonly n: number;
  private readonly bpe: number;
  constructor(private readonly rank: number, like: TypedArray, private readonly kernel: Kernel) {
    this.dt = dtypeOf(like)!;
    this.n = like.length;
    this.bpe = kDTypes[this.dt].bytes;
  }
  encode(v: TypedArray): Payload {
    return bytesOf(v);
  }
  decode(b: Uint8Array): TypedArray {
    if (b.byteLength !== this.n * this.bpe) {
      throw new ArgumentError('data', 'the same length on every rank of a reduction', `a contribution of ${b.byteLength / this.bpe} elements, this rank has ${this.n}`, this.rank);
    }
    return viewOf(this.dt, b.buffer, b.byteOffset, this.n);
  }
  combine(lo: TypedArray, hi: TypedArray, into: 'lo' | 'hi'): TypedArray {
    const out = into === 'lo' ? lo : hi;
    this.kernel(lo, hi, out);
    return out;
  }
}

export function typedCombiner(rank: number, like: TypedArray, kernel: Kernel): Combiner<TypedArray> {
  return new TypedCombiner(rank, like, kernel);
}

class ObjectCombiner implements Combiner<unknown> {
  constructor(private readonly op: Op) {}
  encode(v: unknown): Payload {
    return packr.pack(v);
  }
  decode(b: Uint8Array): unknown {
    return packr.unpack(b);
  }
  combine(lo: unknown, hi: unknown): unknown {
    return this.op.combine(lo, hi);
  }
}

export function objectCombiner(op: Op): Combiner<unknown> {
  return new ObjectCombiner(op);
}

/** Copies `src` into `dst` (same dtype, dst at least as long): a loop for short arrays, where set() costs more. */
export function copyElems(dst: TypedArray, src: TypedArray): void {
  const n = src.length;
  if (n <= 16) {
    const d = dst as unknown as unknown[];
    const s = src as unknown as unknown[];
    for (let i = 0; i < n; i++) d[i] = s[i];
  } else {
    (dst as Float64Array).set(src as Float64Array);
  }
}

/**
 * Pairwise reduce-scatter: block j of every rank goes to rank j, which folds the P
 * contributions in rank order into `out`. Works for any P and any counts.
 */
export async function reduceScatterInto(ch: Chan, data: TypedArray, counts: number[], displs: number[], out: TypedArray, kernel: Kernel): Promise<void> {
  const { rank: r, size: p } = ch;
  const dt = dtypeOf(data)!;
  const block = (j: number) => data.subarray(displs[j]!, displs[j]! + counts[j]!);
  const sends: Promise<void>[] = [];
  for (let k = 1; k < p; k++) {
    const d = (r + k) % p;
    sends.push(ch.send(d, bytesOf(block(d))));
  }
  const n = counts[r]!;
  const bpe = kDTypes[dt].bytes;
  const recvs = Array.from({ length: p }, (_, s) => (s === r ? undefined : ch.recv(s)));
  if (p === 1) out.set(block(r) as never);
  let acc: TypedArray | undefined;
  for (let s = 0; s < p; s++) {
    let v: TypedArray;
    if (s === r) v = block(r);
    else {
      const b = await recvs[s]!;
      if (b.byteLength !== n * bpe) throw new ArgumentError('data', 'the same counts on every rank', `rank ${s} sent ${b.byteLength / bpe} elements for this rank's block, expected ${n}`, r);
      v = viewOf(dt, b.buffer, b.byteOffset, n);
    }
    if (acc === undefined) acc = v;
    else {
      kernel(acc, v, out);
      acc = out;
    }
  }
  await Promise.all(sends);
}

/** Long allreduce: reduce-scatter into `out`'s own block, then allgather of the blocks. */
export async function longAllreduce(ch: Chan, data: TypedArray, out: TypedArray, kernel: Kernel, unit: number): Promise<void> {
  const { rank: r, size: p } = ch;
  const counts = blockCounts(data.length / unit, p).map((n) => n * unit);
  const displs = displsOf(counts);
  const mine = out.subarray(displs[r]!, displs[r]! + counts[r]!);
  await reduceScatterInto(ch, data, counts, displs, mine, kernel);
  const got = await directAllgather(ch, bytesOf(mine));
  const bytes = bytesOf(out);
  const bpe = out.BYTES_PER_ELEMENT;
  for (let s = 0; s < p; s++) if (s !== r) bytes.set(got[s]!, displs[s]! * bpe);
}
