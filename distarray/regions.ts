/**
 * @internal Moving boxes of elements between two layouts of the same global index space.
 *
 * A Layout is a product of per-axis maps plus a rule from grid coordinates to rank; a
 * distribution is one, and so is "the whole array on one root" (every axis undistributed).
 * A transfer plan intersects the two layouts axis by axis into runs (consecutive global
 * indices that stay consecutive on both sides), and their product into boxes. Both sides
 * compute the same plan in the same order, so packed messages need no headers.
 */
import type { TypedArray } from '../util/dtype.js';
import { AxisMap, type Region } from './distribution.js';

export interface Layout {
  readonly axes: readonly AxisMap[];
  rankOf(coords: readonly number[]): number;
}

/** The whole array on `root`: one coordinate per axis. */
export function rootLayout(shape: readonly number[], root: number): Layout {
  return { axes: shape.map((n) => new AxisMap(n, 1, 'block')), rankOf: () => root };
}

/** One box of a transfer: where it comes from, where it goes, its extent. */
export interface Box {
  src: number;
  dst: number;
  /** Start in the source rank's local block (unpadded indices). */
  srcStart: number[];
  dstStart: number[];
  /** Start in global indices. */
  global: number[];
  count: number[];
}

interface Run {
  g: number;
  len: number;
  sc: number;
  sl: number;
  dc: number;
  dl: number;
}

function axisRuns(s: AxisMap, d: AxisMap, lo: number, hi: number): Run[] {
  const runs: Run[] = [];
  let i = lo;
  while (i < hi) {
    const len = Math.min(s.runLength(i, hi), d.runLength(i, hi));
    runs.push({ g: i, len, sc: s.owner(i), sl: s.toLocal(i), dc: d.owner(i), dl: d.toLocal(i) });
    i += len;
  }
  return runs;
}

/**
 * Boxes moving `region` (default: everything) from layout `src` to layout `dst`, restricted
 * to those whose source or destination is `only` (when given).
 */
export function plan(src: Layout, dst: Layout, region?: Region, only?: number): Box[] {
  const nd = src.axes.length;
  const runs: Run[][] = [];
  for (let k = 0; k < nd; k++) {
    const n = src.axes[k]!.n;
    const lo = region ? region.start[k]! : 0;
    const hi = region ? lo + region.count[k]! : n;
    runs.push(axisRuns(src.axes[k]!, dst.axes[k]!, lo, hi));
    if (hi <= lo) return [];
  }
  const boxes: Box[] = [];
  const pick = new Array<number>(nd).fill(0);
  const sc = new Array<number>(nd);
  const dc = new Array<number>(nd);
  for (;;) {
    for (let k = 0; k < nd; k++) {
      const r = runs[k]![pick[k]!]!;
      sc[k] = r.sc;
      dc[k] = r.dc;
    }
    const s = src.rankOf(sc);
    const d = dst.rankOf(dc);
    if (only === undefined || s === only || d === only) {
      const rs = pick.map((p, k) => runs[k]![p]!);
      boxes.push({ src: s, dst: d, srcStart: rs.map((r) => r.sl), dstStart: rs.map((r) => r.dl), global: rs.map((r) => r.g), count: rs.map((r) => r.len) });
    }
    let k = nd - 1;
    while (k >= 0 && ++pick[k]! === runs[k]!.length) pick[k--] = 0;
    if (k < 0) break;
  }
  return boxes;
}

/** Number of elements in a box. */
export function boxSize(count: readonly number[]): number {
  let n = 1;
  for (const c of count) n *= c;
  return n;
}

/** Row-major strides (in elements) of a padded block. */
export function stridesOf(shape: readonly number[]): number[] {
  const st = new Array<number>(shape.length);
  let s = 1;
  for (let k = shape.length - 1; k >= 0; k--) {
    st[k] = s;
    s *= shape[k]!;
  }
  return st;
}

/**
 * Copies a box of `count` elements from `src` (row-major, `srcShape`, starting at
 * `srcStart`) into `dst` (row-major, `dstShape`, starting at `dstStart`). Indices include
 * any halo padding: callers add it. The last axis moves as contiguous runs.
 */
export function copyBox(
  src: TypedArray, srcShape: readonly number[], srcStart: readonly number[],
  dst: TypedArray, dstShape: readonly number[], dstStart: readonly number[],
  count: readonly number[],
): void {
  const nd = count.length;
  if (boxSize(count) === 0) return;
  const ss = stridesOf(srcShape);
  const ds = stridesOf(dstShape);
  let so = 0;
  let dof = 0;
  for (let k = 0; k < nd; k++) {
    so += srcStart[k]! * ss[k]!;
    dof += dstStart[k]! * ds[k]!;
  }
  const run = count[nd - 1]!;
  const idx = new Array<number>(Math.max(0, nd - 1)).fill(0);
  const big = run >= 32;
  const s = src as Float64Array;
  const d = dst as Float64Array;
  for (;;) {
    if (big) d.set(s.subarray(so, so + run), dof);
    else for (let j = 0; j < run; j++) d[dof + j] = s[so + j]!;
    let k = nd - 2;
    while (k >= 0) {
      so += ss[k]!;
      dof += ds[k]!;
      if (++idx[k]! < count[k]!) break;
      so -= ss[k]! * count[k]!;
      dof -= ds[k]! * count[k]!;
      idx[k] = 0;
      k--;
    }
    if (k < 0) return;
  }
}

/** Sets a box of `count` elements at `start` of `data` (row-major, `shape`) to `value`. */
export function fillBox(data: TypedArray, shape: readonly number[], start: readonly number[], count: readonly number[], value: number | bigint): void {
  const nd = count.length;
  if (boxSize(count) === 0) return;
  const st = stridesOf(shape);
  const run = count[nd - 1]!;
  const idx = new Array<number>(nd).fill(0);
  const d = data as unknown as { fill(v: number | bigint, from: number, to: number): void };
  for (;;) {
    let o = 0;
    for (let k = 0; k < nd; k++) o += (start[k]! + idx[k]!) * st[k]!;
    d.fill(value, o, o + run);
    let k = nd - 2;
    while (k >= 0 && ++idx[k]! === count[k]!) idx[k--] = 0;
    if (k < 0) return;
  }
}

/**
 * A rank's block as strided storage: the element at local index l is
 * `data[base + axes[0][l0] + axes[1][l1] + ...]`. Dense padded blocks are the special case
 * `axes[k][l] = (l + pad) * stride[k]`; slicing views pick, reverse or drop entries.
 */
export interface Strided {
  data: TypedArray;
  base: number;
  axes: readonly ArrayLike<number>[];
  /** Cached: the last axis's offsets are one contiguous run (see isRun). */
  lastRun?: boolean;
}

/** Ghost cells on each side of a block's axes: one width for every axis, or one per axis. */
export type Pad = number | readonly number[];

/** The padding of axis k. */
export function padAt(pad: Pad, k: number): number {
  return typeof pad === 'number' ? pad : pad[k]!;
}

/** `start` shifted by the padding, axis by axis. */
export function padded(start: readonly number[], pad: Pad): number[] {
  return start.map((v, k) => v + padAt(pad, k));
}

/** Strided storage of a dense row-major block of `paddedShape` with `pad` ghost cells per side. */
export function denseStrided(data: TypedArray, paddedShape: readonly number[], pad: Pad): Strided {
  const st = stridesOf(paddedShape);
  return { data, base: 0, axes: paddedShape.map((m, k) => Float64Array.from({ length: m - 2 * padAt(pad, k) }, (_, l) => (l + padAt(pad, k)) * st[k]!)), lastRun: true };
}

/** True if `t[j] = t[0] + j` for every j: a contiguous run. */
export function isRun(t: ArrayLike<number>): boolean {
  for (let j = 1; j < t.length; j++) if (t[j] !== t[0]! + j) return false;
  return true;
}

/** Copies a box of `count` elements from `src` at local `srcStart` to `dst` at local `dstStart`. */
export function copyStrided(src: Strided, srcStart: readonly number[], dst: Strided, dstStart: readonly number[], count: readonly number[]): void {
  const nd = count.length;
  if (boxSize(count) === 0) return;
  const last = nd - 1;
  const sl = src.axes[last]!;
  const dl = dst.axes[last]!;
  const s0 = srcStart[last]!;
  const d0 = dstStart[last]!;
  const run = count[last]!;
  const s = src.data as Float64Array;
  const d = dst.data as Float64Array;
  const contiguous = run >= 32 && sl[s0 + run - 1] === sl[s0]! + run - 1 && dl[d0 + run - 1] === dl[d0]! + run - 1 && isRun(Array.prototype.slice.call(sl, s0, s0 + run)) && isRun(Array.prototype.slice.call(dl, d0, d0 + run));
  const idx = new Array<number>(nd).fill(0);
  for (;;) {
    let so = src.base;
    let dof = dst.base;
    for (let k = 0; k < last; k++) {
      so += src.axes[k]![srcStart[k]! + idx[k]!]!;
      dof += dst.axes[k]![dstStart[k]! + idx[k]!]!;
    }
    if (contiguous) d.set(s.subarray(so + sl[s0]!, so + sl[s0]! + run), dof + dl[d0]!);
    else for (let j = 0; j < run; j++) d[dof + dl[d0 + j]!] = s[so + sl[s0 + j]!]!;
    let k = last - 1;
    while (k >= 0 && ++idx[k]! === count[k]!) idx[k--] = 0;
    if (k < 0) return;
  }
}
