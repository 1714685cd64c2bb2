/**
 * The BSP cost model, measured: probe g, l, r (as `superstep probe` does) on each backend,
 * then run workloads with profiling on and compare measured superstep times with the
 * predicted w + g·h + l. Prints bench lines (bench/README.md); the fidelity table on stderr.
 *
 * Each workload is also predicted *before running*, from its counts (core/cost/counts.ts) and
 * the probe's rates (r for flops, b for bytes touched), with no measured w: the
 * `true_prediction_*` lines, with the median and 90th percentile of |measured / predicted - 1|
 * over the workload's supersteps (goal: <= 10% and <= 25% where P <= cores).
 *
 *   node --import tsx bench/cost.bench.ts [--quick] [--configs sab:2,tcp:2,tcp:4] [--workloads matvec,jacobi] [--no-sync-path]
 */
import './tuned.js';
import { availableParallelism, loadavg } from 'node:os';
import { startWorld, type Backend } from '../core/launch/world.js';
import { probe } from '../core/cost/probe.js';
import { mergeRecords, type ProfileRow, type SuperstepRecord } from '../core/cost/profile.js';
import { median } from '../core/cost/fit.js';
import { resolveFrom, type ParamsEntry } from '../core/cost/params.js';
import { allreduceCounts, groupByCounts, rowJacobiCounts, rowMatvecCounts } from '../core/cost/counts.js';
import { predictWith, type SuperstepCounts } from '../core/cost/predict.js';
import { benchBackends, medianOfJobs, peerOf } from './lib.js';

const quick = process.argv.includes('--quick');
const ranks = new URL('./cost-ranks.ts', import.meta.url).href;
const argOf = (name: string): string | undefined => {
  const i = process.argv.indexOf(name);
  return i < 0 ? undefined : process.argv[i + 1];
};
// Every backend at P = 2; sab and tcp at P = 4 too (oversubscribed on 2 cores: reported).
const configs: { backend: Backend; p: number }[] = argOf('--configs')
  ? argOf('--configs')!.split(',').map((c) => ({ backend: c.split(':')[0] as Backend, p: Number(c.split(':')[1]) }))
  : benchBackends().flatMap((backend) => [{ backend, p: 2 }, ...((backend === 'sab' || backend === 'tcp') && !quick ? [{ backend, p: 4 }] : [])]);
const only = argOf('--workloads')?.split(',');
const cores = availableParallelism();

const emit = (o: Record<string, unknown>) => console.log(JSON.stringify(o));
const truePred: string[] = [
  '| backend | P | workload | supersteps | counts per superstep | median predicted | median measured t | median measured / predicted | median abs error | 90th pct abs error |',
  '| --- | ---: | --- | ---: | --- | ---: | ---: | ---: | ---: | ---: |',
];
const fidelity: string[] = ['| backend | P | workload | supersteps | h (words) | median w | median measured t | median predicted | measured / predicted |', '| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: |'];

const probed: ParamsEntry[] = [];
for (const { backend, p } of configs) {
  const world = await startWorld({ procs: p, backend });
  try {
    const res = await probe({
      world,
      reps: quick ? 8 : 30,
      onProgress: (d, t, label) => process.stderr.write(`probe ${backend} P=${p} [${d}/${t}] ${label}\n`),
    });
    // How well does extrapolating from the smaller P predict this P's l? (docs/cost.md)
    const smaller = probed.filter((e) => e.backend === backend && e.p < p);
    const ex = resolveFrom(smaller, p, backend, res.host);
    if (ex) {
      const over = { oversubscribed: p > cores };
      emit({ name: 'extrapolated_l_over_measured', backend, p, value: +(ex.l / res.l).toFixed(3), unit: 'ratio', better: 'none', extra: { from: ex.from, l_extrapolated_us: ex.l * 1e6, l_measured_us: res.l * 1e6, ...over } });
      emit({ name: 'extrapolated_g_over_measured', backend, p, value: +(ex.g / res.g).toFixed(3), unit: 'ratio', better: 'none', extra: { from: ex.from, g_extrapolated_ns: ex.g * 1e9, g_measured_ns: res.g * 1e9, ...over } });
    }
    probed.push(res);
    const peer = peerOf(backend);
    emit({ name: 'bsp_l_us', backend, p, value: +(res.l * 1e6).toFixed(3), unit: 'us', better: 'lower', compare: { [peer]: 'bsp_l_us_robust' } });
    emit({ name: 'bsp_g_ns_per_double', backend, p, value: +(res.g * 1e9).toFixed(4), unit: 'ns_per_double', better: 'lower', compare: { [peer]: 'bsp_g_ns_per_double_robust' } });
    emit({ name: 'bsp_r_GFlops', backend, p, value: +(res.r / 1e9).toFixed(3), unit: 'GFlops', better: 'higher', compare: { node: 'js_dot_GFlops' } });
    emit({ name: 'bsp_fit_rms_relative', backend, p, value: +res.rmsRelative.toFixed(4), unit: 'ratio', better: 'lower', extra: { residuals: res.residuals } });

    type Workload = { label: string; fn: string; args: unknown[]; counts?: (phrase: string) => SuperstepCounts | undefined };
    const ar = allreduceCounts(1 << 20, p);
    const arCounts = (phrase: string) => (phrase.endsWith('reduce-scatter') ? ar[0] : ar[1]);
    const hrel = (h: number) => () => ({ h });
    const all: Workload[] = [
      // Enough supersteps that a burst of load (a GC, a neighbour) cannot move the median.
      { label: 'empty superstep', fn: 'hrelation', args: [0, 200, quick ? 200 : 1000], counts: hrel(0) },
      { label: 'h-relation 1000', fn: 'hrelation', args: [1000, 100, quick ? 100 : 500], counts: hrel(1000) },
      { label: 'h-relation 20000', fn: 'hrelation', args: [20000, 10, quick ? 10 : 60], counts: hrel(20000) },
      { label: 'h-relation 200000', fn: 'hrelation', args: [200000, 10, quick ? 10 : 40], counts: hrel(200000) },
      // Four ways to write the same allreduce: a fromArray copy into new memory every
      // superstep or packages kept and refilled; fresh receive buffers (the default) or
      // bsp.reuseReceiveBuffers(true). They differ in how much memory each superstep
      // allocates, a cost the model does not have (docs/cost.md, "Fidelity").
      { label: 'allreduce 8 MiB', fn: 'allreduce', args: [1 << 20, 10, quick ? 3 : 10], counts: arCounts },
      { label: 'allreduce 8 MiB, reused buffers', fn: 'allreduce', args: [1 << 20, 10, quick ? 3 : 10, true], counts: arCounts },
      { label: 'allreduce 8 MiB, kept packages', fn: 'allreduce', args: [1 << 20, 10, quick ? 3 : 10, false, true], counts: arCounts },
      { label: 'allreduce 8 MiB, kept packages, reused buffers', fn: 'allreduce', args: [1 << 20, 10, quick ? 3 : 10, true, true], counts: arCounts },
      { label: 'matvec 4096', fn: 'matvec', args: [4096, 2, quick ? 5 : 12], counts: () => rowMatvecCounts(4096, 4096, p)[0] },
      { label: 'jacobi 2048', fn: 'jacobi', args: [2048, 3, quick ? 10 : 30], counts: () => rowJacobiCounts(2048, 2048, p)[0] },
    ];
    const workloads = only ? all.filter((w) => only.includes(w.fn)) : all;
    // Untimed: loads (and transpiles) the workload module, so that work does not land in the first workload.
    await world.job({ kind: 'call', url: ranks, fn: 'hrelation', args: [0, 10, 10] }, { timeoutMs: 60_000 });
    for (const wl of workloads) {
      // Each workload runs twice and the first is discarded: code a World has not yet run
      // is compiled while it runs (empty supersteps took 5 µs in a first job, 2.6 in a third).
      await world.job({ kind: 'call', url: ranks, fn: wl.fn, args: wl.args }, { timeoutMs: 120_000 });
      const out = await world.job<SuperstepRecord[]>({ kind: 'call', url: ranks, fn: wl.fn, args: wl.args }, { timeoutMs: 120_000 });
      if (!out.ok) throw new Error(`${wl.label} on ${backend} P=${p}: rank ${out.failure?.rank}: ${out.failure?.error.message}`);
      const rows = mergeRecords(out.results, res);
      const groups = new Map<string, ProfileRow[]>();
      for (const r of rows) groups.set(r.passPhrase ?? '', [...(groups.get(r.passPhrase ?? '') ?? []), r]);
      for (const [phrase, rs] of groups) {
        if (phrase.endsWith(' end')) continue; // the closing superstep of a workload, not part of it
        const ratio = median(rs.map((r) => r.t / r.predicted!));
        const label = wl.fn === 'allreduce' ? `${wl.label} (${phrase.replace('allreduce ', '')})` : wl.label;
        const key = label.replace(/[^a-zA-Z0-9]+/g, '_').replace(/_+$/, '').toLowerCase();
        const med = (f: (r: ProfileRow) => number) => median(rs.map(f));
        emit({
          name: `fidelity_${key}_measured_over_predicted`, backend, p, value: +ratio.toFixed(3), unit: 'ratio', better: 'none',
          extra: { supersteps: rs.length, h: med((r) => r.h), w_us: med((r) => r.w) * 1e6, measured_us: med((r) => r.t) * 1e6, predicted_us: med((r) => r.predicted!) * 1e6 },
        });
        const us = (s: number) => (s * 1e6 >= 1000 ? `${(s * 1e3).toFixed(2)} ms` : `${(s * 1e6).toFixed(1)} µs`);
        fidelity.push(`| ${backend} | ${p} | ${label} | ${rs.length} | ${Math.round(med((r) => r.h))} | ${us(med((r) => r.w))} | ${us(med((r) => r.t))} | ${us(med((r) => r.predicted!))} | ${ratio.toFixed(2)} |`);
        // The true prediction: counts and the probe's rates, no measured w.
        const c = wl.counts?.(phrase);
        const pred = c ? predictWith({ steps: [c] }, res).seconds : 0;
        // (A probe on a loaded machine can fit l = 0: then an empty superstep has no prediction.)
        if (c && pred > 0) {
          const ratios = rs.map((r) => r.t / pred);
          const errs = ratios.map((x) => Math.abs(x - 1)).sort((x, y) => x - y);
          const p90 = errs[Math.min(errs.length - 1, Math.ceil(0.9 * errs.length) - 1)]!;
          const medErr = median(errs);
          const over = p > cores;
          emit({
            name: `true_prediction_${key}_measured_over_predicted`, backend, p, value: +median(ratios).toFixed(3), unit: 'ratio', better: 'none',
            extra: { supersteps: rs.length, counts: c, predicted_us: pred * 1e6, measured_us: med((r) => r.t) * 1e6, median_abs_error: +medErr.toFixed(3), p90_abs_error: +p90.toFixed(3), oversubscribed: over, goal: over ? 'reported (P > cores)' : medErr <= 0.1 && p90 <= 0.25 ? 'met' : 'missed' },
          });
          const what = [c.flops ? `${c.flops} flops` : '', c.bytes ? `${c.bytes} bytes` : '', `h ${c.h}`].filter(Boolean).join(', ');
          const pct = (x: number) => `${(x * 100).toFixed(0)}%`;
          truePred.push(`| ${backend} | ${p}${over ? ' (over)' : ''} | ${label} | ${rs.length} | ${what} | ${us(pred)} | ${us(med((r) => r.t))} | ${median(ratios).toFixed(2)} | ${pct(medErr)} | ${pct(p90)} |`);
        }
      }
    }
    // DistFrame groupBy, timed per call (its alltoallv is a collective, not a bsp.sync), predicted from groupByCounts.
    if (!only || only.includes('groupby')) {
      const rows = 1 << 20, groups = 1 << 12, reps = quick ? 5 : 15;
      await world.job({ kind: 'call', url: ranks, fn: 'groupby', args: [rows, groups, 2, 2] }, { timeoutMs: 120_000 });
      const out = await world.job<number[]>({ kind: 'call', url: ranks, fn: 'groupby', args: [rows, groups, 3, reps] }, { timeoutMs: 120_000 });
      if (!out.ok) throw new Error(`groupby on ${backend} P=${p}: rank ${out.failure?.rank}: ${out.failure?.error.message}`);
      const per = out.results[0]!.map((_, i) => Math.max(...out.results.map((t) => t![i]!)));
      const steps = groupByCounts({ rows, keys: 1, columns: 1, groups, p });
      const pred = predictWith({ steps }, res).seconds;
      const ratios = per.map((t) => t / pred);
      const errs = ratios.map((x) => Math.abs(x - 1)).sort((x, y) => x - y);
      const p90 = errs[Math.min(errs.length - 1, Math.ceil(0.9 * errs.length) - 1)]!;
      const medErr = median(errs);
      const over = p > cores;
      emit({
        name: 'true_prediction_groupby_1m_rows_measured_over_predicted', backend, p, value: +median(ratios).toFixed(3), unit: 'ratio', better: 'none',
        extra: { calls: per.length, counts: steps, predicted_us: pred * 1e6, measured_us: median(per) * 1e6, median_abs_error: +medErr.toFixed(3), p90_abs_error: +p90.toFixed(3), oversubscribed: over, goal: over ? 'reported (P > cores)' : medErr <= 0.1 && p90 <= 0.25 ? 'met' : 'missed' },
      });
      const us = (s: number) => (s * 1e6 >= 1000 ? `${(s * 1e3).toFixed(2)} ms` : `${(s * 1e6).toFixed(1)} µs`);
      truePred.push(`| ${backend} | ${p}${over ? ' (over)' : ''} | groupBy 2^20 rows, 4096 groups (whole agg) | ${per.length} calls | ${steps.map((c) => `${c.bytes} bytes, h ${c.h}`).join('; ')} | ${us(pred)} | ${us(median(per))} | ${median(ratios).toFixed(2)} | ${(medErr * 100).toFixed(0)}% | ${(p90 * 100).toFixed(0)}% |`);
    }
    // The bsp.sync data path against the transport's own time for the same traffic. Last:
    // megabyte-sized puts change how fast this World's ranks allocate for the rest of its life
    // (the allocator's state; measured: h = 20000 supersteps 3x slower after them).
    for (const h of process.argv.includes('--no-sync-path') ? [] : [0, 200000]) {
      const reps = h ? (quick ? 20 : 60) : quick ? 500 : 2000;
      const runs = quick ? 1 : 3;
      const sync = await medianOfJobs(world, ranks, 'syncBench', ['pkg', h, reps >> 2, reps], runs);
      const limit = await medianOfJobs(world, ranks, 'transportBench', [h, reps >> 2, reps], runs);
      const extra = { h, transport_us: +limit.toFixed(3), over_transport: +(sync / limit).toFixed(3), what: h ? 'packages (createArray + toProc), h words per rank' : 'empty superstep vs transport barrier' };
      emit({ name: h ? 'bsp_sync_h200000_us' : 'bsp_sync_empty_us', backend, p, value: +sync.toFixed(3), unit: 'us', better: 'lower', extra });
      if (h) {
        const put = await medianOfJobs(world, ranks, 'syncBench', ['put', h, reps >> 2, reps], runs);
        emit({ name: 'bsp_sync_put_h200000_us', backend, p, value: +put.toFixed(3), unit: 'us', better: 'lower', extra: { ...extra, what: 'DRMA bsp.put, h words per rank', over_transport: +(put / limit).toFixed(3) } });
      }
      process.stderr.write(`bsp.sync ${backend} P=${p} h=${h}: ${sync.toFixed(1)} µs, transport ${limit.toFixed(1)} µs (${(sync / limit).toFixed(2)}x)\n`);
    }
  } finally {
    await world.close();
  }
}
const load = loadavg().map((x) => x.toFixed(1)).join(' / ');
process.stderr.write(`\nTrue prediction: counts × the probe's rates (r flop/s, b bytes/s), g, l; no measured w (load average at the end: ${load}; ${cores} cores)\n\n` + truePred.join('\n') + '\n');
process.stderr.write(`\nFidelity: predicted (w + g·h + l, probe parameters) vs measured superstep time, medians over supersteps (load average at the end: ${load})\n\n` + fidelity.join('\n') + '\n');
