/**
 * Bandwidth algorithms on byte messages, for long data (Open MPI's coll/tuned choices):
 * ring allgather, ring reduce-scatter + allgather (allreduce), and a pipelined chain
 * (bcast). Messages are cut into segments so that a rank forwards (or reduces) one while
 * the next is on the wire, and each segment is received where it belongs (Chan.recvInto:
 * the 8-byte signature aside, the data straight into the result), so data is copied only
 * as often as the wire needs.
 *
 * Every algorithm here keeps forwarding when something it received is wrong (a length), and
 * raises only at the end: a rank that stopped in the middle would leave its ring waiting.
 */
import type { TypedArray } from '../../util/dtype.js';
import type { Kernel } from '../ops.js';
import type { Chan } from './chan.js';

/** Segment size of the pipelines (bytes): big enough for a message's fixed costs, small enough to overlap. */
export const kSegmentBytes = 256 << 10;

const noop = () => {};

/** `region` cut into segments of at most `seg` bytes (whole multiples of `align`); one empty segment for an empty region. */
export function segmentsOf(region: Uint8Array, seg: number, align = 1): Uint8Array[] {
  const n = region.byteLength;
  if (n <= seg) return [region];
  const step = Math.max(align, seg - (seg % align));
  const out: Uint8Array[] = [];
  for (let at = 0; at < n; at += step) out.push(region.subarray(at, Math.min(n, at + step)));
  return out;
}

/** Posts receives of `into` (in order, from `from`) at once: each lands in place; rejections are handled where awaited. */
function postAll(ch: Chan, from: number, into: readonly Uint8Array[]): Promise<Uint8Array>[] {
  const heads = new Uint8Array(8 * into.length);
  return into.map((dst, i) => {
    const p = ch.recvInto(from, heads.subarray(8 * i, 8 * i + 8), dst);
    p.catch(noop);
    return p;
  });
}

/** Sends `payload` to `to`, kept in `sends` (awaited at the end; a failure is never left unhandled). */
function sendTo(ch: Chan, sends: Promise<void>[], to: number, payload: Uint8Array): void {
  const p = ch.send(to, payload);
  p.catch(noop);
  sends.push(p);
}

/** True when a received segment has `dst`'s length (copied into `dst` if it landed elsewhere: a backend without recvSplit). */
function landed(got: Uint8Array, dst: Uint8Array): boolean {
  if (got.byteLength !== dst.byteLength) return false;
  if (got.buffer !== dst.buffer || got.byteOffset !== dst.byteOffset) dst.set(got);
  return true;
}

/**
 * Ring allgather of blocks already placed: `blocks[j]` is where block j lives on every rank,
 * as segments (the same cut on every rank); this rank holds block `first` at the start. In
 * step k it sends block first-k to the right and receives block first-k-1 from the left, each
 * segment forwarded as soon as it is in. Resolves false if a segment arrived with another
 * length than this rank expected (after the ring has finished).
 */
export async function ringAllgather(ch: Chan, blocks: readonly Uint8Array[][], first: number): Promise<boolean> {
  const { rank: r, size: p } = ch;
  if (p === 1) return true;
  const right = (r + 1) % p;
  const left = (r - 1 + p) % p;
  const order: Uint8Array[] = [];
  for (let k = 0; k < p - 1; k++) order.push(...blocks[(((first - k - 1) % p) + p) % p]!);
  const recvs = postAll(ch, left, order);
  const sends: Promise<void>[] = [];
  for (const s of blocks[((first % p) + p) % p]!) sendTo(ch, sends, right, s);
  let ok = true;
  let i = 0;
  for (let k = 0; k < p - 1; k++) {
    const segs = blocks[(((first - k - 1) % p) + p) % p]!;
    for (const dst of segs) {
      const got = await recvs[i++]!;
      if (!landed(got, dst)) ok = false;
      // The last block received is the one the right neighbour started with.
      if (k < p - 2) sendTo(ch, sends, right, dst);
    }
  }
  await Promise.all(sends);
  return ok;
}

/**
 * Ring allreduce for commutative ops: reduce-scatter (in step k rank r sends its partial of
 * block r-k and folds the partial of block r-k-1 coming from the left into its own data,
 * segment by segment, forwarding each at once), then ring allgather of the reduced blocks.
 * Partials are received straight into `out` and folded there in place, so no scratch
 * buffer is needed. `counts`/`displs` in elements (multiples of the op's unit).
 */
export async function ringAllreduce(ch: Chan, data: TypedArray, out: TypedArray, kernel: Kernel, counts: readonly number[], displs: readonly number[], unit: number, seg: number): Promise<boolean> {
  const { rank: r, size: p } = ch;
  const bpe = data.BYTES_PER_ELEMENT;
  const align = bpe * unit;
  const ob = new Uint8Array(out.buffer, out.byteOffset, out.length * bpe);
  const db = new Uint8Array(data.buffer, data.byteOffset, data.length * bpe);
  const segsOf = (b: Uint8Array, j: number) => segmentsOf(b.subarray(displs[j]! * bpe, (displs[j]! + counts[j]!) * bpe), seg, align);
  const outSegs = Array.from({ length: p }, (_, j) => segsOf(ob, j));
  const dataSegs = Array.from({ length: p }, (_, j) => segsOf(db, j));
  const right = (r + 1) % p;
  const left = (r - 1 + p) % p;
  const block = (k: number) => (((r - k) % p) + p) % p;
  // Reduce-scatter.
  const order: Uint8Array[] = [];
  for (let k = 0; k < p - 1; k++) order.push(...outSegs[block(k + 1)]!);
  const recvs = postAll(ch, left, order);
  const sends: Promise<void>[] = [];
  for (const s of dataSegs[r]!) sendTo(ch, sends, right, s);
  let ok = true;
  let i = 0;
  const ctor = data.constructor as new (b: ArrayBufferLike, o: number, n: number) => TypedArray;
  for (let k = 0; k < p - 1; k++) {
    const j = block(k + 1);
    const os = outSegs[j]!;
    const ds = dataSegs[j]!;
    for (let s = 0; s < os.length; s++) {
      const dst = os[s]!;
      const got = await recvs[i++]!;
      if (!landed(got, dst)) ok = false;
      const n = dst.byteLength / bpe;
      const acc = new ctor(dst.buffer, dst.byteOffset, n);
      kernel(acc, new ctor(ds[s]!.buffer, ds[s]!.byteOffset, n), acc);
      if (k < p - 2) sendTo(ch, sends, right, dst);
    }
  }
  // The partials sent from `out` must have left before the allgather overwrites them.
  await Promise.all(sends);
  const gathered = await ringAllgather(ch, outSegs, (r + 1) % p);
  return ok && gathered;
}

/**
 * Pipelined chain (root, root+1, ..., root-1): each rank receives the segments of `rest`
 * from its predecessor straight into place and forwards each to its successor as soon as it
 * is in. The root passes its data's segments; every rank passes the same cut. Resolves false
 * if a segment arrived with another length.
 */
export async function chainBcast(ch: Chan, root: number, segs: readonly Uint8Array[]): Promise<boolean> {
  const { rank, size: p } = ch;
  if (p === 1) return true;
  const vr = (rank - root + p) % p;
  const next = vr + 1 < p ? (rank + 1) % p : -1;
  const sends: Promise<void>[] = [];
  let ok = true;
  if (vr === 0) {
    for (const s of segs) sendTo(ch, sends, next, s);
  } else {
    const recvs = postAll(ch, (rank - 1 + p) % p, segs);
    for (let i = 0; i < segs.length; i++) {
      const got = await recvs[i]!;
      if (!landed(got, segs[i]!)) ok = false;
      if (next >= 0) sendTo(ch, sends, next, segs[i]!);
    }
  }
  await Promise.all(sends);
  return ok;
}
