// sort, argsort, unique, searchsorted on real ranks: fast-check properties against sequential
// references for random shapes, dtypes (NaN, -0 and duplicates included), layouts and P in
// 1..5, on every backend (on sab both the shared-memory and the message path); numpy
// recomputes a sample from .npy files.
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { backends, callAll, closeWorlds } from '../harness.js';
import type { DType } from '../../util/dtype.js';
import { arbDistribution } from './arbitraries.js';
import { numpyJudges } from './numpy.js';

afterAll(closeWorlds);

const F = 'linalg.ts';
const kTimeout = 60_000;
const kTestTimeout = 240_000;
const dtypes: DType[] = ['float64', 'float32', 'int8', 'int16', 'int32', 'uint8', 'uint16', 'uint32', 'bool'];

describe.each(backends())('sorting on %s', (backend) => {
  const paths = backend === 'sab' ? [false, true] : [true];
  const runs = backend === 'sab' ? 5 : 3;

  it('sort(a, { axis, descending }) equals a sequential sort per lane (1-D: sample sort, block result)', async () => {
    const arb = fc.integer({ min: 1, max: 5 }).chain((p) => fc.oneof(
      fc.integer({ min: 0, max: 60 }).chain((n) => arbDistribution(p, [n])),
      arbDistribution(p),
    )).chain((d) => fc.tuple(fc.constant(d), fc.option(fc.integer({ min: -d.shape.length, max: d.shape.length - 1 }), { nil: null })));
    await fc.assert(
      fc.asyncProperty(arb, fc.constantFrom(...dtypes), fc.nat(1000), fc.boolean(), fc.constantFrom(...paths), async ([d, axis], dtype, seed, desc, messages) => {
        const res = await callAll<number>(backend, d.size, F, 'sortCheck', [d.describe(), dtype, seed, axis, desc, messages], kTimeout);
        expect(res).toEqual(res.map(() => 0));
      }),
      { numRuns: runs },
    );
  }, kTestTimeout);

  it('argsort is stable and unique collapses runs across ranks (and NaNs), for any 1-D layout', async () => {
    const arb = fc.integer({ min: 1, max: 5 }).chain((p) => fc.integer({ min: 0, max: 60 }).chain((n) => arbDistribution(p, [n])));
    await fc.assert(
      fc.asyncProperty(arb, fc.constantFrom(...dtypes), fc.nat(1000), fc.boolean(), fc.constantFrom(...paths), async (d, dtype, seed, desc, messages) => {
        const res = await callAll<number>(backend, d.size, F, 'argsortUniqueCheck', [d.describe(), dtype, seed, desc, messages], kTimeout);
        expect(res).toEqual(res.map(() => 0));
      }),
      { numRuns: runs },
    );
  }, kTestTimeout);

  it('searchsorted of numbers, typed arrays and DistArrays agrees with counting, both sides', async () => {
    const arb = fc.integer({ min: 1, max: 5 }).chain((p) => fc.tuple(
      fc.integer({ min: 0, max: 40 }).chain((n) => arbDistribution(p, [n])),
      arbDistribution(p),
    ));
    await fc.assert(
      fc.asyncProperty(arb, fc.constantFrom(...dtypes), fc.constantFrom('left' as const, 'right' as const), fc.nat(1000), fc.constantFrom(...paths), async ([d, dv], dtype, side, seed, messages) => {
        const res = await callAll<number>(backend, d.size, F, 'searchsortedCheck', [d.describe(), dtype, dv.describe(), side, seed, messages], kTimeout);
        expect(res).toEqual(res.map(() => 0));
      }),
      { numRuns: runs },
    );
  }, kTestTimeout);
});

describe('sorting against numpy', () => {
  it('numpy recomputes sort, argsort (stable), unique, sort along both axes, searchsorted from .npy files at P = 3', async () => {
    const script = `
import json, sys, numpy as np
d = sys.argv[1]
L = lambda n: np.load(f"{d}/{n}.npy")
a, b, q = L("a"), L("b"), L("q")
sa = np.sort(a)
want = {"sort": sa, "argsort": np.argsort(a, kind="stable"), "unique": np.unique(a), "sortb": np.sort(b, axis=1), "sortb0": np.sort(b, axis=0),
      "ssl": np.searchsorted(sa, q), "ssr": np.searchsorted(sa, q, side="right")}
stand_in = {"argsort": "int32", "ssl": "int32", "ssr": "int32"}
bad = []
for k, w in want.items():
  g = L(k)
  if g.shape != w.shape: bad.append(f"{k}: shape {g.shape} vs numpy {w.shape}"); continue
  if str(g.dtype) != stand_in.get(k, str(w.dtype)): bad.append(f"{k}: dtype {g.dtype} vs numpy {w.dtype}")
  if not np.array_equal(g.astype(np.float64), w.astype(np.float64), equal_nan=True): bad.append(f"{k}: {g.tolist()} vs numpy {w.tolist()}")
print(json.dumps(bad))`;
    const bad = await numpyJudges<string[]>((dir) => callAll(backends()[backends().length - 1]!, 3, F, 'sortNumpy', [dir], kTimeout), script);
    if (bad) expect(bad).toEqual([]);
  }, 120_000);
});
