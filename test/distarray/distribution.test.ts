// Distributions, transfer plans and halo plans: pure code, checked exhaustively per case.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AxisMap, block, blockCyclic, cyclic, dimsCreate, fromSpec, grid, irregularBlock, type Distribution } from '../../distarray/distribution.js';
import { haloPlan } from '../../distarray/halo.js';
import { copyBox, plan, rootLayout } from '../../distarray/regions.js';
import { ArgumentError } from '../../util/errors.js';
import { arbDistribution, arbBlockDistribution } from './arbitraries.js';
import { indices } from './halo-reference.js';


const linear = (shape: readonly number[], idx: readonly number[]) => idx.reduce((s, v, k) => s * shape[k]! + v, 0);

describe('AxisMap', () => {
  it('maps every index to one (coordinate, local) and back; runs stay consecutive', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 40 }), fc.integer({ min: 1, max: 6 }), fc.constantFrom('block', 'cyclic', 'block-cyclic' as const), fc.integer({ min: 1, max: 5 }), (n, p, kind, b) => {
        const a = new AxisMap(n, p, kind, b);
        const seen = new Set<string>();
        for (let i = 0; i < n; i++) {
          const c = a.owner(i);
          const l = a.toLocal(i);
          expect(c).toBeGreaterThanOrEqual(0);
          expect(c).toBeLessThan(p);
          expect(l).toBeGreaterThanOrEqual(0);
          expect(l).toBeLessThan(a.localSize(c));
          expect(a.toGlobal(c, l)).toBe(i);
          seen.add(`${c}:${l}`);
          const len = a.runLength(i, n);
          expect(len).toBeGreaterThanOrEqual(1);
          for (let j = 1; j < len; j++) {
            expect(a.owner(i + j)).toBe(c);
            expect(a.toLocal(i + j)).toBe(l + j);
          }
        }
        let total = 0;
        for (let c = 0; c < p; c++) total += a.localSize(c);
        expect(total).toBe(n);
        expect(seen.size).toBe(n);
      }),
      { numRuns: 200 },
    );
  });

  it('block sizes differ by at most one, larger first', () => {
    const a = new AxisMap(10, 4, 'block');
    expect([0, 1, 2, 3].map((c) => a.localSize(c))).toEqual([3, 3, 2, 2]);
    expect([0, 1, 2, 3].map((c) => a.start(c))).toEqual([0, 3, 6, 8]);
  });

  it('an irregular block holds counts[c] indices on coordinate c, empty coordinates included', () => {
    const a = new AxisMap(10, 4, 'block', 1, [3, 0, 7, 0]);
    expect([...Array(10).keys()].map((i) => a.owner(i))).toEqual([0, 0, 0, 2, 2, 2, 2, 2, 2, 2]);
    expect([0, 1, 2, 3].map((c) => a.start(c))).toEqual([0, 3, 3, 10]);
    expect(a.toLocal(5)).toBe(2);
    expect(a.equals(new AxisMap(10, 4, 'block'))).toBe(false);
    expect(new AxisMap(10, 4, 'block', 1, [3, 3, 2, 2]).equals(new AxisMap(10, 4, 'block'))).toBe(true);
    const d = irregularBlock([10, 2], [4, 6]);
    expect([d.localShape(0), d.localShape(1)]).toEqual([[4, 2], [6, 2]]);
    expect(fromSpec(d.describe()).equals(d)).toBe(true);
    expect(d.toString()).toBe('Distribution([10, 2], block[4, 6], *)');
    expect(() => irregularBlock([10], [4, 5])).toThrow(ArgumentError);
    expect(() => new AxisMap(10, 2, 'cyclic', 1, [5, 5])).toThrow(ArgumentError);
  });

  it('block-cyclic deals blocks round-robin (ScaLAPACK numroc)', () => {
    const a = new AxisMap(11, 3, 'block-cyclic', 2);
    expect([...Array(11).keys()].map((i) => a.owner(i))).toEqual([0, 0, 1, 1, 2, 2, 0, 0, 1, 1, 2]);
    expect([0, 1, 2].map((c) => a.localSize(c))).toEqual([4, 4, 3]);
  });
});

describe('Distribution', () => {
  it('toGlobal(toLocal(i)) == i and ownership partitions the index space', () => {
    fc.assert(
      fc.property(arbDistribution(), (d) => {
        const seen = new Set<string>();
        let count = 0;
        for (const g of indices(d.shape)) {
          const { rank, index } = d.toLocal(g);
          expect(rank).toBe(d.owner(g));
          expect(rank).toBeGreaterThanOrEqual(0);
          expect(rank).toBeLessThan(d.size);
          const ls = d.localShape(rank);
          index.forEach((l, k) => {
            expect(l).toBeGreaterThanOrEqual(0);
            expect(l).toBeLessThan(ls[k]!);
          });
          expect(d.toGlobal(rank, index)).toEqual(g);
          seen.add(`${rank}:${index.join(',')}`);
          count++;
        }
        let total = 0;
        for (let r = 0; r < d.size; r++) total += d.localSize(r);
        expect(total).toBe(count);
        expect(seen.size).toBe(count);
        expect(fromSpec(d.describe()).equals(d)).toBe(true);
      }),
      { numRuns: 150 },
    );
  });

  it('rank numbering is row-major over the grid', () => {
    const d = grid([4, 6], [2, 3]);
    expect(d.coords(4)).toEqual([1, 1]);
    expect(d.rankOf([1, 2])).toBe(5);
    expect(d.owner([3, 5])).toBe(5);
    expect(d.localRegion(4)).toEqual({ start: [2, 2], count: [2, 2] });
  });

  it('dimsCreate balances like MPI_Dims_create', () => {
    expect(dimsCreate(6, 2)).toEqual([3, 2]);
    expect(dimsCreate(4, 2)).toEqual([2, 2]);
    expect(dimsCreate(5, 2)).toEqual([5, 1]);
    expect(dimsCreate(8, 3)).toEqual([2, 2, 2]);
    expect(dimsCreate(12, 2)).toEqual([4, 3]);
  });

  it('rejects bad arguments with ArgumentError naming the argument', () => {
    expect(() => block([4], 0)).toThrow(ArgumentError);
    expect(() => block([4, 4], 2, 2)).toThrow(/`axis`/);
    expect(() => blockCyclic([4], 2, 0)).toThrow(/`blockSize`/);
    expect(() => grid([4, 4], [2])).toThrow(/`dims`/);
    expect(() => cyclic([-1], 2)).toThrow(/`shape`/);
    expect(() => cyclic([8], 2).localRegion(0)).toThrow(/cyclic axis/);
  });
});

describe('transfer plans', () => {
  it('move every element exactly once between any two layouts (sequential model)', () => {
    const pair = fc.integer({ min: 1, max: 5 }).chain((p) => fc.tuple(arbDistribution(p), fc.integer({ min: 0, max: 4 }))).chain(([d1, seed]) =>
      arbDistribution(d1.size, d1.shape).map((d2) => [d1, d2, seed] as const),
    );
    fc.assert(
      fc.property(pair, ([d1, d2]) => {
        const shape = d1.shape;
        const src = Array.from({ length: d1.size }, (_, r) => new Float64Array(d1.localSize(r)));
        for (let r = 0; r < d1.size; r++) for (const l of indices(d1.localShape(r))) src[r]![linear(d1.localShape(r), l)] = linear(shape, d1.toGlobal(r, l)) + 1;
        const dst = Array.from({ length: d2.size }, (_, r) => new Float64Array(d2.localSize(r)));
        const boxes = plan(d1, d2);
        for (const b of boxes) copyBox(src[b.src]!, d1.localShape(b.src), b.srcStart, dst[b.dst]!, d2.localShape(b.dst), b.dstStart, b.count);
        for (let r = 0; r < d2.size; r++) for (const l of indices(d2.localShape(r))) expect(dst[r]![linear(d2.localShape(r), l)]).toBe(linear(shape, d2.toGlobal(r, l)) + 1);
        // Gathering to a root is the same machinery.
        const whole = new Float64Array(shape.reduce((a, b) => a * b, 1));
        for (const b of plan(d1, rootLayout(shape, 0))) copyBox(src[b.src]!, d1.localShape(b.src), b.srcStart, whole, shape, b.dstStart, b.count);
        whole.forEach((v, i) => expect(v).toBe(i + 1));
      }),
      { numRuns: 120 },
    );
  });
});

describe('halo plans', () => {
  it('fill every halo cell from the right neighbour (sequential model, 1-3 D, periodic or fixed)', () => {
    const arb = fc.integer({ min: 1, max: 5 }).chain((p) => arbBlockDistribution(p)).chain((d) =>
      fc.tuple(fc.constant(d), fc.integer({ min: 1, max: 2 }), fc.array(fc.boolean(), { minLength: d.ndim, maxLength: d.ndim })),
    );
    fc.assert(
      fc.property(arb, ([d, w, periodic]) => {
        const shapes = Array.from({ length: d.size }, (_, r) => d.localShape(r));
        // Halo plans need blocks of at least `w` along split axes.
        fc.pre(shapes.every((s) => s.every((m, k) => m >= w || (d.grid[k] === 1 && m >= w))));
        const padded = shapes.map((s) => s.map((m) => m + 2 * w));
        const f = (g: number[]) => linear(d.shape, g) + 1;
        const data = padded.map((s) => new Float64Array(s.reduce((a, b) => a * b, 1)).fill(-7));
        for (let r = 0; r < d.size; r++) for (const l of indices(shapes[r]!)) data[r]![linear(padded[r]!, l.map((v) => v + w))] = f(d.toGlobal(r, l));
        for (const b of haloPlan(d, w, periodic)) copyBox(data[b.src]!, padded[b.src]!, b.srcStart.map((v) => v + w), data[b.dst]!, padded[b.dst]!, b.dstStart.map((v) => v + w), b.count);
        for (let r = 0; r < d.size; r++) {
          const start = d.localRegion(r).start;
          for (const pl of indices(padded[r]!)) {
            const g = pl.map((v, k) => v - w + start[k]!);
            let outside = false;
            const wrapped = g.map((v, k) => {
              const n = d.shape[k]!;
              if (v >= 0 && v < n) return v;
              if (!periodic[k]) outside = true;
              return ((v % n) + n) % n;
            });
            const got = data[r]![linear(padded[r]!, pl)];
            expect(got).toBe(outside ? -7 : f(wrapped));
          }
        }
      }),
      { numRuns: 120 },
    );
  });
});
