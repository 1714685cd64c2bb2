import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { main } from '../../core/launch/cli.js';
import { probe } from '../../core/cost/probe.js';
import { hostName, readParamsFile, saveParams } from '../../core/cost/params.js';

const dir = mkdtempSync(join(tmpdir(), 'superstep-cli-'));
const oldParams = process.env.SUPERSTEP_PARAMS;
process.env.SUPERSTEP_PARAMS = join(dir, 'params.json');
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
  if (oldParams === undefined) delete process.env.SUPERSTEP_PARAMS;
  else process.env.SUPERSTEP_PARAMS = oldParams;
});

let out: string[] = [];
let err: string[] = [];
beforeEach(() => {
  out = [];
  err = [];
  vi.spyOn(console, 'log').mockImplementation((...a) => void out.push(a.join(' ')));
  vi.spyOn(console, 'error').mockImplementation((...a) => void err.push(a.join(' ')));
  vi.spyOn(process.stderr, 'write').mockImplementation((s) => (err.push(String(s)), true));
});
afterEach(() => vi.restoreAllMocks());

describe('superstep probe / predict: argument errors', () => {
  it.each([
    [['probe', '-n', 'x'], /-n must be a positive integer or a comma-separated list of them; got 'x'/],
    [['probe', '--backend', 'udp'], /--backend must be 'sab'[^;]*'tcp'[^;]*; got 'udp'/],
    [['probe', '--reps', '0'], /--reps must be a positive integer/],
    [['probe', '--max-h', '4'], /--max-h must be an integer >= 8/],
    [['probe', '--bogus'], /Unknown option '--bogus'/],
    [['predict'], /give at least one of --w, --bytes, --w-seconds, --h/],
    [['predict', '--h', '1,,2'], /--h must be a number >= 0 or a comma-separated list/],
    [['predict', '--h', '10', '--g', '1'], /give all of --g \(ns\/word\), --l \(µs\) and --r/],
    [['predict', '--w', '1', '--w-seconds', '1'], /not both/],
    [['predict', '--h', '1,2', '--supersteps', '3', '--g', '1', '--l', '1', '--r', '1'], /one value per superstep \(3\)/],
    [['predict', '--h', '5', '-n', '0'], /-n must be a positive integer/],
    [['run', '--profile'], /no script given/],
    [['scaling', '--cluster', 'no-such-params.json'], /--cluster: no file no-such-params\.json/],
    [['scaling', '--workloads', 'fft'], /--workloads must be a comma-separated list of matvec, jacobi; got 'fft'/],
    [['scaling', '-n', '0,2'], /-n must be a comma-separated list of positive integers/],
    [['scaling', '--cluster-g', '2'], /give both --cluster-g/],
  ])('%j', async (argv, message) => {
    expect(await main(argv)).toBe(2);
    expect(err.join('\n')).toMatch(message);
    expect(err.join('\n')).toMatch(/usage/);
  });

  it('predict without measured parameters says to probe', async () => {
    expect(await main(['predict', '--h', '100', '-n', '64', '--backend', 'tcp'])).toBe(1);
    expect(err.join('\n')).toMatch(/superstep probe -n 64 --backend tcp/);
  });
});

describe('superstep predict', () => {
  it('prints the breakdown with given parameters', async () => {
    expect(await main(['predict', '--w', '1e6', '--h', '1000', '--supersteps', '10', '--g', '2', '--l', '10', '--r', '1'])).toBe(0);
    const text = out.join('\n');
    expect(text).toContain('predicted 10.1 ms for 10 superstep(s) on P = 2');
    expect(text).toMatch(/communication\s+20.0 µs/);
    expect(text).toMatch(/synchronisation\s+100 µs/);
  });
  it('extrapolates from the params file to a larger P (--json)', async () => {
    saveParams({ host: hostName(), backend: 'sab', p: 2, g: 1e-9, l: 2e-6, r: 1e9, measuredAt: new Date().toISOString() });
    expect(await main(['predict', '--h', '1000', '-n', '16', '--json'])).toBe(0);
    const pred = JSON.parse(out.join(''));
    expect(pred.params).toMatchObject({ source: 'extrapolated', p: 16, from: [2] });
    // l(16) = l(2)·(1 + log2 16) / (1 + log2 2) from one probed P.
    expect(pred.seconds).toBeCloseTo(1e-6 + 5e-6, 12);
  });
  it('predicts a built-in workload from its counts (--workload)', async () => {
    expect(await main(['predict', '--workload', 'jacobi', '--size', '1024', '--steps', '10', '-n', '2', '--g', '1', '--l', '10', '--r', '1', '--b', '4', '--json'])).toBe(0);
    const pred = JSON.parse(out.join(''));
    expect(pred.supersteps).toBe(10);
    expect(pred.compute).toBeCloseTo((10 * 16 * 512 * 1024) / 4e9, 12);
    expect(pred.communication).toBeCloseTo(10 * 1024 * 1e-9, 12);
    out = [];
    expect(await main(['predict', '--workload', 'fft', '--size', '8', '--g', '1', '--l', '1', '--r', '1'])).toBe(2);
    expect(err.join('\n')).toMatch(/--workload must be matvec, jacobi, allreduce; got 'fft'/);
    expect(await main(['predict', '--bytes', '100', '--h', '1', '--g', '1', '--l', '1', '--r', '1'])).toBe(2);
    expect(err.join('\n')).toMatch(/params\.b/);
  });
});

describe('superstep probe and run --profile (real ranks)', () => {
  it('probe() measures a fit with residuals on P=2', async () => {
    const steps: number[] = [];
    const res = await probe({ procs: 2, hs: [0, 64, 1024], reps: 4, rounds: 2, warmup: 1, rateLength: 1024, onProgress: (d) => steps.push(d) });
    // Two passes over the three h, then r.
    expect(steps).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(res.samples.map((s) => s.h)).toEqual([0, 64, 1024]);
    // h <= 2^12 get 4 × reps (cheap, and they set l).
    expect(res.samples.every((s) => s.times.length === 16 && s.times.every((t) => t > 0))).toBe(true);
    expect(res.residuals).toHaveLength(3);
    expect(res.l).toBeGreaterThanOrEqual(0);
    expect(res.g).toBeGreaterThanOrEqual(0);
    expect(res.r).toBeGreaterThan(1e6);
    expect(res).toMatchObject({ p: 2, backend: 'sab', host: hostName() });
  });

  it('probe() on one rank measures l only', async () => {
    const res = await probe({ procs: 1, reps: 3, warmup: 1, rateLength: 1024 });
    expect(res.samples.map((x) => x.h)).toEqual([0]);
    expect(res.g).toBe(0);
    expect(res.l).toBeGreaterThan(0);
  });

  // `superstep probe` itself (printing, saving to $SUPERSTEP_PARAMS) runs in test/cost/docs.test.ts.

  it('`superstep probe -n 2,3 --json` probes each P and checks the model in P (leave-one-out)', async () => {
    expect(await main(['probe', '-n', '2,3', '--reps', '3', '--max-h', '64', '--no-save', '--json'])).toBe(0);
    const res = JSON.parse(out.join(''));
    expect(res.results.map((r: { p: number }) => r.p)).toEqual([2, 3]);
    for (const r of res.results) {
      // l or g may fit to 0 under load (both are kept >= 0); a superstep's time may not.
      expect(r.l).toBeGreaterThanOrEqual(0);
      expect(r.g).toBeGreaterThanOrEqual(0);
      expect(r.l + 64 * r.g).toBeGreaterThan(0);
      expect(r.r).toBeGreaterThan(0);
      expect(r.b).toBeGreaterThan(0);
      expect(r.cores).toBeGreaterThan(0);
    }
    expect(res.extrapolation.l.map((x: { p: number }) => x.p)).toEqual([2, 3]);
    expect(res.extrapolation.l[0].from).toEqual([3]);
    for (const x of [...res.extrapolation.l, ...res.extrapolation.g]) expect(Number.isFinite(x.relative)).toBe(true);
    expect(readParamsFile().constructor).toBe(Object);
    expect(Object.keys(readParamsFile()).some((k) => k.endsWith('/sab/3'))).toBe(false); // --no-save
  }, 120_000);

  it('`superstep scaling --quick` measures, predicts and extends to the cluster', async () => {
    for (const p of [1, 2]) saveParams({ host: hostName(), backend: 'sab', p, g: 1e-9, l: 5e-6 * p, r: 1e9, b: 4e9, cores: 2, measuredAt: new Date().toISOString() });
    const report = join(dir, 'scaling');
    expect(await main(['scaling', '--quick', '--cluster-procs', '64,1024', '--report', report, '--json'])).toBe(0);
    const rep = JSON.parse(out.join(''));
    type Pt = { workload: string; mode: string; p: number; measured?: number; predicted: number; params: string; oversubscribed: boolean };
    const pts: Pt[] = rep.points;
    const mine = pts.filter((q) => q.params === 'machine');
    expect(mine).toHaveLength(2 * 2 * 2); // P = 1, 2 × matvec, jacobi × strong, weak
    for (const q of mine) {
      expect(q.measured).toBeGreaterThan(0);
      expect(q.predicted).toBeGreaterThan(0);
    }
    // Weak scaling keeps the work per rank: on the cluster its predicted time never falls with P.
    for (const w of ['matvec', 'jacobi']) {
      const weak = pts.filter((q) => q.params === 'cluster' && q.workload === w && q.mode === 'weak').sort((a, b) => a.p - b.p);
      expect(weak.map((q) => q.p)).toEqual([1, 2, 64, 1024]);
      for (let i = 2; i < weak.length; i++) expect(weak[i]!.predicted).toBeGreaterThanOrEqual(weak[i - 1]!.predicted);
    }
    expect(rep.cluster).toMatch(/illustrative 25 GbE/);
    const svg = readFileSync(join(report, 'scaling.svg'), 'utf8');
    expect(svg).toContain('class="measured"');
    expect(svg).toContain('class="predicted-cluster"');
    expect(readFileSync(join(report, 'scaling.md'), 'utf8')).toContain('### jacobi weak');
  }, 120_000);

  it('`superstep run --profile` prints the table and writes the report', async () => {
    const script = fileURLToPath(new URL('../fixtures/cost-script.ts', import.meta.url));
    const report = join(dir, 'report');
    const old = process.env.SUPERSTEP_PROFILE;
    try {
      expect(await main(['run', '-n', '3', '--profile', '--report', report, script])).toBe(0);
    } finally {
      if (old === undefined) delete process.env.SUPERSTEP_PROFILE;
      else process.env.SUPERSTEP_PROFILE = old;
    }
    const md = readFileSync(join(report, 'profile.md'), 'utf8');
    // Rank 2 sends 12 words to each of 2 ranks: h = 24 in both supersteps.
    expect(md).toMatch(/\| 0 \| s0 \| [^|]+ \| 24 \|/);
    expect(md).toMatch(/\| 1 \| s1 \| [^|]+ \| 24 \|/);
    expect(existsSync(join(report, 'profile.svg'))).toBe(true);
    expect(err.join('\n')).toContain('superstep profile (2 supersteps, P = 3, sab)');
  });
});
