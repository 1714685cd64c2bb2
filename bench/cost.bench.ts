/**
 * The BSP cost model, measured: probe g, l, r (as `superstep probe` does) on each backend,
 * then run workloads with profiling on and compare measured superstep times with the
 * predicted w + g·h + l. Prints bench lines (bench/README.md); the fidelity table on stderr.
 *
 *   node --import tsx bench/cost.bench.ts [--quick]
 */
import './tuned.js';
import { loadavg } from 'node:os';
import { startWorld, type Backend } from '../core/launch/world.js';
import { probe } from '../core/cost/probe.js';
import { mergeRecords, type ProfileRow, type SuperstepRecord } from '../core/cost/profile.js';
import { median } from '../core/cost/fit.js';
import { resolveFrom, type ParamsEntry } from '../core/cost/params.js';
import { benchBackends, medianOfJobs, peerOf } from './lib.js';

const quick = process.argv.includes('--quick');
const ranks = new URL('./cost-ranks.ts', import.meta.url).href;
// Every backend at P = 2; sab (the default) at P = 4 too.
const configs: { backend: Backend; p: number }[] = benchBackends().flatMap((backend) => [
  { backend, p: 2 },
  ...(backend === 'sab' && !quick ? [{ backend, p: 4 }] : []),
]);

const emit = (o: Record<string, unknown>) => console.log(JSON.stringify(o));
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
    if (ex) emit({ name: 'extrapolated_l_over_measured', backend, p, value: +(ex.l / res.l).toFixed(3), unit: 'ratio', better: 'none', extra: { from: ex.from, l_extrapolated_us: ex.l * 1e6, l_measured_us: res.l * 1e6 } });
    probed.push(res);
    const peer = peerOf(backend);
    emit({ name: 'bsp_l_us', backend, p, value: +(res.l * 1e6).toFixed(3), unit: 'us', better: 'lower', compare: { [peer]: 'bsp_l_us_robust' } });
    emit({ name: 'bsp_g_ns_per_double', backend, p, value: +(res.g * 1e9).toFixed(4), unit: 'ns_per_double', better: 'lower', compare: { [peer]: 'bsp_g_ns_per_double_robust' } });
    emit({ name: 'bsp_r_GFlops', backend, p, value: +(res.r / 1e9).toFixed(3), unit: 'GFlops', better: 'higher', compare: { node: 'js_dot_GFlops' } });
    emit({ name: 'bsp_fit_rms_relative', backend, p, value: +res.rmsRelative.toFixed(4), unit: 'ratio', better: 'lower', extra: { residuals: res.residuals } });

    const workloads: { label: string; fn: string; args: unknown[] }[] = [
      // Enough supersteps that a burst of load (a GC, a neighbour) cannot move the median.
      { label: 'empty superstep', fn: 'hrelation', args: [0, 200, quick ? 200 : 1000] },
      { label: 'h-relation 1000', fn: 'hrelation', args: [1000, 100, quick ? 100 : 500] },
      { label: 'h-relation 20000', fn: 'hrelation', args: [20000, 10, quick ? 10 : 60] },
      { label: 'h-relation 200000', fn: 'hrelation', args: [200000, 10, quick ? 10 : 40] },
      // Four ways to write the same allreduce: a fromArray copy into new memory every
      // superstep or packages kept and refilled; fresh receive buffers (the default) or
      // bsp.reuseReceiveBuffers(true). They differ in how much memory each superstep
      // allocates, a cost the model does not have (docs/cost.md, "Fidelity").
      { label: 'allreduce 8 MiB', fn: 'allreduce', args: [1 << 20, 10, quick ? 3 : 10] },
      { label: 'allreduce 8 MiB, reused buffers', fn: 'allreduce', args: [1 << 20, 10, quick ? 3 : 10, true] },
      { label: 'allreduce 8 MiB, kept packages', fn: 'allreduce', args: [1 << 20, 10, quick ? 3 : 10, false, true] },
      { label: 'allreduce 8 MiB, kept packages, reused buffers', fn: 'allreduce', args: [1 << 20, 10, quick ? 3 : 10, true, true] },
      { label: 'matvec 4096', fn: 'matvec', args: [4096, 2, quick ? 5 : 12] },
      { label: 'jacobi 2048', fn: 'jacobi', args: [2048, 3, quick ? 10 : 30] },
    ];
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
      }
    }
    // The bsp.sync data path against the transport's own time for the same traffic. Last:
    // megabyte-sized puts change how fast this World's ranks allocate for the rest of its life
    // (the allocator's state; measured: h = 20000 supersteps 3x slower after them).
    for (const h of [0, 200000]) {
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
process.stderr.write(`\nFidelity: predicted (w + g·h + l, probe parameters) vs measured superstep time, medians over supersteps (load average at the end: ${load})\n\n` + fidelity.join('\n') + '\n');
