// Expressions on real ranks against DuckDB: random genTable frames (nulls, every column kind,
// empty ranks) through withColumn, filter and groupBy with expressions, P in 1..4 (sab) and
// 2..3 (tcp), compared with the same SQL over the same rows.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { kGenTableTypes, useDuck } from '../duck.js';
import { backends, callAll } from '../harness.js';
import { genTable, rowsOf, type Row } from '../fixtures/io.js';
import { exprCases, filterCases } from '../fixtures/expr.js';

const duck = useDuck();
const sql = (q: string) => duck.rows(q);

function expectClose(got: Row[], want: Row[]): void {
  expect(got.length).toBe(want.length);
  got.forEach((r, i) => {
    for (const k of Object.keys(want[i]!)) {
      const x = r[k];
      const y = want[i]![k];
      if (typeof x === 'number' && typeof y === 'number') expect(Math.abs(x - y), `${k} row ${i}: ${x} vs ${y}`).toBeLessThanOrEqual(1e-9 * (1 + Math.abs(y)));
      else expect(x, `${k} row ${i}`).toEqual(y);
    }
  });
}

const sortRows = (rs: Row[]) => [...rs].sort((a, b) => (JSON.stringify([a.m, a.s]) < JSON.stringify([b.m, b.s]) ? -1 : 1));

describe.each(backends())('expressions on %s', (backend) => {
  it('withColumn, filter and groupBy with expressions equal DuckDB on the same rows', async () => {
    await fc.assert(
      fc.asyncProperty(backend === 'sab' ? fc.integer({ min: 1, max: 4 }) : fc.constantFrom(2, 3), fc.nat(10_000), fc.integer({ min: 0, max: 60 }), async (p, seed, n) => {
        const rows = rowsOf(genTable(seed, n));
        const src = duck.table(rows.map((r, rid) => ({ rid, ...r })), kGenTableTypes);
        const res = await callAll<Record<string, Row[]> | null>(backend, p, 'expr.ts', 'exprOps', [seed, n]);
        const got = res[0]!;
        const withSql = Object.entries(exprCases).map(([k, [, q]]) => `${q} as ${k}`).join(', ');
        expectClose(got.with!, await sql(`select ${withSql} from ${src} order by rid`));
        for (const [k, [, q]] of Object.entries(filterCases)) expectClose(got[k]!, await sql(`select i32, s, f64 from ${src} where ${q} order by rid`));
        const grouped = await sql(`select i32 % 3 as m, s, sum(f64 * 2) as t, max(u8 + i8)::double as hi, count(*)::int as n from ${src} group by all`);
        expectClose(sortRows(got.grouped!), sortRows(grouped));
      }),
      { numRuns: backend === 'sab' ? 3 : 2 },
    );
  }, 180_000);

  it('bad expressions: an ArgumentError on every rank naming the column or the kinds', async () => {
    const p = backend === 'sab' ? 2 : 3;
    const got = await callAll<string[]>(backend, p, 'expr.ts', 'badExprs', []);
    for (const g of got) {
      expect(g[0]).toMatch(/^ArgumentError: .*column 'nope' in expression \(col\("nope"\) > 1\)/);
      expect(g[1]).toMatch(/^ArgumentError: .*operands of one kind for < .*col\("s"\) < 3/);
      expect(g[2]).toMatch(/^ArgumentError: .*a boolean expression .*numbers/);
      expect(g[3]).toMatch(/^ArgumentError: .*column 'zz'/);
    }
  });
});
