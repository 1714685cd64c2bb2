// CSV on real ranks against DuckDB: files superstep writes at P = 1..4 (some ranks empty) read
// by DuckDB and by readCsv with equal contents; files DuckDB writes read by readCsv at P = 1..4
// with the types DuckDB gives them; bad files and arguments as typed errors on every rank.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { useDuck } from '../duck.js';
import { backends, callAll } from '../harness.js';
import { genTable, rowsOf, type Row } from '../fixtures/io.js';
import { kCsvColumns } from '../fixtures/csv.js';

const duck = useDuck();
const dir = mkdtempSync(join(tmpdir(), 'superstep-csv-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const kTypes = "{g: 'VARCHAR', s: 'VARCHAR', i32: 'INTEGER', i64: 'BIGINT', f64: 'DOUBLE', b: 'BOOLEAN', ts: 'TIMESTAMP'}";
let files = 0;

describe.each(backends())('csv on %s', (backend) => {
  it('writeCsv: DuckDB and readCsv read back the rows written, at P = 1..4', async () => {
    await fc.assert(
      fc.asyncProperty(backend === 'sab' ? fc.integer({ min: 1, max: 4 }) : fc.constantFrom(2, 3), fc.nat(10_000), fc.integer({ min: 0, max: 30 }), fc.nat(4), async (p, seed, n, skewPick) => {
        const path = join(dir, `w${files++}.csv`);
        const skew = skewPick % (p + 1);
        const local = await callAll<number>(backend, p, 'csv.ts', 'writeCsvTable', [path, seed, n, skew]);
        expect(local.reduce((a, b) => a + b, 0)).toBe(n);
        const want = rowsOf(genTable(seed, n).select(kCsvColumns));
        const csv = readFileSync(path, 'utf8');
        expect(csv.split('\n')[0]).toBe(kCsvColumns.join(','));
        expect(await duck.rows(`select * from read_csv('${path}', header = true, allow_quoted_nulls = false, columns = ${kTypes})`)).toEqual(want);
        // readCsv infers types: ts comes back as ISO strings, the rest as written.
        const back = await callAll<{ rows: Row[] | null; local: number }>(backend, p, 'csv.ts', 'readCsvRows', [path]);
        const iso = want.map((r) => ({ ...r, ts: r.ts === null ? null : new Date(r.ts as number).toISOString() }));
        expect(back[0]!.rows).toEqual(n === 0 ? [] : iso.map((r) => Object.fromEntries(Object.entries(r).filter(([k]) => k in back[0]!.rows![0]!))));
        expect(back.reduce((a, r) => a + r.local, 0)).toBe(n);
      }),
      { numRuns: backend === 'sab' ? 4 : 2 },
    );
  }, 180_000);

  it('readCsv of files DuckDB writes equals what DuckDB holds, types inferred alike, at P = 1..4', async () => {
    for (const p of backend === 'sab' ? [1, 2, 3, 4] : [2, 3]) {
      const seed = 40 + p;
      const n = p === 3 ? 2 : 25; // P = 3: fewer rows than ranks
      const path = join(dir, `duck${files++}.csv`);
      const src = duck.table(rowsOf(genTable(seed, n).select(['g', 's', 'i32', 'i64', 'f64', 'b'])), "{g: 'VARCHAR', s: 'VARCHAR', i32: 'INTEGER', i64: 'BIGINT', f64: 'DOUBLE', b: 'BOOLEAN'}");
      await duck.run(`copy (select * from ${src}) to '${path}' (header, delimiter '|')`);
      const res = await callAll<{ rows: Row[] | null; types: string[]; local: number }>(backend, p, 'csv.ts', 'readCsvRows', [path, { delimiter: '|' }]);
      const want = await duck.rows(`select * from read_csv('${path}', header = true, delim = '|', allow_quoted_nulls = false)`);
      expect(res[0]!.rows, `P = ${p}`).toEqual(want);
      const duckTypes = await duck.rows(`select column_name, column_type from (describe select * from read_csv('${path}', header = true, delim = '|', allow_quoted_nulls = false))`);
      const ours: Record<string, string> = { Int32: 'INTEGER|BIGINT', Int64: 'BIGINT', Float64: 'DOUBLE', Bool: 'BOOLEAN', Utf8: 'VARCHAR' };
      for (const [j, t] of res[0]!.types.entries()) {
        const [name, type] = t.split(':');
        expect(name).toBe(duckTypes[j]!.column_name);
        expect(ours[type!]!.split('|'), `${name}: ours ${type}, DuckDB ${duckTypes[j]!.column_type}`).toContain(duckTypes[j]!.column_type);
      }
      for (const r of res) expect(r.types).toEqual(res[0]!.types);
    }
  }, 120_000);

  it('a line that starts exactly at a rank\'s offset is that rank\'s; one cut mid-line belongs to the rank before', async () => {
    // 8 bytes at P = 2: rank 1's offset 4 is where "2" starts; at P = 3 offsets 2 and 5: "1" starts at rank 1's (rank 0's range
    // holds only the header), "2" (bytes 4-5) is cut mid-line and stays with rank 1.
    const path = join(dir, `cut-${backend}.csv`);
    writeFileSync(path, 'a\n1\n2\n3\n');
    const two = await callAll<{ rows: Row[] | null; local: number }>(backend, 2, 'csv.ts', 'readCsvRows', [path]);
    expect(two.map((r) => r.local)).toEqual([1, 2]);
    expect(two[0]!.rows).toEqual([{ a: 1 }, { a: 2 }, { a: 3 }]);
    const three = await callAll<{ rows: Row[] | null; local: number }>(backend, 3, 'csv.ts', 'readCsvRows', [path]);
    expect(three.map((r) => r.local)).toEqual([0, 2, 1]);
    expect(three[0]!.rows).toEqual([{ a: 1 }, { a: 2 }, { a: 3 }]);
  });

  it('types are agreed over the ranks: one rank\'s ints and another\'s floats make float64, bools and text utf8', async () => {
    const path = join(dir, `agree-${backend}.csv`);
    const lines = ['x,y,z,n,big'];
    for (let i = 0; i < 20; i++) lines.push(i < 19 ? `${i},true,${i},,${i}` : '1.5,maybe,7,,9007199254740993');
    writeFileSync(path, `${lines.join('\n')}\n`);
    const res = await callAll<{ rows: Row[] | null; types: string[]; local: number }>(backend, 2, 'csv.ts', 'readCsvRows', [path]);
    for (const r of res) expect(r.types).toEqual(['x:Float64', 'y:Utf8', 'z:Int32', 'n:Utf8', 'big:Float64']);
    expect(res[0]!.local).toBeGreaterThan(0); // rank 0 saw only ints, bools and nulls
    expect(res[0]!.local + res[1]!.local).toBe(20);
    expect(res[0]!.rows![19]).toEqual({ x: 1.5, y: 'maybe', z: 7, n: null, big: 9007199254740992 });
    const typed = await callAll<{ rows: Row[] | null; types: string[] }>(backend, 2, 'csv.ts', 'readCsvRows', [path, { columns: ['z', 'x'], types: { z: 'int64' } }]);
    expect(typed[1]!.types).toEqual(['z:Int64', 'x:Float64']);
    expect(typed[0]!.rows![3]).toEqual({ z: 3, x: 3 });
  });

  it('bad files and arguments: a typed error on every rank', async () => {
    const bad = join(dir, `bad-${backend}`);
    rmSync(bad, { recursive: true, force: true });
    mkdirSync(bad);
    writeFileSync(join(bad, 'newline-in-quotes.csv'), 'a,b\n1,"two\nlines"\n3,x\n');
    writeFileSync(join(bad, 'ragged.csv'), 'a,b\n1,2\n3\n4,5\n');
    writeFileSync(join(bad, 'ok.csv'), 'a,b\n1,x\n2,y\n');
    const p = backend === 'sab' ? 3 : 2;
    const got = await callAll<string[]>(backend, p, 'csv.ts', 'badCsv', [bad]);
    for (const g of got) {
      expect(g[0]).toMatch(/^FileFormatError: .*newline-in-quotes.csv: the line at byte 4 opens a quote \(at its character 2\) that it does not close/);
      expect(g[1]).toMatch(/^FileFormatError: .*ragged.csv: the line at byte 8 has 1 fields, the first line 2/);
      expect(g[2]).toMatch(/^ArgumentError: .*`options.columns` must be names of the file's columns \(a, b\).*`nope`/);
      expect(g[3]).toMatch(/^FileFormatError: .*column 'b' is int32 but holds 'x'/);
      expect(g[4]).toMatch(/ArgumentError: .*options.delimiter/);
      expect(g[5]).toMatch(/^IOError: .*absent.csv.*ENOENT/);
    }
  });
});
