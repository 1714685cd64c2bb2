/**
 * The BSP parameters at a P that was not probed, from the P that were (docs/cost.md §1):
 *
 *   l(P) = l0 + l1·log2 P     a sync is a fixed cost plus one per round of a log-depth exchange
 *   g(P) = g0 + g1·log2 P     per word of an h-relation; about flat while links are not shared
 *
 * fitted by least squares on log2 P weighted by relative error (1 / v²), slopes kept >= 0 (a
 * cost does not fall as ranks are added). From one probed P0, l(P) = l(P0)·(1 + log2 P) /
 * (1 + log2 P0) (l0 = l1) and g(P) = g(P0). Pure functions; params.ts applies them to the
 * params file, the probe reports their leave-one-out error on the P it measured.
 */

/** One probed value: the parameter v measured at P. */
export interface PPoint {
  p: number;
  v: number;
}

/** v(P) = v0 + v1·log2 P. */
export interface LogModel {
  v0: number;
  v1: number;
}

/** Which one-point rule applies: l grows with log2 P from one point, g stays. */
export type OnePointRule = 'grows' | 'flat';

/** Fits v(P) = v0 + v1·log2 P to the points (see above). @throws {RangeError} with no points */
export function fitLog(points: readonly PPoint[], onePoint: OnePointRule): LogModel {
  const pts = points.filter((q) => Number.isFinite(q.v) && q.v >= 0 && q.p >= 1);
  if (pts.length === 0) throw new RangeError('fitLog needs at least one point');
  const ps = new Set(pts.map((q) => q.p));
  if (ps.size === 1) {
    const v = pts.reduce((a, q) => a + q.v, 0) / pts.length;
    const x0 = Math.log2(pts[0]!.p);
    return onePoint === 'flat' ? { v0: v, v1: 0 } : { v0: v / (1 + x0), v1: v / (1 + x0) };
  }
  let sw = 0, sx = 0, sy = 0, sxx = 0, sxy = 0;
  const floor = Math.max(1e-15, Math.max(...pts.map((q) => q.v)) * 1e-6);
  for (const q of pts) {
    const w = 1 / Math.max(q.v, floor) ** 2;
    const x = Math.log2(q.p);
    sw += w; sx += w * x; sy += w * q.v; sxx += w * x * x; sxy += w * x * q.v;
  }
  let v1 = (sw * sxy - sx * sy) / (sw * sxx - sx * sx);
  if (!(v1 > 0)) v1 = 0;
  const v0 = (sy - v1 * sx) / sw;
  return { v0, v1 };
}

/** v(P) of a model, never below 0. */
export function evalLog(m: LogModel, p: number): number {
  return Math.max(0, m.v0 + m.v1 * Math.log2(p));
}

/** The error of extrapolating to one probed P from the others. */
export interface HeldOut {
  p: number;
  measured: number;
  predicted: number;
  /** predicted / measured - 1. */
  relative: number;
  /** The P the model was fitted on. */
  from: number[];
}

/**
 * Leave-one-out: for each probed P, fit on the other P and predict it. Empty with fewer than
 * two distinct P. `regimeOf` (e.g. P <= cores or not) restricts each fit to the points of the
 * held-out P's regime when there are any, as resolveParams does.
 */
export function leaveOneOut(points: readonly PPoint[], onePoint: OnePointRule, regimeOf: (p: number) => boolean = () => true): HeldOut[] {
  const ps = [...new Set(points.map((q) => q.p))].sort((a, b) => a - b);
  if (ps.length < 2) return [];
  return ps.map((p) => {
    const others = points.filter((q) => q.p !== p);
    const same = others.filter((q) => regimeOf(q.p) === regimeOf(p));
    const use = same.length ? same : others;
    const measured = points.filter((q) => q.p === p).reduce((a, q, _, all) => a + q.v / all.length, 0);
    const predicted = evalLog(fitLog(use, onePoint), p);
    return { p, measured, predicted, relative: measured > 0 ? predicted / measured - 1 : 0, from: [...new Set(use.map((q) => q.p))].sort((a, b) => a - b) };
  });
}
