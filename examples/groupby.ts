// Generate a sales table on P ranks, write it as ONE Arrow file, read it back, group by region
// and aggregate; checked against a sequential computation on rank 0.
// Run: npx superstep run -n 2 examples/groupby.ts [rows = 10_000_000] [path = <tmpdir>/superstep-groupby.arrow]
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { rm } from 'node:fs/promises';
import { Dictionary, Float64, Int32, Table, Utf8, makeData, makeVector, vectorFromArray } from 'apache-arrow';
import { DistFrame, bsp, readArrow, world, writeArrow } from 'superstep';

const rows = Number(process.argv[2] ?? 10_000_000);
// Every rank must name the same file: rank 0 picks it (pids differ between tcp ranks).
const path = await world.bcastObject(process.argv[3] ?? join(tmpdir(), `superstep-groupby-${process.pid}.arrow`), 0);
const p = bsp.procCount();
const me = bsp.myProcID();
const regions = ['north', 'south', 'east', 'west', 'centre', 'islands', 'overseas', 'online'];

// Row i, from formulas: every rank builds only its own rows.
const regionOf = (i: number) => Math.imul(i, 0x9e3779b1) >>> 29;
const amountOf = (i: number) => ((i * 7919) % 1000) / 10; // 0 .. 99.9
const isNull = (i: number) => i % 17 === 0; // some amounts are missing

const start = Math.floor((rows * me) / p);
const end = Math.floor((rows * (me + 1)) / p);
const n = end - start;
const region = new Int32Array(n);
const amount = new Float64Array(n);
const valid = new Uint8Array(((n + 63) >> 6) << 3);
for (let k = 0; k < n; k++) {
  const i = start + k;
  region[k] = regionOf(i);
  amount[k] = isNull(i) ? 0 : amountOf(i);
  if (!isNull(i)) valid[k >> 3]! |= 1 << (k & 7);
}
const dictType = new Dictionary(new Utf8(), new Int32());
let nulls = 0;
for (let i = start; i < end; i++) if (isNull(i)) nulls++;
// Columns straight from the typed arrays (no copy): a dictionary-encoded string and a float64 with nulls.
const local = new Table({
  region: makeVector(makeData({ type: dictType, length: n, data: region, dictionary: vectorFromArray(regions, new Utf8()) })),
  amount: makeVector(makeData({ type: new Float64(), length: n, data: amount, nullCount: nulls, nullBitmap: valid })),
});
const frame = await DistFrame.fromLocal(local);

const time = async <T>(f: () => Promise<T>): Promise<[T, number]> => {
  await world.barrier();
  const t0 = performance.now();
  const r = await f();
  const ms = (await world.allreduce(Float64Array.of(performance.now() - t0), 'MAX'))[0]!;
  return [r, ms];
};

const [, wms] = await time(() => writeArrow(path, frame));
const [back, rms] = await time(() => readArrow(path));
const [groups, gms] = await time(() => back.groupBy('region').agg({ amount: ['sum', 'mean', 'min', 'max', 'count'], rows: { op: 'count' } }));
const result = await (await groups.sortBy('region')).toArrow(0);
// A numeric column is a DistArray over the same memory (no copy), here over the uneven group
// counts the shuffle left on each rank; DistArray's collectives apply as they are.
const sums = await groups.distArray('amount_sum');
const total = await sums.sum();
await world.barrier();
if (me === 0) {
  await rm(path, { force: true });
  // Sequential check.
  const want = regions.map(() => ({ sum: 0, n: 0, rows: 0, min: Infinity, max: -Infinity }));
  for (let i = 0; i < rows; i++) {
    const g = want[regionOf(i)]!;
    g.rows++;
    if (isNull(i)) continue;
    const v = amountOf(i);
    g.sum += v;
    g.n++;
    g.min = Math.min(g.min, v);
    g.max = Math.max(g.max, v);
  }
  let bad = 0;
  for (const r of result!.toArray().map((x) => x.toJSON())) {
    const w = want[regions.indexOf(r.region as string)]!;
    if (r.rows !== w.rows || r.amount_count !== w.n || r.amount_min !== w.min || r.amount_max !== w.max || Math.abs((r.amount_sum as number) - w.sum) > 1e-6 * w.sum) bad++;
    console.log(`${String(r.region).padEnd(9)} rows ${String(r.rows).padStart(9)}  sum ${(r.amount_sum as number).toFixed(1).padStart(12)}  mean ${(r.amount_mean as number).toFixed(3)}  min ${r.amount_min}  max ${r.amount_max}`);
  }
  if (bad > 0 || result!.numRows !== want.filter((g) => g.rows > 0).length) throw new Error(`groupby: ${bad} groups differ from the sequential computation`);
  const wantTotal = want.reduce((t, g) => t + g.sum, 0);
  if (Math.abs(total - wantTotal) > 1e-6 * wantTotal) throw new Error(`groupby: the DistArray of amount_sum adds up to ${total}, expected ${wantTotal}`);
  console.log(`amount_sum as a DistArray over ${sums.dist}: total ${total.toFixed(1)}`);
  const mb = (rows * (8 + 4)) / 2 ** 20;
  console.log(`groupby ${rows} rows on ${p} ranks: write ${wms.toFixed(0)} ms, read ${rms.toFixed(0)} ms (${mb.toFixed(0)} MiB of columns), groupBy ${gms.toFixed(0)} ms (${((rows / gms) * 1e3 / 1e6).toFixed(1)} M rows/s); matches the sequential result`);
}
