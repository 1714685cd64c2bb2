// 2-D Jacobi iteration for the heat equation (Laplace's equation with fixed boundary values)
// on a distributed grid with one-cell halos, checked against the same sweeps done
// sequentially on one array (the arithmetic is identical, so the results are bit-for-bit equal).
// Run: npx superstep run -n 4 examples/jacobi.ts [n] [iters] [grid]
//   grid: 'rows' (row blocks, default) or '2d' (a balanced 2-D process grid)
import { DistArray, bsp, dimsCreate, grid, jacobiStep, world } from 'superstep';

const n = Number(process.argv[2] ?? 512);
const iters = Number(process.argv[3] ?? 100);
const layout = process.argv[4] ?? 'rows';
const p = bsp.procCount();
const me = bsp.myProcID();

const hot = 1.0; // boundary temperature; the interior starts at 0
const dims = layout === '2d' ? dimsCreate(p, 2) : [p, 1];
const dist = grid([n, n], dims);
let u = await DistArray.zeros([n, n], { dist, halo: 1, boundary: hot });
let v = await DistArray.zeros([n, n], { dist, halo: 1, boundary: hot });

await world.barrier();
const t0 = performance.now();
for (let k = 0; k < iters; k++) {
  // One superstep: neighbours' edge rows/columns into u's halo. No closing barrier needed:
  // u is next written two sweeps later, after the exchange of v has synchronised every rank.
  await u.exchangeHalos({ trailingBarrier: false });
  jacobiStep(u, v); // v = average of u's four neighbours, on this rank's block
  [u, v] = [v, u];
}
const ms = (await world.allreduce(Float64Array.of(performance.now() - t0), 'MAX'))[0]!;
const mean = (await u.sum()) / (n * n);

const got = await u.gather(0);
if (me === 0) {
  const W = n + 2;
  let a = new Float64Array(W * W).fill(hot);
  let b = new Float64Array(W * W).fill(hot);
  for (let i = 1; i <= n; i++) a.fill(0, i * W + 1, i * W + n + 1);
  for (let k = 0; k < iters; k++) {
    for (let i = 1; i <= n; i++) {
      for (let j = 1; j <= n; j++) {
        const o = i * W + j;
        b[o] = 0.25 * (a[o - W]! + a[o + W]! + a[o - 1]! + a[o + 1]!);
      }
    }
    [a, b] = [b, a];
  }
  let bad = 0;
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) if (got![i * n + j] !== a[(i + 1) * W + j + 1]) bad++;
  if (bad) throw new Error(`${bad} cells differ from the sequential Jacobi sweeps`);
  const mcells = (n * n * iters) / (ms * 1e3);
  console.log(`jacobi ${n} x ${n}, ${iters} sweeps on ${p} ranks (${dims.join(' x ')} grid): ${ms.toFixed(1)} ms, ${mcells.toFixed(0)} Mcells/s; mean temperature ${mean.toFixed(6)}; identical to the sequential sweeps`);
}
