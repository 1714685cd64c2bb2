/**
 * Does the model choose the fastest algorithm? For every collective with a choice (allreduce,
 * bcast, allgather; comm/collectives/choose.ts), at P = 2, 3, 4 and sizes 8 B .. 8 MiB by x8,
 * on sab with the shared-memory arena off (the message algorithms) and on tcp: each algorithm
 * forced in turn (SUPERSTEP_COLL_ALGO's override) and the model's own choice, timed to a
 * steady state. Prints one line per case (`choose_case`, value: the chosen algorithm's time
 * over the fastest's) and per backend the fraction of cases where the chosen one is the
 * fastest or within 5% of it (`choose_fraction_fastest`; the issue asks >= 0.9).
 *
 *   node --import tsx bench/choose.bench.ts [--quick] [--backends=sab,tcp]
 *
 * The model is the launcher's, from the params file (`superstep probe` for each backend and
 * P first); without one the fixed switch points choose, and `extra.model` says so.
 */
import './tuned.js';
import { startWorld } from '../core/launch/world.js';
import { median } from '../core/cost/fit.js';
import { kAlgorithms, type ChoosableCollective } from '../comm/collectives/choose.js';
import { collectiveModelFor } from '../core/cost/params.js';
import { benchBackends } from './lib.js';

const quick = process.argv.includes('--quick');
const ranks = new URL('./choose-ranks.ts', import.meta.url).href;
const emit = (o: Record<string, unknown>) => console.log(JSON.stringify(o));

const kTolerance = 0.05;
const procs = quick ? [2, 3] : [2, 3, 4];
const sizes: number[] = [];
for (let b = 8; b <= 8 << 20; b *= 8) sizes.push(b);
if (sizes.at(-1) !== 8 << 20) sizes.push(8 << 20);
const caseSizes = quick ? [8, 262144] : sizes;
const runs = quick ? 1 : 3;

/** Calls per timed round: about 20 ms of a call of `bytes` on sab (tcp a quarter of that). */
function repsFor(backend: string, bytes: number): number {
  const r = Math.round(2e7 / (bytes + 2000));
  return Math.max(3, Math.min(quick ? 20 : 2000, Math.round(r * (backend === 'tcp' ? 0.25 : 1))));
}

for (const backend of benchBackends().filter((b) => b === 'sab' || b === 'tcp')) {
  const cases: Record<string, unknown>[] = [];
  for (const p of procs) {
    // sab: the message algorithms (the arena has no choice to make).
    const world = await startWorld({ procs: p, backend, env: backend === 'sab' ? { SUPERSTEP_COMM_SHM: '0' } : {} });
    const model = collectiveModelFor(p, backend) ? 'probed' : 'none (default switch points)';
    try {
      for (const kind of Object.keys(kAlgorithms) as ChoosableCollective[]) {
        const algos = [...kAlgorithms[kind]];
        for (const bytes of caseSizes) {
          // The ring allreduce needs an element (float64 here) per rank: below that there is no choice.
          if (kind === 'allreduce' && bytes / 8 < p) continue;
          const variants = [...algos, null];
          const per: number[][] = variants.map(() => []);
          let chosen = '';
          let predicted: (number | null)[] = [];
          for (let i = 0; i < runs; i++) {
            const out = await world.job<{ ms: number[]; chosen: string; predicted: (number | null)[] }>({ kind: 'call', url: ranks, fn: 'timeVariants', args: [kind, bytes, repsFor(backend, bytes), variants] }, { timeoutMs: 300_000 });
            if (!out.ok) throw new Error(`${kind} ${bytes} B at P = ${p} on ${backend}: rank ${out.failure?.rank}: ${out.failure?.error.message}`);
            const r = out.results[0]!;
            r.ms.forEach((t, j) => per[j]!.push(t));
            ({ chosen, predicted } = r);
          }
          const ms = per.map((xs) => median(xs));
          const forced = Object.fromEntries(algos.map((a, j) => [a, +ms[j]!.toPrecision(4)]));
          const fastest = algos[ms.slice(0, algos.length).indexOf(Math.min(...ms.slice(0, algos.length)))]!;
          const ratio = forced[chosen]! / forced[fastest]!;
          const ok = ratio <= 1 + kTolerance;
          const c = { collective: kind, p, bytes, ms: forced, chosen_ms: +ms[algos.length]!.toPrecision(4), chosen, fastest, ok, predicted_ms: Object.fromEntries(algos.map((a, j) => [a, predicted[j] === null ? null : +(predicted[j]! * 1e3).toPrecision(4)])) };
          cases.push(c);
          emit({ name: 'choose_case', backend, p, value: +ratio.toFixed(3), unit: 'ratio', better: 'lower', extra: { ...c, model } });
          process.stderr.write(`${backend} P=${p} ${kind} ${bytes} B: ${algos.map((a) => `${a} ${forced[a]} ms`).join(', ')}; chosen ${chosen} (${ok ? 'ok' : `${ratio.toFixed(2)}x the fastest`})\n`);
        }
      }
    } finally {
      await world.close();
    }
  }
  const good = cases.filter((c) => c.ok).length;
  emit({ name: 'choose_fraction_fastest', backend, p: Math.max(...procs), value: +(good / cases.length).toFixed(3), unit: 'ratio', better: 'higher', extra: { cases: cases.length, chosen_fastest_or_within_5pct: good, tolerance: kTolerance, procs, sizes: caseSizes, quick } });
}
