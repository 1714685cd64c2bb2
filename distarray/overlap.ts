/**
 * mapOverlap: a user kernel over every rank's block together with its halo, as Dask's
 * `map_overlap`: the block is padded by `depth` cells per side (from the neighbouring blocks,
 * or by the `boundary` rule outside the domain), the kernel sees the padded block and its
 * result is trimmed back to the block.
 */
import { ArgumentError } from '../util/errors.js';
import { resolveDType, shapeSize, type DType, type TypedArray } from '../util/dtype.js';
import type { NDArray } from '../core/ndarray.js';
import { DistArray } from './distarray.js';
import { haloWidths, resolveHalo, sameHalo, type Boundary, type HaloSpec, type HaloWidth } from './halo.js';
import { copyStrided, denseStrided, type Strided } from './regions.js';

/** What a mapOverlap kernel is told besides its block. */
export interface OverlapContext {
  /** This rank. */
  rank: number;
  /** Global index of the block's first element (without the padding). */
  start: number[];
  /** This rank's block shape without the padding (the result's shape). */
  shape: number[];
  /** Padding per axis: the block's element [depth[0], depth[1], ...] is global `start`. */
  depth: number[];
  /** The result's block on this rank (unpadded, `shape`): a kernel may write here and return nothing. */
  out: NDArray;
}

/**
 * A mapOverlap kernel: gets the padded block (an @stdlib/ndarray view, as `a.padded()`;
 * read-only by intent) and returns the result for it: an ndarray or a row-major array of the
 * padded shape (trimmed by `depth`, as Dask's trim=True) or of the unpadded shape, or nothing
 * after writing `ctx.out`.
 */
export type OverlapKernel = (block: NDArray, ctx: OverlapContext) => NDArray | ArrayLike<number> | void;

/** Options of mapOverlap. */
export interface OverlapOptions {
  /** Padding per side of every axis (a number) or of each axis (one per axis, 0 allowed). */
  depth: HaloWidth;
  /** What pads outside the global domain (DistArrayOptions.boundary); default: `a`'s own rules (0 if none). */
  boundary?: Boundary;
  /** Result array (a's distribution, any halo and number dtype); default: a new one like `a`. */
  out?: DistArray;
  /** Result dtype when `out` is not given; default a's. */
  dtype?: DType | string;
}

/** The padded copy of an array mapOverlap keeps between calls (time-stepping loops reuse it). */
const scratch = new WeakMap<DistArray, DistArray>();

/**
 * Collective: `fn` over every rank's block padded by `depth` (one halo exchange, one
 * superstep), trimmed back into a DistArray of `a`'s distribution. `a` itself is used when
 * it already has exactly that halo; otherwise a padded copy, kept for the next call with `a`.
 * @example const lap = await mapOverlap(u, (b, { out }) => { ... }, { depth: 1, boundary: 'nearest' });
 */
export async function mapOverlap(a: DistArray, fn: OverlapKernel, options: OverlapOptions): Promise<DistArray> {
  if (!(a instanceof DistArray)) throw new ArgumentError('a', 'a DistArray', a);
  const rank = a.rank;
  if (typeof fn !== 'function') throw new ArgumentError('fn', 'a function (block, ctx) => result', fn, rank);
  if (typeof options !== 'object' || options === null) throw new ArgumentError('options', 'an object { depth, boundary?, out?, dtype? }', options, rank);
  if (a.dtype === 'int64' || a.dtype === 'uint64') throw new ArgumentError('dtype', `a number dtype for mapOverlap (not ${a.dtype}, whose elements are bigints)`, a.dtype, rank);
  if (a.dist.axes.some((x) => !x.contiguous)) throw new ArgumentError('a', 'a DistArray in blocks (block or undistributed along every axis) for mapOverlap', a.toString(), rank);
  const depth = haloWidths(options.depth, a.ndim, 'depth', rank);
  const want = resolveHalo(a.dist, { halo: depth, boundary: options.boundary }, rank, a.haloSpec);
  const out = options.out ?? a.like(options.dtype === undefined ? a.dtype : resolveDType(options.dtype, 'dtype', rank));
  if (!(out instanceof DistArray) || !out.dist.equals(a.dist) || out.dtype === 'int64' || out.dtype === 'uint64') {
    throw new ArgumentError('out', `a DistArray of a number dtype with distribution ${a.dist}`, out?.toString?.() ?? out, rank);
  }
  if (out === a || out.view?.root === a) throw new ArgumentError('out', 'an array other than `a` (the kernel reads a while the result is written)', out.toString(), rank);
  const h = await padded(a, want, options.boundary);
  await h.exchangeHalos();
  if (shapeSize(a.localShape) === 0) return out;
  const ctx: OverlapContext = { rank, start: [...a.localRegion().start], shape: [...a.localShape], depth, out: out.local() };
  const got = fn(h.padded(), ctx);
  if (got === undefined) return out;
  const src = resultStorage(got, h.paddedShape, a.localShape, depth, rank);
  copyStrided(src.storage, src.start, out.storage(), a.localShape.map(() => 0), a.localShape);
  return out;
}

/** `a` with the halo `want` (a itself if it has it), its interior current. */
async function padded(a: DistArray, want: HaloSpec, boundary: Boundary | undefined): Promise<DistArray> {
  if (!a.view && sameHalo(a.haloSpec, want)) return a;
  const kept = scratch.get(a);
  if (kept && sameHalo(kept.haloSpec, want)) {
    a.map((v) => v, kept);
    return kept;
  }
  const h = await a.withHalo(want.widths, boundary === undefined ? {} : { boundary });
  scratch.set(a, h);
  return h;
}

/** Where a kernel's result lies, and the start of the unpadded block in it. */
function resultStorage(got: NDArray | ArrayLike<number>, paddedShape: readonly number[], shape: readonly number[], depth: readonly number[], rank: number): { storage: Strided; start: number[] } {
  const nd = shape.length;
  const isNd = typeof got === 'object' && got !== null && Array.isArray((got as NDArray).shape) && Array.isArray((got as NDArray).strides) && 'offset' in got;
  const gshape = isNd ? (got as NDArray).shape : undefined;
  const n = isNd ? shapeSize(gshape!) : (got as ArrayLike<number>)?.length;
  const trimmed = isNd ? gshape!.every((m, k) => m === paddedShape[k]) && gshape!.length === nd : n === shapeSize(paddedShape);
  const whole = isNd ? gshape!.every((m, k) => m === shape[k]) && gshape!.length === nd : n === shapeSize(shape);
  if (!trimmed && !whole) {
    throw new ArgumentError('fn', `a kernel returning the padded shape [${paddedShape.join(', ')}] or the block's [${shape.join(', ')}] (an ndarray or a row-major array), or nothing after writing ctx.out`, isNd ? `an ndarray of shape [${gshape!.join(', ')}]` : got, rank);
  }
  const start = trimmed ? [...depth] : shape.map(() => 0);
  if (isNd) {
    const v = got as NDArray;
    return { storage: { data: v.data, base: v.offset, axes: v.shape.map((m, k) => Float64Array.from({ length: m }, (_, l) => l * v.strides[k]!)) }, start };
  }
  const data = ArrayBuffer.isView(got) ? (got as TypedArray) : Float64Array.from(got as ArrayLike<number>);
  return { storage: denseStrided(data, trimmed ? paddedShape : shape, 0), start };
}
