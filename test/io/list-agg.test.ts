// groupBy's 'list' aggregate on real ranks against DuckDB's list(x ORDER BY rowid): numbers,
// strings, 64-bit ints, timestamps and dictionary strings, nulls kept as null items, beside
// other ops; P in 1..4 (sab) and 2..3 (tcp); a list column as a key is a typed error.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { kGenTableTypes, useDuck } from '../duck.js';
import { backends, callAll } from '../harness.js';
import { genTable, rowsOf } from '../fixtures/io.js';

const duck = useDuck();
type Rows = Record<string, unknown>[];
/** DuckDB's rows with bigints inside lists as numbers too. */
const deep = (v: unknown): unknown => (typeof v === 'bigint' ? Number(v) : Array.isArray(v) ? v.map(deep) : v);
const plain = (rs: Rows): Rows => rs.map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, deep(v)])));
const byKey = (k: string) => (rs: Rows) => [...rs].sort((a, b) => (String(a[k]) < String(b[k]) ? -1 : String(a[k]) > String(b[k]) ? 1 : 0));

describe.each(backends())("groupBy 'list' on %s", (backend) => {
  it('each group gets its values in input order, nulls kept, as DuckDB list(x order by rowid)', async () => {
    await fc.assert(
      fc.asyncProperty(backend === 'sab' ? fc.integer({ min: 1, max: 4 }) : fc.constantFrom(2, 3), fc.nat(10_000), fc.integer({ min: 0, max: 40 }), async (p, seed, n) => {
        const res = await callAll<{ byG: Rows; byB: Rows; types: string[] } | null>(backend, p, 'list-agg.ts', 'listAgg', [seed, n]);
        const got = res[0]!;
        const T = duck.table(rowsOf(genTable(seed, n)).map((r, rid) => ({ ...r, rid })), kGenTableTypes);
        const wantG = await duck.rows(`select g, list(f64 order by rid) as f64_list, sum(f64) as f64_sum, list(s order by rid) as s,
          list(i64 order by rid) as i64, list(ts order by rid) as ts, count(*)::int as n from ${T} group by g`);
        const wantB = await duck.rows(`select b, list(g order by rid) as gs, list(i32 order by rid) as i32 from ${T} group by b`);
        expect(byKey('g')(got.byG)).toEqual(byKey('g')(plain(wantG).map((r) => ({ ...r, f64_sum: r.f64_sum ?? null }))));
        expect(byKey('b')(got.byB)).toEqual(byKey('b')(plain(wantB)));
        if (n > 0) expect(got.types).toContain('f64_list: List<Float64>');
        // The sortBy above moved and concatenated list columns: rows come in f64_sum order.
        const sums = got.byG.map((r) => r.f64_sum as number | null).filter((x) => x !== null);
        expect(sums).toEqual([...sums].sort((x, y) => x - y));
      }),
      { numRuns: backend === 'sab' ? 2 : 1 },
    );
  }, 120_000);

  it('a list column as a groupBy or sort key: a typed error on every rank', async () => {
    const got = await callAll<string[]>(backend, 2, 'list-agg.ts', 'badList', []);
    for (const g of got) {
      expect(g[0]).toMatch(/^ArgumentError: .*not a list column/);
      expect(g[1]).toMatch(/^ArgumentError: .*list column cannot be a key/);
    }
  });
});
