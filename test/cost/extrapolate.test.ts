// The model in P: l(P) = l0 + l1·log2 P, g(P) = g0 + g1·log2 P, its leave-one-out check, and
// how resolveFrom applies it (one P, the cores boundary).
import { describe, expect, it } from 'vitest';
import { evalLog, fitLog, leaveOneOut } from '../../core/cost/extrapolate.js';
import { resolveFrom, type ParamsEntry } from '../../core/cost/params.js';
import { extrapolationCheck } from '../../core/cost/probe.js';

const entry = (p: number, l: number, g = 1e-9, cores?: number): ParamsEntry => ({ host: 'h', backend: 'sab', p, g, l, r: 1e9, b: 5e9 + p, measuredAt: 'x', ...(cores ? { cores } : {}) });

describe('fitLog', () => {
  it('recovers v0 + v1·log2 P exactly', () => {
    const pts = [2, 4, 8, 16].map((p) => ({ p, v: 3e-6 + 2e-6 * Math.log2(p) }));
    const m = fitLog(pts, 'grows');
    expect(m.v0).toBeCloseTo(3e-6, 15);
    expect(m.v1).toBeCloseTo(2e-6, 15);
    expect(evalLog(m, 1024)).toBeCloseTo(3e-6 + 20e-6, 15);
  });
  it('from one P: l grows as (1 + log2 P), g stays', () => {
    const l = fitLog([{ p: 2, v: 4e-6 }], 'grows');
    expect(evalLog(l, 2)).toBeCloseTo(4e-6, 15);
    expect(evalLog(l, 16)).toBeCloseTo(4e-6 * 5 / 2, 15);
    expect(evalLog(l, 1)).toBeCloseTo(2e-6, 15);
    expect(evalLog(fitLog([{ p: 2, v: 1e-9 }], 'flat'), 64)).toBe(1e-9);
  });
  it('keeps the slope >= 0: a cost does not fall as ranks are added', () => {
    const m = fitLog([{ p: 2, v: 5e-6 }, { p: 4, v: 3e-6 }], 'grows');
    expect(m.v1).toBe(0);
    expect(evalLog(m, 64)).toBeGreaterThan(0);
    expect(() => fitLog([], 'grows')).toThrow(RangeError);
  });
});

describe('leaveOneOut', () => {
  it('predicts each P from the others; exact on an exact model', () => {
    const pts = [2, 4, 8].map((p) => ({ p, v: 1e-6 + 1e-6 * Math.log2(p) }));
    const held = leaveOneOut(pts, 'grows');
    expect(held.map((x) => x.p)).toEqual([2, 4, 8]);
    for (const x of held) expect(Math.abs(x.relative)).toBeLessThan(1e-9);
    expect(held[0]!.from).toEqual([4, 8]);
    expect(leaveOneOut([{ p: 2, v: 1 }], 'grows')).toEqual([]);
  });
  it('with two P it is the one-point rule each way, and says how far off it is', () => {
    const [a, b] = leaveOneOut([{ p: 2, v: 2e-6 }, { p: 3, v: 6e-6 }], 'grows');
    expect(a!.predicted).toBeCloseTo((6e-6 * 2) / (1 + Math.log2(3)), 15);
    expect(b!.relative).toBeCloseTo(((2e-6 * (1 + Math.log2(3))) / 2) / 6e-6 - 1, 12);
  });
});

describe('resolveFrom with the model', () => {
  it('fits l and g in log2 P; r and b from the nearest P', () => {
    const es = [entry(2, 2e-6, 1e-9), entry(4, 3e-6, 1.5e-9)];
    const r16 = resolveFrom(es, 16, 'sab', 'h')!;
    expect(r16.source).toBe('extrapolated');
    expect(r16.l).toBeCloseTo(5e-6, 15);
    expect(r16.g).toBeCloseTo(2.5e-9, 20);
    expect(r16.b).toBe(5e9 + 4);
    expect(r16.from).toEqual([2, 4]);
  });
  it('keeps P <= cores and P > cores apart, and flags oversubscription', () => {
    const es = [entry(1, 1e-6, 0, 2), entry(2, 2e-6, 1e-9, 2), entry(4, 200e-6, 8e-9, 2)];
    const r8 = resolveFrom(es, 8, 'sab', 'h')!;
    expect(r8.oversubscribed).toBe(true);
    expect(r8.from).toEqual([4]); // only the oversubscribed entry
    expect(r8.l).toBeCloseTo(200e-6 * 4 / 3, 12);
    const r3 = resolveFrom([entry(1, 1e-6, 0, 4), entry(2, 2e-6, 1e-9, 4), entry(8, 200e-6, 8e-9, 4)], 3, 'sab', 'h')!;
    expect(r3.oversubscribed).toBe(false);
    expect(r3.from).toEqual([1, 2]);
    expect(resolveFrom(es, 2, 'sab', 'h')).toMatchObject({ source: 'measured', oversubscribed: false });
  });
  it('a probe at P = 1 (no g measured) takes no part in g', () => {
    const es = [entry(1, 1e-6, 0), entry(2, 2e-6, 1e-9), entry(4, 3e-6, 1e-9)];
    expect(resolveFrom(es, 8, 'sab', 'h')!.g).toBeCloseTo(1e-9, 20);
    expect(resolveFrom([entry(2, 2e-6, 1e-9), entry(4, 3e-6, 1e-9)], 1, 'sab', 'h')!.g).toBe(0);
    expect(extrapolationCheck(es).g.map((x) => x.p)).toEqual([2, 4]);
  });
  it('the probe\'s check reports each P held out', () => {
    const c = extrapolationCheck([entry(2, 2e-6, 1e-9, 8), entry(4, 3e-6, 1.2e-9, 8), entry(8, 4e-6, 1.4e-9, 8)]);
    expect(c.l.map((x) => x.p)).toEqual([2, 4, 8]);
    expect(c.l[1]!.relative).toBeCloseTo(0, 9); // 4 lies on the line through 2 and 8
    expect(c.g).toHaveLength(3);
    expect(c.cores).toBe(8);
  });
});
