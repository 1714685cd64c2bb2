/**
 * @internal Local loops over strided blocks (see regions.ts `Strided`): the elementwise and
 * reduction work of dense arrays, slicing views and broadcast operands alike. Rows (the last
 * axis) run as plain indexed loops; where every operand's row is one contiguous run the
 * loop indexes the typed arrays directly.
 */
import { isRun, type Strided } from './regions.js';

/**
 * Calls `row(bases, n)` for every row (last-axis line) of a local block of `shape`, with
 * `bases[i]` the offset of operand i's row (add `axes[last][j]` for element j).
 */
export function forRows(shape: readonly number[], ops: readonly Strided[], row: (bases: Float64Array, n: number) => void): void {
  const nd = shape.length;
  for (const m of shape) if (m === 0) return;
  const n = shape[nd - 1]!;
  const bases = new Float64Array(ops.length);
  const idx = new Array<number>(nd).fill(0);
  for (;;) {
    for (let i = 0; i < ops.length; i++) {
      const s = ops[i]!;
      let b = s.base;
      for (let k = 0; k < nd - 1; k++) b += s.axes[k]![idx[k]!]!;
      bases[i] = b;
    }
    row(bases, n);
    let k = nd - 2;
    while (k >= 0 && ++idx[k]! === shape[k]!) idx[k--] = 0;
    if (k < 0) return;
  }
}

/** Offsets of the last axis, and whether they are one contiguous run starting at `first`. */
function lastAxis(s: Strided, nd: number): { t: ArrayLike<number>; run: boolean; first: number } {
  const t = s.axes[nd - 1]!;
  const run = (s.lastRun ??= isRun(t));
  return { t, run, first: t.length > 0 ? t[0]! : 0 };
}

/** Calls `fn(offset)` for every element of the block, in row-major order. */
export function eachLocal(s: Strided, shape: readonly number[], fn: (offset: number) => void): void {
  const { t } = lastAxis(s, shape.length);
  forRows(shape, [s], (b, n) => {
    const o = b[0]!;
    for (let j = 0; j < n; j++) fn(o + t[j]!);
  });
}

/** dst[i] = fn(src[i]) over the block (elements read as numbers). */
export function mapLocal(src: Strided, dst: Strided, shape: readonly number[], fn: (v: number) => number): void {
  const nd = shape.length;
  const a = lastAxis(src, nd);
  const o = lastAxis(dst, nd);
  const x = src.data as Float64Array;
  const y = dst.data as Float64Array;
  forRows(shape, [src, dst], (b, n) => {
    const xa = b[0]!;
    const yo = b[1]!;
    if (a.run && o.run) {
      const xs = xa + a.first;
      const ys = yo + o.first;
      for (let j = 0; j < n; j++) y[ys + j] = fn(x[xs + j]!);
    } else for (let j = 0; j < n; j++) y[yo + o.t[j]!] = fn(x[xa + a.t[j]!]!);
  });
}

/** A loop over one contiguous row of each operand: z[zs + j] = x[xs + j] op y[ys + j], j < n. */
export type RowKernel = (x: Float64Array, xs: number, y: Float64Array, ys: number, z: Float64Array, zs: number, n: number) => void;

/** out[i] = fn(a[i], b[i]) over the block; `row` (if given) runs contiguous rows without a call per element. */
export function zipLocal(sa: Strided, sb: Strided, so: Strided, shape: readonly number[], fn: (x: number, y: number) => number, row?: RowKernel): void {
  const nd = shape.length;
  const a = lastAxis(sa, nd);
  const b2 = lastAxis(sb, nd);
  const o = lastAxis(so, nd);
  const x = sa.data as Float64Array;
  const y = sb.data as Float64Array;
  const z = so.data as Float64Array;
  forRows(shape, [sa, sb, so], (b, n) => {
    const xa = b[0]!;
    const yb = b[1]!;
    const zo = b[2]!;
    if (a.run && b2.run && o.run) {
      const xs = xa + a.first;
      const ys = yb + b2.first;
      const zs = zo + o.first;
      if (row) row(x, xs, y, ys, z, zs, n);
      else for (let j = 0; j < n; j++) z[zs + j] = fn(x[xs + j]!, y[ys + j]!);
    } else for (let j = 0; j < n; j++) z[zo + o.t[j]!] = fn(x[xa + a.t[j]!]!, y[yb + b2.t[j]!]!);
  });
}

/** out[i] = fn(a[i], b[i], c[i]) over the block (where, clip). */
export function zip3Local(sa: Strided, sb: Strided, sc: Strided, so: Strided, shape: readonly number[], fn: (x: number, y: number, z: number) => number): void {
  const nd = shape.length;
  const ta = sa.axes[nd - 1]!;
  const tb = sb.axes[nd - 1]!;
  const tc = sc.axes[nd - 1]!;
  const to = so.axes[nd - 1]!;
  const x = sa.data as Float64Array;
  const y = sb.data as Float64Array;
  const w = sc.data as Float64Array;
  const z = so.data as Float64Array;
  forRows(shape, [sa, sb, sc, so], (b, n) => {
    for (let j = 0; j < n; j++) z[b[3]! + to[j]!] = fn(x[b[0]! + ta[j]!]!, y[b[1]! + tb[j]!]!, w[b[2]! + tc[j]!]!);
  });
}
