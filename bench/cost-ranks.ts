// Rank-side workloads of bench/cost.bench.ts (run as 'call' jobs on a World, profiling on).
import { bsp } from 'superstep';
import { localRecords, type SuperstepRecord } from '../core/cost/profile.js';

async function hrelStep(h: number, names: string[]): Promise<void> {
  const p = bsp.procCount();
  const me = bsp.myProcID();
  for (let j = 1; j < p; j++) if (h > 0) bsp.toProc((me + j) % p, names[j - 1]!);
  await bsp.sync(`hrel ${h}`);
}

/** `reps` supersteps, each an h-relation of h words (every rank sends h, spread over the others). */
export async function hrelation(h: number, warmup: number, reps: number): Promise<SuperstepRecord[]> {
  const p = bsp.procCount();
  const names: string[] = [];
  for (let j = 1; j < p; j++) {
    const share = Math.floor(h / (p - 1)) + (j - 1 < h % (p - 1) ? 1 : 0);
    bsp.createArray(`hrel.${j}`, 'f8', Math.max(1, share));
    names.push(`hrel.${j}`);
  }
  for (let i = 0; i < warmup; i++) await hrelStep(h, names);
  bsp.profiling(true);
  for (let i = 0; i < reps; i++) await hrelStep(h, names);
  return localRecords()!;
}

/**
 * An allreduce (sum) of n doubles in two supersteps, BSP style: reduce-scatter (rank d gets
 * block d of every rank and adds them), then allgather of the reduced blocks.
 */
export async function allreduce(n: number, warmup: number, reps: number): Promise<SuperstepRecord[]> {
  const p = bsp.procCount();
  const me = bsp.myProcID();
  const x = new Float64Array(n).fill(me + 1);
  const out = new Float64Array(n);
  const lo = (r: number) => Math.floor((r * n) / p);
  const once = async () => {
    for (let d = 0; d < p; d++) {
      if (d === me) continue;
      bsp.fromArray(x.subarray(lo(d), lo(d + 1)), `rs.${d}`);
      bsp.toProc(d, `rs.${d}`);
    }
    await bsp.sync('allreduce reduce-scatter');
    const mine = out.subarray(lo(me), lo(me + 1));
    mine.set(x.subarray(lo(me), lo(me + 1)));
    for (let s = 0; s < p; s++) {
      if (s === me) continue;
      const blk = bsp.toArray<Float64Array>(bsp.fromProc(s)[`rs.${me}`]!);
      for (let i = 0; i < blk.length; i++) mine[i]! += blk[i]!;
    }
    bsp.fromArray(mine, 'ag');
    for (let d = 0; d < p; d++) if (d !== me) bsp.toProc(d, 'ag');
    await bsp.sync('allreduce allgather');
    for (let s = 0; s < p; s++) if (s !== me) out.set(bsp.toArray<Float64Array>(bsp.fromProc(s)['ag']!), lo(s));
    const want = (p * (p + 1)) / 2;
    if (out[0] !== want || out[n - 1] !== want) throw new Error(`allreduce: got ${out[0]}, ${out[n - 1]}; expected ${want}`);
  };
  for (let i = 0; i < warmup; i++) await once();
  bsp.profiling(true);
  for (let i = 0; i < reps; i++) await once();
  return localRecords()!;
}
