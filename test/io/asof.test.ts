// As-of joins on real ranks against DuckDB's ASOF LEFT JOIN: random frames with ties and nulls
// in `on` and `by`, with and without `by`, the left sorted or not, on both backends at P in
// 1..4 (sab) and 2..3 (tcp); bad joins name the column on every rank.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { useDuck } from '../duck.js';
import { backends, callAll } from '../harness.js';
import { rowsOf, type Row } from '../fixtures/io.js';
import { asofTables } from '../fixtures/asof.js';

const duck = useDuck();
const multiset = (rs: Row[]) => rs.map((r) => JSON.stringify(Object.keys(r).sort().map((k) => [k, r[k]]))).sort();

describe.each(backends())('joinAsof on %s', (backend) => {
  it('equals DuckDB ASOF LEFT JOIN, rows in the left order of t', async () => {
    await fc.assert(
      fc.asyncProperty(
        backend === 'sab' ? fc.integer({ min: 1, max: 4 }) : fc.constantFrom(2, 3), fc.nat(10_000), fc.integer({ min: 0, max: 40 }), fc.integer({ min: 0, max: 30 }), fc.boolean(),
        async (p, seed, nL, nR, sorted) => {
          for (const by of [true, false]) {
            const res = await callAll<{ rows: Row[] | null; names: string[]; sortedLeft: boolean }>(backend, p, 'asof.ts', 'asofJoin', [seed, nL, nR, sorted, by]);
            const { left, right } = asofTables(seed, nL, nR, sorted);
            const L = duck.table(rowsOf(left), "{t: 'BIGINT', sym: 'VARCHAR', x: 'DOUBLE'}");
            const R = duck.table(rowsOf(right), "{t: 'BIGINT', sym: 'VARCHAR', y: 'INTEGER', x: 'DOUBLE'}");
            const want = await duck.rows(`select l.t, l.sym, l.x, r.${by ? '' : 'sym as sym_right, r.'}y, r.x as x_right from ${L} l asof left join ${R} r on ${by ? 'l.sym = r.sym and ' : ''}l.t >= r.t`);
            const got = res[0]!.rows!;
            expect(multiset(got)).toEqual(multiset(want));
            expect(res[0]!.names).toEqual(by ? ['t', 'sym', 'x', 'y', 'x_right'] : ['t', 'sym', 'x', 'sym_right', 'y', 'x_right']);
            // The left's order: t ascending, nulls last.
            const ts = got.map((r) => r.t as number | null);
            expect(ts).toEqual([...ts].sort((a, b) => (a === null ? 1 : b === null ? -1 : a - b)));
            // A left frame not in order is sorted first, the same choice on every rank.
            for (const r of res) expect(r.sortedLeft).toBe(res[0]!.sortedLeft);
            if (sorted) expect(res[0]!.sortedLeft).toBe(false);
          }
        },
      ),
      { numRuns: backend === 'sab' ? 3 : 1 },
    );
  }, 120_000);

  it('bad as-of joins: a typed error on every rank naming the column', async () => {
    const got = await callAll<string[]>(backend, 2, 'asof.ts', 'badAsof', []);
    for (const g of got) {
      expect(g[0]).toMatch(/^ArgumentError: .*'nope' of the left frame/);
      expect(g[1]).toMatch(/^ArgumentError: .*options\.on \('sym'\).*numbers, timestamps or dates/);
      expect(g[2]).toMatch(/^ArgumentError: .*options\.strategy/);
      expect(g[3]).toMatch(/^SchemaMismatchError: .*left 'y'|^ArgumentError: .*'y' of the left frame/);
    }
  });
});
