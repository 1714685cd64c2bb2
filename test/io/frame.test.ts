// DistFrame on real ranks: every operation at P in 1..4 on every backend equals the same
// computation done in one process over the apache-arrow table (nulls included).
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { backends, callAll, closeWorlds } from '../harness.js';
import { genTable, rowsOf, type Row } from '../fixtures/io.js';

afterAll(closeWorlds);

type V = Row[string];
const cmp = (a: V, b: V): number => {
  if (a === null || b === null) return a === b ? 0 : a === null ? 1 : -1;
  if (typeof a === 'string' || typeof b === 'string') return String(a) < String(b) ? -1 : String(a) > String(b) ? 1 : 0;
  return Number(a) - Number(b);
};
const keyOf = (r: Row, ks: string[]) => JSON.stringify(ks.map((k) => r[k] ?? null));
const num = (v: V) => (v === null ? null : typeof v === 'boolean' ? +v : Number(v));

/** Reference groupBy: nulls form a group; sum/mean/min/max of no value are null; count counts non-nulls. */
function groupRef(rows: Row[], keys: string[], spec: [string, string, string | null][]): Row[] {
  const groups = new Map<string, Row[]>();
  for (const r of rows) {
    const k = keyOf(r, keys);
    groups.set(k, [...(groups.get(k) ?? []), r]);
  }
  return [...groups.values()].map((rs) => {
    const o: Row = {};
    for (const k of keys) o[k] = rs[0]![k]!;
    for (const [name, op, col] of spec) {
      if (col === null) { o[name] = rs.length; continue; }
      const vs = rs.map((r) => num(r[col]!)).filter((v): v is number => v !== null);
      o[name] = op === 'count' ? vs.length : vs.length === 0 ? null
        : op === 'sum' ? vs.reduce((a, b) => a + b, 0) : op === 'mean' ? vs.reduce((a, b) => a + b, 0) / vs.length
        : op === 'min' ? Math.min(...vs) : Math.max(...vs);
    }
    return o;
  });
}

function expectRowsClose(got: Row[], want: Row[], keys: string[]): void {
  const sort = (rs: Row[]) => [...rs].sort((a, b) => (keyOf(a, keys) < keyOf(b, keys) ? -1 : keyOf(a, keys) > keyOf(b, keys) ? 1 : 0));
  const g = sort(got);
  const w = sort(want);
  expect(g.length).toBe(w.length);
  g.forEach((r, i) => {
    expect(Object.keys(r)).toEqual(Object.keys(w[i]!));
    for (const k of Object.keys(r)) {
      const x = r[k]!;
      const y = w[i]![k]!;
      if (typeof x === 'number' && typeof y === 'number') expect(Math.abs(x - y)).toBeLessThanOrEqual(1e-9 * (1 + Math.abs(y)));
      else expect(x).toEqual(y);
    }
  });
}

function stableSort(rows: Row[], keys: string[], desc: boolean[]): Row[] {
  return rows.map((r, i) => [r, i] as const).sort(([a, i], [b, j]) => {
    for (let k = 0; k < keys.length; k++) {
      const x = a[keys[k]!]!;
      const y = b[keys[k]!]!;
      if (x === null || y === null) { if (x !== y) return x === null ? 1 : -1; continue; }
      const c = cmp(x, y);
      if (c !== 0) return desc[k] ? -c : c;
    }
    return i - j;
  }).map(([r]) => r);
}

/** Rank counts: 1..4 on sab; on tcp (a process per rank, seconds per world start) 2 and 3. */
const arbP = (backend: string) => (backend === 'sab' ? fc.integer({ min: 1, max: 4 }) : fc.constantFrom(2, 3));
const multiset = (rs: Row[]) => rs.map((r) => JSON.stringify(r)).sort();

type Spec = [string, string, string | null][];
const ops = (col: string, names: string[]): Spec => names.map((op) => [`${col}_${op}`, op, col]);

/** The expected result of every groupCases case (test/fixtures/io.ts), from the one-process rows. */
function groupCaseRefs(rows: Row[]): Record<string, [Row[], string[]]> {
  const keyed = rows.map((r) => {
    const u = r.u16 as number;
    return { ...r, k: (r.i8 as number) % 5, x: r.f32 as number, fk: Math.round(r.f32 as number), wk: u % 97 === 0 ? Math.imul(u, 40503) : u % 500 };
  });
  return {
    fused: [groupRef(keyed, ['k'], ops('x', ['sum', 'mean', 'min', 'max', 'count'])), ['k']],
    fusedMore: [groupRef(keyed, ['k'], [...ops('x', ['sum', 'max']), ...ops('f64', ['min', 'count']), ['s', 'count', 's'], ['rows', 'count', null]]), ['k']],
    floatKey: [groupRef(keyed, ['fk'], [['x', 'sum', 'x'], ...ops('i32', ['min', 'max'])]), ['fk']],
    wideKey: [groupRef(keyed, ['wk'], [...ops('x', ['sum', 'min']), ['f64', 'max', 'f64']]), ['wk']],
    tuple: [groupRef(rows, ['g', 'i64', 'b'], [['u16', 'sum', 'u16'], ['f64', 'mean', 'f64']]), ['g', 'i64', 'b']],
    nullInt: [groupRef(rows, ['i32'], [...ops('f64', ['sum', 'min']), ['ts', 'max', 'ts']]), ['i32']],
    nullStr: [groupRef(rows, ['s'], [...ops('u8', ['sum', 'min', 'max']), ['g', 'count', 'g']]), ['s']],
    many: [groupRef(rows, ['u16'], [...ops('f64', ['sum', 'mean', 'min', 'max', 'count']), ['rows', 'count', null]]), ['u16']],
  };
}

describe.each(backends())('DistFrame on %s', (backend) => {
  it('every operation equals the one-process computation, P in 1..4, nulls included', async () => {
    await fc.assert(
      fc.asyncProperty(arbP(backend), fc.nat(10_000), fc.integer({ min: 0, max: 60 }), async (p, seed, n) => {
        const res = await callAll<Record<string, unknown> | null>(backend, p, 'io.ts', 'frameOps', [seed, n], 30_000);
        const got = res[0]!;
        res.slice(1).forEach((r) => expect(r).toBeNull());
        const rows = rowsOf(genTable(seed, n));
        expect(got.count).toBe(n);
        expectRowsClose(got.g1 as Row[], groupRef(rows, ['g'], [
          ['f64_sum', 'sum', 'f64'], ['f64_mean', 'mean', 'f64'], ['f64_count', 'count', 'f64'], ['f64_min', 'min', 'f64'], ['f64_max', 'max', 'f64'],
          ['rows', 'count', null], ['i64', 'sum', 'i64'], ['b', 'max', 'b'],
        ]), ['g']);
        expectRowsClose(got.g2 as Row[], groupRef(rows, ['s', 'b'], [['i32_sum', 'sum', 'i32'], ['i32_min', 'min', 'i32'], ['u8', 'mean', 'u8']]), ['s', 'b']);
        expect(got.sorted).toEqual(stableSort(rows, ['i32', 's'], [true, false]));
        expect(got.sorted2).toEqual(stableSort(rows, ['f64'], [false]));
        const fw = rows.filter((r) => r.f64 !== null && (r.f64 as number) > 0).map((r) => ({ g: r.g!, s: r.s!, f64: r.f64!, z: r.i32 === null ? null : (r.i32 as number) * 2 }));
        expect(got.fw).toEqual(fw);
        const right: Row[] = [['a', 1], ['b', 2], ['b', 3], ['zz', 4], [null, 5]].map(([g, w]) => ({ g: g as string | null, w: w as number }));
        const left: Row[] = [];
        const inner: Row[] = [];
        for (const r of rows) {
          const hits = r.g === null ? [] : right.filter((q) => q.g === r.g);
          for (const h of hits) { left.push({ g: r.g!, i32: r.i32!, w: h.w! }); inner.push({ g: r.g!, i32: r.i32!, w: h.w! }); }
          if (hits.length === 0) left.push({ g: r.g!, i32: r.i32!, w: null });
        }
        expect(multiset(got.joined as Row[])).toEqual(multiset(left));
        expect(multiset(got.inner as Row[])).toEqual(multiset(inner));
        expect(got.head).toEqual(rows.slice(0, 3));
        const f64 = rows.map((r) => r.f64).filter((v): v is number => v !== null);
        const d = (got.describe as Record<string, { count: number; nulls: number; mean: number; min: number; max: number }>).f64!;
        expect(d.count).toBe(f64.length);
        expect(d.nulls).toBe(n - f64.length);
        if (f64.length > 0) {
          expect(Math.abs(d.mean - f64.reduce((a, b) => a + b, 0) / f64.length)).toBeLessThan(1e-9 * 100);
          expect([d.min, d.max]).toEqual([Math.min(...f64), Math.max(...f64)]);
        }
      }),
      { numRuns: backend === 'sab' ? 5 : 3 },
    );
  });

  it('groupBy equals the one-process computation on every kernel path, few to many rows, P in 1..4', async () => {
    // Few rows leave ranks empty; thousands make ~one group per row, so partials cross the shuffle.
    const arbN = fc.oneof(fc.integer({ min: 0, max: 40 }), fc.integer({ min: 1000, max: 4000 }));
    await fc.assert(
      fc.asyncProperty(arbP(backend), fc.nat(10_000), arbN, async (p, seed, n) => {
        const res = await callAll<Record<string, Row[]> | null>(backend, p, 'io.ts', 'groupOps', [seed, n], 30_000);
        res.slice(1).forEach((r) => expect(r).toBeNull());
        const refs = groupCaseRefs(rowsOf(genTable(seed, n)));
        expect(Object.keys(res[0]!)).toEqual(Object.keys(refs));
        for (const [k, [want, keys]] of Object.entries(refs)) expectRowsClose(res[0]![k]!, want, keys);
      }),
      { numRuns: backend === 'sab' ? 6 : 3 },
    );
  });

  it('numeric columns are DistArrays over their own memory (irregular block of the row counts)', async () => {
    await fc.assert(
      fc.asyncProperty(arbP(backend), fc.nat(10_000), fc.integer({ min: 0, max: 50 }), async (p, seed, n) => {
        const res = await callAll<Record<string, unknown>>(backend, p, 'io.ts', 'frameArrays', [seed, n], 30_000);
        const rows = rowsOf(genTable(seed, n));
        const counts = res.map((r) => r.localRows as number);
        for (const r of res) {
          expect(r).toMatchObject({ sameMemory: true, counts, validityIsArrows: true, boolArray: true, tsDtype: 'int64', filteredSync: true, filteredSame: true, stringError: 'ArgumentError', roundTrip: true });
        }
        const got = res[0]!;
        // Null rows hold unspecified values: compare the valid ones.
        const f64 = got.f64 as number[];
        expect(f64.length).toBe(n);
        rows.forEach((r, i) => { if (r.f64 !== null) expect(f64[i]).toBe(r.f64); });
        expect(got.u16Sum).toBe(rows.reduce((s, r) => s + (r.u16 as number), 0));
        expect(got.i8).toEqual(rows.map((r) => r.i8));
        expect(got.filtered).toEqual(rows.map((r) => r.u16 as number).filter((x) => x % 3 === 0));
        expect(got.x).toEqual(Array.from({ length: p }, (_, r) => Array.from({ length: r + 1 }, (_, i) => r * 10 + i)).flat());
        expect(got.written).toBe(-1);
      }),
      { numRuns: backend === 'sab' ? 5 : 2 },
    );
  });
});
