/**
 * Shape operations, numpy's way: transpose / swapAxes, reshape / flatten, concatenate, stack.
 *
 * Collective. Every one is a transfer plan of regions.ts executed by transfer.ts (the mover
 * under redistribute), sometimes around a redistribute: transpose plans from the input's
 * layout to the result's seen in the input's axis order; reshape moves row-major flat
 * ranges between two axis-0 block layouts; concatenate and stack copy each input into a
 * slicing view of the result.
 */
import { ArgumentError } from '../util/errors.js';
import { shapeSize } from '../util/dtype.js';
import { block, Distribution, AxisMap } from './distribution.js';
import { DistArray } from './distarray.js';
import { plan, type Layout } from './regions.js';
import { execute, type Side } from './transfer.js';
import { team } from './team.js';

/** Options of the shape operations: the result's distribution. */
export interface ShapeOptions {
  /** Layout of the result (default: see each function). */
  dist?: Distribution;
}

function checkArray(a: unknown, name: string, rank: number): DistArray {
  if (!(a instanceof DistArray)) throw new ArgumentError(name, 'a DistArray', a, rank);
  return a;
}

function checkDist(dist: Distribution | undefined, shape: readonly number[], rank: number): void {
  if (dist === undefined) return;
  if (!(dist instanceof Distribution) || dist.shape.length !== shape.length || dist.shape.some((n, k) => n !== shape[k])) {
    throw new ArgumentError('options.dist', `a distribution of shape [${shape.join(', ')}]`, dist?.toString?.() ?? dist, rank);
  }
}

/**
 * Collective: the axes of `a` permuted (numpy.transpose; default: reversed). The result is
 * laid out as `a` with its grid permuted alike (`options.dist` to choose another); elements
 * move between ranks only where the permuted grid numbers ranks differently.
 * @example const t = await transpose(A); // t[j, i] = A[i, j]
 */
export async function transpose(a: DistArray, axes?: readonly number[], options: ShapeOptions = {}): Promise<DistArray> {
  const rank = team().rank;
  checkArray(a, 'a', rank);
  const nd = a.ndim;
  const perm = axes === undefined ? Array.from({ length: nd }, (_, k) => nd - 1 - k) : [...axes].map((k) => (k < 0 ? k + nd : k));
  if (perm.length !== nd || perm.some((k) => !Number.isInteger(k) || k < 0 || k >= nd) || new Set(perm).size !== nd) {
    throw new ArgumentError('axes', `a permutation of 0..${nd - 1}`, axes, rank);
  }
  const shape = perm.map((k) => a.shape[k]!);
  checkDist(options.dist, shape, rank);
  const dist = options.dist ?? new Distribution(shape, perm.map((k) => a.dist.grid[k]!), perm.map((k) => a.dist.axes[k]!));
  const out = await DistArray.zeros(shape, { dist, dtype: a.dtype });
  const inv = new Array<number>(nd);
  perm.forEach((k, j) => { inv[k] = j; });
  // The result's layout in a's axis order: a's axis k is the result's axis inv[k].
  const cb = new Array<number>(nd);
  const layout: Layout = {
    axes: a.shape.map((_, k) => dist.axes[inv[k]!]!),
    rankOf: (c) => {
      for (let j = 0; j < nd; j++) cb[j] = c[perm[j]!]!;
      return dist.rankOf(cb);
    },
  };
  const boxes = plan(a.dist, layout, undefined, rank);
  await a.sharePeers();
  const me = rank;
  const s = out.storage();
  const dst: Side = {
    data: (r) => (r === me ? out.data : undefined),
    shape: () => out.localShape,
    pad: () => 0,
    strided: (r) => (r === me ? { data: s.data, base: s.base, axes: a.shape.map((_, k) => s.axes[inv[k]!]!) } : undefined),
  };
  await execute(a.team, a.dtype, boxes, a.side(), dst, a.peers ? 'pull' : 'messages');
  return out;
}

/** Collective: `a` with axes i and j exchanged (numpy.swapaxes). */
export function swapAxes(a: DistArray, i: number, j: number, options: ShapeOptions = {}): Promise<DistArray> {
  const rank = team().rank;
  checkArray(a, 'a', rank);
  const nd = a.ndim;
  for (const [v, name] of [[i, 'i'], [j, 'j']] as const) if (!Number.isInteger(v) || v < -nd || v >= nd) throw new ArgumentError(name, `an axis in ${-nd}..${nd - 1}`, v, rank);
  const perm = Array.from({ length: nd }, (_, k) => k);
  const x = i < 0 ? i + nd : i;
  const y = j < 0 ? j + nd : j;
  perm[x] = y;
  perm[y] = x;
  return transpose(a, perm, options);
}

/** True if rank r's block of `dist` is one row-major flat range (block along axis 0 only). */
function flatRanges(d: Distribution): boolean {
  return d.axes[0]!.contiguous && d.grid.every((g, k) => k === 0 || g === 1);
}

/**
 * Collective: the same elements in row-major order with shape `shape` (numpy.reshape; one
 * extent may be -1). The result is block-distributed along axis 0 unless `options.dist`
 * says otherwise. Moves row-major flat ranges: `a` is first redistributed to axis-0 blocks
 * if it is not laid out that way.
 */
export async function reshape(a: DistArray, shape: readonly number[], options: ShapeOptions = {}): Promise<DistArray> {
  const rank = team().rank;
  checkArray(a, 'a', rank);
  const n = shapeSize(a.shape);
  if (!Array.isArray(shape) || shape.length === 0 || shape.some((m) => !Number.isSafeInteger(m) || m < -1) || shape.filter((m) => m === -1).length > 1) {
    throw new ArgumentError('shape', 'a non-empty array of non-negative integers (at most one -1)', shape, rank);
  }
  const known = shape.reduce((p, m) => (m === -1 ? p : p * m), 1);
  const s = shape.map((m) => (m === -1 ? (known === 0 ? 0 : n / known) : m));
  if (shapeSize(s) !== n || s.some((m) => !Number.isInteger(m))) throw new ArgumentError('shape', `a shape of ${n} elements (a's size; numpy: cannot reshape array of size ${n} into shape (${shape.join(', ')}))`, shape, rank);
  checkDist(options.dist, s, rank);
  const P = a.size;
  const src = flatRanges(a.dist) && a.halo === 0 && !a.view ? a : await a.redistribute(block(a.shape as number[], P, 0), { halo: 0, periodic: false, boundary: 0 });
  const want = options.dist && flatRanges(options.dist) ? options.dist : block(s, P, 0);
  const out = await DistArray.zeros(s, { dist: want, dtype: a.dtype });
  // Both blocks are flat ranges: move them as a 1-D transfer.
  const counts = (d: Distribution) => Array.from({ length: P }, (_, r) => d.localSize(r));
  const flat = (d: Distribution): Layout => {
    const m = new AxisMap(n, P, 'block', 1, counts(d));
    return { axes: [m], rankOf: (c) => c[0]! };
  };
  const boxes = plan(flat(src.dist), flat(want), undefined, rank);
  await src.sharePeers();
  const side = (x: DistArray): Side => ({ data: (r) => (r === rank ? x.data : x.peers?.[r]), shape: (r) => [x.dist.localSize(r)], pad: () => 0 });
  await execute(a.team, a.dtype, boxes, side(src), side(out), src.peers ? 'pull' : 'messages');
  return options.dist && out.dist !== options.dist ? out.redistribute(options.dist, { halo: 0 }) : out;
}

/** Collective: the elements as a 1-D array, row-major (numpy.ndarray.flatten). */
export function flatten(a: DistArray, options: ShapeOptions = {}): Promise<DistArray> {
  return reshape(a, [shapeSize(checkArray(a, 'a', team().rank).shape)], options);
}

function checkList(arrays: readonly DistArray[], rank: number): DistArray[] {
  if (!Array.isArray(arrays) || arrays.length === 0) throw new ArgumentError('arrays', 'a non-empty array of DistArrays', arrays, rank);
  arrays.forEach((x, i) => checkArray(x, `arrays[${i}]`, rank));
  const d = arrays[0]!.dtype;
  arrays.forEach((x, i) => { if (x.dtype !== d) throw new ArgumentError(`arrays[${i}]`, `a ${d} DistArray (arrays[0]'s dtype; astype() first)`, x.dtype, rank); });
  return arrays as DistArray[];
}

/**
 * Collective: the arrays joined along an existing `axis` (numpy.concatenate). Shapes must
 * agree off the axis. The result is block-distributed along `axis` unless `options.dist`.
 */
export async function concatenate(arrays: readonly DistArray[], axis = 0, options: ShapeOptions = {}): Promise<DistArray> {
  const rank = team().rank;
  const xs = checkList(arrays, rank);
  const nd = xs[0]!.ndim;
  if (!Number.isInteger(axis) || axis < -nd || axis >= nd) throw new ArgumentError('axis', `an integer in ${-nd}..${nd - 1}`, axis, rank);
  const ax = axis < 0 ? axis + nd : axis;
  xs.forEach((x, i) => {
    if (x.ndim !== nd || x.shape.some((m, k) => k !== ax && m !== xs[0]!.shape[k])) {
      throw new ArgumentError(`arrays[${i}]`, `a DistArray of shape [${xs[0]!.shape.map((m, k) => (k === ax ? '*' : m)).join(', ')}] (all but axis ${ax} as arrays[0])`, `shape [${x.shape.join(', ')}]`, rank);
    }
  });
  const shape = xs[0]!.shape.map((m, k) => (k === ax ? xs.reduce((p, x) => p + x.shape[ax]!, 0) : m));
  checkDist(options.dist, shape, rank);
  const out = await DistArray.zeros(shape, { dist: options.dist ?? block(shape, xs[0]!.size, ax), dtype: xs[0]!.dtype });
  let off = 0;
  for (const x of xs) {
    const n = x.shape[ax]!;
    if (n > 0) await x.copyTo(out.slice(shape.map((_, k) => (k === ax ? [off, off + n] : null))));
    off += n;
  }
  return out;
}

/**
 * Collective: the arrays (all of one shape) stacked along a new `axis` (numpy.stack). The
 * result is block-distributed along the new axis unless `options.dist`.
 */
export async function stack(arrays: readonly DistArray[], axis = 0, options: ShapeOptions = {}): Promise<DistArray> {
  const rank = team().rank;
  const xs = checkList(arrays, rank);
  const nd = xs[0]!.ndim + 1;
  if (!Number.isInteger(axis) || axis < -nd || axis >= nd) throw new ArgumentError('axis', `an integer in ${-nd}..${nd - 1}`, axis, rank);
  const ax = axis < 0 ? axis + nd : axis;
  xs.forEach((x, i) => {
    if (x.ndim !== nd - 1 || x.shape.some((m, k) => m !== xs[0]!.shape[k])) throw new ArgumentError(`arrays[${i}]`, `a DistArray of shape [${xs[0]!.shape.join(', ')}] (arrays[0]'s)`, `shape [${x.shape.join(', ')}]`, rank);
  });
  const shape = [...xs[0]!.shape.slice(0, ax), xs.length, ...xs[0]!.shape.slice(ax)];
  checkDist(options.dist, shape, rank);
  const out = await DistArray.zeros(shape, { dist: options.dist ?? block(shape, xs[0]!.size, ax), dtype: xs[0]!.dtype });
  for (let i = 0; i < xs.length; i++) await xs[i]!.copyTo(out.slice(shape.map((_, k) => (k === ax ? i : null))));
  return out;
}
