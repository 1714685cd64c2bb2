/**
 * `superstep scaling`: runs the row-block matvec and Jacobi (scaling-rank.ts) at P = 1..8,
 * strong (one problem, more ranks) and weak (the same work per rank), records their supersteps,
 * predicts each from its counts (counts.ts) and this machine's parameters before comparing, and
 * extends the prediction to P = 64..1024 for a cluster whose g and l are given (a probe file or
 * flags), with this machine's r and b per rank: where a program stops scaling, before buying it.
 */
import { usableCores } from '../../util/cores.js';
import { startWorld, type Backend } from '../launch/world.js';
import { moduleUrl } from '../../util/module-url.js';
import { ArgumentError } from '../../util/errors.js';
import { rowJacobiCounts, rowMatvecCounts } from './counts.js';
import { median } from './fit.js';
import { predictWith, type SuperstepCounts } from './predict.js';
import { mergeRecords, type SuperstepRecord } from './profile.js';
import type { BspParams, ResolvedParams } from './params.js';

const kRankModule = moduleUrl('./scaling-rank', import.meta.url).href;

export type ScalingWorkload = 'matvec' | 'jacobi';
export type ScalingMode = 'strong' | 'weak';

/** The problem of a workload at P: its size and its per-iteration counts. */
export interface ScalingProblem {
  /** Human-readable size, e.g. "1024 x 1024". */
  size: string;
  /** The rank job: function and arguments after (warmup, reps). */
  fn: 'matvecRun' | 'jacobiRun';
  args: number[];
  /** Counts of one iteration (one superstep). */
  counts: SuperstepCounts[];
}

/**
 * The problem at P. Strong: matvec n×n, Jacobi n×n. Weak: the work per rank of P = 1's
 * problem kept: matvec n·√P × n·√P (2n² flops per rank), Jacobi (n·P) × n (n² cells per rank).
 */
export function scalingProblem(workload: ScalingWorkload, mode: ScalingMode, n: number, p: number): ScalingProblem {
  if (workload === 'matvec') {
    const size = mode === 'strong' ? n : Math.round(n * Math.sqrt(p));
    return { size: `${size} x ${size}`, fn: 'matvecRun', args: [size], counts: rowMatvecCounts(size, size, p) };
  }
  const rows = mode === 'strong' ? n : n * p;
  return { size: `${rows} x ${n}`, fn: 'jacobiRun', args: [rows, n], counts: rowJacobiCounts(rows, n, p, 1) };
}

/** One point of the report. */
export interface ScalingPoint {
  workload: ScalingWorkload;
  mode: ScalingMode;
  p: number;
  size: string;
  /** Median measured time of one iteration (superstep), seconds; absent for predicted-only P. */
  measured?: number;
  /** Predicted time of one iteration from the counts, seconds. */
  predicted: number;
  /** Where the parameters came from: 'machine' (this host, probed or extrapolated) or 'cluster'. */
  params: 'machine' | 'cluster';
  oversubscribed: boolean;
}

export interface ScalingOptions {
  backend?: Backend;
  /** Ranks to run (default 1..8). */
  procs?: number[];
  /** Ranks to predict for the cluster (default 64, 128, ..., 1024). */
  clusterProcs?: number[];
  workloads?: ScalingWorkload[];
  modes?: ScalingMode[];
  /** n of the matvec's n×n matrix (default 1024). */
  matvecN?: number;
  /** n of the Jacobi's n×n grid (default 1024). */
  jacobiN?: number;
  warmup?: number;
  reps?: number;
  /** This machine's parameters at P. */
  paramsFor: (p: number) => ResolvedParams | BspParams;
  /** The cluster's g and l at P (r and b are this machine's). */
  clusterFor?: (p: number) => BspParams;
  /** Cores counted as the process may use them (default usableCores(): affinity and cgroup quota). */
  cores?: number;
  onProgress?: (line: string) => void;
  timeoutMs?: number;
}

/** The whole report. */
export interface ScalingReport {
  backend: string;
  cores: number;
  points: ScalingPoint[];
}

/** Runs the measurements and predictions (see the module comment). */
export async function scaling(options: ScalingOptions): Promise<ScalingReport> {
  const backend = options.backend ?? 'sab';
  const procs = options.procs ?? [1, 2, 3, 4, 5, 6, 7, 8];
  if (!procs.length || procs.some((p) => !Number.isInteger(p) || p < 1)) throw new ArgumentError('procs', 'a non-empty list of positive integers', procs);
  const workloads = options.workloads ?? ['matvec', 'jacobi'];
  const modes = options.modes ?? ['strong', 'weak'];
  const sizeOf = (w: ScalingWorkload) => (w === 'matvec' ? options.matvecN ?? 1024 : options.jacobiN ?? 1024);
  const warmup = options.warmup ?? 5;
  const reps = options.reps ?? 15;
  const cores = options.cores ?? usableCores();
  const points: ScalingPoint[] = [];
  for (const p of procs) {
    const params = options.paramsFor(p);
    const world = await startWorld({ procs: p, backend });
    try {
      for (const workload of workloads) {
        for (const mode of modes) {
          const prob = scalingProblem(workload, mode, sizeOf(workload), p);
          const out = await world.job<SuperstepRecord[]>({ kind: 'call', url: kRankModule, fn: prob.fn, args: [...prob.args, warmup, reps] }, { timeoutMs: options.timeoutMs ?? 120_000 });
          if (!out.ok) throw new Error(`scaling: ${workload} ${mode} at P = ${p}: rank ${out.failure?.rank}: ${out.failure?.error.message}`);
          const rows = mergeRecords(out.results, undefined).filter((r) => !(r.passPhrase ?? '').endsWith(' end'));
          const measured = median(rows.map((r) => r.t));
          const predicted = predictWith({ steps: prob.counts }, params).seconds;
          points.push({ workload, mode, p, size: prob.size, measured, predicted, params: 'machine', oversubscribed: p > cores });
          options.onProgress?.(`${workload} ${mode} P=${p} (${prob.size}): measured ${(measured * 1e3).toFixed(3)} ms, predicted ${(predicted * 1e3).toFixed(3)} ms${p > cores ? ' (oversubscribed)' : ''}`);
        }
      }
    } finally {
      await world.close();
    }
  }
  if (options.clusterFor) {
    const cps = options.clusterProcs ?? [64, 128, 256, 512, 1024];
    const all = [...new Set([...procs, ...cps])].sort((a, b) => a - b);
    for (const workload of workloads) {
      for (const mode of modes) {
        for (const p of all) {
          const prob = scalingProblem(workload, mode, sizeOf(workload), p);
          const mine = options.paramsFor(cores); // a cluster node runs a rank on every core
          const cl = options.clusterFor(p);
          const params: BspParams = { g: cl.g, l: cl.l, r: mine.r, ...(mine.b !== undefined ? { b: mine.b } : {}) };
          points.push({ workload, mode, p, size: prob.size, predicted: predictWith({ steps: prob.counts }, params).seconds, params: 'cluster', oversubscribed: false });
        }
      }
    }
  }
  return { backend, cores, points };
}
