import { jacobi5, gemv } from '../distarray/kernels.js';
import { DistArray } from '../distarray/distarray.js';
import { grid } from '../distarray/distribution.js';
import { jacobiStep } from '../distarray/stencil.js';
export async function probe(): Promise<string> {
  const N = 2048, M = 1024, W = N + 2;
  const u = new Float64Array(new SharedArrayBuffer((M + 2) * W * 8)), v = new Float64Array(new SharedArrayBuffer((M + 2) * W * 8));
  for (let r = 0; r < 5; r++) jacobi5(u, v, M, N, 1);
  let t0 = performance.now(); for (let r = 0; r < 30; r++) jacobi5(u, v, M, N, 1);
  const tk = (performance.now() - t0) / 30;
  let a = await DistArray.zeros([M, N], { dist: grid([M, N], [1, 1]), halo: 1 });
  let b = await DistArray.zeros([M, N], { dist: grid([M, N], [1, 1]), halo: 1 });
  for (let r = 0; r < 5; r++) { jacobiStep(a, b); [a, b] = [b, a]; }
  t0 = performance.now(); for (let r = 0; r < 30; r++) { jacobiStep(a, b); [a, b] = [b, a]; }
  const ts = (performance.now() - t0) / 30;
  t0 = performance.now(); for (let r = 0; r < 30; r++) { await a.exchangeHalos(); }
  const te = (performance.now() - t0) / 30;
  return `kernel ${tk.toFixed(2)} ms (${(M*N/tk/1e3).toFixed(0)} Mc/s), step ${ts.toFixed(2)} ms, exchange ${te.toFixed(3)} ms`;
}
