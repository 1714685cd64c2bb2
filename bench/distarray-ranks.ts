// Rank-side programs of bench/distarray.bench.ts (run as 'call' jobs on a World).
import { world } from '../comm/comm.js';
import { DistArray } from '../distarray/distarray.js';
import { block, grid } from '../distarray/distribution.js';
import { matvec } from '../distarray/matvec.js';
import { jacobiStep } from '../distarray/stencil.js';

/** Time per reps, as mpi4py's timeit: barrier, loop, max over ranks. */
async function timeit(fn: () => Promise<unknown> | unknown, reps: number): Promise<number> {
  await world.barrier();
  const t0 = performance.now();
  for (let r = 0; r < reps; r++) await fn();
  const dt = (performance.now() - t0) / reps;
  return (await world.allreduce(Float64Array.of(dt), 'MAX'))[0]!;
}

/**
 * Row-block y = A x with an n x n float64 A (x block-distributed); ms per product.
 * kernel 'wasm' (the default kernel: WebAssembly SIMD) or 'js' (plain typed-array loops).
 */
export async function matvecBench(n: number, reps: number, warmup: number, kernel: 'wasm' | 'js' = 'wasm'): Promise<number> {
  process.env.SUPERSTEP_DISTARRAY_WASM = kernel === 'js' ? '0' : '1';
  const p = world.size;
  const A = await DistArray.zeros([n, n], { dist: grid([n, n], [p, 1]) });
  const x = await DistArray.fromFunction([n], (j) => (j % 5) * 0.5, { dist: block([n], p) });
  // Filled by a plain loop: fromFunction's per-element call would dominate the run time.
  const a = A.data as Float64Array;
  for (let i = 0; i < a.length; i++) a[i] = (i % 7) * 0.125;
  const y = await DistArray.zeros([n], { dist: block([n], p) });
  for (let r = 0; r < warmup; r++) await matvec(A, x, y);
  return timeit(() => matvec(A, x, y), reps);
}

/** Row-block Jacobi on an n x n grid with 1-cell halos, as mpi4py's; Mcells per second. */
export async function jacobiBench(n: number, iters: number, warmup: number): Promise<number> {
  const p = world.size;
  const dist = grid([n, n], [p, 1]);
  let u = await DistArray.zeros([n, n], { dist, halo: 1, boundary: 1 });
  let v = await DistArray.zeros([n, n], { dist, halo: 1, boundary: 1 });
  const step = async () => {
    await u.exchangeHalos({ trailingBarrier: false }); // safe: u and v alternate
    jacobiStep(u, v);
    [u, v] = [v, u];
  };
  for (let r = 0; r < warmup; r++) await step();
  const t = await timeit(step, iters);
  return (n * n) / t / 1e3;
}

/** add(a, b, { out }) of n float64 elements (block-distributed); ms per add. */
export async function addBench(n: number, reps: number): Promise<number> {
  const { add } = await import('../distarray/ufunc.js');
  const p = world.size;
  const a = await DistArray.zeros([n], { dist: block([n], p) });
  const b = await DistArray.zeros([n], { dist: block([n], p) });
  const c = await DistArray.zeros([n], { dist: block([n], p) });
  (a.data as Float64Array).fill(1.5);
  (b.data as Float64Array).fill(2.5);
  await add(a, b, { out: c });
  return timeit(() => add(a, b, { out: c }), reps);
}

/** sum(a, { axis: 0 }) of an n x n float64 array in row blocks; ms per reduction. */
export async function sumAxisBench(n: number, reps: number): Promise<number> {
  const { sum } = await import('../distarray/reduce.js');
  const p = world.size;
  const a = await DistArray.zeros([n, n], { dist: grid([n, n], [p, 1]) });
  (a.data as Float64Array).fill(0.5);
  await sum(a, { axis: 0 });
  return timeit(() => sum(a, { axis: 0 }), reps);
}

/**
 * C = A B for n x n float64 matrices, A, B and C already in matmul's block layouts on the
 * dimsCreate(P, 2) grid (so the time is SUMMA's panels and kernel, no redistribution); ms per product.
 */
export async function matmulBench(n: number, reps: number, warmup: number): Promise<number> {
  const { matmul } = await import('../distarray/matmul.js');
  const { dimsCreate } = await import('../distarray/distribution.js');
  const dist = grid([n, n], dimsCreate(world.size, 2));
  const A = await DistArray.zeros([n, n], { dist });
  const B = await DistArray.zeros([n, n], { dist });
  const C = await DistArray.zeros([n, n], { dist });
  const a = A.data as Float64Array;
  const b = B.data as Float64Array;
  for (let i = 0; i < a.length; i++) a[i] = (i % 7) * 0.125;
  for (let i = 0; i < b.length; i++) b[i] = (i % 5) * 0.25;
  for (let r = 0; r < warmup; r++) await matmul(A, B, { out: C });
  return timeit(() => matmul(A, B, { out: C }), reps);
}
