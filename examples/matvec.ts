// Distributed dense matrix-vector product y = A x, checked against a sequential product.
// Run: npx superstep run -n 4 examples/matvec.ts [n] [reps] [grid]
//   grid: 'rows' (row blocks, default) or '2d' (a balanced 2-D process grid)
import { DistArray, bsp, block, dimsCreate, grid, matvec, world } from 'superstep';

const n = Number(process.argv[2] ?? 2048);
const reps = Number(process.argv[3] ?? 10);
const layout = process.argv[4] ?? 'rows';
const p = bsp.procCount();
const me = bsp.myProcID();

// A[i][j] and x[j] from formulas, so every rank builds only its own block.
const a = (i: number, j: number) => ((i * 7 + j * 13) % 17) / 8 - 1;
const xf = (j: number) => ((j * 5) % 11) / 4 - 1.25;

const dims = layout === '2d' ? dimsCreate(p, 2) : [p, 1];
const A = await DistArray.fromFunction([n, n], a, { dist: grid([n, n], dims) });
const x = await DistArray.fromFunction([n], xf, { dist: block([n], p) });
const y = await DistArray.zeros([n], { dist: block([n], p) });

await matvec(A, x, y); // warm-up (JIT, shared-buffer swap)
await world.barrier();
const t0 = performance.now();
for (let r = 0; r < reps; r++) await matvec(A, x, y);
const ms = (await world.allreduce(Float64Array.of((performance.now() - t0) / reps), 'MAX'))[0]!;

// Check against the sequential product on rank 0.
const got = await y.gather(0);
if (me === 0) {
  let worst = 0;
  for (let i = 0; i < n; i++) {
    let s = 0;
    let mag = 0;
    for (let j = 0; j < n; j++) {
      s += a(i, j) * xf(j);
      mag += Math.abs(a(i, j) * xf(j));
    }
    worst = Math.max(worst, Math.abs(got![i]! as number - s) / (mag || 1));
  }
  if (!(worst < 1e-12)) throw new Error(`matvec differs from the sequential product: relative error ${worst}`);
  const gflops = (2 * n * n) / (ms * 1e6);
  console.log(`matvec ${n} x ${n} float64 on ${p} ranks (${dims.join(' x ')} grid): ${ms.toFixed(2)} ms per product, ${gflops.toFixed(2)} GFlop/s; max relative error ${worst.toExponential(1)} vs sequential`);
}
