// The counts behind true predictions: counts.ts (pure) and distarray's .cost on real ranks.
import { afterAll, describe, expect, it } from 'vitest';
import { allreduceCounts, groupByCounts, kWorkloads, repeat, rowJacobiCounts, rowMatvecCounts } from '../../core/cost/counts.js';
import { predictWith } from '../../core/cost/predict.js';
import { callAll, closeWorlds } from '../harness.js';
import type { SuperstepCounts } from '../../core/cost/predict.js';

afterAll(closeWorlds);

describe('counts of the BSP algorithms', () => {
  it('row-block matvec: 2·rows·n flops, h = the largest of what a rank sends or receives', () => {
    expect(rowMatvecCounts(4096, 4096, 2)).toEqual([{ flops: 2 * 2048 * 4096, h: 2048 }]);
    expect(rowMatvecCounts(4096, 4096, 4)).toEqual([{ flops: 2 * 1024 * 4096, h: 3072 }]);
    expect(rowMatvecCounts(10, 10, 1)).toEqual([{ flops: 200, h: 0 }]);
    // Uneven: 10 over 3 = 4, 3, 3; the rank of 4 sends 8, a rank of 3 receives 7.
    expect(rowMatvecCounts(10, 10, 3)).toEqual([{ flops: 2 * 4 * 10, h: 8 }]);
  });
  it('row-block Jacobi: 16 bytes per cell, h = one row at P = 2, two rows beyond', () => {
    expect(rowJacobiCounts(2048, 2048, 2, 3)).toEqual(Array(3).fill({ bytes: 16 * 1024 * 2048, h: 2048 }));
    expect(rowJacobiCounts(100, 50, 4)[0]).toEqual({ bytes: 16 * 25 * 50, h: 100 });
    expect(rowJacobiCounts(100, 50, 1)[0]!.h).toBe(0);
  });
  it('allreduce: two supersteps of (P-1)/P of the vector; nothing on one rank', () => {
    const [rs, ag] = allreduceCounts(1 << 20, 4);
    expect(rs!.h).toBe(3 * (1 << 18));
    expect(ag!.h).toBe(3 * (1 << 18));
    expect(allreduceCounts(100, 1)).toEqual([]);
  });
  it('workloads repeat their supersteps; strong scaling never adds work per rank', () => {
    expect(kWorkloads.matvec(64, 2, 3)).toHaveLength(3);
    expect(kWorkloads.allreduce(64, 2, 3)).toHaveLength(6);
    expect(repeat([{ h: 1 }], 0)).toEqual([]);
    let last = Infinity;
    for (const p of [1, 2, 4, 8, 16, 64]) {
      const c = kWorkloads.jacobi(1024, p)[0]!;
      expect(c.bytes!).toBeLessThanOrEqual(last);
      last = c.bytes!;
    }
    expect(() => rowMatvecCounts(0, 4, 2)).toThrow(/`m` must be an integer >= 1/);
  });
  it('groupBy: partial rows of keys + 1 + 4·columns words; two supersteps; none moved on one rank', () => {
    const [pass, merge] = groupByCounts({ rows: 1000, keys: 1, columns: 2, groups: 100, p: 4 });
    expect(pass!.h).toBe(75 * 10); // 3/4 of 100 partials out, 3 × 25 in
    expect(pass!.bytes).toBe(8 * 1000 * 3 + 8 * 100 * 10);
    expect(merge!.h).toBe(0);
    expect(groupByCounts({ rows: 1000, keys: 1, columns: 2, groups: 100, p: 1 })[0]!.h).toBe(0);
    // More groups than rows: a rank has at most `rows` partials.
    expect(groupByCounts({ rows: 10, keys: 2, columns: 0, groups: 1e6, p: 2 })[0]!.h).toBe(5 * 3);
    expect(() => groupByCounts({ rows: 10, keys: 0, columns: 1, groups: 1, p: 2 })).toThrow(/`keys`/);
  });
  it('feed predictWith({ steps })', () => {
    const params = { g: 1e-9, l: 1e-5, r: 1e9, b: 4e9 };
    const steps = rowJacobiCounts(1024, 1024, 2, 10);
    const p = predictWith({ steps }, params);
    expect(p.supersteps).toBe(10);
    expect(p.compute).toBeCloseTo((10 * 16 * 512 * 1024) / 4e9, 12);
    expect(p.communication).toBeCloseTo(10 * 1024 * 1e-9, 12);
  });
});

describe('distarray .cost on real ranks (sab)', () => {
  it('matvec.cost on row blocks equals rowMatvecCounts; a 2-D grid adds the fold', async () => {
    const [rows] = await callAll<SuperstepCounts[]>('sab', 4, 'cost-counts.ts', 'matvecCounts', [64, [4, 1]]);
    expect(rows).toEqual(rowMatvecCounts(64, 64, 4));
    const [twoD] = await callAll<SuperstepCounts[]>('sab', 4, 'cost-counts.ts', 'matvecCounts', [64, [2, 2]]);
    expect(twoD).toHaveLength(2);
    // A 32×32 block per rank: 2·32·32 flops; x's columns 0..31 are ranks 0 and 1's blocks.
    expect(twoD![0]!.flops).toBe(2 * 32 * 32);
    expect(twoD![0]!.h).toBeGreaterThan(0);
    expect(twoD![1]!.h).toBeGreaterThan(0);
  }, 60_000);
  it('jacobiStep.cost counts the halo plan: row blocks as rowJacobiCounts, a 2-D grid with corners', async () => {
    const [rows] = await callAll<SuperstepCounts[]>('sab', 4, 'cost-counts.ts', 'jacobiCounts', [64, 32, [4, 1], 2]);
    expect(rows).toEqual(rowJacobiCounts(64, 32, 4, 2));
    const [grid] = await callAll<SuperstepCounts[]>('sab', 4, 'cost-counts.ts', 'jacobiCounts', [64, 64, [2, 2], 1]);
    // A 32×32 block of a 2×2 grid: one row, one column and one corner cell to each neighbour.
    expect(grid).toEqual([{ bytes: 16 * 32 * 32, h: 32 + 32 + 1 }]);
  }, 60_000);
  it('frame.groupBy(keys).cost is groupByCounts of the frame', async () => {
    const [c] = await callAll<SuperstepCounts[]>('sab', 2, 'cost-counts.ts', 'groupByCost', [100]);
    expect(c).toEqual(groupByCounts({ rows: 100, keys: 1, columns: 1, groups: 10, p: 2 }));
  }, 60_000);
});
