// The WebAssembly SIMD matvec kernel against the plain-loop kernel, and the checked-in
// module against a fresh assembly of its .wat source.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { gemm, gemv } from '../../distarray/kernels.js';
import { allocWasmBlock, gemmSpace, gemmWasm, gemvWasm, wasmEnabled } from '../../distarray/wasm.js';

describe('wasm kernels', () => {
  it('the checked-in module is the assembly of kernels.wat', async () => {
    // @ts-expect-error: a plain .mjs script without type declarations
    const { assemble, render } = await import('../../scripts/build-wasm.mjs');
    const { readFileSync } = await import('node:fs');
    const checkedIn = readFileSync(new URL('../../distarray/wasm/kernels.wasm.ts', import.meta.url), 'utf8');
    expect(checkedIn).toBe(render(await assemble()));
  });

  it('gemvWasm equals gemv within rounding, for any shape, lda, offset and tails', () => {
    if (!wasmEnabled()) {
      console.log('skipped: this runtime has no WebAssembly SIMD / shared memories');
      return;
    }
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 9 }), fc.integer({ min: 0, max: 23 }), fc.integer({ min: 0, max: 5 }), fc.integer({ min: 0, max: 7 }), fc.integer(), (m, n, extra, off, seed) => {
        const lda = n + extra;
        const size = off + m * lda;
        const block = allocWasmBlock(size * 8, (m + n + 8) * 8)!;
        expect(block).toBeDefined();
        const A = new Float64Array(block.memory.buffer, 0, size);
        let s = seed >>> 0;
        const rnd = () => ((s = (s * 1103515245 + 12345) >>> 0) % 2000) / 1000 - 1;
        for (let i = 0; i < size; i++) A[i] = rnd();
        const x = Float64Array.from({ length: n }, rnd);
        const want = new Float64Array(m + 2);
        const got = new Float64Array(m + 2);
        gemv(A, off, lda, m, n, x, 0, want, 1);
        gemvWasm(block, off, lda, m, n, x, got, 1);
        for (let i = 0; i < m + 2; i++) expect(Math.abs(got[i]! - want[i]!)).toBeLessThanOrEqual(1e-12 * (1 + n));
      }),
      { numRuns: 200 },
    );
  });

  it('gemmWasm equals the plain gemm within rounding, for any block and panel sizes (zero-padded)', () => {
    if (!wasmEnabled()) {
      console.log('skipped: this runtime has no WebAssembly SIMD / shared memories');
      return;
    }
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 9 }), fc.integer({ min: 1, max: 13 }), fc.integer({ min: 0, max: 300 }), fc.integer(), (m, k, n, seed) => {
        let s = seed >>> 0;
        const rnd = () => ((s = (s * 1103515245 + 12345) >>> 0) % 2000) / 1000 - 1;
        const A = Float64Array.from({ length: m * k }, rnd);
        const B = Float64Array.from({ length: k * n }, rnd);
        const want = new Float64Array(m * n);
        gemm(A, 0, k, B, 0, n, want, 0, n, m, k, n);
        const w = gemmSpace(m, n, k)!;
        const k4 = (k + 3) & ~3;
        for (let i = 0; i < m; i++) for (let p = 0; p < k; p++) w.a[i * k4 + p] = A[i * k + p]!;
        for (let p = 0; p < k; p++) for (let j = 0; j < n; j++) w.b[p * w.n2 + j] = B[p * n + j]!;
        gemmWasm(w, k4);
        for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) expect(Math.abs(w.c[i * w.n2 + j]! - want[i * n + j]!)).toBeLessThanOrEqual(1e-12 * (1 + k));
      }),
      { numRuns: 200 },
    );
  });
});
