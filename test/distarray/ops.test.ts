// DistArray's numpy surface on real ranks (slicing views, elementwise arithmetic,
// reductions along axes): fast-check properties against sequential computations, P in 1..5,
// every backend, and on sab both the shared-memory and the message path.
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { backends, callAll, closeWorlds } from '../harness.js';
import { composeSpec, wholeSpec } from '../../distarray/view.js';
import { arbDistribution, arbSliceArgs } from './arbitraries.js';

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
      { numRuns: 10 },
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
