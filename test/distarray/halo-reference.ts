// Sequential references of halos with per-axis widths and boundaries (test/distarray/
// halo-shapes.test.ts): a numpy.pad-like padding of a whole array, and the element values
// and mapOverlap kernel the ranks use (shared so both sides compute the same numbers).
// Only pure helpers imported: the test process and the rank-side fixture both load this.
import { stridesOf } from '../../distarray/regions.js';

export type Rule = number | 'periodic' | 'reflect' | 'nearest';
export type Sides = [Rule, Rule][];

/** A whole array: row-major values and shape. */
export interface Whole {
  data: number[];
  shape: number[];
}

/** The element at global linear index i, as a number every dtype holds exactly. */
export function elementValue(dtype: string, i: number, seed: number): number {
  const v = ((i * 37 + seed * 11) >>> 0) % 100;
  if (dtype === 'bool') return v & 1;
  if (dtype === 'float64' || dtype === 'float32') return v / 4 - 3;
  if (dtype.startsWith('uint') || dtype === 'int8') return v;
  return v - 40;
}

/** Row-major strides. */
export const strides = stridesOf;

/** Every index of `shape`, row-major. */
export function* indices(shape: readonly number[]): Generator<number[]> {
  if (shape.some((m) => m === 0)) return;
  const idx = shape.map(() => 0);
  for (;;) {
    yield [...idx];
    let k = idx.length - 1;
    while (k >= 0 && ++idx[k]! === shape[k]!) idx[k--] = 0;
    if (k < 0) return;
  }
}

export function wholeArray(shape: number[], dtype: string, seed: number): Whole {
  const n = shape.reduce((a, b) => a * b, 1);
  return { data: Array.from({ length: n }, (_, i) => elementValue(dtype, i, seed)), shape };
}

/**
 * numpy.pad, one axis after the other (axis 0 first, as numpy does, so a later axis's rule
 * fills the corners): per side a constant, 'periodic' (numpy's 'wrap'), 'reflect' (numpy's
 * 'symmetric': the edge repeated, Dask's 'reflect') or 'nearest' (numpy's 'edge').
 */
export function padSequential(x: Whole, widths: readonly number[], sides: Sides): Whole {
  let cur = x;
  for (let k = 0; k < widths.length; k++) {
    const w = widths[k]!;
    if (w === 0) continue;
    const n = cur.shape[k]!;
    const shape = cur.shape.map((m, j) => (j === k ? m + 2 * w : m));
    const st = strides(cur.shape);
    const data: number[] = [];
    for (const idx of indices(shape)) {
      const i = idx[k]! - w;
      const rule = i < 0 ? sides[k]![0] : i >= n ? sides[k]![1] : undefined;
      let src = i;
      if (rule !== undefined) {
        if (typeof rule === 'number') {
          data.push(rule);
          continue;
        }
        if (rule === 'periodic') src = ((i % n) + n) % n;
        else if (rule === 'nearest') src = i < 0 ? 0 : n - 1;
        else src = i < 0 ? -1 - i : 2 * n - 1 - i;
      }
      let o = 0;
      for (let j = 0; j < shape.length; j++) o += (j === k ? src : idx[j]!) * st[j]!;
      data.push(cur.data[o]!);
    }
    cur = { data, shape };
  }
  return cur;
}

/** The box of `x` at `start` of `count` (row-major values). */
export function window(x: Whole, start: readonly number[], count: readonly number[]): number[] {
  const st = strides(x.shape);
  const out: number[] = [];
  for (const idx of indices(count)) out.push(x.data[idx.reduce((o, v, k) => o + (v + start[k]!) * st[k]!, 0)]!);
  return out;
}

/**
 * The mapOverlap kernel of the tests at one cell: the sum over the box of radius `depth`
 * around `at` of value * (1 + offset's L1 norm), in row-major order of the offsets.
 */
export function boxKernel(get: (idx: number[]) => number, at: readonly number[], depth: readonly number[]): number {
  let s = 0;
  for (const o of indices(depth.map((d) => 2 * d + 1))) {
    const off = o.map((v, k) => v - depth[k]!);
    s += get(at.map((v, k) => v + off[k]!)) * (1 + off.reduce((a, b) => a + Math.abs(b), 0));
  }
  return s;
}

/** k sweeps of `stencil` ('5', '9' 2-D; '7' 3-D) over `x`, the domain padded by 1 each time with `sides`. */
export function sweeps(x: Whole, stencil: '5' | '7' | '9', k: number, sides: Sides): Whole {
  let cur = x;
  const ones = x.shape.map(() => 1);
  for (let s = 0; s < k; s++) {
    const p = padSequential(cur, ones, sides);
    const st = strides(p.shape);
    const u = (idx: number[], d: number[]) => p.data[idx.reduce((o, v, j) => o + (v + 1 + d[j]!) * st[j]!, 0)]!;
    const data: number[] = [];
    for (const idx of indices(cur.shape)) {
      if (stencil === '5') data.push(0.25 * (u(idx, [-1, 0]) + u(idx, [1, 0]) + u(idx, [0, -1]) + u(idx, [0, 1])));
      else if (stencil === '9') {
        const edges = u(idx, [-1, 0]) + u(idx, [1, 0]) + u(idx, [0, -1]) + u(idx, [0, 1]);
        const corners = u(idx, [-1, -1]) + u(idx, [-1, 1]) + u(idx, [1, -1]) + u(idx, [1, 1]);
        data.push(0.05 * (4 * edges + corners));
      } else {
        data.push((1 / 6) * (u(idx, [-1, 0, 0]) + u(idx, [1, 0, 0]) + u(idx, [0, -1, 0]) + u(idx, [0, 1, 0]) + u(idx, [0, 0, -1]) + u(idx, [0, 0, 1])));
      }
    }
    cur = { data, shape: cur.shape };
  }
  return cur;
}
