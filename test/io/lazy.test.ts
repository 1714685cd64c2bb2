// Lazy plans on real ranks: collect() equals the same verbs run eagerly on random frames (a
// join under a filter, a groupBy, a sort + head), explain() shows a filter pushed below a join
// and into a Parquet scan and the columns pruned, every shuffle's prediction is a finite positive
// time, and after collect({ profile: true }) every step has a measured time; the docs' example.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { backends, callAll, closeWorlds } from '../harness.js';
import { docsExample } from '../docs-example.js';
import type { Row } from '../fixtures/io.js';

const dirs: string[] = [];
const tmp = () => {
  const d = mkdtempSync(join(tmpdir(), 'superstep-lazy-'));
  dirs.push(d);
  return d;
};
afterAll(async () => {
  await closeWorlds();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const multiset = (rs: Row[]) => rs.map((r) => JSON.stringify(r, (_, v) => (typeof v === 'number' ? Math.round(v * 1e9) / 1e9 : v))).sort();
const indent = (line: string) => line.length - line.trimStart().length;
/** Every "predicted X ms" of a plan text, in seconds. */
const predictions = (text: string) => [...text.matchAll(/predicted ([\d.e+-]+) ms/g)].map((m) => Number(m[1]) / 1e3);

describe.each(backends())('lazy plans on %s', (backend) => {
  it('collect() equals the verbs run eagerly', async () => {
    await fc.assert(
      fc.asyncProperty(backend === 'sab' ? fc.integer({ min: 1, max: 3 }) : fc.constant(2), fc.nat(10_000), fc.integer({ min: 0, max: 40 }), async (p, seed, n) => {
        const [got] = await callAll<Record<string, { lazy: { rows: Row[] | null; names: string[] }; eager: { rows: Row[] | null; names: string[] } }>>(backend, p, 'lazy.ts', 'lazyVsEager', [seed, n]);
        for (const [name, r] of Object.entries(got!)) {
          expect(r.lazy.names, name).toEqual(r.eager.names);
          // A sort's order is exact; joins and groupBys spread rows by hash (and may choose another strategy).
          if (name === 'head') expect(r.lazy.rows, name).toEqual(r.eager.rows);
          else expect(multiset(r.lazy.rows!), name).toEqual(multiset(r.eager.rows!));
        }
        expect(got!.head!.lazy.rows!.length).toBe(Math.min(7, got!.head!.eager.rows!.length));
      }),
      { numRuns: backend === 'sab' ? 3 : 1 },
    );
  }, 120_000);

  it('explain(): the filter below the join, columns pruned, predictions finite and positive, measured after a profiled collect', async () => {
    const got = await callAll<{ before: string; after: string }>(backend, 2, 'lazy.ts', 'explainJoin', [5, 30]);
    // Predictions use rank 0's g and l and the global row counts: every rank prints the same plan.
    for (const g of got) expect(g.before).toBe(got[0]!.before);
    const lines = got[0]!.before.split('\n');
    expect(lines[0]).toMatch(/^sort \[g\]/);
    const j = lines.findIndex((l) => /^\s+join inner on "g"/.test(l));
    const f = lines.findIndex((l) => l.trim().startsWith('filter (col("i32") > 0)'));
    expect(j).toBeGreaterThan(0);
    expect(f).toBeGreaterThan(j);
    expect(indent(lines[f]!)).toBeGreaterThan(indent(lines[j]!));
    // Only the columns the plan uses leave the left frame.
    expect(lines[f + 1]!.trim()).toMatch(/^select \[g, i32, f64\]/);
    const pred = predictions(got[0]!.before);
    expect(pred).toHaveLength(3); // sort, groupBy, join
    for (const x of pred) expect(Number.isFinite(x) && x > 0).toBe(true);
    const after = got[0]!.after.split('\n').filter((l) => !l.startsWith('(predictions'));
    expect(after).toHaveLength(lines.length - 1);
    for (const l of after) expect(l).toMatch(/measured [\d.e+-]+ ms\)$/);
    expect(predictions(got[0]!.after)).toEqual(pred);
  }, 60_000);

  it('scans: the filter goes into the scan (Parquet prunes row groups with it), only the used columns are read, collect equals the eager read', async () => {
    const dir = tmp();
    const [got] = await callAll<{ parquet: string; arrow: string; same: boolean[] }>(backend, 2, 'lazy.ts', 'explainScans', [dir, 9, 40]);
    expect(got!.same).toEqual([true, true]);
    for (const [fmt, text] of [['parquet', got!.parquet], ['arrow', got!.arrow]] as const) {
      const lines = text.split('\n');
      expect(lines[0]).toMatch(/^groupBy \[g\]/);
      expect(lines[1]).toMatch(new RegExp(`^  scan ${fmt} .*t\\.${fmt} columns \\[g, f64\\] filter \\(col\\("i32"\\) > 0\\)`));
      expect(lines.some((l) => l.trim().startsWith('filter'))).toBe(false);
    }
  }, 60_000);

  it("docs/io.md's example: its code is the fixture's and its explain output has the documented shape", async () => {
    const { section, code } = docsExample('docs/io.md', 'Lazy plans', 'lazy.ts');
    expect(section).toContain(code);
    const [text] = await callAll<string | null>(backend, 2, 'lazy.ts', 'docsLazy', [tmp()]);
    // The documented sample is a real output: the same lines up to the numbers.
    const shape = (t: string) => t.split('\n').filter((l) => /^\s*[a-z]/.test(l)).map((l) => l.replace(/\(~.*$/, '').replace(/\/\S*sales\.parquet/, 'sales.parquet').trimEnd());
    const sample = section.slice(section.indexOf('```text\n') + 8, section.indexOf('```', section.indexOf('```text\n') + 8));
    expect(shape(text!)).toEqual(shape(sample));
    for (const l of text!.split('\n').filter((x) => /^\s*[a-z]/.test(x))) expect(l).toMatch(/measured/);
  }, 60_000);
});
