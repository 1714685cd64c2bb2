/**
 * The counts of three BSP algorithms, per superstep, for bsp.predict({ steps }): what
 * `superstep predict --workload`, `superstep scaling` and bench/cost.bench.ts predict from
 * before running, and what distarray's matvec.cost and jacobiStep.cost build on. Each local
 * computation is counted by what bounds it (docs/cost.md §3):
 * - the matvec's rows are dot products, compute-bound: flops, at r (a dot product's flop/s);
 * - the Jacobi sweep streams two grids: bytes touched, 16 per cell, at b (the probe's sweep);
 * - the allreduce packs, adds and unpacks blocks: bytes touched, at b.
 */
import { ArgumentError } from '../../util/errors.js';
import type { SuperstepCounts } from './predict.js';

function count(name: string, v: number, min = 0): number {
  if (!Number.isInteger(v) || v < min) throw new ArgumentError(name, `an integer >= ${min}`, v);
  return v;
}

/** The largest and smallest block of n items split over p ranks in contiguous blocks. */
function blocks(n: number, p: number): { max: number; min: number } {
  return { max: Math.ceil(n / p), min: Math.floor(n / p) };
}

/**
 * A row-block matvec y = A·x, A m×n over p ranks, x split in blocks: one superstep per product,
 * in which every rank sends its block of x to every other rank (h = max over ranks of
 * max(block·(p-1), n - block)) and multiplies its rows (2·rows·n flops).
 */
export function rowMatvecCounts(m: number, n: number, p: number): SuperstepCounts[] {
  count('m', m, 1); count('n', n, 1); count('p', p, 1);
  const x = blocks(n, p);
  const h = p === 1 ? 0 : Math.max(x.max * (p - 1), n - x.min);
  return [{ flops: 2 * blocks(m, p).max * n, h }];
}

/**
 * `steps` Jacobi sweeps of a rows×cols grid in row blocks over p ranks: per sweep one
 * superstep, in which each rank sends its first and last rows to its neighbours (h = cols
 * words at p = 2, 2·cols beyond) and sweeps its block (16 bytes touched per cell).
 */
export function rowJacobiCounts(rows: number, cols: number, p: number, steps = 1): SuperstepCounts[] {
  count('rows', rows, 1); count('cols', cols, 1); count('p', p, 1); count('steps', steps);
  const h = p === 1 ? 0 : p === 2 ? cols : 2 * cols;
  const bytes = 16 * blocks(rows, p).max * cols;
  return Array.from({ length: steps }, () => ({ bytes, h }));
}

/**
 * An allreduce (sum) of n float64 in two BSP supersteps over p ranks: reduce-scatter (rank d
 * gets block d from every rank; packing what it sends: 16 bytes per word copied, and the
 * unpacking of the previous allreduce's result, which in a loop lands here), then allgather
 * (adding p-1 blocks into its own, 24 bytes per word, copying and packing the sum, 32).
 */
export function allreduceCounts(n: number, p: number): SuperstepCounts[] {
  count('n', n, 1); count('p', p, 1);
  if (p === 1) return [];
  const b = blocks(n, p);
  const rsH = Math.max(n - b.min, b.max * (p - 1));
  const agH = Math.max(b.max * (p - 1), n - b.min);
  return [
    { bytes: 2 * 16 * (n - b.min), h: rsH },
    { bytes: 24 * (p - 1) * b.max + 32 * b.max, h: agH },
  ];
}

/** What groupByCounts needs: sizes, not data. */
export interface GroupByShape {
  /** Rows of the largest rank. */
  rows: number;
  /** Key columns. */
  keys: number;
  /** Value columns aggregated (sum, mean, min, max, count). */
  columns: number;
  /** Distinct keys over the whole frame (an estimate is fine: the counts are linear in it below rows). */
  groups: number;
  p: number;
}

/**
 * DistFrame's groupBy(keys).agg(...) with decomposable ops (sum, mean, min, max, count), as
 * distarray/frame.ts does it: a local pass folding each rank's rows into one partial row per
 * group (keys, rows, and n, sum, min, max per column: keys + 1 + 4·columns words), then one
 * alltoallv moving each partial to the rank owning its key's hash, then merging what arrived.
 * Superstep 1: the local pass (8 bytes per key and value read, 8 per partial word written) and
 * the partials out (each rank keeps 1/P of its min(rows, groups) partials); superstep 2: the
 * merge (8 bytes per partial word read, 8 per merged word written), no words. Counted in
 * bytes, at b: the pass is a hash lookup per row, which b (a streaming sweep) describes only
 * roughly (docs/cost.md §3).
 */
export function groupByCounts(s: GroupByShape): SuperstepCounts[] {
  const rows = count('rows', s.rows), keys = count('keys', s.keys, 1), cols = count('columns', s.columns);
  const groups = count('groups', s.groups, 1), p = count('p', s.p, 1);
  const wpr = keys + 1 + 4 * cols;
  const local = Math.min(rows, groups);
  const out = p === 1 ? 0 : Math.ceil((local * (p - 1)) / p) * wpr;
  // From each other rank, the partials of the groups this rank owns: 1/P of them (a uniform hash).
  const inRows = (p - 1) * Math.ceil(local / p);
  return [
    { bytes: 8 * rows * (keys + cols) + 8 * local * wpr, h: Math.max(out, inRows * wpr) },
    { bytes: 8 * (inRows + Math.ceil(local / p)) * wpr + 8 * Math.ceil(groups / p) * wpr, h: 0 },
  ];
}

/** The named workloads of `superstep predict --workload` and `superstep scaling`. */
export const kWorkloads = {
  /** size: n of an n×n matrix; steps: products. */
  matvec: (size: number, p: number, steps = 1) => repeat(rowMatvecCounts(size, size, p), steps),
  /** size: n of an n×n grid; steps: sweeps. */
  jacobi: (size: number, p: number, steps = 1) => rowJacobiCounts(size, size, p, steps),
  /** size: doubles; steps: allreduces. */
  allreduce: (size: number, p: number, steps = 1) => repeat(allreduceCounts(size, p), steps),
} as const;

export type WorkloadName = keyof typeof kWorkloads;

/** The list repeated `times` times (a loop of the same supersteps). */
export function repeat(steps: readonly SuperstepCounts[], times: number): SuperstepCounts[] {
  count('steps', times);
  const out: SuperstepCounts[] = [];
  for (let i = 0; i < times; i++) out.push(...steps);
  return out;
}
