/**
 * `superstep probe`: measures the BSP parameters g, l and r of this machine for a backend and
 * P, in the method of bspbench and Bulk's benchmark, and saves them to the params file.
 */
import { usableCores } from '../../util/cores.js';
import { startWorld, type Backend, type World } from '../launch/world.js';
import { ArgumentError } from '../../util/errors.js';
import { moduleUrl } from '../../util/module-url.js';
import { fitLinear, median, type FitResidual, type FitSample } from './fit.js';
import { leaveOneOut, type HeldOut } from './extrapolate.js';
import { coresOf, hostName, type ParamsEntry } from './params.js';

const kRankModule = moduleUrl('./probe-rank', import.meta.url).href;

/** Options of probe(). */
export interface ProbeOptions {
  /** Ranks (default: the number of cores). */
  procs?: number;
  backend?: Backend;
  /** The h values, in words per rank (default: 0 and 8 .. 2^19 by factors of 2). */
  hs?: number[];
  /** Timed repetitions per h (default 30; 4 × as many for h <= 2^12, fewer for h >= 2^16). */
  reps?: number;
  /** Untimed supersteps before each h in each pass (default 20; large h add more, see probe-rank.ts). */
  warmup?: number;
  /**
   * Passes over the whole h range (default 3), each with a share of the repetitions: a burst
   * of load from elsewhere on the machine then hits every h a little instead of one h a lot.
   */
  rounds?: number;
  /** Length of the dot product for r (default 2^14). */
  rateLength?: number;
  /** Cells of the streaming sweep for b (default 2^21: 16 MiB per grid, two grids per rank). */
  streamCells?: number;
  /** Called after each h with (done, total, label). */
  onProgress?: (done: number, total: number, label: string) => void;
  /** An existing World to probe on (otherwise one is started and closed). */
  world?: World;
  /** Time limit per job, ms (default 120000). */
  timeoutMs?: number;
}

/** What probe() measured. */
export interface ProbeResult extends ParamsEntry {
  /** Per h: the superstep times (max over ranks per repetition), seconds. */
  samples: FitSample[];
  residuals: FitResidual[];
  rmsRelative: number;
}

/** The default h range: 0, then 8 .. 2^19 words by factors of 2 (4 MiB per rank: past the sab rings, where the cost per word rises). */
export function defaultHs(): number[] {
  const hs = [0];
  for (let h = 8; h <= 1 << 19; h *= 2) hs.push(h);
  return hs;
}

/**
 * Fewer repetitions when a superstep moves a lot of data, so a probe stays short; but at
 * least 3 per pass, so each pass's median is not one superstep's luck.
 */
function repsFor(h: number, reps: number, rounds: number): number {
  if (h >= 1 << 16) return Math.max(3 * rounds, Math.ceil(reps / 2));
  // Small h cost microseconds: many repetitions are cheap and steady the medians that set l.
  return h <= 1 << 12 ? 4 * reps : reps;
}

/** Measures g, l and r (see docs/cost.md). Rejects with the failing rank's error if a rank fails. */
export async function probe(options: ProbeOptions = {}): Promise<ProbeResult> {
  const procs = options.world?.size ?? options.procs ?? usableCores();
  const backend = options.world?.backend ?? options.backend ?? 'sab';
  if (!Number.isInteger(procs) || procs < 1) throw new ArgumentError('procs', 'a positive integer', procs);
  const hs = options.hs ?? defaultHs();
  if (!Array.isArray(hs) || hs.length === 0 || hs.some((h) => !Number.isInteger(h) || h < 0)) {
    throw new ArgumentError('hs', 'a non-empty array of integers >= 0', hs);
  }
  const reps = options.reps ?? 30;
  if (!Number.isInteger(reps) || reps < 1) throw new ArgumentError('reps', 'a positive integer', reps);
  const warmup = options.warmup ?? 20;
  const rounds = options.rounds ?? 3;
  if (!Number.isInteger(rounds) || rounds < 1) throw new ArgumentError('rounds', 'a positive integer', rounds);
  const timeoutMs = options.timeoutMs ?? 120_000;
  const world = options.world ?? (await startWorld({ procs, backend }));
  try {
    const call = async <T>(fn: string, args: unknown[]): Promise<T[]> => {
      const out = await world.job<T>({ kind: 'call', url: kRankModule, fn, args }, { timeoutMs });
      if (!out.ok) {
        const f = out.failure;
        throw new Error(`probe: rank ${f?.rank} failed: ${f?.error.name}: ${f?.error.message}`);
      }
      return out.results as T[];
    };
    // With one rank there are no other ranks to send to: only l is measured.
    const hList = procs === 1 ? [0] : hs;
    const nRounds = Math.min(rounds, reps);
    const total = hList.length * nRounds + 1;
    const samples: FitSample[] = hList.map((h) => ({ h, times: [] }));
    let done = 0;
    // An untimed pass over every h first, so that V8 has optimised every copy path the large
    // h take (interpreted byte loops are tens of times slower) before anything is timed.
    for (const h of hList) await call<number[]>('probeHRelation', [h, 1, 2]);
    for (let round = 0; round < nRounds; round++) {
      for (const [i, h] of hList.entries()) {
        const n = Math.max(1, Math.round(repsFor(h, reps, nRounds) / nRounds));
        const perRank = await call<number[]>('probeHRelation', [h, n, warmup]);
        // A superstep lasts until its slowest rank is done.
        const times = perRank[0]!.map((_, k) => Math.max(...perRank.map((t) => t[k]!)));
        samples[i]!.times.push(...times);
        const all = samples[i]!.times;
        options.onProgress?.(++done, total, `h = ${h} words: median ${(median(all) * 1e6).toFixed(2)} µs${nRounds > 1 ? ` (pass ${round + 1}/${nRounds})` : ''}`);
      }
    }
    const rates = await call<number>('probeRate', [options.rateLength ?? 1 << 14, 60]);
    const r = Math.min(...rates);
    const streams = await call<number>('probeStream', [options.streamCells ?? 1 << 21, 60]);
    const b = Math.min(...streams);
    options.onProgress?.(total, total, `r = ${(r / 1e9).toFixed(3)} Gflop/s, b = ${(b / 1e9).toFixed(2)} GB/s`);
    let l: number, g: number, residuals: FitResidual[], rmsRelative: number;
    if (hList.length === 1) {
      l = median(samples[0]!.times);
      g = 0;
      residuals = [{ h: 0, measured: l, predicted: l, relative: 0, weight: 1 }];
      rmsRelative = 0;
    } else {
      ({ l, g, residuals, rmsRelative } = fitLinear(samples));
    }
    return { host: hostName(), backend, p: procs, g, l, r, b, cores: usableCores(), measuredAt: new Date().toISOString(), residuals, rmsRelative, samples };
  } finally {
    if (!options.world) await world.close();
  }
}

/** The fit as text, for the terminal. */
export function formatProbe(res: ProbeResult): string {
  const lines = [
    `BSP parameters of ${res.host}, backend ${res.backend}, P = ${res.p}:`,
    `  l = ${(res.l * 1e6).toFixed(3)} µs    (synchronisation latency)`,
    `  g = ${(res.g * 1e9).toFixed(3)} ns per word (8-byte double) = ${(res.g * 1e9 / 8).toFixed(3)} ns/byte`,
    `  r = ${(res.r / 1e9).toFixed(3)} Gflop/s (dot product, per rank)`,
    ...(res.b !== undefined ? [`  b = ${(res.b / 1e9).toFixed(2)} GB/s (streaming five-point sweep, bytes touched per rank)`] : []),
    ...(res.cores !== undefined && res.p > res.cores ? [`  P = ${res.p} > ${res.cores} cores: oversubscribed (l and g then depend on the scheduler)`] : []),
    `  g = ${(res.g * res.r).toFixed(1)} flops/word, l = ${(res.l * res.r).toFixed(0)} flops (in units of r)`,
    `fit t = l + g·h on the medians (relative rms residual ${(res.rmsRelative * 100).toFixed(1)}%):`,
    '        h (words)   median t      fit     residual',
  ];
  for (const r of res.residuals) {
    lines.push(`  ${String(r.h).padStart(15)} ${(r.measured * 1e6).toFixed(2).padStart(9)} µs ${(r.predicted * 1e6).toFixed(2).padStart(9)} µs ${((r.relative * 100).toFixed(1) + '%').padStart(8)}${r.weight === 0 ? '  (outlier, not fitted)' : ''}`);
  }
  return lines.join('\n');
}

/** How well the model in P (extrapolate.ts) predicts each probed P from the others. */
export interface ExtrapolationCheck {
  model: string;
  /** The cores the probes saw; P above them are fitted apart (oversubscribed). */
  cores?: number;
  l: HeldOut[];
  g: HeldOut[];
}

/** Leave-one-out errors of l(P) and g(P) over entries of one host and backend (empty below two P). */
export function extrapolationCheck(entries: readonly ParamsEntry[]): ExtrapolationCheck {
  const cores = coresOf(entries);
  const over = (p: number) => cores !== undefined && p > cores;
  return {
    model: 'l(P) = l0 + l1·log2 P, g(P) = g0 + g1·log2 P (least squares, relative error; slopes >= 0)',
    ...(cores !== undefined ? { cores } : {}),
    l: leaveOneOut(entries.map((e) => ({ p: e.p, v: e.l })), 'grows', over),
    // P = 1 measures no g (no other rank to send to).
    g: leaveOneOut(entries.filter((e) => e.p > 1).map((e) => ({ p: e.p, v: e.g })), 'flat', over),
  };
}

/** The leave-one-out table, for the terminal. */
export function formatExtrapolation(c: ExtrapolationCheck): string {
  if (c.l.length === 0) return 'extrapolation in P: probe two or more P (e.g. -n 2,4) to check it';
  const lines = [`extrapolation in P: ${c.model}`, 'leave-one-out (each P predicted from the others):', '      P   from       l measured  l predicted  error     g measured  g predicted  error'];
  c.l.forEach((l) => {
    const g = c.g.find((x) => x.p === l.p);
    const pct = (x: number) => `${x >= 0 ? '+' : ''}${(x * 100).toFixed(0)}%`;
    const us = (x: number) => `${(x * 1e6).toFixed(2)} µs`;
    const ns = (x: number) => `${(x * 1e9).toFixed(3)} ns`;
    const mark = c.cores !== undefined && l.p > c.cores ? ' (P > cores)' : '';
    lines.push(`  ${String(l.p).padStart(5)}   ${l.from.join(',').padEnd(9)} ${us(l.measured).padStart(11)} ${us(l.predicted).padStart(12)} ${pct(l.relative).padStart(6)}  ${g ? `${ns(g.measured).padStart(12)} ${ns(g.predicted).padStart(12)} ${pct(g.relative).padStart(6)}` : '           -            -      -'}${mark}`);
  });
  return lines.join('\n');
}
