/**
 * The robust fit of t = l + g·h behind `superstep probe`, in the method of bspbench: many
 * repetitions per h, reduced to their median (so a descheduled repetition cannot move the
 * fit), then a least-squares line weighted by 1 / t² (relative error), so the few large h
 * do not dominate the many small ones that determine l, and the line is judged by the
 * relative error of its predictions, which is what a ±25% fidelity target asks of it.
 * A second pass rejects *isolated* wild medians (a burst of load that hit one h): a point
 * whose relative residual exceeds a robust cutoff (Tukey's 4.685 on the MAD scale, at
 * least ±25%) while its neighbours in h are not off the same way. A run of neighbouring
 * points off the line on the same side is the machine's curve, not noise: it stays in the fit,
 * so the line describes the whole h range it was measured on (the large h included).
 * Then g is re-estimated where it matters, over the h where communication dominates (see
 * slopeWhereCommunicationDominates), and l from the rest.
 */

/** One point of a fit: an h and the times measured for it (seconds). */
export interface FitSample {
  /** Words (8-byte doubles) each rank sends and receives in the superstep. */
  h: number;
  /** Repetitions, seconds. */
  times: number[];
}

/** The residual at one h. */
export interface FitResidual {
  h: number;
  /** Median of the repetitions, seconds. */
  measured: number;
  /** l + g·h, seconds. */
  predicted: number;
  /** (measured - predicted) / predicted. */
  relative: number;
  /** Weight the final pass gave the point (0 = rejected as an outlier). */
  weight: number;
}

/** Result of fitLinear: t = l + g·h. */
export interface LinearFit {
  /** Seconds per superstep, at h = 0. */
  l: number;
  /** Seconds per word. */
  g: number;
  residuals: FitResidual[];
  /** Root mean square of the relative residuals of the points kept. */
  rmsRelative: number;
}

/** Median of a non-empty array (does not modify it). */
export function median(xs: readonly number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

function weightedLine(h: number[], t: number[], w: number[]): { l: number; g: number } {
  let sw = 0, sx = 0, sy = 0, sxx = 0, sxy = 0;
  for (let i = 0; i < h.length; i++) {
    const wi = w[i]!;
    sw += wi; sx += wi * h[i]!; sy += wi * t[i]!; sxx += wi * h[i]! * h[i]!; sxy += wi * h[i]! * t[i]!;
  }
  const det = sw * sxx - sx * sx;
  if (!(Math.abs(det) > 0) || sw === 0) return { l: sw > 0 ? sy / sw : 0, g: 0 };
  const g = (sw * sxy - sx * sy) / det;
  const l = (sy - g * sx) / sw;
  return { l, g };
}

/**
 * Fits t = l + g·h to samples: medians per h, weighted by 1/t², then passes that reject
 * isolated outlying medians (see above). l and g are kept non-negative.
 * @throws {RangeError} with fewer than two distinct h having finite times
 */
export function fitLinear(samples: readonly FitSample[]): LinearFit {
  const pts = samples
    .map((s) => ({ h: s.h, m: median(s.times.filter((x) => Number.isFinite(x))) }))
    .filter((p) => Number.isFinite(p.h) && p.h >= 0 && Number.isFinite(p.m))
    .sort((a, b) => a.h - b.h);
  if (new Set(pts.map((p) => p.h)).size < 2) {
    throw new RangeError(`fitLinear needs samples at two or more distinct h with finite times; got ${pts.length} usable point(s)`);
  }
  const h = pts.map((p) => p.h);
  const t = pts.map((p) => p.m);
  // Relative-error weights; a floor keeps a zero time from getting infinite weight.
  const floor = Math.max(1e-12, median(t.filter((x) => x > 0)) * 1e-3 || 1e-12);
  const base = t.map((x) => 1 / Math.max(x, floor) ** 2);
  let fit = weightedLine(h, t, base);
  let robust = base.map(() => 1);
  for (let iter = 0; iter < 5; iter++) {
    const rel = t.map((x, i) => (x - predict(fit, h[i]!)) / Math.max(predict(fit, h[i]!), floor));
    const c = 4.685 * Math.max(median(rel.map(Math.abs)) / 0.6745, kMinScale);
    const off = rel.map((r) => Math.abs(r) > c);
    // Off the same way as a neighbour: part of the curve, kept.
    const sided = (i: number, j: number) => j >= 0 && j < rel.length && off[j]! && Math.sign(rel[j]!) === Math.sign(rel[i]!);
    const next = rel.map((_, i) => (off[i]! && !sided(i, i - 1) && !sided(i, i + 1) ? 0 : 1));
    // Never reject so much that the line is undetermined.
    if (next.filter((x) => x > 0).length < 2) break;
    const same = next.every((x, i) => x === robust[i]);
    robust = next;
    if (same && iter > 0) break;
    fit = weightedLine(h, t, base.map((b, i) => b * robust[i]!));
  }
  let { l, g } = fit;
  const second = slopeWhereCommunicationDominates(h, t, l, g, robust);
  if (second) {
    ({ l, g } = second);
    // Every point that voted for g counts as kept, whatever stage one thought of it.
    robust = robust.map((w, i) => (second.voted.includes(i) ? 1 : w));
  }
  if (g < 0) {
    g = 0;
    l = median(t);
  }
  if (l < 0) {
    // Refit the slope through the origin: t = g·h.
    let sxy = 0, sxx = 0;
    for (let i = 0; i < h.length; i++) {
      sxy += base[i]! * robust[i]! * h[i]! * t[i]!;
      sxx += base[i]! * robust[i]! * h[i]! * h[i]!;
    }
    l = 0;
    g = sxx > 0 ? sxy / sxx : g;
  }
  const residuals = pts.map((p, i) => {
    const pr = l + g * p.h;
    return { h: p.h, measured: p.m, predicted: pr, relative: pr > 0 ? (p.m - pr) / pr : 0, weight: robust[i]! };
  });
  const kept = residuals.filter((r) => r.weight > 0);
  const rmsRelative = Math.sqrt(kept.reduce((a, r) => a + r.relative ** 2, 0) / Math.max(1, kept.length));
  return { l, g, residuals, rmsRelative };
}

/**
 * Stage two: g as the median cost per word, (t - l) / h, over the h where communication
 * dominates (g·h >= 2l, at least three of them), and l again as the median of t - g·h over
 * the other points the first stage kept. The line of stage one balances relative errors over
 * every h, most of which only see l; where the cost per word grows with h (on tcp, past
 * 512 KiB messages: 1.3 ns per word at 32768 words, 2.1-2.8 from 131072), it took g from the
 * middle of the range and under-predicted the large h by 40-60%. The median gives each
 * large h one vote: no single one (the largest included) decides g, and a wild one is outvoted.
 */
function slopeWhereCommunicationDominates(h: readonly number[], t: readonly number[], l: number, g: number, kept: readonly number[]): { l: number; g: number; voted: number[] } | undefined {
  if (!(g > 0) || !(l >= 0)) return undefined;
  const voted = h.map((_, i) => i).filter((i) => h[i]! > 0 && g * h[i]! >= 2 * l);
  if (voted.length < 3) return undefined;
  const g2 = median(voted.map((i) => (t[i]! - l) / h[i]!));
  if (!(g2 > 0)) return undefined;
  const rest = h.map((_, i) => i).filter((i) => !voted.includes(i) && kept[i]! > 0);
  return { l: rest.length ? median(rest.map((i) => t[i]! - g2 * h[i]!)) : l, g: g2, voted };
}

/** The smallest residual scale the outlier test assumes (cutoff 4.685 × 5.3% = ±25%). */
const kMinScale = 0.053;

function predict(f: { l: number; g: number }, h: number): number {
  return f.l + f.g * h;
}
