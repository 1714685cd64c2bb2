// Parquet on real ranks: files superstep writes at one P are read by DuckDB and polars with
// equal contents and by superstep at another P (projection, filter, pushdown); files DuckDB and
// polars write (nulls, strings, timestamps, dictionary/categorical, several row groups, every
// codec) are read by superstep; bad files and arguments give a typed error on every rank.
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { useDuck } from '../duck.js';
import { backends, callAll } from '../harness.js';
import { genTable, rowsOf, type Row } from '../fixtures/io.js';
import { TType, decodeStruct, encodeStruct, field, type TList, type TStruct } from '../../io/thrift.js';

type Polars = typeof import('nodejs-polars');
let pl: Polars | undefined;
try {
  pl = createRequire(import.meta.url)('nodejs-polars') as Polars;
} catch (e) {
  console.log(`nodejs-polars cannot load here (${(e as Error).message.split('\n')[0]}): the polars comparisons are left out, DuckDB's still run`);
}

const duck = useDuck();
const dir = duck.dir;

const plain = (rows: Record<string, unknown>[]): Row[] => rows.map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, typeof v === 'bigint' ? Number(v) : v instanceof Date ? v.getTime() : v])) as Row);
const duckRows = (sql: string) => duck.rows(sql);

/** The JavaScript twins of the fixture's filters (null never passes). */
const jsFilters: Record<string, (r: Row) => boolean> = {
  'i32>0&s=x': (r) => r.i32 !== null && (r.i32 as number) > 0 && r.s === 'x',
  'f64<=0|b null': (r) => (r.f64 !== null && (r.f64 as number) <= 0) || r.b === null,
  'u16 range': (r) => (r.u16 as number) >= 10_000 && (r.u16 as number) < 40_000,
  'k>=4100': (r) => (r.k as number) >= 4100,
  'name startsWith n1': (r) => (r.name as string).startsWith('n1') && r.v !== null,
};
const pick = (rows: Row[], cols: string[] | null) => (cols ? rows.map((r) => Object.fromEntries(cols.map((c) => [c, r[c]!]))) : rows);
const otherP = (backend: string, p: number) => (backend === 'sab' ? (p % 4) + 1 : p === 2 ? 3 : 2);
const codecs = ['snappy', 'zstd', 'gzip', 'uncompressed'] as const;

describe.each(backends())('Parquet on %s', (backend) => {
  it('superstep writes one file from P ranks; DuckDB and polars read the same rows; superstep reads it at another P with projection and filter', async () => {
    let run = 0;
    await fc.assert(
      fc.asyncProperty(
        backend === 'sab' ? fc.integer({ min: 1, max: 4 }) : fc.constantFrom(2, 3), fc.nat(10_000), fc.integer({ min: 0, max: 70 }),
        fc.constantFrom(...codecs), fc.integer({ min: 1, max: 25 }),
        fc.constantFrom<[string[] | null, string | null]>([null, null], [['s', 'i32', 'g'], 'i32>0&s=x'], [['ts', 'f64'], 'f64<=0|b null'], [['u16', 'b', 'i64'], 'u16 range']),
        async (p, seed, n, codec, rgRows, [cols, filt]) => {
          const path = join(dir, `w${backend}${run++}.parquet`);
          const local = await callAll<number>(backend, p, 'parquet.ts', 'writePq', [path, seed, n, codec, rgRows]);
          expect(local.reduce((a, b) => a + b, 0)).toBe(n);
          const want = rowsOf(genTable(seed, n));
          const sel = 'g, s, i32, i64::double as i64, i8, u8, u16, f32::double as f32, f64, b, epoch_ms(ts)::double as ts';
          expect(await duckRows(`select ${sel} from read_parquet('${path}')`)).toEqual(want);
          const codecSeen = await duckRows(`select distinct compression from parquet_metadata('${path}')`);
          if (n > 0) expect(codecSeen.map((r) => String(r.compression).toLowerCase())).toEqual([codec]);
          const groups = await duckRows(`select count(distinct row_group_id) as g from parquet_metadata('${path}')`);
          expect(groups[0]!.g).toBe(local.reduce((s, m) => s + Math.ceil(m / rgRows), 0));
          if (pl) {
            const df = pl.readParquet(path).withColumns(pl.col('g').cast(pl.Utf8), pl.col('i64').cast(pl.Float64), pl.col('ts').cast(pl.Float64));
            expect(plain(df.toRecords() as Record<string, unknown>[])).toEqual(want);
          }
          const p2 = otherP(backend, p);
          const res = await callAll<{ local: number; rows: Row[] | null; types: string[] }>(backend, p2, 'parquet.ts', 'readPq', [path, cols, filt]);
          const kept = filt ? want.filter(jsFilters[filt]!) : want;
          expect(res[0]!.rows).toEqual(pick(kept, cols));
          expect(res.reduce((s, r) => s + r.local, 0)).toBe(kept.length);
          expect(res[0]!.types).toEqual(genTable(0, 0).select(cols ?? genTable(0, 0).schema.fields.map((f) => f.name)).schema.fields.map((f) => `${f.name}: ${f.type}`));
        },
      ),
      { numRuns: backend === 'sab' ? 3 : 2 },
    );
  }, 180_000);

  it('reads what DuckDB and polars write (nulls, strings, timestamps, dictionary, several row groups), skipping row groups by statistics', async () => {
    const codec = codecs[Math.floor(Math.random() * codecs.length)]!;
    const dk = join(dir, `duck-${backend}.parquet`);
    await duck.run(`copy (select i::int as k, 'n' || (i % 37) as name, case when i % 7 = 0 then null else i * 0.5 end::double as v, timestamp '2024-01-01' + to_seconds(i * 60) as t,
      case when i % 11 = 0 then null else ['a','bb','ccc'][1 + i % 3] end as s3, (i % 5)::utinyint as u from range(5000) r(i)) to '${dk}' (format parquet, row_group_size 2048, compression ${codec})`);
    const want = await duckRows(`select k, name, v, epoch_ms(t)::double as t, s3, u from read_parquet('${dk}')`);
    const p = backend === 'sab' ? 3 : 2;
    const all = await callAll<{ local: number; rows: Row[]; bytes: number; pruned: number; types: string[] }>(backend, p, 'parquet.ts', 'readPq', [dk, null, null]);
    expect(all[0]!.rows).toEqual(want);
    expect(all.filter((r) => r.local > 0).length).toBe(Math.min(p, 3)); // 3 row groups spread over the ranks
    expect(all[0]!.types).toEqual(['k: Int32', 'name: Utf8', 'v: Float64', 't: Timestamp<MICROSECOND>', 's3: Utf8', 'u: Uint8']);
    // Pushdown: only the last row group can hold k >= 4100; only the asked columns are read.
    const some = await callAll<{ local: number; rows: Row[]; bytes: number; pruned: number }>(backend, p, 'parquet.ts', 'readPq', [dk, ['k', 's3'], 'k>=4100']);
    expect(some[0]!.rows).toEqual(pick(want.filter(jsFilters['k>=4100']!), ['k', 's3']));
    for (const r of some) expect(r.pruned).toBe(2);
    const sum = (rs: { bytes: number }[]) => rs.reduce((s, r) => s + r.bytes, 0);
    expect(sum(some)).toBeLessThan(sum(all) / 4);
    const str = await callAll<{ rows: Row[] }>(backend, p, 'parquet.ts', 'readPq', [dk, null, 'name startsWith n1']);
    expect(str[0]!.rows).toEqual(want.filter(jsFilters['name startsWith n1']!));
    // A directory (as DuckDB's PARTITION_BY and polars write): its .parquet files in path order.
    const ds = join(dir, `dataset-${backend}`);
    await duck.run(`copy (select i::int as k, i % 3 as part, 'n' || i as name from range(300) r(i)) to '${ds}' (format parquet, partition_by (part))`);
    const dsWant = await duckRows(`select k, name from read_parquet('${ds}/**/*.parquet', filename = true) order by filename, k`);
    const dsGot = await callAll<{ rows: Row[] }>(backend, p, 'parquet.ts', 'readPq', [ds, ['k', 'name'], null]);
    expect(dsGot[0]!.rows).toEqual(dsWant);
    if (!pl) return;
    const plPath = join(dir, `polars-${backend}.parquet`);
    const df = pl.DataFrame({
      id: pl.Series('id', [1, 2, 3, 4, 5, 6], pl.Int32),
      cat: pl.Series('cat', ['u', 'v', null, 'u', 'w', 'v']).cast(pl.Categorical),
      name: pl.Series('name', ['alpha', null, 'gamma', '', 'épsilon', 'zeta']),
      when: pl.Series('when', [new Date(1e12), null, new Date(1.5e12), new Date(0), new Date(2e12), new Date(1.7e12)]),
      x: pl.Series('x', [1.5, null, -2, 0, NaN, 3], pl.Float64),
      ok: pl.Series('ok', [true, false, null, true, true, false]),
    });
    df.writeParquet(plPath, { compression: codec });
    const plWant = plain(pl.readParquet(plPath).withColumns(pl.col('cat').cast(pl.Utf8), pl.col('when').cast(pl.Float64)).toRecords() as Record<string, unknown>[]);
    const got = await callAll<{ rows: Row[] }>(backend, p, 'parquet.ts', 'readPq', [plPath, null, null]);
    expect(got[0]!.rows.map((r) => ({ ...r, x: Number.isNaN(r.x) ? 'NaN' : r.x }))).toEqual(plWant.map((r) => ({ ...r, x: Number.isNaN(r.x) ? 'NaN' : r.x })));
  });

  it('bad files and arguments: a typed error on every rank naming the column, type or byte offset', async () => {
    const p = backend === 'sab' ? 3 : 2;
    const good = join(dir, `good-${backend}.parquet`);
    await duck.run(`copy (select i::int as k, 'n' || i as name, (i / 3)::decimal(10,2) as d from range(100) r(i)) to '${good}' (format parquet, compression snappy)`);
    const bytes = readFileSync(good);
    const flen = bytes.readInt32LE(bytes.length - 8);
    const footerAt = bytes.length - 8 - flen;
    const variant = (name: string, b: Uint8Array) => {
      const path = join(dir, `${name}-${backend}.parquet`);
      writeFileSync(path, b);
      return path;
    };
    const corrupt = Buffer.from(bytes);
    corrupt.fill(0xff, footerAt, footerAt + 24);
    // The same file with its column chunks' codec field set to LZO (3), which nothing here reads.
    const meta = decodeStruct(bytes.subarray(footerAt, footerAt + flen), 'x').value;
    for (const rg of (field(meta, 4) as TList).items as TStruct[]) for (const cc of (field(rg, 1) as TList).items as TStruct[]) {
      const m = field(cc, 3) as TStruct;
      m.fields.find((f) => f.id === 4)!.v = 3;
      expect(m.fields.find((f) => f.id === 4)!.t).toBe(TType.I32);
    }
    const enc = encodeStruct(meta);
    const lzo = Buffer.concat([bytes.subarray(0, footerAt), enc, Buffer.from(Int32Array.of(enc.length).buffer), Buffer.from('PAR1')]);
    const cases: [string, string[] | null, string | null, string, RegExp][] = [
      [variant('corrupt', corrupt), null, null, 'FileFormatError', new RegExp(`corrupt Parquet footer \\(${flen} bytes at byte ${footerAt}\\)`)],
      [variant('truncated', bytes.subarray(0, bytes.length - 3)), null, null, 'FileFormatError', /trailing magic PAR1 is missing/],
      [variant('text', Buffer.from('k,name\n1,a\n2,b\n')), null, null, 'FileFormatError', /leading magic PAR1 is missing at byte 0/],
      [variant('lzo', lzo), ['k'], null, 'FileFormatError', /column 'k' of row group 0 \(at byte \d+\) uses codec LZO/],
      [good, null, null, 'FileFormatError', /column 'd' has type Decimal/],
      [good, ['k', 'nope'], null, 'ArgumentError', /column 'nope' of .*good/],
      [good, ['k', 'name'], 'i32>0&s=x', 'ArgumentError', /column 'i32'/],
      [good, ['k', 'name'], 'name startsWith n1', 'ArgumentError', /column 'v'/],
    ];
    for (const [path, cols, filt, name, msg] of cases) {
      const got = await callAll<{ name: string; message: string } | null>(backend, p, 'parquet.ts', 'readPqBad', [path, cols, filt]);
      expect(got.length).toBe(p);
      for (const g of got) {
        expect(g?.name, `${path}: ${g?.message}`).toBe(name);
        expect(g!.message).toMatch(msg);
      }
    }
    // A rank failing mid-write: IOError on every rank naming it; the previous file is unchanged.
    const before = readFileSync(good);
    const failed = await callAll<{ name: string; message: string } | null>(backend, p, 'parquet.ts', 'faultyWritePq', [good, p - 1]);
    for (const g of failed) expect([g?.name, g?.message]).toEqual(['IOError', expect.stringMatching(new RegExp(`rank ${p - 1} failed: Error: injected failure on rank ${p - 1}`))]);
    expect(readFileSync(good).equals(before)).toBe(true);
    // The decimal column left out, the same file reads.
    const ok = await callAll<{ rows: Row[] }>(backend, p, 'parquet.ts', 'readPq', [good, ['name', 'k'], null]);
    expect(ok[0]!.rows).toEqual(Array.from({ length: 100 }, (_, i) => ({ name: `n${i}`, k: i })));
  });
});
