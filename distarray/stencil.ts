/**
 * Stencil sweeps over DistArrays with halos: local work only (call exchangeHalos first).
 */
import { ArgumentError } from '../util/errors.js';
import { DistArray } from './distarray.js';
import { jacobi5 } from './kernels.js';
import { jacobiCost } from './cost.js';

/**
 * One Jacobi sweep of the 2-D 5-point Laplacian on this rank's block (see jacobiSweep);
 * `jacobiStep.cost(u, steps)` gives the counts of `steps` sweeps with their halo exchanges,
 * per superstep, for bsp.predict({ steps }) (distarray/cost.ts).
 * @example bsp.predict({ steps: jacobiStep.cost(u, 100) }).seconds
 */
export const jacobiStep = Object.assign(jacobiSweep, { cost: jacobiCost });

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
  if (!(u instanceof DistArray) || u.ndim !== 2 || u.dtype !== 'float64' || u.halo < 1) {
    throw new ArgumentError('u', 'a 2-D float64 DistArray with a halo of at least 1', u?.toString?.() ?? u);
  }
  if (!(out instanceof DistArray) || !out.dist.equals(u.dist) || out.halo !== u.halo || out.dtype !== 'float64') {
    throw new ArgumentError('out', `a float64 DistArray with u's distribution and halo ${u.halo}`, out?.toString?.() ?? out, u.rank);
  }
  if (out === u) throw new ArgumentError('out', 'a different array than u (Jacobi reads old values)', 'u', u.rank);
  const [m, n] = u.localShape as [number, number];
  if (m > 0 && n > 0) jacobi5(u.data as Float64Array, out.data as Float64Array, m, n, u.halo);
  return out;
}
