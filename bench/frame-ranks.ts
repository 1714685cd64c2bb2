// Rank-side programs of bench/frame.bench.ts: DistFrame groupBy, join, sortBy and Parquet
// read on a generated table, timed on every rank (the slowest rank's time counts).
import { Float64, Int32, Table, makeData, makeVector } from 'apache-arrow';
import { rm } from 'node:fs/promises';
import { DistFrame, bsp, readParquet, writeParquet } from 'superstep';
import { timed } from './io-ranks.js';

/** Rows [start, end) of the bench table: k (1000 groups), id (join key), v, and five more value columns. */
export function frameTable(start: number, end: number, keys: number): Table {
  const n = end - start;
  const cols: Record<string, Int32Array | Float64Array> = { k: new Int32Array(n), id: new Int32Array(n), v: new Float64Array(n) };
  for (const c of ['a', 'b', 'c', 'd', 'e']) cols[c] = new Float64Array(n);
  for (let j = 0; j < n; j++) {
    const i = start + j;
    cols.k![j] = (Math.imul(i, 0x9e3779b1) >>> 0) % 1000;
    cols.id![j] = (Math.imul(i, 0x85ebca6b) >>> 0) % keys;
    cols.v![j] = ((i * 7919) % 1000) / 10;
    for (const [q, c] of ['a', 'b', 'c', 'd', 'e'].entries()) cols[c]![j] = ((i * (q + 3)) % 977) / 7;
  }
  return new Table(Object.fromEntries(Object.entries(cols).map(([name, data]) => [name, makeVector(makeData({ type: (data instanceof Int32Array ? new Int32() : new Float64()) as never, length: n, data: data as never }))])));
}

/** The join's right side: ids 0..keys-1 with a weight. */
export function rightTable(start: number, end: number): Table {
  const n = end - start;
  const id = new Int32Array(n);
  const w = new Float64Array(n);
  for (let j = 0; j < n; j++) {
    id[j] = start + j;
    w[j] = (start + j) % 13;
  }
  return new Table({ id: makeVector(makeData({ type: new Int32(), length: n, data: id })), w: makeVector(makeData({ type: new Float64(), length: n, data: w })) });
}

/** Best-of-`reps` times (ms) of groupBy, join, sortBy and readParquet (8 columns) at this P. */
export async function frameBench(path: string, rows: number, rightRows: number, reps: number): Promise<Record<string, number>> {
  const p = bsp.procCount();
  const me = bsp.myProcID();
  const part = (n: number) => [Math.floor((n * me) / p), Math.floor((n * (me + 1)) / p)] as const;
  const frame = await DistFrame.fromLocal(frameTable(...part(rows), rightRows));
  const right = await DistFrame.fromLocal(rightTable(...part(rightRows)));
  await writeParquet(path, frame, { compression: 'snappy' });
  const best: Record<string, number> = { groupMs: Infinity, joinMs: Infinity, sortMs: Infinity, parquetReadMs: Infinity };
  const out: Record<string, number> = {};
  for (let r = 0; r < reps; r++) {
    const [g, gms] = await timed(() => frame.groupBy('k').agg({ v: ['sum', 'mean'] }));
    best.groupMs = Math.min(best.groupMs!, gms);
    out.groups = await g.count();
    const [j, jms] = await timed(() => frame.select('id', 'v').join(right, 'id'));
    best.joinMs = Math.min(best.joinMs!, jms);
    out.joined = await j.count();
    const [, sms] = await timed(() => frame.select('v', 'k').sortBy('v'));
    best.sortMs = Math.min(best.sortMs!, sms);
    const [back, rms] = await timed(() => readParquet(path));
    best.parquetReadMs = Math.min(best.parquetReadMs!, rms);
    out.read = await back.count();
  }
  if (me === 0) await rm(path, { force: true });
  return { ...best, ...out };
}
