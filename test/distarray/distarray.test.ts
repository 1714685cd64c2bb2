// DistArray on real ranks: fast-check properties against sequential models, P in 1..5,
// every backend, and on sab both the shared-memory path and the message path.
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { backends, callAll, closeWorlds, tryCall } from '../harness.js';
import type { DType } from '../../util/dtype.js';
import { irregularBlock } from '../../distarray/distribution.js';
import { arbBlockDistribution, arbDistribution } from './arbitraries.js';

afterAll(closeWorlds);

const F = 'distarray.ts';
// Bounds, generous because the first call at each P starts a world (P processes on tcp),
// which takes seconds on a loaded 2-core machine.
const kTimeout = 60_000;
const kTestTimeout = 240_000;
const dtypes: DType[] = ['float64', 'float32', 'int8', 'int16', 'int32', 'uint8', 'uint16', 'uint32', 'int64', 'uint64', 'bool'];

describe.each(backends())('DistArray on %s', (backend) => {
  const paths = backend === 'sab' ? [false, true] : [true];
  const arbPath = fc.constantFrom(...paths);

  it('gather(scatter(x)) == x for random shapes, dtypes, distributions, roots, P in 1..5', async () => {
    await fc.assert(
      fc.asyncProperty(arbDistribution(), fc.constantFrom(...dtypes), fc.nat(1000), fc.nat(4), arbPath, async (dist, dtype, seed, root, messages) => {
        const res = await callAll<{ local: number; gathered: boolean | null }>(backend, dist.size, F, 'scatterGather', [dist.describe(), dtype, seed, root % dist.size, messages], kTimeout);
        const root2 = ((root % dist.size) + 1) % dist.size;
        res.forEach((r, rank) => {
          expect(r.local).toBe(0);
          expect(r.gathered).toBe(rank === root2 ? true : null);
        });
      }),
      { numRuns: 20 },
    );
  }, kTestTimeout);

  it('scatter/gather of a 1.5 MiB array at P = 3', async () => {
    const dist = { shape: [384, 512], grid: [3, 1], axes: [{ kind: 'block' as const }, { kind: 'block' as const }] };
    const res = await callAll<{ local: number; gathered: boolean | null }>(backend, 3, F, 'scatterGather', [dist, 'float64', 7, 0, false], kTimeout);
    expect(res.map((r) => r.local)).toEqual([0, 0, 0]);
    expect(res[1]!.gathered).toBe(true);
  });

  it('redistribute preserves every element', async () => {
    const arb = fc.integer({ min: 1, max: 5 }).chain((p) => arbDistribution(p)).chain((d1) => arbDistribution(d1.size, d1.shape).map((d2) => [d1, d2] as const));
    await fc.assert(
      fc.asyncProperty(arb, fc.constantFrom(...dtypes), fc.nat(1000), arbPath, async ([d1, d2], dtype, seed, messages) => {
        const res = await callAll<number>(backend, d1.size, F, 'redistributeCheck', [d1.describe(), d2.describe(), dtype, seed, messages], kTimeout);
        expect(res).toEqual(res.map(() => 0));
      }),
      { numRuns: 20 },
    );
  }, kTestTimeout);

  it('collective get/set of regions spanning several owners', async () => {
    const arb = arbDistribution().chain((d) => {
      const region = fc.tuple(...d.shape.map((n) => fc.nat(n).chain((s) => fc.nat(n - s).map((c) => [s, c] as const)))).map((sc) => ({ start: sc.map((x) => x[0]), count: sc.map((x) => x[1]) }));
      return fc.tuple(fc.constant(d), fc.array(region, { minLength: 1, maxLength: 5 }));
    });
    await fc.assert(
      fc.asyncProperty(arb, arbPath, async ([d, regions], messages) => {
        const res = await callAll<number>(backend, d.size, F, 'getSetCheck', [d.describe(), regions, messages], kTimeout);
        expect(res).toEqual(res.map(() => 0));
      }),
      { numRuns: 15 },
    );
  }, kTestTimeout);

  it('sum, min, max, dot, norm, map, zip agree with the sequential values', async () => {
    await fc.assert(
      fc.asyncProperty(arbDistribution(), fc.nat(100), arbPath, async (d, seed, messages) => {
        const res = await callAll<{ got: number[]; want: number[] }>(backend, d.size, F, 'reductions', [d.describe(), seed, messages], kTimeout);
        for (const r of res) {
          expect(r.got).toEqual(res[0]!.got); // identical on every rank
          r.got.forEach((g, i) => {
            const w = r.want[i]!;
            if (!Number.isFinite(w)) expect(g).toBe(w);
            else expect(Math.abs(g - w)).toBeLessThanOrEqual(1e-9 * (1 + Math.abs(w)) * (1 + d.shape.reduce((a, b) => a * b, 1)));
          });
        }
      }),
      { numRuns: 12 },
    );
  }, kTestTimeout);

  it('exchangeHalos fills every halo (1-3 D, any grid, periodic or fixed, width 1-2)', async () => {
    const arb = fc.integer({ min: 1, max: 5 }).chain((p) =>
      fc.integer({ min: 1, max: 3 }).chain((nd) =>
        fc.tuple(arbBlockDistribution(p, nd, 2), fc.integer({ min: 1, max: 2 }), fc.array(fc.boolean(), { minLength: nd, maxLength: nd })),
      ),
    );
    await fc.assert(
      fc.asyncProperty(arb, arbPath, async ([d, width, periodic], messages) => {
        const w = Math.min(width, ...d.grid.map((g, k) => Math.floor(d.shape[k]! / g)));
        const res = await callAll<number>(backend, d.size, F, 'haloCheck', [[...d.shape], [...d.grid], w, periodic, messages], kTimeout);
        expect(res).toEqual(res.map(() => 0));
      }),
      { numRuns: 20 },
    );
  }, kTestTimeout);

  it('matvec equals the sequential product (row-block and 2-D block A, any x and y layouts)', async () => {
    const arb = fc.integer({ min: 1, max: 5 }).chain((p) => {
      const divisors = [...Array(p).keys()].map((i) => i + 1).filter((q) => p % q === 0);
      return fc.tuple(fc.constant(p), fc.constantFrom(...divisors), fc.integer({ min: 1, max: 30 }), fc.integer({ min: 1, max: 30 })).chain(([pp, pr, m, n]) =>
        fc.tuple(
          fc.constant([pr, pp / pr]),
          fc.constant(Math.max(m, pp)),
          fc.constant(Math.max(n, pp)),
          fc.option(arbDistribution(pp, [Math.max(n, pp)]), { nil: null }),
          fc.option(arbDistribution(pp, [Math.max(m, pp)]), { nil: null }),
        ),
      );
    });
    await fc.assert(
      fc.asyncProperty(arb, fc.constantFrom('float64' as const, 'float32' as const), arbPath, async ([dims, m, n, xd, yd], dtype, messages) => {
        const res = await callAll<number>(backend, dims[0]! * dims[1]!, F, 'matvecCheck', [m, n, dims, xd?.describe() ?? null, dtype, messages, yd?.describe() ?? null], kTimeout);
        expect(res[0]!).toBeLessThanOrEqual(dtype === 'float64' ? 1e-13 : 1e-5);
      }),
      { numRuns: 15 },
    );
  }, kTestTimeout);

  // Regression (found by the property above): y's irregular block coincides with A's rows on
  // rank 2 only; the ranks must still agree on one path instead of hanging.
  it.each([true, false])('matvec into an irregular y whose rows match A on some ranks only (messages %s)', async (messages) => {
    const yd = irregularBlock([30], [0, 20, 10]).describe();
    const res = await callAll<number>(backend, 3, F, 'matvecCheck', [30, 4, [3, 1], null, 'float64', messages, yd], kTimeout);
    expect(res[0]!).toBeLessThanOrEqual(1e-13);
  });

  // Blocks this large use the WebAssembly SIMD kernel (odd rows and n % 4 tails included).
  it.each([
    [512, 512, [2, 2]],
    [515, 517, [2, 1]],
  ])('matvec of a %i x %i matrix (> 2 MiB) on a %j grid', async (m, n, dims) => {
    const res = await callAll<number>(backend, dims[0]! * dims[1]!, F, 'matvecCheck', [m, n, dims, null, 'float64', false], kTimeout);
    expect(res[0]!).toBeLessThanOrEqual(1e-13);
  });

  it('k Jacobi steps equal the sequential k steps exactly', async () => {
    const arb = fc.integer({ min: 1, max: 5 }).chain((p) => {
      const divisors = [...Array(p).keys()].map((i) => i + 1).filter((q) => p % q === 0);
      return fc.tuple(fc.constantFrom(...divisors).map((pr) => [pr, p / pr]), fc.integer({ min: 0, max: 10 }), fc.integer({ min: 0, max: 10 }));
    });
    await fc.assert(
      fc.asyncProperty(arb, fc.integer({ min: 0, max: 6 }), fc.constantFrom(0, 1.5), arbPath, fc.boolean(), async ([dims, em, en], k, boundary, messages, trailing) => {
        const N = dims[0]! + em;
        const M = dims[1]! + en;
        const res = await callAll<number>(backend, dims[0]! * dims[1]!, F, 'jacobiCheck', [N, M, dims, k, boundary, messages, trailing], kTimeout);
        expect(res).toEqual(res.map(() => 0));
      }),
      { numRuns: 15 },
    );
  }, kTestTimeout);

  // 2-D float64 blocks this large live in WebAssembly memories: halos must work on them too.
  it('Jacobi on 256 x 256 (blocks in WebAssembly memories) equals the sequential sweeps', async () => {
    const res = await callAll<number>(backend, 2, F, 'jacobiCheck', [256, 256, [2, 1], 3, 1.5, false, true], kTimeout);
    expect(res).toEqual([0, 0]);
  });

  it('errors name the argument and the rank', async () => {
    const out = await tryCall(backend, 2, F, 'badCalls', [], kTimeout);
    expect(out.ok).toBe(true);
    expect(out.results![0]).toEqual([
      expect.stringMatching(/`dist` must be a distribution over 2 ranks/),
      expect.stringMatching(/`out` must be a float64 DistArray with u's distribution/),
      expect.stringMatching(/`x` must be a 1-D DistArray of length 6/),
      expect.stringMatching(/`halo` must be at most 1/),
      expect.stringMatching(/`region` must be \{ start, count \} inside shape \[4, 6\]/),
    ]);
  });
});
