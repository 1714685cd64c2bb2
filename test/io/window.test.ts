// Window functions on real ranks against DuckDB: random frames (every column kind, nulls, ties,
// skewed and empty ranks) through every function, on both backends at P in 1..5 (sab) and
// 2..3 (tcp); one partition spread over 5 ranks with lag/lead/rolling reaching past a rank's
// rows; the docs' example; a missing column named on every rank.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { useDuck } from '../duck.js';
import { backends, callAll } from '../harness.js';
import { docsExample } from '../docs-example.js';
import type { Row } from '../fixtures/io.js';
import type { WindowCase } from '../fixtures/window.js';

const duck = useDuck();
const kTypes = "{rid: 'INTEGER', g: 'VARCHAR', s: 'VARCHAR', i32: 'INTEGER', i64: 'BIGINT', f64: 'DOUBLE', b: 'BOOLEAN'}";

/** DuckDB's answer for a case: SQL's window functions, ties in input order (rid), rows in the order window() gives. */
function windowSql(c: WindowCase, from: string): string {
  const dir = c.descending ? 'desc' : 'asc';
  const part = c.partition.length > 0 ? `partition by ${c.partition.join(', ')}` : '';
  const peers = c.order.map((k) => `${k} ${dir} nulls last`);
  const full = `${part} order by ${[...peers, 'rid'].join(', ')}`;
  const rows = (lo: string) => `over (${full} rows between ${lo} preceding and current row)`;
  const v = c.value;
  return `select *,
    row_number() over (${full}) as rn,
    rank() over (${part} ${peers.length > 0 ? `order by ${peers.join(', ')}` : ''}) as rk,
    dense_rank() over (${part} ${peers.length > 0 ? `order by ${peers.join(', ')}` : ''}) as dr,
    lag(${v}, ${c.lagN}) over (${full}) as lg, lead(${v}, ${c.leadN}) over (${full}) as ld,
    lag(g, ${c.lagN}) over (${full}) as lgs, lead(s, ${c.leadN}) over (${full}) as lds,
    sum(${v}) ${rows('unbounded')} as cs, max(${v}) ${rows('unbounded')} as cm,
    sum(${v}) ${rows(String(c.k - 1))} as rs, avg(${v}) ${rows(String(c.k - 1))} as rm
    from ${from} order by ${[...c.partition.map((k) => `${k} asc nulls last`), ...peers, 'rid'].join(', ')}`;
}

const round = (rows: Row[]) => rows.map((r) => Object.fromEntries(Object.entries(r).map(([k, x]) => [k, typeof x === 'number' ? Math.round(x * 1e9) / 1e9 : x])));

const arbCase: fc.Arbitrary<WindowCase> = fc.record({
  partition: fc.constantFrom([], ['g'], ['b'], ['g', 'b']),
  order: fc.constantFrom([], ['i32'], ['i32', 's'], ['f64']),
  descending: fc.boolean(),
  lagN: fc.integer({ min: 0, max: 4 }),
  leadN: fc.integer({ min: 0, max: 4 }),
  k: fc.integer({ min: 1, max: 5 }),
  value: fc.constantFrom('f64', 'i64', 'i32'),
}).filter((c) => c.partition.length + c.order.length > 0);

describe.each(backends())('window functions on %s', (backend) => {
  it('every window function equals DuckDB on the same rows, in the same order', async () => {
    await fc.assert(
      fc.asyncProperty(
        backend === 'sab' ? fc.integer({ min: 1, max: 5 }) : fc.constantFrom(2, 3), fc.nat(10_000), fc.integer({ min: 0, max: 40 }), arbCase, fc.nat(5),
        async (p, seed, n, c, skewPick) => {
          const skew = skewPick % (p + 1); // 0: rows in blocks; r + 1: every row on rank r
          const res = await callAll<{ rows: Row[] | null; names: string[] }>(backend, p, 'window.ts', 'windowOps', [seed, n, c, skew]);
          const { rowsOf, genTable } = await import('../fixtures/io.js');
          const input = rowsOf(genTable(seed, n).select(['g', 's', 'i32', 'i64', 'f64', 'b'])).map((r, rid) => ({ ...r, rid }));
          const want = await duck.rows(windowSql(c, duck.table(input, kTypes)));
          expect(round(res[0]!.rows!), JSON.stringify({ p, seed, n, c, skew })).toEqual(round(want));
          for (const r of res) expect(r.names).toEqual(['g', 's', 'i32', 'i64', 'f64', 'b', 'rid', 'rn', 'rk', 'dr', 'lg', 'ld', 'lgs', 'lds', 'cs', 'cm', 'rs', 'rm']);
        },
      ),
      { numRuns: backend === 'sab' ? 6 : 2 },
    );
  }, 180_000);

  it('one partition over every rank: lag, lead and rolling reach past a rank\'s own rows', async () => {
    const p = backend === 'sab' ? 5 : 3;
    const n = 11;
    const reach = 3;
    const [rows] = await callAll<Row[] | null>(backend, p, 'window.ts', 'longPartition', [n, reach]);
    const input = Array.from({ length: n }, (_, i) => ({ g: 'one', x: i % 3 === 2 ? null : i + 1, rid: i }));
    const want = await duck.rows(`select g, x,
      row_number() over w as rn, rank() over (order by x desc nulls last) as rk,
      lag(x, ${reach}) over w as prev, lead(x, ${reach}) over w as next,
      sum(x) over (w rows between unbounded preceding and current row) as s,
      max(x) over (w rows between unbounded preceding and current row) as m,
      sum(x) over (w rows between ${reach} preceding and current row) as r
      from ${duck.table(input, "{g: 'VARCHAR', x: 'INTEGER', rid: 'INTEGER'}")}
      window w as (order by x desc nulls last, rid) order by x desc nulls last, rid`);
    expect(rows).toEqual(want);
  }, 60_000);

  it("docs/io.md's example: its code is the fixture's and its table is what the ranks compute", async () => {
    const { section, code } = docsExample('docs/io.md', 'Window functions', 'window.ts');
    expect(section.slice(0, 600)).toContain(code);
    const table = [...section.matchAll(/^\| (?!-|g \|)(.*) \|$/gm)].map((m) => m[1]!.split(' | ').map((c) => (c === 'null' ? null : /^\d+$/.test(c) ? Number(c) : c)));
    const names = ['g', 't', 'x', 'rn', 'prev', 's', 'm'];
    const [rows] = await callAll<Row[] | null>(backend, 3, 'window.ts', 'docsExample', []);
    expect(table).toHaveLength(6);
    expect(rows!.map((r) => names.map((k) => r[k]))).toEqual(table);
  });

  it('a missing column or a bad function: a typed error on every rank naming it', async () => {
    const p = backend === 'sab' ? 3 : 2;
    const got = await callAll<string[]>(backend, p, 'window.ts', 'badWindows', []);
    expect(got).toHaveLength(p);
    for (const [r, g] of got.entries()) {
      expect(g[0]).toMatch(new RegExp(`^ArgumentError: \\[rank ${r}\\] .*\`partitionBy 'nope'\` must be a column of the frame \\(one of g, s, i32`));
      expect(g[1]).toMatch(/^ArgumentError: .*`orderBy 'missing'` must be a column of the frame/);
      expect(g[2]).toMatch(/^ArgumentError: .*`fns.p \(lag\(absent, 2\)\)` must be a window over a column of the frame.*Value: `absent`/);
      expect(g[3]).toMatch(/^ArgumentError: .*`fns.s \(cumSum\(s\)\)` must be over a numeric column; 's' is.*Utf8/);
      expect(g[4]).toMatch(/^ArgumentError: .*`rollingMean\(col, k\)` must be an integer >= 1/);
      expect(g[5]).toMatch(/^ArgumentError: .*`fns` must be an object such as/);
    }
  });
});
