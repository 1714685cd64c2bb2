/**
 * Regions of an n-d array and the strided copies between them. A region is given per axis
 * as a half-open range `[lo, hi]` or a single index `i` (= `[i, i + 1]`); a 1-D array also
 * takes the bare pair `[lo, hi]`. Internally it is a Box of lo/hi corners.
 */
import { ArgumentError } from '../../util/errors.js';
import { kDTypes, type DType, type TypedArray } from '../../util/dtype.js';
import { rowMajorStrides } from '../ndarray.js';

/** Per axis: a half-open range [lo, hi) or one index. */
export type RegionSpec = ReadonlyArray<number | readonly [number, number]>;
/** A global index: a number for 1-D arrays, else one number per axis. */
export type Index = number | readonly number[];

/** A half-open box: lo <= x < hi on every axis. */
export interface Box {
  readonly lo: readonly number[];
  readonly hi: readonly number[];
}

/** Shape of a box. */
export function boxShape(b: Box): number[] {
  return b.lo.map((l, d) => b.hi[d]! - l);
}

/** Number of elements in a box. */
export function boxSize(b: Box): number {
  let n = 1;
  for (let d = 0; d < b.lo.length; d++) n *= b.hi[d]! - b.lo[d]!;
  return n;
}

/** The intersection of two boxes, or undefined when it is empty. */
export function intersect(a: Box, b: Box): Box | undefined {
  const lo: number[] = [];
  const hi: number[] = [];
  for (let d = 0; d < a.lo.length; d++) {
    const l = Math.max(a.lo[d]!, b.lo[d]!);
    const h = Math.min(a.hi[d]!, b.hi[d]!);
    if (h <= l) return undefined;
    lo.push(l);
    hi.push(h);
  }
  return { lo, hi };
}

/** `b` shifted by `-origin` (global to local coordinates). */
export function shiftBox(b: Box, origin: readonly number[], sign = -1): Box {
  return { lo: b.lo.map((l, d) => l + sign * origin[d]!), hi: b.hi.map((h, d) => h + sign * origin[d]!) };
}

/**
 * Checks a region against an array shape and returns its box.
 * @throws {ArgumentError} when it is malformed or out of bounds
 */
export function toBox(region: unknown, shape: readonly number[], rank?: number, argument = 'region'): Box {
  const nd = shape.length;
  let spec = region as RegionSpec;
  const isPair = (x: unknown): x is readonly [number, number] => Array.isArray(x) && x.length === 2 && x.every((v) => typeof v === 'number');
  // A 1-D array takes the bare pair [lo, hi].
  if (nd === 1 && isPair(region)) spec = [region as unknown as readonly [number, number]];
  if (!Array.isArray(spec) || spec.length !== nd) {
    throw new ArgumentError(argument, `a region with one range [lo, hi] or index per axis (${nd} axes, shape [${shape.join(', ')}])`, region, rank);
  }
  const lo: number[] = [];
  const hi: number[] = [];
  for (let d = 0; d < nd; d++) {
    const r = spec[d];
    const [l, h] = typeof r === 'number' ? [r, r + 1] : isPair(r) ? r : [NaN, NaN];
    if (!Number.isSafeInteger(l) || !Number.isSafeInteger(h) || l < 0 || h < l || h > shape[d]!) {
      throw new ArgumentError(argument, `within bounds on axis ${d}: 0 <= lo <= hi <= ${shape[d]} (shape [${shape.join(', ')}])`, region, rank);
    }
    lo.push(l);
    hi.push(h);
  }
  return { lo, hi };
}

/**
 * Checks a global index and returns it as one number per axis.
 * @throws {ArgumentError} when it is malformed or out of bounds
 */
export function toIndex(index: unknown, shape: readonly number[], rank?: number, argument = 'index'): number[] {
  const idx = typeof index === 'number' && shape.length === 1 ? [index] : index;
  const ok = Array.isArray(idx) && idx.length === shape.length && idx.every((v, d) => Number.isSafeInteger(v) && v >= 0 && v < shape[d]!);
  if (!ok) throw new ArgumentError(argument, `an index within shape [${shape.join(', ')}] (a number for 1-D arrays, else one per axis)`, index, rank);
  return [...(idx as number[])];
}

/** Flat row-major offset of `index` in an array of `shape`. */
export function flatOffset(index: readonly number[], shape: readonly number[]): number {
  let off = 0;
  for (let d = 0; d < shape.length; d++) off = off * shape[d]! + index[d]!;
  return off;
}

/** Copies or combines a contiguous run: dst[d .. d+n) (op)= src[s .. s+n). */
export type RunKernel = (dst: TypedArray, d: number, src: TypedArray, s: number, n: number) => void;

/** Plain copy of a run; typed-array set for long runs, a loop for short ones (no subarray cost). */
export const assignRun: RunKernel = (dst, d, src, s, n) => {
  if (n > 32) (dst as Float64Array).set((src as Float64Array).subarray(s, s + n), d);
  else for (let i = 0; i < n; i++) (dst as Float64Array)[d + i] = (src as Float64Array)[s + i]!;
};

/**
 * Copies the box of extent `ext` at `srcLo` in `src` (row-major, `srcShape`) to `dstLo` in
 * `dst` (row-major, `dstShape`), one contiguous run of the last axis at a time.
 */
export function copyBox(
  src: TypedArray, srcShape: readonly number[], srcLo: readonly number[],
  dst: TypedArray, dstShape: readonly number[], dstLo: readonly number[],
  ext: readonly number[], kernel: RunKernel = assignRun,
): void {
  const nd = ext.length;
  for (let d = 0; d < nd; d++) if (ext[d]! <= 0) return;
  const ss = rowMajorStrides(srcShape);
  const ds = rowMajorStrides(dstShape);
  let s = 0;
  let t = 0;
  for (let d = 0; d < nd; d++) {
    s += srcLo[d]! * ss[d]!;
    t += dstLo[d]! * ds[d]!;
  }
  const run = ext[nd - 1]!;
  if (nd === 1) {
    kernel(dst, t, src, s, run);
    return;
  }
  const idx = new Array<number>(nd - 1).fill(0);
  for (;;) {
    kernel(dst, t, src, s, run);
    let d = nd - 2;
    for (; d >= 0; d--) {
      idx[d]!++;
      s += ss[d]!;
      t += ds[d]!;
      if (idx[d]! < ext[d]!) break;
      s -= ss[d]! * ext[d]!;
      t -= ds[d]! * ext[d]!;
      idx[d] = 0;
    }
    if (d < 0) return;
  }
}

const kBig = new Set<DType>(['int64', 'uint64']);

/**
 * `data` as a typed array of `dtype` with `n` elements: the array itself when it already is
 * one, else a converted copy. A single number (or bigint) fills all n.
 * @throws {ArgumentError} when the length differs
 */
export function toDTypeArray(data: unknown, dtype: DType, n: number, rank?: number, argument = 'data'): TypedArray {
  const { ctor } = kDTypes[dtype];
  if (data instanceof (ctor as unknown as typeof Float64Array)) {
    if ((data as TypedArray).length !== n) throw new ArgumentError(argument, `${n} elements (the region's size)`, `${(data as TypedArray).length} elements`, rank);
    return data as TypedArray;
  }
  const big = kBig.has(dtype);
  if (typeof data === 'number' || typeof data === 'bigint') {
    const out = new ctor(n);
    (out as unknown as { fill(v: unknown): void }).fill(big ? BigInt(data) : Number(data));
    return out;
  }
  const like = data as ArrayLike<number | bigint>;
  if (typeof like !== 'object' || like === null || typeof like.length !== 'number') {
    throw new ArgumentError(argument, `a typed array, an array of numbers or a number`, data, rank);
  }
  if (like.length !== n) throw new ArgumentError(argument, `${n} elements (the region's size)`, `${like.length} elements`, rank);
  const out = new ctor(n);
  const o = out as unknown as (number | bigint)[];
  for (let i = 0; i < n; i++) {
    const v = like[i]!;
    o[i] = big ? (typeof v === 'bigint' ? v : BigInt(Math.trunc(Number(v)))) : Number(v);
  }
  return out;
}
