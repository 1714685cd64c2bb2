// Joins on real ranks against DuckDB: every kind (inner, left, right, full, semi, anti, cross),
// one, composite and leftOn/rightOn keys with nulls, both strategies (shuffle, broadcast), on
// both backends at P in 1..4 (sab) and 2..3 (tcp); the cost model's choice; bad joins.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { useDuck } from '../duck.js';
import { backends, callAll } from '../harness.js';
import { genTable, rowsOf, type Row } from '../fixtures/io.js';

const duck = useDuck();
const sql = (q: string) => duck.rows(q);
const multiset = (rs: Row[]) => rs.map((r) => JSON.stringify(Object.keys(r).sort().map((k) => [k, r[k]]))).sort();
const table = (rows: Row[], types: string) => duck.table(rows, `{${types}}`);

const kinds = { inner: 'join', left: 'left join', right: 'right join', full: 'full join', semi: 'semi join', anti: 'anti join', cross: 'cross join' } as const;
type How = keyof typeof kinds;

function joinSql(how: How, keys: string, L: string, R: string): string {
  if (how === 'cross') return `select l.*, r.g as g_right, r.i32 as i32_right, r.i8, r.u8 from ${L} l cross join ${R} r`;
  const cond = keys === 'one' ? 'l.g = r.g' : keys === 'multi' ? 'l.g = r.g and l.i32 = r.i32' : 'l.s = r.g';
  if (how === 'semi' || how === 'anti') return `select l.* from ${L} l ${kinds[how]} ${R} r on ${cond}`;
  const cols = keys === 'one' ? 'coalesce(l.g, r.g) as g, l.i32, l.s, l.f64, r.i32 as i32_right, r.i8, r.u8'
    : keys === 'multi' ? 'coalesce(l.g, r.g) as g, coalesce(l.i32, r.i32) as i32, l.s, l.f64, r.i8, r.u8'
      : 'l.g, l.i32, l.s, l.f64, r.g as g_right, r.i32 as i32_right, r.i8, r.u8';
  // inner and left joins keep the left key as it is (equal to the right's wherever they match).
  return `select ${cols} from ${L} l ${kinds[how]} ${R} r on ${cond}`;
}

describe.each(backends())('joins on %s', (backend) => {
  it('every join kind, key form and strategy equals DuckDB on the same rows', async () => {
    await fc.assert(
      fc.asyncProperty(
        backend === 'sab' ? fc.integer({ min: 1, max: 4 }) : fc.constantFrom(2, 3), fc.nat(10_000), fc.integer({ min: 0, max: 40 }), fc.nat(10_000), fc.integer({ min: 0, max: 12 }),
        fc.constantFrom('one', 'multi', 'leftOnRightOn'), fc.constantFrom('auto', 'shuffle', 'broadcast'),
        async (p, seedL, nL, seedR, nR, keys, strategy) => {
          const left = rowsOf(genTable(seedL, nL).select(['g', 'i32', 's', 'f64']));
          const right = rowsOf(genTable(seedR, nR).select(['g', 'i32', 'i8', 'u8']));
          const L = table(left, "g: 'VARCHAR', i32: 'INTEGER', s: 'VARCHAR', f64: 'DOUBLE'");
          const R = table(right, "g: 'VARCHAR', i32: 'INTEGER', i8: 'TINYINT', u8: 'UTINYINT'");
          for (const how of Object.keys(kinds) as How[]) {
            const strat = how === 'full' && strategy === 'broadcast' ? 'shuffle' : strategy;
            const res = await callAll<{ rows: Row[] | null; strategy: string; names: string[] }>(backend, p, 'join.ts', 'joinOps', [seedL, nL, seedR, nR, how, keys, strat]);
            const want = await sql(joinSql(how, keys, L, R));
            expect(multiset(res[0]!.rows!), `${how} ${keys} ${strat}`).toEqual(multiset(want));
            if (want.length > 0) expect(res[0]!.names, how).toEqual(Object.keys(want[0]!));
            for (const r of res) expect(r.strategy).toBe(res[0]!.strategy);
            if (strat === 'shuffle' && how !== 'cross') expect(res[0]!.strategy).toBe('shuffle');
            if (strat === 'broadcast' || how === 'cross') expect(res[0]!.strategy).toMatch(/^broadcast-/);
          }
        },
      ),
      { numRuns: backend === 'sab' ? 2 : 1 },
    );
  }, 180_000);

  it('the cost model broadcasts a small side and shuffles two large ones, the same choice on every rank', async () => {
    // Both sides alike at P = 3: a shuffle moves 2/3 of each rank's rows, a broadcast all of one side to every rank.
    const p = 3;
    const small = await callAll<{ strategy: string; predicted: Record<string, number> }>(backend, p, 'join.ts', 'joinPlan', [3000, 4, false]);
    for (const r of small) expect(r.strategy).toBe('broadcast-right');
    expect(small[0]!.predicted.broadcastRight).toBeLessThan(small[0]!.predicted.shuffle);
    const large = await callAll<{ strategy: string; predicted: Record<string, number> }>(backend, p, 'join.ts', 'joinPlan', [3000, 3000, true]);
    for (const r of large) expect(r.strategy).toBe('shuffle');
    expect(large[0]!.predicted.shuffle).toBeLessThan(Math.min(large[0]!.predicted.broadcastRight, large[0]!.predicted.broadcastLeft));
  });

  it('bad joins: a typed error on every rank naming the column or type', async () => {
    const p = backend === 'sab' ? 2 : 3;
    const got = await callAll<string[]>(backend, p, 'join.ts', 'badJoins', []);
    for (const g of got) {
      expect(g[0]).toMatch(/^ArgumentError: .*join key 'nope' of the left frame/);
      expect(g[1]).toMatch(/^SchemaMismatchError: .*join key types differ: left 'i32' is Int32, right 'g' is Dictionary/);
      expect(g[2]).toMatch(/^ArgumentError: .*absent for a cross join/);
      expect(g[3]).toMatch(/^ArgumentError: .*'auto' or 'shuffle' for a full join/);
      expect(g[4]).toMatch(/^ArgumentError: .*options.how/);
    }
  });
});
