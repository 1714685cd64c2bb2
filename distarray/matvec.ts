/**
 * Distributed dense matrix-vector product y = A x, for A split by row blocks (grid [P, 1])
 * or by a 2-D block grid [pr, pc].
 *
 * Each rank fetches the segment of x matching its columns of A (one collective get: on sab
 * a barrier and direct reads of the owners' shared blocks), multiplies its block with a
 * two-rows-at-a-time kernel, and, for a 2-D grid, the pc partial sums of each row are
 * brought to the row's owner in y and added in column order (so the result does not depend
 * on timing).
 */
import { ArgumentError } from '../util/errors.js';
import { block, grid } from './distribution.js';
import { matvecCost } from './cost.js';
import { DistArray } from './distarray.js';
import { gemv, gemvAny } from './kernels.js';
import { gemvWasm, wasmEnabled } from './wasm.js';

interface Scratch {
  /** Rank (i, j) holds the partial sums of its rows: shape [m, pc], grid [pr, pc]. */
  partial: DistArray;
  /** The partial sums regrouped by whole rows, block over all ranks: shape [m, pc]. */
  rows: DistArray;
}

const scratches = new WeakMap<DistArray, Scratch>();

/**
 * Collective: y = A x. `matvec.cost(A, x)` gives its counts per superstep, for
 * bsp.predict({ steps }) (distarray/cost.ts).
 * @example const y = await matvec(A, x);
 * @example bsp.predict({ steps: matvec.cost(A, x) }).seconds
 */
export const matvec = Object.assign(matvecProduct, { cost: matvecCost });

/**
 * y = A x. `A` is a 2-D DistArray distributed by blocks (row blocks or a 2-D
 * grid), `x` a 1-D DistArray of length A.shape[1] with any distribution, `out` (optional) a
 * 1-D DistArray of length A.shape[0]; by default y is block-distributed over every rank.
 * @example const y = await matvec(A, x);
 */
async function matvecProduct(A: DistArray, x: DistArray, out?: DistArray): Promise<DistArray> {
  if (!(A instanceof DistArray) || A.ndim !== 2) throw new ArgumentError('A', 'a 2-D DistArray', A?.toString?.() ?? A);
  const me = A.rank;
  if (!(x instanceof DistArray) || x.ndim !== 1 || x.shape[0] !== A.shape[1]) {
    throw new ArgumentError('x', `a 1-D DistArray of length ${A.shape[1]}`, x?.toString?.() ?? x, me);
  }
  A.checkNotView('matvec (A)');
  if (x.dtype !== A.dtype) throw new ArgumentError('x', `a ${A.dtype} DistArray (A's dtype)`, x.dtype, me);
  if (A.dtype === 'int64' || A.dtype === 'uint64') throw new ArgumentError('A', 'a number dtype (not int64/uint64)', A.dtype, me);
  A.dist.axes.forEach((a, k) => {
    if (!a.contiguous) throw new ArgumentError('A', `block-distributed along every axis (axis ${k} is ${a.kind})`, A.dist.toString(), me);
  });
  const [m, n] = A.shape as [number, number];
  const P = A.size;
  const y = out ?? (await DistArray.zeros([m], { dtype: A.dtype, dist: block([m], P) }));
  if (!(y instanceof DistArray) || y.ndim !== 1 || y.shape[0] !== m || y.dtype !== A.dtype) {
    throw new ArgumentError('out', `a 1-D ${A.dtype} DistArray of length ${m}`, y?.toString?.() ?? y, me);
  }
  y.checkNotView('matvec (out)');
  const { start: [r0, c0], count: [mr, nc] } = A.localRegion() as { start: [number, number]; count: [number, number] };
  const xs = await x.get({ start: [c0], count: [nc] });
  const lda = A.paddedShape[1]!;
  const aOff = A.offsetOf([0, 0]);
  const wasm = A.wasm && wasmEnabled() ? A.wasm : undefined;
  const kernel = wasm
    ? (a: Float64Array, ao: number, ld: number, mm: number, nn: number, xv: Float64Array, _xo: number, yv: Float64Array, yo: number) => gemvWasm(wasm, ao, ld, mm, nn, xv, yv, yo)
    : A.dtype === 'float64' ? gemv : gemvAny;
  const pc = A.dist.grid[1]!;

  // Row blocks whose rows coincide with y's block on every rank: multiply straight into y.
  // Decided from both distributions for all ranks, never from this rank's alone: with an
  // irregular y some ranks' rows may coincide and others' not, and all must take one path.
  if (pc === 1 && y.halo === 0 && y.dist.axes[0]!.contiguous && rowsCoincide(A, y)) {
    kernel(A.data as Float64Array, aOff, lda, mr, nc, xs as Float64Array, 0, y.data as Float64Array, 0);
    return y;
  }

  let s = scratches.get(A);
  if (!s) {
    const pr = A.dist.grid[0]!;
    s = {
      partial: await DistArray.zeros([m, pc], { dtype: A.dtype, dist: grid([m, pc], [pr, pc]) }),
      rows: await DistArray.zeros([m, pc], { dtype: A.dtype, dist: grid([m, pc], [P, 1]) }),
    };
    scratches.set(A, s);
  }
  // partial is [mr, 1] here: one partial sum per row of this rank's block.
  kernel(A.data as Float64Array, aOff, lda, mr, nc, xs as Float64Array, 0, s.partial.data as Float64Array, 0);
  await s.partial.copyTo(s.rows);
  const rr = s.rows.localShape[0]!;
  const sums = rr === 0 ? s.rows.data : s.rows.data.slice(0, rr);
  const R = s.rows.data as Float64Array;
  for (let i = 0; i < rr; i++) {
    let acc = R[i * pc]!;
    for (let j = 1; j < pc; j++) acc += R[i * pc + j]!;
    (sums as Float64Array)[i] = acc;
  }
  // sums holds y's rows in the block([m], P) layout; move them into y's layout.
  if (y.halo === 0 && y.dist.equals(block([m], P))) {
    (y.data as Float64Array).set(sums as Float64Array);
  } else {
    const tmp = await DistArray.zeros([m], { dtype: A.dtype, dist: block([m], P) });
    (tmp.data as Float64Array).set(sums as Float64Array);
    await tmp.copyTo(y);
  }
  return y;
}

/** True when every rank's rows of A (a row-block grid) are exactly its block of y. */
function rowsCoincide(A: DistArray, y: DistArray): boolean {
  for (let r = 0; r < A.size; r++) {
    const a = A.dist.localRegion(r);
    const b = y.dist.localRegion(r);
    if (a.start[0] !== b.start[0] || a.count[0] !== b.count[0]) return false;
  }
  return true;
}
