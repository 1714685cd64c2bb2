import './tuned.js';
// DistFrame against nodejs-polars (one process, the same rows) in the same run: groupBy
// sum/mean on an int key, a join of the table with one a tenth its size, a sort on a float
// column, and a Parquet read of 8 columns (a file written by writeParquet, snappy).
// Run: node --import tsx bench/frame.bench.ts [--quick] [--rows N]
import { rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startWorld } from '../core/launch/world.js';
import { frameTable, rightTable } from './frame-ranks.js';

const argRows = process.argv.indexOf('--rows');
const rows = argRows > 0 ? Number(process.argv[argRows + 1]) : process.argv.includes('--quick') ? 1_000_000 : 10_000_000;
const rightRows = Math.max(1, Math.floor(rows / 10));
const reps = rows >= 1_000_000 ? 3 : 1;
const ranks = new URL('./frame-ranks.ts', import.meta.url).href;
const emit = (o: Record<string, unknown>) => console.log(JSON.stringify(o));
const log = (s: string) => process.stderr.write(s + '\n');
const path = (p: number) => join(tmpdir(), `superstep-frame-bench-${process.pid}-p${p}.parquet`);
const mrows = (ms: number) => +(rows / 1e6 / (ms / 1e3)).toFixed(2);

// polars, one process, the same rows (the file superstep wrote at P = 1 for the read).
type Polars = typeof import('nodejs-polars');
let pl: Polars | undefined;
try {
  pl = createRequire(import.meta.url)('nodejs-polars') as Polars;
} catch (e) {
  log(`nodejs-polars cannot load (${(e as Error).message.split('\n')[0]}): no polars figures`);
}

const results = new Map<number, Record<string, number>>();
for (const p of [1, 2]) {
  const w = await startWorld({ procs: p, backend: 'sab', graceMs: 2000 });
  try {
    const out = await w.job<Record<string, number>>({ kind: 'call', url: ranks, fn: 'frameBench', args: [path(p), rows, rightRows, reps] }, { timeoutMs: 600_000 });
    if (!out.ok) throw new Error(`frameBench failed: ${out.failure?.error.message}`);
    const r = out.results![0]!;
    if (r.groups !== 1000 || r.joined !== rows || r.read !== rows) throw new Error(`wrong results at P = ${p}: ${JSON.stringify(r)}`);
    results.set(p, r);
    for (const [k, name] of [['groupMs', 'frame_groupby'], ['joinMs', 'frame_join'], ['sortMs', 'frame_sort'], ['parquetReadMs', 'frame_parquet_read']] as const) {
      emit({ name: `${name}_Mrows_per_s`, backend: 'sab', p, value: mrows(r[k]!), unit: 'Mrows_per_s', better: 'higher', extra: { rows, rightRows } });
    }
    log(`P=${p}: groupBy ${r.groupMs!.toFixed(0)} ms, join ${r.joinMs!.toFixed(0)} ms, sort ${r.sortMs!.toFixed(0)} ms, parquet read ${r.parquetReadMs!.toFixed(0)} ms`);
  } finally {
    await w.close();
  }
}

if (pl) {
  const t = frameTable(0, rows, rightRows);
  const df = pl.DataFrame(Object.fromEntries(t.schema.fields.map((f) => [f.name, pl!.Series(f.name, t.getChild(f.name)!.toArray() as never)])));
  const right = rightTable(0, rightRows);
  const rdf = pl.DataFrame({ id: pl.Series('id', right.getChild('id')!.toArray() as never), w: pl.Series('w', right.getChild('w')!.toArray() as never) });
  const best = (f: () => unknown) => Math.min(...Array.from({ length: reps }, () => {
    const t0 = performance.now();
    f();
    return performance.now() - t0;
  }));
  const file = path(1) + '.polars.parquet';
  df.writeParquet(file, { compression: 'snappy' });
  const polars = {
    groupMs: best(() => df.groupBy('k').agg(pl!.col('v').sum().alias('s'), pl!.col('v').mean().alias('m'))),
    joinMs: best(() => df.select('id', 'v').join(rdf, { on: 'id' })),
    sortMs: best(() => df.select('v', 'k').sort('v')),
    parquetReadMs: best(() => pl!.readParquet(file)),
  };
  rmSync(file, { force: true });
  for (const [k, name] of [['groupMs', 'groupby'], ['joinMs', 'join'], ['sortMs', 'sort'], ['parquetReadMs', 'parquet_read']] as const) {
    emit({ name: `polars_${name}_Mrows_per_s`, backend: 'any', p: 1, value: mrows(polars[k]), unit: 'Mrows_per_s', better: 'higher', extra: { rows } });
    for (const [p, r] of results) emit({ name: `frame_${name}_over_polars_ratio`, backend: 'sab', p, value: +(polars[k] / r[k]!).toFixed(3), unit: 'ratio', better: 'higher' });
  }
  log(`polars: groupBy ${polars.groupMs.toFixed(0)} ms, join ${polars.joinMs.toFixed(0)} ms, sort ${polars.sortMs.toFixed(0)} ms, parquet read ${polars.parquetReadMs.toFixed(0)} ms`);
}
