// Rank-side programs of bench/io.bench.ts: write, read and groupBy of a generated table,
// timed on every rank (the slowest rank's time is what counts).
import { Float64, Int32, Table, makeData, makeVector } from 'apache-arrow';
import { rm } from 'node:fs/promises';
import { DistFrame, bsp, readArrow, world, writeArrow } from 'superstep';

/** Row i of the bench table: key (1000 groups) and a float value. */
export const keyOf = (i: number): number => (Math.imul(i, 0x9e3779b1) >>> 0) % 1000;
export const valueOf = (i: number): number => ((i * 7919) % 1000) / 10;

/** The rows [start, end) as an Arrow table (columns built from typed arrays, no copy). */
export function benchTable(start: number, end: number): Table {
  const n = end - start;
  const k = new Int32Array(n);
  const v = new Float64Array(n);
  for (let j = 0; j < n; j++) {
    k[j] = keyOf(start + j);
    v[j] = valueOf(start + j);
  }
  return new Table({ k: makeVector(makeData({ type: new Int32(), length: n, data: k })), v: makeVector(makeData({ type: new Float64(), length: n, data: v })) });
}

/** Runs `f` on every rank between a barrier and a MAX allreduce: [its result, the slowest rank's ms]. */
export async function timed<T>(f: () => Promise<T>): Promise<[T, number]> {
  await world.barrier();
  const t0 = performance.now();
  const r = await f();
  const ms = (await world.allreduce(Float64Array.of(performance.now() - t0), 'MAX'))[0]!;
  return [r, ms];
}

/** Best-of-`reps` times (ms) of writeArrow, readArrow and groupBy(k).agg(v: sum/mean/min/max/count). */
export async function ioBench(path: string, rows: number, reps: number): Promise<{ writeMs: number; readMs: number; groupMs: number; groups: number }> {
  const p = bsp.procCount();
  const me = bsp.myProcID();
  const frame = await DistFrame.fromLocal(benchTable(Math.floor((rows * me) / p), Math.floor((rows * (me + 1)) / p)));
  let writeMs = Infinity;
  let readMs = Infinity;
  let groupMs = Infinity;
  let groups = 0;
  for (let r = 0; r < reps; r++) {
    writeMs = Math.min(writeMs, (await timed(() => writeArrow(path, frame)))[1]);
    const [back, ms] = await timed(() => readArrow(path));
    readMs = Math.min(readMs, ms);
    const [g, gms] = await timed(() => back.groupBy('k').agg({ v: ['sum', 'mean', 'min', 'max', 'count'] }));
    groupMs = Math.min(groupMs, gms);
    groups = await g.count();
  }
  if (me === 0) await rm(path, { force: true });
  return { writeMs, readMs, groupMs, groups };
}
