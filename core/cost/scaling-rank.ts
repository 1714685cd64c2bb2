/**
 * Rank side of `superstep scaling` and of bench/cost.bench.ts's matvec and Jacobi: the two
 * BSP programs whose counts are rowMatvecCounts and rowJacobiCounts (counts.ts), written with
 * bsp packages and bsp.sync and the probe's own kernels (kernels.ts), run as 'call' jobs with
 * profiling on. Each returns this rank's superstep records; the last superstep's pass phrase
 * ends in ' end' (its work only closes the loop: callers leave it out).
 */
import { bsp } from '../bsp.js';
import { dot, sweep5 } from './kernels.js';
import { localRecords, type SuperstepRecord } from './profile.js';

const lo = (r: number, n: number, p: number) => Math.floor((r * n) / p);

/**
 * Row-block power iteration with an n×n matrix: each superstep allgathers x (every rank sends
 * its block to every other rank), then multiplies its rows by x (one dot product per row) and
 * normalises; the product is the next x. `warmup` untimed iterations, then `reps` recorded.
 */
export async function matvecRun(n: number, warmup: number, reps: number): Promise<SuperstepRecord[]> {
  const p = bsp.procCount();
  const me = bsp.myProcID();
  const r0 = lo(me, n, p);
  const m = lo(me + 1, n, p) - r0;
  const a = new Float64Array(m * n).map((_, i) => 1 + (i % 13) * 1e-3);
  const x = new Float64Array(n);
  const y = new Float64Array(m).fill(1);
  const allgather = async () => {
    if (p > 1) {
      bsp.fromArray(y, 'x');
      for (let d = 0; d < p; d++) if (d !== me) bsp.toProc(d, 'x');
    }
    x.set(y, r0);
    await bsp.sync('matvec allgather x');
    for (let s = 0; s < p; s++) if (s !== me) x.set(bsp.toArray<Float64Array>(bsp.fromProc(s)['x']!), lo(s, n, p));
  };
  const multiply = () => {
    let norm = 0;
    for (let i = 0; i < m; i++) {
      y[i] = dot(a, x, i * n, n);
      norm = Math.max(norm, Math.abs(y[i]!));
    }
    for (let i = 0; i < m; i++) y[i]! /= norm || 1;
  };
  return recorded(allgather, multiply, warmup, reps, 'matvec end');
}

/**
 * Jacobi sweeps of a rows×cols grid in row blocks with a one-cell border: each superstep sends
 * the first and last own rows to the neighbours, then sweeps the block (the probe's sweep).
 */
export async function jacobiRun(rows: number, cols: number, warmup: number, reps: number): Promise<SuperstepRecord[]> {
  const p = bsp.procCount();
  const me = bsp.myProcID();
  const m = lo(me + 1, rows, p) - lo(me, rows, p);
  const w = cols + 2;
  let u = new Float64Array((m + 2) * w);
  let v = new Float64Array((m + 2) * w);
  if (me === 0) u.fill(1, 0, w); // a hot top border
  v.set(u.subarray(0, w));
  const halo = async () => {
    if (me > 0) {
      bsp.fromArray(u.subarray(w + 1, w + 1 + cols), 'down');
      bsp.toProc(me - 1, 'down');
    }
    if (me < p - 1) {
      bsp.fromArray(u.subarray(m * w + 1, m * w + 1 + cols), 'up');
      bsp.toProc(me + 1, 'up');
    }
    await bsp.sync('jacobi halo');
    if (me < p - 1) u.set(bsp.toArray<Float64Array>(bsp.fromProc(me + 1)['down']!), (m + 1) * w + 1);
    if (me > 0) u.set(bsp.toArray<Float64Array>(bsp.fromProc(me - 1)['up']!), 1);
  };
  const sweep = () => {
    sweep5(u, v, m, cols);
    [u, v] = [v, u];
  };
  return recorded(halo, sweep, warmup, reps, 'jacobi end');
}

/**
 * warmup × (exchange, compute) untimed; then one exchange, profiling on, and reps × (compute,
 * exchange) recorded, so every recorded superstep holds one compute and one exchange; then a
 * closing superstep for the last compute.
 */
async function recorded(exchange: () => Promise<void>, compute: () => void, warmup: number, reps: number, end: string): Promise<SuperstepRecord[]> {
  for (let i = 0; i < warmup; i++) {
    await exchange();
    compute();
  }
  await exchange();
  bsp.profiling(true);
  for (let i = 0; i < reps; i++) {
    compute();
    await exchange();
  }
  compute();
  await bsp.sync(end);
  const recs = localRecords()!;
  bsp.profiling(false);
  return recs;
}
