/**
 * @internal The halo (ghost-cell) plan of a distribution: for every rank and every one of
 * the 3^d - 1 neighbour directions, the box of the neighbour's interior that fills this
 * rank's halo in that direction. Diagonal directions are included, so corners are right in
 * one superstep (no axis-by-axis phases). Along an axis with periodic boundaries the
 * neighbour wraps around (it may be the rank itself); with fixed boundaries a direction
 * that leaves the global domain is skipped, so those halo cells keep their boundary value.
 */
import { ArgumentError } from '../util/errors.js';
import type { Distribution } from './distribution.js';
import type { Box } from './regions.js';

/**
 * Every halo box of every rank. Starts are in unpadded local indices, which may be negative
 * (-width .. -1) or past the block (m .. m + width - 1) on the destination side: the caller
 * adds the halo width as padding.
 */
export function haloPlan(dist: Distribution, width: number, periodic: readonly boolean[]): Box[] {
  const nd = dist.ndim;
  const boxes: Box[] = [];
  if (width === 0) return boxes;
  const shapes = Array.from({ length: dist.size }, (_, r) => dist.localShape(r));
  for (let r = 0; r < dist.size; r++) {
    const shp = shapes[r]!;
    if (shp.some((m) => m === 0)) continue;
    const c = dist.coords(r);
    const dir = new Array<number>(nd).fill(-1);
    for (;;) {
      if (dir.some((v) => v !== 0)) {
        const nc: number[] = [];
        let ok = true;
        for (let k = 0; k < nd && ok; k++) {
          let q = c[k]! + dir[k]!;
          if (q < 0 || q >= dist.grid[k]!) {
            if (!periodic[k]) ok = false;
            q = (q + dist.grid[k]!) % dist.grid[k]!;
          }
          nc.push(q);
        }
        if (ok) {
          const s = dist.rankOf(nc);
          const sshp = shapes[s]!;
          const srcStart: number[] = [];
          const dstStart: number[] = [];
          const count: number[] = [];
          for (let k = 0; k < nd; k++) {
            const d = dir[k]!;
            if (d !== 0 && sshp[k]! < width) {
              throw new ArgumentError('halo', `at most ${sshp[k]} (rank ${s}'s block has ${sshp[k]} elements along axis ${k})`, width);
            }
            count.push(d === 0 ? shp[k]! : width);
            dstStart.push(d < 0 ? -width : d > 0 ? shp[k]! : 0);
            srcStart.push(d < 0 ? sshp[k]! - width : 0);
          }
          boxes.push({ src: s, dst: r, srcStart, dstStart, global: dstStart, count });
        }
      }
      let k = nd - 1;
      while (k >= 0 && ++dir[k]! > 1) dir[k--] = -1;
      if (k < 0) break;
    }
  }
  return boxes;
}

/**
 * Checks that a halo of `width` fits every block: along every axis each rank's block must
 * have at least `width` elements (a neighbour's halo is cut from it; along a fixed or
 * undistributed axis too, so the answer does not depend on P or on the boundaries). The same
 * on every rank: every rank raises it.
 */
export function checkHaloWidth(dist: Distribution, width: number, argument: string, rank: number): void {
  if (width === 0) return;
  for (let k = 0; k < dist.ndim; k++) {
    let smallest = Infinity;
    let at = 0;
    for (let r = 0; r < dist.size; r++) {
      const m = dist.localShape(r)[k]!;
      if (m < smallest) [smallest, at] = [m, r];
    }
    if (width > smallest) {
      throw new ArgumentError(argument, `at most ${smallest} for this distribution: along axis ${k} the smallest block (rank ${at}'s) has ${smallest} elements, and a halo of ${width} would need ${width}`, width, rank);
    }
  }
}

/** Checks that every distributed axis is a block axis (halos need contiguous blocks). */
export function checkHaloDistribution(dist: Distribution, rank?: number): void {
  dist.axes.forEach((a, k) => {
    if (!a.contiguous) throw new ArgumentError('dist', `block or undistributed along every axis for halos (axis ${k} is ${a.kind})`, dist.toString(), rank);
  });
}
