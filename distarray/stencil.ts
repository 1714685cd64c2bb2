/**
 * Stencil sweeps over DistArrays with halos: local work only (call exchangeHalos first).
 * Each has `.cost(u, steps)`: the counts of `steps` sweeps with their halo exchanges, per
 * superstep, for bsp.predict({ steps }) (distarray/cost.ts).
 */
import { ArgumentError } from '../util/errors.js';
import { DistArray } from './distarray.js';
import { jacobi5, jacobi7Sweep, jacobi9Sweep } from './kernels.js';
import { jacobi7Cost, jacobiCost } from './cost.js';

/**
 * One Jacobi sweep of the 2-D 5-point Laplacian on this rank's block (see jacobiSweep);
 * `jacobiStep.cost(u, steps)` gives the counts of `steps` sweeps with their halo exchanges,
 * per superstep, for bsp.predict({ steps }) (distarray/cost.ts).
 * @example bsp.predict({ steps: jacobiStep.cost(u, 100) }).seconds
 */
export const jacobiStep = Object.assign(jacobiSweep, { cost: jacobiCost });

/**
 * One Jacobi sweep of the 2-D 9-point (compact) Laplacian on this rank's block:
 * out = 0.05 * (4 * (N + S + W + E) + (NW + NE + SW + SE)) of `u`, reading u's halo
 * (corners included). As jacobiStep otherwise; `jacobi9.cost(u, steps)` as jacobiStep's.
 */
export const jacobi9 = Object.assign(function jacobi9(u: DistArray, out: DistArray): DistArray {
  const [m, n] = checkSweep(u, out, 2, 'jacobi9') as [number, number];
  if (m > 0 && n > 0) jacobi9Sweep(u.data as Float64Array, out.data as Float64Array, m, n, u.halos[0]!, u.halos[1]!);
  return out;
}, { cost: jacobiCost });

/**
 * One Jacobi sweep of the 3-D 7-point Laplacian on this rank's block: out = (1/6) * (the
 * six face neighbours of `u`), reading u's halo. `u` and `out` are float64 3-D arrays of the
 * same distribution and halos (>= 1 along every axis). `jacobi7.cost(u, steps)` as jacobiStep's.
 * @example
 * for (let k = 0; k < iters; k++) {
 *   await u.exchangeHalos();
 *   jacobi7(u, v);
 *   [u, v] = [v, u];
 * }
 */
export const jacobi7 = Object.assign(function jacobi7(u: DistArray, out: DistArray): DistArray {
  const [m0, m1, m2] = checkSweep(u, out, 3, 'jacobi7') as [number, number, number];
  const [h0, h1, h2] = u.halos as [number, number, number];
  if (m0 > 0 && m1 > 0 && m2 > 0) jacobi7Sweep(u.data as Float64Array, out.data as Float64Array, m0, m1, m2, h0, h1, h2);
  return out;
}, { cost: jacobi7Cost });

/**
 * One Jacobi sweep of the 2-D 5-point Laplacian on this rank's block:
 * out = 0.25 * (north + south + west + east) of `u`, reading u's halo.
 * `u` and `out` are float64 2-D arrays of the same distribution and halo width (>= 1).
 * @example
 * for (let k = 0; k < iters; k++) {
 *   await u.exchangeHalos();
 *   jacobiStep(u, v);
 *   [u, v] = [v, u];
 * }
 */
function jacobiSweep(u: DistArray, out: DistArray): DistArray {
  const [m, n] = checkSweep(u, out, 2, 'jacobiStep') as [number, number];
  if (m > 0 && n > 0) jacobi5(u.data as Float64Array, out.data as Float64Array, m, n, u.halos[0]!, u.halos[1]!);
  return out;
}

/** Checks a sweep's arguments; returns this rank's block shape. */
function checkSweep(u: DistArray, out: DistArray, ndim: number, what: string): readonly number[] {
  if (!(u instanceof DistArray) || u.ndim !== ndim || u.dtype !== 'float64' || u.halos.some((w) => w < 1)) {
    throw new ArgumentError('u', `a ${ndim}-D float64 DistArray with a halo of at least 1 (along every axis) for ${what}`, u?.toString?.() ?? u, u instanceof DistArray ? u.rank : undefined);
  }
  const halo = u.halos.every((w) => w === u.halo) ? `${u.halo}` : `[${u.halos.join(', ')}]`;
  if (!(out instanceof DistArray) || !out.dist.equals(u.dist) || out.halos.some((w, k) => w !== u.halos[k]) || out.dtype !== 'float64') {
    throw new ArgumentError('out', `a float64 DistArray with u's distribution and halo ${halo}`, out?.toString?.() ?? out, u.rank);
  }
  if (out === u) throw new ArgumentError('out', `a different array than u (${what} reads old values)`, 'u', u.rank);
  return u.localShape;
}
