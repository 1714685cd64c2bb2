/**
 * @internal Slicing views: which elements of a root array a view selects, the distribution
 * that lays the view out over the same ranks, and where each rank's view elements lie in the
 * root's memory. Pure code: nothing here communicates or copies.
 *
 * A view keeps every root axis it slices (in root order) as one of its axes, with a start and
 * a step (negative steps reverse it); an integer index fixes a root axis and drops it. A
 * dropped axis that was distributed leaves its process coordinates in the grid: they merge
 * with a neighbouring kept axis's (so the grid still numbers every rank in row-major order),
 * and only the coordinate owning the fixed index holds elements.
 */
import { ArgumentError } from '../util/errors.js';
import { AxisMap, Distribution } from './distribution.js';
import { padAt, stridesOf, type Pad, type Strided } from './regions.js';
import type { TypedArray } from '../util/dtype.js';

/** One axis of a slice: `[lo, hi, step]` as numpy's `lo:hi:step` (null/undefined = default), an integer index, or null (the whole axis). */
export type SliceArg = number | null | undefined | readonly [(number | null)?, (number | null)?, (number | null)?];

/** A view's selection from its root: per view axis the root axis, start and step; per root axis a fixed index (dropped axes). */
export interface ViewSpec {
  readonly axes: readonly { axis: number; start: number; step: number; length: number }[];
  readonly fixed: readonly (number | undefined)[];
}

/** The identity selection of a root of `shape`. */
export function wholeSpec(shape: readonly number[]): ViewSpec {
  return { axes: shape.map((n, k) => ({ axis: k, start: 0, step: 1, length: n })), fixed: shape.map(() => undefined) };
}

/** numpy's slice.indices(n): normalised start, step and length of `lo:hi:step` over n indices. */
export function sliceIndices(arg: readonly (number | null | undefined)[], n: number, argument: string, rank?: number): { start: number; step: number; length: number } {
  const [lo0, hi0, st0] = arg;
  const step = st0 ?? 1;
  for (const [v, what] of [[lo0, 'lo'], [hi0, 'hi'], [st0, 'step']] as const) {
    if (v !== null && v !== undefined && !Number.isSafeInteger(v)) throw new ArgumentError(`${argument}.${what}`, 'an integer, null or undefined', v, rank);
  }
  if (step === 0) throw new ArgumentError(`${argument}.step`, 'a non-zero integer (numpy: slice step cannot be zero)', step, rank);
  let lo: number;
  let hi: number;
  if (step > 0) {
    lo = lo0 ?? 0;
    hi = hi0 ?? n;
    lo = lo < 0 ? Math.max(0, lo + n) : Math.min(lo, n);
    hi = hi < 0 ? Math.max(0, hi + n) : Math.min(hi, n);
  } else {
    lo = lo0 ?? n - 1;
    hi = hi0 ?? -1 - n; // "before index 0"
    lo = lo < 0 ? Math.max(-1, lo + n) : Math.min(lo, n - 1);
    hi = hi < 0 ? Math.max(-1, hi + n) : Math.min(hi, n - 1);
  }
  const length = Math.max(0, Math.ceil((hi - lo) / step));
  return { start: length === 0 ? 0 : lo, step, length };
}

/** Applies `args` (one per axis of the current view; missing = whole axis) to `spec`. */
export function composeSpec(spec: ViewSpec, args: readonly SliceArg[], rank?: number): ViewSpec {
  if (!Array.isArray(args)) throw new ArgumentError('index', 'an array with one entry per axis: [lo, hi, step], an integer, or null', args, rank);
  if (args.length > spec.axes.length) throw new ArgumentError('index', `at most ${spec.axes.length} entries (one per axis)`, args.length, rank);
  const axes: { axis: number; start: number; step: number; length: number }[] = [];
  const fixed = [...spec.fixed];
  spec.axes.forEach((ax, j) => {
    const a = args[j];
    if (typeof a === 'number') {
      if (!Number.isSafeInteger(a) || a < -ax.length || a >= ax.length) throw new ArgumentError(`index[${j}]`, `an integer in ${-ax.length}..${ax.length - 1} (axis ${j} has length ${ax.length})`, a, rank);
      fixed[ax.axis] = ax.start + (a < 0 ? a + ax.length : a) * ax.step;
      return;
    }
    if (a !== null && a !== undefined && !Array.isArray(a)) throw new ArgumentError(`index[${j}]`, '[lo, hi, step], an integer, or null', a, rank);
    const s = sliceIndices(a ?? [], ax.length, `index[${j}]`, rank);
    axes.push({ axis: ax.axis, start: ax.start + s.start * ax.step, step: ax.step * s.step, length: s.length });
  });
  if (axes.length === 0) throw new ArgumentError('index', 'at least one axis left as a slice (a 0-d view is not supported; get() reads one element)', args, rank);
  return { axes, fixed };
}

/**
 * The distribution of a view of `root` over the same ranks. Each dropped root axis joins the
 * group of the kept axis before it (or after it, if none is before); a group's process
 * coordinates combine row-major, so the view's grid numbers ranks as the root's does.
 */
export function viewDistribution(root: Distribution, spec: ViewSpec): Distribution {
  const nd = root.ndim;
  const groupOf = new Array<number>(nd);
  let g = -1;
  const firstKept = spec.axes[0]!.axis;
  for (let k = 0; k < nd; k++) {
    if (spec.fixed[k] === undefined) g++;
    groupOf[k] = k < firstKept ? 0 : g;
  }
  const shape: number[] = [];
  const grid: number[] = [];
  const axes: AxisMap[] = [];
  spec.axes.forEach((ax, j) => {
    const members: number[] = [];
    for (let k = 0; k < nd; k++) if (groupOf[k] === j) members.push(k);
    const extent = members.reduce((p, k) => p * root.grid[k]!, 1);
    const rm = root.axes[ax.axis]!;
    const alone = members.every((k) => k === ax.axis || root.grid[k] === 1);
    shape.push(ax.length);
    grid.push(extent);
    if (alone && ax.step === 1 && ax.start === 0 && ax.length === rm.n) axes.push(rm);
    else if (extent === 1) axes.push(new AxisMap(ax.length, 1, 'block'));
    else if (alone && rm.contiguous && ax.step > 0) {
      const counts = new Array<number>(extent).fill(0);
      for (let c = 0; c < extent; c++) {
        const lo = rm.start(c);
        const hi = lo + rm.localSize(c);
        // v with lo <= start + v * step < hi
        const first = Math.max(0, Math.ceil((lo - ax.start) / ax.step));
        const last = Math.min(ax.length, Math.ceil((hi - ax.start) / ax.step));
        counts[c] = Math.max(0, last - first);
      }
      axes.push(new AxisMap(ax.length, extent, 'block', 1, counts));
    } else {
      const owners = new Int32Array(ax.length);
      for (let v = 0; v < ax.length; v++) {
        let c = 0;
        for (const k of members) {
          const i = k === ax.axis ? ax.start + v * ax.step : spec.fixed[k]!;
          c = c * root.grid[k]! + root.axes[k]!.owner(i);
        }
        owners[v] = c;
      }
      axes.push(new AxisMap(ax.length, extent, 'mapped', 1, undefined, owners));
    }
  });
  return new Distribution(shape, grid, axes);
}

/**
 * Where rank `rank`'s view elements lie in its root block (`data`, padded by `halo`, of
 * `paddedShape`): element at view local index l is at `base + sum_j axes[j][l_j]`.
 */
export function viewStorage(root: Distribution, spec: ViewSpec, view: Distribution, rank: number, data: TypedArray, paddedShape: readonly number[], halo: Pad): Strided {
  const st = stridesOf(paddedShape);
  const rc = root.coords(rank);
  let base = 0;
  spec.fixed.forEach((i, k) => {
    if (i !== undefined && root.axes[k]!.owner(i) === rc[k]) base += (root.axes[k]!.toLocal(i) + padAt(halo, k)) * st[k]!;
  });
  const vc = view.coords(rank);
  const axes = spec.axes.map((ax, j) => {
    const vm = view.axes[j]!;
    const rm = root.axes[ax.axis]!;
    const m = vm.localSize(vc[j]!);
    const off = new Float64Array(m);
    for (let l = 0; l < m; l++) off[l] = (rm.toLocal(ax.start + vm.toGlobal(vc[j]!, l) * ax.step) + padAt(halo, ax.axis)) * st[ax.axis]!;
    return off;
  });
  return { data, base, axes };
}
