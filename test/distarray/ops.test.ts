// DistArray's numpy surface on real ranks (slicing views, elementwise arithmetic,
// reductions along axes): fast-check properties against sequential computations, P in 1..5,
// every backend, and on sab both the shared-memory and the message path.
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { backends, callAll, closeWorlds } from '../harness.js';
import { composeSpec, wholeSpec } from '../../distarray/view.js';
import { arbDistribution, arbSliceArgs } from './arbitraries.js';
import type { Distribution, DistributionSpec } from '../../distarray/distribution.js';

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

afterAll(closeWorlds);

const F = 'distarray-ops.ts';
const kTimeout = 60_000;
const kTestTimeout = 240_000;

describe.each(backends())('DistArray operations on %s', (backend) => {
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
        const res = await callAll<number>(backend, d.size, F, 'sliceCheck', [d.describe(), chain, 0, messages], kTimeout);
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
        const res = await callAll<{ bad: number; shape: number[] }>(backend, p, F, 'ufuncCheck', [op, operands, seed, o, messages], kTimeout);
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
        const res = await callAll<{ bad: number }>(backend, d.size, F, 'reduceCheck', [d.describe(), dtype, name, axis, keepdims, ddof, seed, view, messages], kTimeout);
        expect(res.map((r) => r.bad)).toEqual(res.map(() => 0));
      }),
      { numRuns: 20 },
    );
  }, kTestTimeout);

  it('cumsum along any axis of any layout equals the running sums', async () => {
    const arb = arbDistribution().chain((d) => fc.tuple(fc.constant(d), fc.constantFrom('float64', 'float32', 'int16', 'uint8'), fc.integer({ min: -d.ndim, max: d.ndim - 1 }), fc.boolean(), fc.nat(30)));
    await fc.assert(
      fc.asyncProperty(arb, arbPath, async ([d, dtype, axis, skip, seed], messages) => {
        const res = await callAll<number>(backend, d.size, F, 'cumsumCheck', [d.describe(), dtype, axis, skip, seed, messages], kTimeout);
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
        const res = await callAll<number>(backend, p, F, 'shapeCheck', [op, specs, param, outDist, messages], kTimeout);
        expect(res).toEqual(res.map(() => 0));
      }),
      { numRuns: 20 },
    );
  }, kTestTimeout);

  it('slices of an array with a halo (2-D block grid, P = 4)', async () => {
    const spec = { shape: [7, 6], grid: [2, 2], axes: [{ kind: 'block' as const }, { kind: 'block' as const }] };
    for (const chain of [[[[1, -1], [1, -1]]], [[null, 2]], [[[null, null, -2], [5, 0, -2]]], [[3]]]) {
      const res = await callAll<number>(backend, 4, F, 'sliceCheck', [spec, chain, 1, false], kTimeout);
      expect(res).toEqual([0, 0, 0, 0]);
    }
  }, kTestTimeout);
});
