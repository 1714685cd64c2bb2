// matmul (SUMMA on a process grid) on real ranks: fast-check properties against a sequential
// product for random shapes, dtypes, layouts of A, B and out, P in 1..5, on every backend
// (and on sab both the shared-memory and the message path); the local kernel against the
// naive triple loop; numpy recomputes a sample from .npy files.
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { backends, callAll, closeWorlds } from '../harness.js';
import { gemm } from '../../distarray/kernels.js';
import { promoteTypes } from '../../distarray/ufunc.js';
import type { DType } from '../../util/dtype.js';
import { arbDistribution } from './arbitraries.js';
import { numpyJudges } from './numpy.js';

afterAll(closeWorlds);

const F = 'linalg.ts';
const kTimeout = 60_000;
const kTestTimeout = 240_000;
const dtypes: DType[] = ['float64', 'float32', 'int8', 'int16', 'int32', 'uint8', 'uint16', 'uint32', 'bool'];

describe('gemm kernel', () => {
  it('C += A B equals the naive triple loop for any sizes, strides, offsets (float64 exactly on integers, float32)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 7 }), fc.integer({ min: 0, max: 9 }), fc.integer({ min: 0, max: 300 }), fc.nat(3), fc.nat(5), fc.boolean(), fc.integer(), (m, k, n, pad, off, f32, seed) => {
        const Ctor = (f32 ? Float32Array : Float64Array) as Float64ArrayConstructor;
        let s = seed >>> 0;
        const rnd = () => ((s = (s * 1103515245 + 12345) >>> 0) % 17) - 8;
        const lda = k + pad, ldb = n + pad, ldc = n + pad;
        const A = Ctor.from({ length: off + m * lda }, rnd);
        const B = Ctor.from({ length: off + k * ldb }, rnd);
        const C = Ctor.from({ length: off + m * ldc }, rnd);
        const want = C.slice();
        for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) {
          let acc = want[off + i * ldc + j]!;
          for (let p = 0; p < k; p++) acc += A[off + i * lda + p]! * B[off + p * ldb + j]!;
          want[off + i * ldc + j] = acc;
        }
        gemm(A, off, lda, B, off, ldb, C, off, ldc, m, k, n);
        expect(Array.from(C)).toEqual(Array.from(want));
      }),
      { numRuns: 300 },
    );
  });
});

describe.each(backends())('matmul on %s', (backend) => {
  const paths = backend === 'sab' ? [false, true] : [true];

  it('matmul(A, B) equals the sequential product for random shapes, dtypes, layouts (and out), P in 1..5', async () => {
    const arb = fc.integer({ min: 1, max: 5 }).chain((p) =>
      fc.tuple(fc.nat(9), fc.nat(9), fc.nat(9)).chain(([m, k, n]) =>
        fc.tuple(
          arbDistribution(p, [m, k]), arbDistribution(p, [k, n]),
          fc.option(fc.tuple(arbDistribution(p, [m, n]), fc.constantFrom(...dtypes)), { nil: null }),
        )));
    await fc.assert(
      fc.asyncProperty(arb, fc.constantFrom(...dtypes), fc.constantFrom(...dtypes), fc.nat(1000), fc.constantFrom(...paths), async ([da, db, out], dtA, dtB, seed, messages) => {
        const outArg = out ? { dist: out[0].describe(), dtype: out[1] } : null;
        const res = await callAll<{ bad: number; dtype: string; shape: number[] }>(backend, da.size, F, 'matmulCheck', [da.describe(), dtA, db.describe(), dtB, seed, outArg, messages], kTimeout);
        for (const r of res) {
          expect(r.bad).toBe(0);
          expect(r.shape).toEqual([da.shape[0], db.shape[1]]);
          expect(r.dtype).toBe(out ? out[1] : promoteTypes(dtA, dtB));
        }
      }),
      { numRuns: backend === 'sab' ? 6 : 3 },
    );
  }, kTestTimeout);

  it('products large enough for the WebAssembly kernel (odd block sizes, several panels) at P = 2 and 4', async () => {
    const spec = (s: number[], p: number) => ({ shape: s, grid: [p, 1], axes: [{ kind: 'block' as const }, { kind: 'block' as const }] });
    for (const p of [2, 4]) {
      const res = await callAll<{ bad: number }>(backend, p, F, 'matmulCheck', [spec([131, 300], p), 'float64', spec([300, 131], p), 'int16', 3, null, backend !== 'sab'], kTimeout);
      expect(res.map((r) => r.bad)).toEqual(res.map(() => 0));
    }
  }, kTestTimeout);

  it('shape mismatches and bad out are ArgumentErrors naming both shapes, on every rank', async () => {
    const res = await callAll<string[]>(backend, 2, F, 'matmulErrors', [], kTimeout);
    for (const msgs of res) {
      expect(msgs[0]).toMatch(/ArgumentError.*A\.shape\[1\] = 4.*\[3, 4\].*\[5, 2\]/);
      expect(msgs[1]).toMatch(/ArgumentError.*\[3, 4\].*\[3, 4\]/);
      expect(msgs[2]).toMatch(/ArgumentError.*options\.out.*\[3, 2\]/);
    }
  }, kTestTimeout);
});

describe('matmul.cost', () => {
  it('counts 2 m k n flops over the panels at P = 1 and broadcast words at P = 4', async () => {
    const [one] = await callAll<{ flops?: number; h?: number }[]>('sab', 1, F, 'matmulCostSteps', [30, 600, 20, 'float64'], kTimeout);
    expect(one!.reduce((s, x) => s + (x.flops ?? 0), 0)).toBe(2 * 30 * 600 * 20);
    expect(one!.every((x) => (x.h ?? 0) === 0)).toBe(true);
    const four = await callAll<{ flops?: number; h?: number }[]>('sab', 4, F, 'matmulCostSteps', [30, 600, 20, 'float32'], kTimeout);
    const steps = four[0]!;
    // A [4, 1] -> [2, 2]: one redistribution step each for A and B, then the panels.
    expect(steps.length).toBeGreaterThan(2);
    expect(steps[0]!.h).toBeGreaterThan(0);
    expect(steps.slice(2).reduce((s, x) => s + (x.flops ?? 0), 0)).toBe(2 * 15 * 600 * 10);
    expect(four.every((s) => JSON.stringify(s) === JSON.stringify(steps))).toBe(true);
  }, kTestTimeout);
});

describe('matmul against numpy', () => {
  it('numpy recomputes A @ B (float64 cyclic A, float32 grid B) from .npy files at P = 2', async () => {
    const script = `
import json, sys, numpy as np
d = sys.argv[1]
A, B, C = (np.load(f"{d}/{n}.npy") for n in "ABC")
W = A @ B
print(json.dumps([str(C.dtype), str(W.dtype), list(C.shape), bool(np.allclose(C, W, rtol=1e-9, atol=1e-9))]))`;
    const got = await numpyJudges<[string, string, number[], boolean]>((dir) => callAll<number>(backends()[backends().length - 1]!, 2, F, 'matmulNumpy', [dir, 37, 300, 29], kTimeout), script);
    if (!got) return;
    const [dtype, want, shape, close] = got;
    expect(dtype).toBe(want);
    expect(shape).toEqual([37, 29]);
    expect(close).toBe(true);
  }, 120_000);
});
