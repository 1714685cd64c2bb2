import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { backends, callAll, closeWorlds } from '../harness.js';
import { mergeRecords, type ProfileRow, type SuperstepRecord } from '../../core/cost/profile.js';
import { profileMarkdown, profileSvg, writeProfileReport } from '../../core/cost/report.js';

// Ranks read the params file from the environment they start with: point it at nothing.
const dir = mkdtempSync(join(tmpdir(), 'superstep-profile-'));
process.env.SUPERSTEP_PARAMS = join(dir, 'none.json');
afterAll(async () => {
  await closeWorlds();
  rmSync(dir, { recursive: true, force: true });
});

type Out = { table: ProfileRow[]; records: SuperstepRecord[]; acc: boolean; work: number };
const expectedH = (p: number) => [10 * p, 100 * (p - 1), 0, 7 * (p - 1)];

describe.each(backends())('profile on %s', (backend) => {
  // 2 and 3 ranks on sab; 2 on tcp (its worlds are processes, slower to start: the test budget).
  it.each(backend === 'sab' ? [2, 3] : [2])('records w and h of a program with known traffic at P=%i', async (p) => {
    const params = { g: 2e-9, l: 1e-5, r: 1e9 };
    const res = await callAll<Out>(backend, p, 'cost.ts', 'knownTraffic', [params], 20_000);
    for (const [rank, r] of res.entries()) {
      expect(r.table.map((row) => row.superstep)).toEqual([0, 1, 2, 3]);
      expect(r.table.map((row) => row.passPhrase)).toEqual(['zero', 'one', 'two', 'three']);
      // In-program: h exact (sends are known to every rank; receives lag one superstep).
      expect(r.table.map((row) => row.h), `rank ${rank}`).toEqual(expectedH(p));
      expect(r.table.map((row) => row.complete)).toEqual([true, true, true, false]);
      for (const row of r.table) {
        expect(row.t).toBeGreaterThan(0);
        expect(row.w).toBeGreaterThanOrEqual(0);
        // w <= t on every rank, so for the maxima too (not for the first superstep, whose t is a
        // min, nor for the incomplete last one, whose t is this rank's own).
        if (row.superstep > 0 && row.complete) expect(row.w).toBeLessThanOrEqual(row.t * 1.0001 + 1e-4);
        expect(row.predicted).toBeCloseTo(row.w + params.g * row.h + params.l, 12);
      }
      // Every rank's table agrees on w (the maxima travel in the sync headers).
      expect(r.table.map((row) => row.w)).toEqual(res[0]!.table.map((row) => row.w));
      // This rank's own records: words sent and received.
      const me = rank;
      const own = r.records.map((x) => [x.bytesOut / 8, x.bytesIn / 8]);
      const prev = (me - 1 + p) % p;
      expect(own[0]).toEqual([10 * (me + 1), 10 * (prev + 1)]);
      expect(own[1]).toEqual(me === 0 ? [100 * (p - 1), 0] : [0, 100]);
      expect(own[2]).toEqual([0, 0]);
      expect(own[3]).toEqual([7 * (p - 1), 7 * (p - 1)]);
    }
    // w of the superstep with local work covers that work on every rank.
    for (const r of res) expect(r.table[2]!.w).toBeGreaterThanOrEqual(Math.max(...res.map((x) => x.work)) * 0.999);
    // The launcher's merge of every rank's records is exact, last superstep included.
    const merged = mergeRecords(res.map((r) => r.records), params);
    expect(merged.map((row) => row.h)).toEqual(expectedH(p));
    expect(merged.every((row) => row.complete)).toBe(true);
    // The first superstep's time is the min over ranks (start-up skew excluded), the others' the max.
    expect(merged[0]!.t).toBe(Math.min(...res.map((r) => r.records[0]!.t)));
    for (let i = 1; i < 4; i++) expect(merged[i]!.t).toBe(Math.max(...res.map((r) => r.records[i]!.t)));
    expect(res.every((r) => r.records[0]!.first === true && r.records[1]!.first === undefined)).toBe(true);
  });

  it('profile() without profiling says how to turn it on; predict() works in a job', async () => {
    const msgs = await callAll<string>(backend, 2, 'cost.ts', 'profileOff', [], 20_000);
    expect(msgs[0]).toMatch(/ArgumentError: .*profiling.*SUPERSTEP_PROFILE=1/);
    const pr = await callAll<{ seconds: number; p: number }>(backend, 2, 'cost.ts', 'predictInJob', [], 20_000);
    expect(pr[0]!.seconds).toBeCloseTo(3 * (1e-3 + 1e-6 + 1e-5), 12);
    expect(pr[1]!.p).toBe(2);
  });
});

describe('profile report', () => {
  const rows: ProfileRow[] = [
    { superstep: 0, passPhrase: 'a|b', w: 1e-3, h: 100, t: 1.2e-3, predicted: 1.1e-3, complete: true },
    { superstep: 1, passPhrase: null, w: 0, h: 0, t: 2e-5, predicted: 1e-5, complete: true },
    { superstep: 2, passPhrase: 'end', w: 2e-3, h: 4096, t: 2.5e-3, predicted: null, complete: false },
  ];
  it('renders a markdown table with a row per superstep and totals', () => {
    const md = profileMarkdown(rows, { g: 1e-9, l: 1e-5, r: 1e9, p: 2, backend: 'sab', source: 'measured' });
    expect(md).toContain('g = 1.00 ns/word, l = 10.0 µs, r = 1.00 Gflop/s');
    expect(md).toContain('| 0 | a\\|b | 1.00 ms | 100 | 1.20 ms | 1.10 ms | 1.09 |');
    expect(md).toContain('| 2* | end |');
    expect(md).toMatch(/\| total \(3\) \|/);
    expect(profileMarkdown(rows)).toContain('run `npx superstep probe`');
  });
  it('draws one measured bar per superstep and a predicted marker where known', () => {
    const svg = profileSvg(rows);
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg.match(/class="measured"/g)).toHaveLength(3);
    expect(svg.match(/class="predicted"/g)).toHaveLength(2);
    expect(svg).toContain('a|b'); // pass phrase in a tooltip
    expect(profileSvg(Array.from({ length: 500 }, (_, i) => ({ ...rows[0]!, superstep: i }))).match(/class="measured"/g)).toHaveLength(200);
  });
  it('writes profile.md, profile.svg and profile.json', () => {
    const files = writeProfileReport(join(dir, 'report'), rows);
    expect(readFileSync(files.markdown, 'utf8')).toContain('![measured vs predicted](profile.svg)');
    expect(readFileSync(files.svg, 'utf8')).toContain('</svg>');
    expect(JSON.parse(readFileSync(files.json, 'utf8')).rows).toHaveLength(3);
  });
});
