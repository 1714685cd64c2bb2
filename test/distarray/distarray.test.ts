// DistArray on real ranks (layouts, halos, matvec; slicing views, ufuncs, reductions, shape): fast-check properties against sequential models, P in 1..5,
// every backend, and on sab both the shared-memory path and the message path.
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { backends, callAll, closeWorlds, tryCall } from '../harness.js';
import type { DType } from '../../util/dtype.js';
import { irregularBlock } from '../../distarray/distribution.js';
import { arbBlockDistribution, arbDistribution, arbSliceArgs } from './arbitraries.js';
import { numpyJudges } from './numpy.js';
import { composeSpec, wholeSpec } from '../../distarray/view.js';
import type { Distribution, DistributionSpec } from '../../distarray/distribution.js';

afterAll(closeWorlds);

const F = 'distarray.ts';
/** Slicing, elementwise, reductions, shape: test/fixtures/distarray-ops.ts. */
const FO = 'distarray-ops.ts';
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

// numpy's surface (slicing views, elementwise, reductions, shape) on the same worlds.
type ShapeCase = [string, DistributionSpec[], unknown, DistributionSpec | null];

const numberDTypes = ['float64', 'float32', 'int8', 'int16', 'int32', 'uint8', 'uint16', 'uint32', 'bool'];
const kOps: Record<string, number> = { add: 2, sub: 2, mul: 2, div: 2, pow: 2, minimum: 2, maximum: 2, neg: 1, abs: 1, sqrt: 1, exp: 1, log: 1, sin: 1, cos: 1, where: 3, clip: 3, astype: 1 };

/** An operand for a result of shape `shape` over p ranks: the same shape, a broadcastable one (leading axes dropped, extents 1), or a scalar. */
const arbOperand = (p: number, shape: readonly number[], allowScalar: boolean) =>
  fc.oneof(
    { weight: 3, arbitrary: fc.tuple(fc.nat(shape.length - 1), fc.array(fc.boolean(), { minLength: shape.length, maxLength: shape.length })).chain(([drop, ones]) => {
      const s = shape.map((n, k) => (ones[k] ? 1 : n)).slice(Math.min(drop, shape.length - 1));
      return fc.tuple(fc.oneof(fc.constant(shape as number[]), fc.constant(s)).chain((sh) => arbDistribution(p, sh)), fc.constantFrom(...numberDTypes));
    }).map(([d, dtype]) => ({ dist: (d as Distribution).describe(), dtype })) },
    ...(allowScalar ? [{ weight: 1, arbitrary: fc.oneof(fc.integer({ min: -3, max: 3 }), fc.constantFrom(0.5, -1.25, 2.5)).map((scalar) => ({ scalar })) }] : []),
  );

describe.each(backends())('DistArray numpy operations on %s', (backend) => {
  const arbPath = fc.constantFrom(...(backend === 'sab' ? [false, true] : [true]));

  it('slice views (chains of two, negative steps, integers, empty) read, write, copy and move like the selection', async () => {
    const arb = arbDistribution().chain((d) =>
      arbSliceArgs(d.shape).chain((a1) => {
        const s1 = composeSpec(wholeSpec(d.shape), a1);
        return fc.tuple(fc.constant(d), fc.constant(a1), fc.option(arbSliceArgs(s1.axes.map((x) => x.length)), { nil: undefined }), fc.constantFrom(0, 1));
      }),
    );
    await fc.assert(
      fc.asyncProperty(arb, arbPath, async ([d, a1, a2], messages) => {
        const chain = a2 ? [a1, a2] : [a1];
        const res = await callAll<number>(backend, d.size, FO, 'sliceCheck', [d.describe(), chain, 0, messages], kTimeout);
        expect(res).toEqual(res.map(() => 0));
      }),
      { numRuns: 8 },
    );
  }, kTestTimeout);

  it('elementwise ufuncs broadcast arrays of any layouts and scalars like the sequential functions, into new, out and view results', async () => {
    const arb = fc.tuple(fc.constantFrom(...Object.keys(kOps)), arbDistribution()).chain(([op, d]) => {
      const n = kOps[op]!;
      // The first operand has the full shape (so the result has it); others any broadcastable shape or scalars.
      const first = fc.constantFrom(...numberDTypes).map((dtype) => ({ dist: d.describe(), dtype }));
      const rest = Array.from({ length: n - 1 }, () => arbOperand(d.size, d.shape, true));
      const out = fc.oneof(
        fc.constant({ mode: 'new' as const }),
        arbDistribution(d.size, d.shape).map((od) => ({ mode: 'out' as const, dist: od.describe(), dtype: 'float64' })),
        fc.constant({ mode: 'view' as const, dtype: 'float64' }),
      );
      return fc.tuple(fc.constant(op), fc.constant(d.size), fc.tuple(first, ...rest), out, fc.nat(50), fc.constantFrom(...numberDTypes.filter((t) => t !== 'bool')));
    });
    await fc.assert(
      fc.asyncProperty(arb, arbPath, async ([op, p, operands, out, seed, castTo], messages) => {
        const o = op === 'astype' && out.mode === 'new' ? { ...out, dtype: castTo } : out;
        const res = await callAll<{ bad: number; shape: number[] }>(backend, p, FO, 'ufuncCheck', [op, operands, seed, o, messages], kTimeout);
        expect(res.map((r) => r.bad)).toEqual(res.map(() => 0));
      }),
      { numRuns: 15 },
    );
  }, kTestTimeout);

  it('reductions along any axes (keepdims, ddof, NaN, views) equal the sequential ones', async () => {
    const names = ['sum', 'prod', 'min', 'max', 'mean', 'variance', 'std', 'argmin', 'argmax', 'any', 'all', 'nanSum', 'nanProd', 'nanMin', 'nanMax', 'nanMean', 'nanVar', 'nanStd'];
    const arb = arbDistribution().chain((d) => {
      const nd = d.ndim;
      const axis = fc.oneof(
        fc.constant(undefined),
        fc.integer({ min: -nd, max: nd - 1 }),
        fc.shuffledSubarray([...Array(nd).keys()], { minLength: 1 }),
      );
      return fc.tuple(fc.constant(d), fc.constantFrom(...numberDTypes), fc.constantFrom(...names), axis, fc.boolean(), fc.constantFrom(0, 1), fc.nat(30), fc.option(arbSliceArgs(d.shape), { nil: null, freq: 4 }));
    }).filter(([d, , , axis, , , , view]) => {
      // axes must exist on the (possibly smaller) view
      const nd = view ? view.filter((x) => typeof x !== 'number').length + d.ndim - view.length : d.ndim;
      return axis === undefined || (typeof axis === 'number' ? axis >= -nd && axis < nd : axis.every((k) => k < nd));
    });
    await fc.assert(
      fc.asyncProperty(arb, arbPath, async ([d, dtype, name, axis, keepdims, ddof, seed, view], messages) => {
        const res = await callAll<{ bad: number }>(backend, d.size, FO, 'reduceCheck', [d.describe(), dtype, name, axis, keepdims, ddof, seed, view, messages], kTimeout);
        expect(res.map((r) => r.bad)).toEqual(res.map(() => 0));
      }),
      { numRuns: 20 },
    );
  }, kTestTimeout);

  it('cumsum along any axis of any layout equals the running sums', async () => {
    const arb = arbDistribution().chain((d) => fc.tuple(fc.constant(d), fc.constantFrom('float64', 'float32', 'int16', 'uint8'), fc.integer({ min: -d.ndim, max: d.ndim - 1 }), fc.boolean(), fc.nat(30)));
    await fc.assert(
      fc.asyncProperty(arb, arbPath, async ([d, dtype, axis, skip, seed], messages) => {
        const res = await callAll<number>(backend, d.size, FO, 'cumsumCheck', [d.describe(), dtype, axis, skip, seed, messages], kTimeout);
        expect(res).toEqual(res.map(() => 0));
      }),
      { numRuns: 10 },
    );
  }, kTestTimeout);

  it('transpose, swapAxes, reshape, flatten, concatenate and stack equal the index arithmetic', async () => {
    const arb = fc.constantFrom('transpose', 'swapAxes', 'reshape', 'flatten', 'concatenate', 'stack').chain((op) =>
      arbDistribution().chain((d): fc.Arbitrary<ShapeCase> => {
        const nd = d.ndim;
        const p = d.size;
        const n = d.shape.reduce((a, b) => a * b, 1);
        const specs = (others: fc.Arbitrary<Distribution>[]) => fc.tuple(fc.constant(d), ...others).map((ds) => ds.map((x) => x.describe()));
        switch (op) {
          case 'transpose':
            return <fc.Arbitrary<ShapeCase>>fc.option(fc.shuffledSubarray([...Array(nd).keys()], { minLength: nd, maxLength: nd }), { nil: null }).chain((perm) => {
              const shape = (perm ?? [...Array(nd).keys()].reverse()).map((k) => d.shape[k]!);
              return fc.tuple(fc.constant(op), specs([]), fc.constant(perm), fc.option(arbDistribution(p, shape).map((x) => x.describe()), { nil: null }));
            });
          case 'swapAxes':
            return <fc.Arbitrary<ShapeCase>>fc.tuple(fc.constant(op), specs([]), fc.tuple(fc.integer({ min: -nd, max: nd - 1 }), fc.integer({ min: -nd, max: nd - 1 })), fc.constant(null));
          case 'reshape': {
            const divs = [...Array(n + 1).keys()].filter((a) => a > 0 && n % a === 0);
            const shapes = n === 0 ? [[0], [0, 3], [2, 0, -1]] : [[n], [-1], [1, n], [n, 1], ...divs.map((a) => [a, n / a]), ...divs.map((a) => [a, -1, 1])];
            return <fc.Arbitrary<ShapeCase>>fc.constantFrom(...shapes).chain((sh) => {
              const real = sh.map((m) => (m === -1 ? (n === 0 ? 0 : n / Math.abs(sh.reduce((x, y) => x * y, 1))) : m));
              return fc.tuple(fc.constant(op), specs([]), fc.constant(sh), fc.option(arbDistribution(p, real).map((x) => x.describe()), { nil: null }));
            });
          }
          case 'flatten':
            return <fc.Arbitrary<ShapeCase>>fc.tuple(fc.constant(op), specs([]), fc.constant(null), fc.constant(null));
          case 'concatenate':
            return <fc.Arbitrary<ShapeCase>>fc.integer({ min: -nd, max: nd - 1 }).chain((axis) => {
              const ax = axis < 0 ? axis + nd : axis;
              const other = fc.integer({ min: 0, max: 4 }).chain((m) => arbDistribution(p, d.shape.map((x, k) => (k === ax ? m : x))));
              return fc.tuple(fc.constant(op), fc.array(other, { maxLength: 2 }).chain((os) => specs(os.map((o) => fc.constant(o)))), fc.constant(axis), fc.constant(null));
            });
          default:
            return <fc.Arbitrary<ShapeCase>>fc.integer({ min: -nd - 1, max: nd }).chain((axis) =>
              fc.tuple(fc.constant(op), fc.array(arbDistribution(p, d.shape), { maxLength: 2 }).chain((os) => specs(os.map((o) => fc.constant(o)))), fc.constant(axis), fc.constant(null)));
        }
      }),
    );
    await fc.assert(
      fc.asyncProperty(arb, arbPath, async ([op, specs, param, outDist], messages) => {
        const p = specs[0]!.grid.reduce((a, b) => a * b, 1);
        const res = await callAll<number>(backend, p, FO, 'shapeCheck', [op, specs, param, outDist, messages], kTimeout);
        expect(res).toEqual(res.map(() => 0));
      }),
      { numRuns: 20 },
    );
  }, kTestTimeout);

  it('numpy recomputes a sample from .npy files: slice, add, mul, div, clip, sum, nanmean, std, argmax, cumsum, transpose, reshape, concatenate at P = 2', async () => {
    const script = `
import json, sys, numpy as np
d = sys.argv[1]
L = lambda n: np.load(f"{d}/{n}.npy")
a, b, c = L("a"), L("b"), L("c")
want = {
  "slice": a[4::-2, ::2], "add": a + b, "mul": c * b, "div": b / 3, "clip": np.clip(a, -1, c),
  "sum0": a.sum(axis=0), "nanmean1": np.nanmean(a, axis=1), "std1": a.std(axis=1, ddof=1),
  "argmax0": a.argmax(axis=0), "cumsum": b.cumsum(axis=0), "T": a.T, "reshape": a.reshape(3, -1),
  "concat": np.concatenate([a, a[0:2]], 0),
}
# Where superstep's dtype stands in for numpy's (int64 results): values must still agree.
stand_in = {"argmax0": "int32", "cumsum": "float64"}
bad = []
for k, w in want.items():
  g = L(k)
  if g.shape != w.shape: bad.append(f"{k}: shape {g.shape} vs numpy {w.shape}"); continue
  if str(g.dtype) != stand_in.get(k, str(w.dtype)): bad.append(f"{k}: dtype {g.dtype} vs numpy {w.dtype}")
  if not np.allclose(g.astype(np.float64), w.astype(np.float64), rtol=1e-6, atol=1e-6, equal_nan=True): bad.append(f"{k}: values differ: {g.tolist()} vs {w.tolist()}")
print(json.dumps(bad))`;
    let names: string[] = [];
    const bad = await numpyJudges<string[]>(async (dir) => { [names] = await callAll<string[]>(backend, 2, FO, 'numpySample', [dir], 60_000); }, script);
    if (!bad) return;
    expect(names).toContain('reshape');
    expect(bad).toEqual([]);
  }, 120_000);

  it('cg solves SPD systems (A on any block grid, b in any layout); norm along axes and outer agree', async () => {
    const arb = fc.integer({ min: 1, max: 5 }).chain((p) => {
      const divisors = [...Array(p).keys()].map((i) => i + 1).filter((q) => p % q === 0);
      return fc.tuple(fc.constantFrom(...divisors).map((pr) => [pr, p / pr]), fc.integer({ min: p, max: 24 })).chain(([dims, n]) =>
        fc.tuple(fc.constant(dims), fc.constant(n), arbDistribution(p, [n])));
    });
    await fc.assert(
      fc.asyncProperty(arb, arbPath, async ([dims, n, bd], messages) => {
        const res = await callAll<{ residual: number; iterations: number; bad: number }>(backend, dims[0]! * dims[1]!, FO, 'linalgCheck', [n, dims, bd.describe(), messages], kTimeout);
        expect(res[0]!.bad).toBe(0);
        expect(res[0]!.residual).toBeLessThan(1e-9);
        expect(res[0]!.iterations).toBeLessThanOrEqual(n);
        expect(res.map((r) => r.iterations)).toEqual(res.map(() => res[0]!.iterations));
      }),
      { numRuns: 8 },
    );
  }, kTestTimeout);

  it('slices of an array with a halo (2-D block grid, P = 4)', async () => {
    const spec = { shape: [7, 6], grid: [2, 2], axes: [{ kind: 'block' as const }, { kind: 'block' as const }] };
    for (const chain of [[[[1, -1], [1, -1]]], [[null, 2]], [[[null, null, -2], [5, 0, -2]]], [[3]]]) {
      const res = await callAll<number>(backend, 4, FO, 'sliceCheck', [spec, chain, 1, false], kTimeout);
      expect(res).toEqual([0, 0, 0, 0]);
    }
  }, kTestTimeout);
});
