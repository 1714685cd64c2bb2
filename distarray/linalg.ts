/**
 * Linear algebra on DistArrays built from the pieces above: norms along axes, outer
 * products, and the conjugate-gradient solver as the worked example of matvec + dot + axpy
 * in supersteps. (matmul on a process grid: matmul.ts.)
 */
import { ArgumentError } from '../util/errors.js';
import { DistArray } from './distarray.js';
import { matvec } from './matvec.js';
import { reshape } from './shape.js';
import { mul, sqrt } from './ufunc.js';
import { sum, type ReduceOptions } from './reduce.js';
import { team } from './team.js';

/**
 * Collective: the Euclidean (2-) norm over `axis` (numpy.linalg.norm with ord=None for
 * vectors, Frobenius over every axis): a number without `axis`, else a DistArray.
 */
export async function norm(a: DistArray, options: Pick<ReduceOptions, 'axis' | 'keepdims'> = {}): Promise<DistArray | number> {
  if (!(a instanceof DistArray)) throw new ArgumentError('a', 'a DistArray', a, team().rank);
  const squares = await mul(a, a);
  const s = await sum(squares, options);
  return typeof s === 'number' ? Math.sqrt(s) : sqrt(s, { out: s });
}

/** Collective: the outer product of two 1-D arrays, out[i, j] = a[i] * b[j] (numpy.outer), block rows. */
export async function outer(a: DistArray, b: DistArray): Promise<DistArray> {
  const rank = team().rank;
  for (const [x, name] of [[a, 'a'], [b, 'b']] as const) {
    if (!(x instanceof DistArray) || x.ndim !== 1) throw new ArgumentError(name, 'a 1-D DistArray', x?.toString?.() ?? x, rank);
  }
  const column = await reshape(a, [a.shape[0]!, 1]);
  return mul(column, b);
}

/** Options and result of `cg`. */
export interface CgOptions {
  /** Stop when ||r|| <= tol * ||b|| (default 1e-10). */
  tol?: number;
  /** At most this many iterations (default: the size of b). */
  maxIter?: number;
  /** Initial guess (b's shape and distribution); default zeros. Not modified. */
  x0?: DistArray;
}
export interface CgResult {
  x: DistArray;
  iterations: number;
  /** ||b - A x|| at the end (the recurrence's residual). */
  residual: number;
  converged: boolean;
}

/**
 * Collective: solves A x = b for a symmetric positive definite A by conjugate gradients.
 * A is a 2-D float64 array that `matvec` takes (row blocks or a 2-D block grid); b a 1-D
 * float64 array of length A.shape[0] (any layout: x, r, p live in b's layout). Each
 * iteration is one matvec (gather of p, local product), two dot products (allreduce) and
 * three local axpys.
 * @example const { x, iterations } = await cg(A, b, { tol: 1e-8 });
 */
export async function cg(A: DistArray, b: DistArray, options: CgOptions = {}): Promise<CgResult> {
  const rank = team().rank;
  if (!(A instanceof DistArray) || A.ndim !== 2 || A.shape[0] !== A.shape[1]) throw new ArgumentError('A', 'a square 2-D DistArray', A?.toString?.() ?? A, rank);
  if (!(b instanceof DistArray) || b.ndim !== 1 || b.shape[0] !== A.shape[0] || b.dtype !== A.dtype) {
    throw new ArgumentError('b', `a 1-D ${A.dtype} DistArray of length ${A.shape[0]}`, b?.toString?.() ?? b, rank);
  }
  const tol = options.tol ?? 1e-10;
  const maxIter = options.maxIter ?? b.shape[0]!;
  if (!(tol >= 0)) throw new ArgumentError('options.tol', 'a non-negative number', tol, rank);
  if (!Number.isInteger(maxIter) || maxIter < 0) throw new ArgumentError('options.maxIter', 'a non-negative integer', maxIter, rank);
  const x = b.like();
  if (options.x0 !== undefined) options.x0.map((v) => v, x);
  const Ap = b.like();
  // r = b - A x0; p = r
  await matvec(A, x, Ap);
  const r = b.zip(Ap, (bi, ai) => bi - ai);
  const p = r.map((v) => v);
  const bnorm = await b.norm();
  let rs = await r.dot(r);
  const stop = tol * (bnorm === 0 ? 1 : bnorm);
  let k = 0;
  while (Math.sqrt(rs) > stop && k < maxIter) {
    await matvec(A, p, Ap);
    const alpha = rs / (await p.dot(Ap));
    x.zip(p, (xi, pi) => xi + alpha * pi, x);
    r.zip(Ap, (ri, ai) => ri - alpha * ai, r);
    const next = await r.dot(r);
    const beta = next / rs;
    p.zip(r, (pi, ri) => ri + beta * pi, p);
    rs = next;
    k++;
  }
  return { x, iterations: k, residual: Math.sqrt(rs), converged: Math.sqrt(rs) <= stop };
}
