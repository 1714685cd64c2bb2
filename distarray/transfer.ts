/**
 * @internal Executes a transfer plan: every box moves from its source rank's block to its
 * destination rank's block, in one superstep.
 *
 * Two ways, same result: with peers' memory at hand (sab), a barrier, direct copies out of
 * (pull) or into (push) the peers' SharedArrayBuffers, and a barrier so nobody overwrites a
 * block another rank is still reading; otherwise, boxes packed per (source, destination)
 * pair in plan order into one message each, unpacked in the same order.
 */
import { bytesOf, kDTypes, viewOf, type DType, type TypedArray } from '../util/dtype.js';
import { boxSize, copyBox, copyStrided, denseStrided, padded, type Box, type Pad, type Strided } from './regions.js';
import type { Team } from './team.js';

/** One side of a transfer, as one rank sees a rank's block. */
export interface Side {
  /** The block's storage (padded row-major), if this rank can reach it. */
  data(rank: number): TypedArray | undefined;
  /** Padded shape of `rank`'s block. */
  shape(rank: number): readonly number[];
  /** Offset added to every local index (halo width: one for every axis, or one per axis). */
  pad(rank: number): Pad;
  /** Strided storage of `rank`'s block (slicing views); absent for dense padded blocks. */
  strided?(rank: number): Strided | undefined;
}

/** Copies one box between two sides' blocks (local indices, before padding). */
function copy(src: Side, sr: number, sStart: readonly number[], dst: Side, dr: number, dStart: readonly number[], count: readonly number[]): void {
  const ss = src.strided?.(sr);
  const ds = dst.strided?.(dr);
  if (!ss && !ds) {
    copyBox(src.data(sr)!, src.shape(sr), padded(sStart, src.pad(sr)), dst.data(dr)!, dst.shape(dr), padded(dStart, dst.pad(dr)), count);
    return;
  }
  copyStrided(ss ?? denseStrided(src.data(sr)!, src.shape(sr), src.pad(sr)), sStart, ds ?? denseStrided(dst.data(dr)!, dst.shape(dr), dst.pad(dr)), dStart, count);
}

/** A packed message buffer of one box as a side. */
function packSide(buf: TypedArray, count: readonly number[]): Side {
  return { data: () => buf, shape: () => count, pad: () => 0 };
}

/**
 * Moves every box of `boxes` that involves this rank. `direct` = 'pull' or 'push' uses
 * shared memory (the other side's `data(rank)` must be reachable for every peer involved);
 * 'messages' sends packed boxes.
 */
export async function execute(team: Team, dtype: DType, boxes: readonly Box[], src: Side, dst: Side, direct: 'pull' | 'push' | 'messages'): Promise<void> {
  const me = team.rank;
  if (direct !== 'messages') {
    await team.barrier();
    for (const b of boxes) {
      if (direct === 'pull' ? b.dst !== me : b.src !== me) continue;
      copy(src, b.src, b.srcStart, dst, b.dst, b.dstStart, b.count);
    }
    await team.barrier();
    return;
  }
  const bytes = kDTypes[dtype].bytes;
  const outCount = new Map<number, number>();
  const inCount = new Map<number, number>();
  for (const b of boxes) {
    const n = boxSize(b.count);
    if (n === 0) continue;
    if (b.src === me && b.dst === me) {
      copy(src, me, b.srcStart, dst, me, b.dstStart, b.count);
    } else if (b.src === me) outCount.set(b.dst, (outCount.get(b.dst) ?? 0) + n);
    else if (b.dst === me) inCount.set(b.src, (inCount.get(b.src) ?? 0) + n);
  }
  const sends = new Map<number, Uint8Array>();
  const packs = new Map<number, { buf: TypedArray; off: number }>();
  for (const [d, n] of outCount) packs.set(d, { buf: viewOf(dtype, new ArrayBuffer(n * bytes), 0, n), off: 0 });
  for (const b of boxes) {
    if (b.src !== me || b.dst === me) continue;
    const p = packs.get(b.dst);
    if (!p) continue;
    const n = boxSize(b.count);
    copy(src, me, b.srcStart, packSide(p.buf.subarray(p.off, p.off + n) as TypedArray, b.count), me, b.count.map(() => 0), b.count);
    p.off += n;
  }
  for (const [d, p] of packs) sends.set(d, bytesOf(p.buf));
  const got = await team.exchange(sends, inCount.keys());
  const offs = new Map<number, number>();
  for (const b of boxes) {
    if (b.dst !== me || b.src === me) continue;
    const n = boxSize(b.count);
    if (n === 0) continue;
    const msg = got.get(b.src)!;
    const off = offs.get(b.src) ?? 0;
    const view = viewOf(dtype, msg.buffer, msg.byteOffset + off * bytes, n);
    copy(packSide(view, b.count), me, b.count.map(() => 0), dst, me, b.dstStart, b.count);
    offs.set(b.src, off + n);
  }
}
