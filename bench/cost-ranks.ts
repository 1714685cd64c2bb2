// Rank-side workloads of bench/cost.bench.ts (run as 'call' jobs on a World, profiling on).
import { DistFrame, bsp, world } from 'superstep';
import { tableFromArrays } from 'apache-arrow';
import { localRecords, type SuperstepRecord } from '../core/cost/profile.js';
import { context } from '../comm/context.js';
import { jacobiRun, matvecRun } from '../core/cost/scaling-rank.js';

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
 * mine += blk. A function of its own, as a user would write it: V8 optimizes a small hot
 * function in a few calls, while a loop inside a long async function body runs unoptimized
 * (boxing every double it loads: 15 MB of garbage per 8 MiB allreduce, whose scavenges then
 * land inside bsp.sync) until an on-stack replacement compiles, which took 5-17 ms here.
 */
function addInto(mine: Float64Array, blk: Float64Array): void {
  for (let i = 0; i < blk.length; i++) mine[i]! += blk[i]!;
}

/**
 * An allreduce (sum) of n doubles in two supersteps, BSP style: reduce-scatter (rank d gets
 * block d of every rank and adds them), then allgather of the reduced blocks. `reuse`: with
 * bsp.reuseReceiveBuffers(true) (the workload copies what it keeps before the next sync).
 * `keep`: the packages are created once and refilled (as BSPlib and Bulk register their
 * buffers once), instead of a fromArray copy into new memory every superstep.
 */
export async function allreduce(n: number, warmup: number, reps: number, reuse = false, keep = false): Promise<SuperstepRecord[]> {
  bsp.reuseReceiveBuffers(reuse);
  const p = bsp.procCount();
  const me = bsp.myProcID();
  const x = new Float64Array(n).fill(me + 1);
  const out = new Float64Array(n);
  const lo = (r: number) => Math.floor((r * n) / p);
  const kept = new Map<string, Float64Array>();
  const pack = (a: Float64Array, name: string) => {
    if (!keep) return void bsp.fromArray(a, name);
    let view = kept.get(name);
    if (!view) {
      bsp.createArray(name, 'f8', a.length);
      kept.set(name, (view = bsp.asArray<Float64Array>(name)));
    }
    view.set(a);
  };
  const once = async () => {
    for (let d = 0; d < p; d++) {
      if (d === me) continue;
      pack(x.subarray(lo(d), lo(d + 1)), `rs.${d}`);
      bsp.toProc(d, `rs.${d}`);
    }
    await bsp.sync('allreduce reduce-scatter');
    const mine = out.subarray(lo(me), lo(me + 1));
    mine.set(x.subarray(lo(me), lo(me + 1)));
    for (let s = 0; s < p; s++) {
      if (s === me) continue;
      addInto(mine, bsp.toArray<Float64Array>(bsp.fromProc(s)[`rs.${me}`]!));
    }
    pack(mine, 'ag');
    for (let d = 0; d < p; d++) if (d !== me) bsp.toProc(d, 'ag');
    await bsp.sync('allreduce allgather');
    for (let s = 0; s < p; s++) if (s !== me) out.set(bsp.toArray<Float64Array>(bsp.fromProc(s)['ag']!), lo(s));
    const want = (p * (p + 1)) / 2;
    if (out[0] !== want || out[n - 1] !== want) throw new Error(`allreduce: got ${out[0]}, ${out[n - 1]}; expected ${want}`);
  };
  for (let i = 0; i < warmup; i++) await once();
  bsp.profiling(true);
  for (let i = 0; i < reps; i++) await once();
  bsp.reuseReceiveBuffers(false);
  return localRecords()!;
}

/**
 * Row-block dense matvec (a power iteration) and 2-D Jacobi sweeps in row blocks: the
 * programs of `superstep scaling` (core/cost/scaling-rank.ts), whose counts are
 * rowMatvecCounts and rowJacobiCounts (core/cost/counts.ts), so the bench predicts them
 * before running as a user would.
 */
export const matvec = (n: number, warmup: number, reps: number): Promise<SuperstepRecord[]> => matvecRun(n, warmup, reps);
export const jacobi = (n: number, warmup: number, reps: number): Promise<SuperstepRecord[]> => jacobiRun(n, n, warmup, reps);

/**
 * The bsp.sync bench: median time of one superstep (us) in which every rank sends h words
 * spread over the others, as 'pkg' (createArray packages, toProc), 'fresh' (a fromArray copy
 * per superstep, then toProc) or 'put' (bsp.put into a shared package). h = 0 is the empty
 * superstep. Rank 0's figure (the superstep lasts until its slowest rank is done).
 */
export async function syncBench(kind: 'pkg' | 'fresh' | 'put', h: number, warmup: number, reps: number, profile = false): Promise<number> {
  if (profile) bsp.profiling(true);
  const p = bsp.procCount();
  const me = bsp.myProcID();
  const share = (j: number) => Math.floor(h / (p - 1)) + (j - 1 < h % (p - 1) ? 1 : 0);
  const src: Float64Array[] = [];
  for (let j = 1; j < p; j++) {
    (bsp.createArray(`sb.${j}`, 'f8', Math.max(1, share(j))).view() as Float64Array).fill(me);
    src.push(new Float64Array(Math.max(1, share(j))).fill(me));
  }
  if (kind === 'put') {
    bsp.createArray('sb.in', 'f8', Math.max(1, h));
    await bsp.share('sb.in');
  }
  const step = async () => {
    if (h > 0) {
      for (let j = 1; j < p; j++) {
        const d = (me + j) % p;
        if (kind === 'pkg') bsp.toProc(d, `sb.${j}`);
        else if (kind === 'fresh') {
          bsp.fromArray(src[j - 1]!, `sb.${j}`);
          bsp.toProc(d, `sb.${j}`);
        } else bsp.put(d, src[j - 1]!, 'sb.in', (j - 1) * Math.floor(h / (p - 1)));
      }
    }
    await bsp.sync('sb');
  };
  for (let i = 0; i < warmup; i++) await step();
  const times: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    await step();
    times.push((performance.now() - t0) * 1000);
  }
  if (p > 1) bsp.delete('sb');
  times.sort((a, b) => a - b);
  return times[times.length >> 1]!;
}

/**
 * The transport's own time for the same traffic as an h-relation of h words, as the limit
 * for the bsp.sync figures: every rank sends h/(P-1) words to each other rank and receives as
 * much, straight into reused buffers (as mpi4py's Recv into a numpy array); h = 0 is the
 * transport barrier. Median microseconds per round, rank 0's figure.
 */
export async function transportBench(h: number, warmup: number, reps: number): Promise<number> {
  const t = context().transport;
  const p = t.size;
  const me = t.rank;
  const kCtx = 9; // a context no library layer uses
  const share = (j: number) => Math.floor(h / (p - 1)) + (j - 1 < h % (p - 1) ? 1 : 0);
  const out = Array.from({ length: p }, (_, j) => new Uint8Array(8 * Math.max(1, share(j))).fill(me));
  const into = Array.from({ length: p }, (_, j) => new Uint8Array(8 * Math.max(1, share(j))));
  const round = async (tag: number) => {
    if (h === 0) return t.barrier();
    const sends: Promise<void>[] = [];
    for (let j = 1; j < p; j++) sends.push(t.send((me + j) % p, kCtx, tag, out[j]!));
    for (let j = 1; j < p; j++) await t.recv((me - j + p) % p, kCtx, tag, into[j]!);
    await Promise.all(sends);
  };
  for (let i = 0; i < warmup; i++) await round(i);
  const times: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    await round(warmup + i);
    times.push((performance.now() - t0) * 1000);
  }
  times.sort((a, b) => a - b);
  return times[times.length >> 1]!;
}

/**
 * DistFrame groupBy('k').agg({ x: 'sum' }) over `rows` rows per rank and `groups` keys: the
 * agg runs on collectives (not bsp.sync), so the figure is each call's wall time on this rank,
 * after a barrier; the bench takes the max over ranks per call.
 */
export async function groupby(rows: number, groups: number, warmup: number, reps: number): Promise<number[]> {
  const me = world.rank;
  const k = Int32Array.from({ length: rows }, (_, i) => (i * 7919 + me * 104729) % groups);
  const x = Float64Array.from({ length: rows }, (_, i) => i * 0.5);
  const f = await DistFrame.fromLocal(tableFromArrays({ k, x }));
  const times: number[] = [];
  for (let i = 0; i < warmup + reps; i++) {
    await world.barrier();
    const t0 = performance.now();
    await f.groupBy('k').agg({ x: 'sum' });
    if (i >= warmup) times.push((performance.now() - t0) / 1000);
  }
  return times;
}
