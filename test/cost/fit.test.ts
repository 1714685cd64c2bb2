import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { fitLinear, median } from '../../core/cost/fit.js';
import { rng } from '../comm/cases.js';

const hs = [0, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384, 32768, 65536];

function synthetic(l: number, g: number, seed: number, noise = 0.05, outlierRate = 0.1, reps = 15) {
  const rand = rng(seed);
  return hs.map((h) => ({
    h,
    times: Array.from({ length: reps }, () => {
      const t = (l + g * h) * (1 + noise * (2 * rand() - 1));
      // Descheduled repetitions: 5 to 50 times slower.
      return rand() < outlierRate ? t * (5 + 45 * rand()) : t;
    }),
  }));
}

describe('fitLinear', () => {
  it('recovers l and g exactly from noise-free data', () => {
    const f = fitLinear(hs.map((h) => ({ h, times: [2e-6 + 1.5e-9 * h] })));
    expect(f.l).toBeCloseTo(2e-6, 12);
    expect(f.g).toBeCloseTo(1.5e-9, 15);
    expect(f.rmsRelative).toBeLessThan(1e-9);
    expect(f.residuals).toHaveLength(hs.length);
  });

  it('recovers l and g within 10% with 5% noise and 10% outliers (property)', () => {
    fc.assert(
      // g is identifiable when the largest h costs at least a few l (k = g·hmax / l >= 2).
      fc.property(fc.double({ min: 1e-7, max: 1e-3, noNaN: true }), fc.double({ min: 2, max: 1000, noNaN: true }), fc.integer(), (l, k, seed) => {
        const g = (k * l) / 65536;
        const f = fitLinear(synthetic(l, g, seed));
        expect(Math.abs(f.l - l) / l).toBeLessThan(0.1);
        expect(Math.abs(f.g - g) / g).toBeLessThan(0.1);
      }),
      { numRuns: 25 },
    );
  });

  it('is not dominated by the largest h: a 30% error at the top leaves l intact', () => {
    const data = hs.map((h) => ({ h, times: [1e-5 + 1e-9 * h] }));
    data[data.length - 1]!.times = [(1e-5 + 1e-9 * 65536) * 1.5];
    const f = fitLinear(data);
    expect(Math.abs(f.l - 1e-5) / 1e-5).toBeLessThan(0.02);
    // An unweighted least-squares line would put l far off (checked here, to show the test can fail).
    const n = hs.length, mx = hs.reduce((a, b) => a + b) / n;
    const ys = data.map((d) => d.times[0]!), my = ys.reduce((a, b) => a + b) / n;
    const slope = hs.reduce((a, h, i) => a + (h - mx) * (ys[i]! - my), 0) / hs.reduce((a, h) => a + (h - mx) ** 2, 0);
    expect(Math.abs(my - slope * mx - 1e-5) / 1e-5).toBeGreaterThan(0.1);
  });

  it('rejects a wild median as an outlier and reports it with weight 0', () => {
    const data = hs.map((h) => ({ h, times: [1e-5 + 1e-9 * h] }));
    data[5]!.times = [1e-2];
    const f = fitLinear(data);
    expect(f.residuals[5]!.weight).toBe(0);
    expect(f.residuals[5]!.relative).toBeGreaterThan(10);
    expect(f.l).toBeCloseTo(1e-5, 9);
  });

  it('keeps a run of large h that bend away from the line: the fit must describe the whole range', () => {
    // The top four h cost 2.5x what the small h extrapolate to (a cache edge): a fit that
    // rejected them as outliers would predict the large h 60% too low.
    const data = hs.map((h, i) => ({ h, times: [(1e-5 + 1e-9 * h) * (i >= hs.length - 4 ? 2.5 : 1)] }));
    const f = fitLinear(data);
    expect(f.residuals.every((r) => r.weight === 1)).toBe(true);
    const top = f.residuals.at(-1)!;
    expect(Math.abs(top.relative)).toBeLessThan(0.25);
  });

  it('takes g from the h where communication dominates: the medians a tcp probe measured, whose cost per word grows past 512 KiB', () => {
    // µs per superstep at P = 2 over loopback TCP (bench/cost.bench.ts, 2026-12-01).
    const measured = [[0, 15.9], [8, 16.7], [16, 23.3], [32, 16.2], [64, 16.8], [128, 16.3], [256, 16.6], [512, 16.9], [1024, 17.5], [2048, 20.5], [4096, 21.7], [8192, 32.2], [16384, 42.1], [32768, 57.5], [65536, 104.2], [131072, 342.8], [262144, 574.3], [524288, 1488.7]];
    const f = fitLinear(measured.map(([h, us]) => ({ h: h!, times: [us! * 1e-6] })));
    // A line weighted by relative error alone gave 1.73 ns and predicted h = 524288 at 59% of what it cost.
    expect(f.g).toBeGreaterThan(2e-9);
    expect(f.g).toBeLessThan(2.6e-9);
    expect(Math.abs(f.l - 16.5e-6)).toBeLessThan(1e-6);
    expect(Math.abs(f.residuals.at(-1)!.relative)).toBeLessThan(0.35);
  });

  it('keeps l and g non-negative', () => {
    const f = fitLinear([{ h: 0, times: [5e-6] }, { h: 100, times: [4e-6] }, { h: 1000, times: [3e-6] }]);
    expect(f.g).toBe(0);
    expect(f.l).toBeGreaterThan(0);
    const f2 = fitLinear([{ h: 100, times: [1e-7] }, { h: 1000, times: [1.5e-6] }, { h: 10000, times: [1.5e-5] }]);
    expect(f2.l).toBeGreaterThanOrEqual(0);
    expect(f2.g).toBeGreaterThan(0);
  });

  it('needs two distinct h', () => {
    expect(() => fitLinear([{ h: 8, times: [1, 2] }])).toThrow(RangeError);
    expect(() => fitLinear([{ h: 8, times: [1] }, { h: 16, times: [NaN] }])).toThrow(/two or more distinct h/);
  });

  it('median', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([])).toBeNaN();
  });
});
