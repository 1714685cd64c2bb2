// The commands and snippets of docs/cost.md, run as a user would.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { bsp } from 'superstep';
import { hostName, readParamsFile, saveParams } from '../../core/cost/params.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const doc = readFileSync(join(root, 'docs/cost.md'), 'utf8');
const dir = mkdtempSync(join(tmpdir(), 'superstep-docs-'));
const env = { ...process.env, SUPERSTEP_PARAMS: join(dir, 'params.json') };
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Runs `npx superstep ...` as bin/superstep.mjs. */
function superstep(args: string[]) {
  return spawnSync(process.execPath, [join(root, 'bin/superstep.mjs'), ...args], { cwd: root, env, encoding: 'utf8', timeout: 90_000 });
}

/** The fenced block right after the first fenced block that contains `marker`. */
function blockAfter(marker: string): string {
  const blocks = [...doc.matchAll(/```[a-z]*\n([\s\S]*?)```/g)].map((m) => m[1]!);
  const i = blocks.findIndex((b) => b.includes(marker));
  return blocks[i + 1]!;
}

describe('docs/cost.md', () => {
  it('npx superstep predict ... prints what the doc shows', () => {
    const cmd = 'npx superstep predict --w 65536 --h 1 --supersteps 1 -n 2 --g 1.4 --l 1.5 --r 1';
    expect(doc).toContain(cmd);
    const r = superstep(cmd.split(' ').slice(2));
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toBe(blockAfter(cmd));
  });

  it('npx superstep probe -n 2 prints the fit and saves it', () => {
    expect(doc).toContain('npx superstep probe -n 2\n');
    const r = superstep(['probe', '-n', '2']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/BSP parameters of .*, backend sab, P = 2:\n {2}l = [\d.]+ µs/);
    expect(r.stdout).toMatch(/fit t = l \+ g·h on the medians/);
    expect(r.stderr).toMatch(/probe sab P=2: \[(\d+)\/\1\] r = /);
    const e = readParamsFile(env.SUPERSTEP_PARAMS)[`${hostName()}/sab/2`]!;
    expect(e.residuals).toHaveLength(18); // h = 0 and 8 .. 2^19
    expect(e.g).toBeGreaterThanOrEqual(0);
  });

  it('npx superstep run -n 2 --profile examples/cost-profile.ts prints and writes the report', () => {
    expect(doc).toContain('npx superstep run -n 2 --profile examples/cost-profile.ts');
    const report = join(dir, 'report');
    const r = superstep(['run', '-n', '2', '--profile', '--report', report, 'examples/cost-profile.ts']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/predicted: gather-all [\d.]+ µs, partial sums [\d.]+ µs/);
    expect(r.stdout).toContain('total 196608'); // 65536 · (1 + 2)
    expect(r.stdout).toMatch(/superstep 0 'partial sums': w [\d.]+ µs, h [\d.]+ words/);
    expect(r.stderr).toContain('| 0 | partial sums |');
    expect(readFileSync(join(report, 'profile.md'), 'utf8')).toContain('| 0 | partial sums |');
    expect(readFileSync(join(report, 'profile.svg'), 'utf8')).toContain('class="measured"');
  });

  it('the bsp.predict snippets compute what they say', () => {
    const old = process.env.SUPERSTEP_PARAMS;
    process.env.SUPERSTEP_PARAMS = join(dir, 'snippets.json');
    try {
      saveParams({ host: hostName(), backend: 'sab', p: 2, g: 2e-9, l: 2e-5, r: 2e9, measuredAt: new Date().toISOString() });
      const pred = bsp.predict({ w: 2e6, h: 4096, supersteps: 10, p: 2 });
      expect(pred.seconds).toBeCloseTo(10 * (2e6 / 2e9 + 4096 * 2e-9 + 2e-5), 12);
      expect(pred.compute + pred.communication + pred.synchronisation).toBeCloseTo(pred.seconds, 12);
      expect(pred.params).toMatchObject({ source: 'measured', from: [2] });
      const n = 8192, P = 16;
      const row = bsp.predict({ w: (2 * n * n) / P, h: (n * (P - 1)) / P, supersteps: 1, p: P });
      const twoD = bsp.predict({ w: [(2 * n * n) / P, n / Math.sqrt(P)], h: [n / Math.sqrt(P), n / Math.sqrt(P)], p: P });
      expect(row.params.source).toBe('extrapolated');
      expect(twoD.supersteps).toBe(2);
      expect(twoD.compute).toBeGreaterThan(row.compute);
      expect(twoD.communication).toBeLessThan(row.communication);
    } finally {
      if (old === undefined) delete process.env.SUPERSTEP_PARAMS;
      else process.env.SUPERSTEP_PARAMS = old;
    }
  });
});
