// Rank-side programs of bench/io.bench.ts: write, read and groupBy of a generated table,
// timed on every rank (the slowest rank's time is what counts).
import { Float64, Int32, Table, makeData, makeVector } from 'apache-arrow';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { DistFrame, bsp, fileView, loadNpy, npyHeader, readArrow, readAtAll, world, writeArrow } from 'superstep';

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
export async function ioBench(path: string, rows: number, reps: number, cold = false): Promise<{ writeMs: number; readMs: number; groupMs: number; groups: number; coldMs: number }> {
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
  // Cold: the page cache dropped (root only) right before one read.
  let coldMs = -1;
  if (cold) {
    const dropped = (await world.allgatherObject(me === 0 ? dropCaches() : true)).every(Boolean);
    if (dropped) coldMs = (await timed(() => readArrow(path)))[1];
  }
  return { writeMs, readMs, groupMs, groups, coldMs };
}

/** This process's VmRSS or VmHWM (peak) in bytes, from /proc/self/status. */
export function procBytes(key: 'VmRSS' | 'VmHWM'): number {
  const m = new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(readFileSync('/proc/self/status', 'utf8'));
  return m ? Number(m[1]) * 1024 : NaN;
}

/**
 * Peak memory growth of one readArrow of `path` over all ranks (sab: the ranks are threads of
 * this process), in bytes: the peak RSS mark is reset before (/proc/self/clear_refs), the
 * read's peak is read after. -1 where the kernel does not allow resetting it. `warm`, a
 * small file read first, loads and compiles the code the read runs (bench/io-peak.ts).
 */
export async function readPeak(path: string, warm?: string): Promise<number> {
  const me = bsp.myProcID();
  if (warm !== undefined && (await readArrow(warm)).localRows < 0) throw new Error('unreachable');
  let base = 0;
  let ok = true;
  await world.barrier();
  if (me === 0) {
    try {
      writeFileSync('/proc/self/clear_refs', '5');
      base = procBytes('VmRSS');
    } catch {
      ok = false;
    }
  }
  await world.barrier();
  const f = await readArrow(path);
  await world.barrier();
  const peak = me === 0 && ok ? procBytes('VmHWM') - base : -1;
  if (f.localRows < 0) throw new Error('unreachable'); // keeps the frame alive until measured
  return peak;
}

/** Best-of-`reps` times (ms, slowest rank) of loadNpy(path) and of readAtAll of its body through a block view. */
export async function npyBench(path: string, reps: number): Promise<{ loadMs: number; rawMs: number; elements: number }> {
  let loadMs = Infinity;
  let rawMs = Infinity;
  let elements = 0;
  for (let r = 0; r < reps; r++) {
    const [a, ms] = await timed(() => loadNpy(path));
    loadMs = Math.min(loadMs, ms);
    elements = a.shape[0]!;
    const view = fileView('block', elements, 'float64', { disp: npyHeader('float64', [elements]).byteLength });
    rawMs = Math.min(rawMs, (await timed(() => readAtAll(path, view)))[1]);
  }
  return { loadMs, rawMs, elements };
}

/** Drops the kernel's page cache (needs root and a writable /proc/sys); false when not allowed. */
export function dropCaches(): boolean {
  try {
    execFileSync('sync');
    writeFileSync('/proc/sys/vm/drop_caches', '3');
    return true;
  } catch {
    return false;
  }
}
