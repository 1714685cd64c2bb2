/**
 * The cost-model commands of the `superstep` CLI:
 *
 *   superstep probe [-n P[,P...]] [--backend NAME] [--reps N] [--max-h WORDS] [--no-save] [--json]
 *   superstep predict (--h WORDS [--w FLOPS | --bytes BYTES | --w-seconds S] | --workload NAME --size N)
 *                     [--supersteps S] [-n P] [--backend B] [--g NS --l US --r GFLOPS [--b GBS]] [--json]
 *   superstep scaling [--quick] ...   (scaling-cli.ts)
 *
 * and the `--profile` part of `superstep run`.
 */
import { backendList, backendNames } from '../../comm/backends/index.js';
import { parseArgs } from 'node:util';
import type { JobOutcome } from '../launch/world.js';
import { defaultHs, extrapolationCheck, formatExtrapolation, formatProbe, probe, type ProbeResult } from './probe.js';
import { kWorkloads, type WorkloadName } from './counts.js';
import { paramsPath, resolveParams, saveParams, type BspParams, type ResolvedParams } from './params.js';
import { predictWith } from './predict.js';
import { positiveInt, positiveIntList } from './args.js';
import { mergeCollectiveRecords, mergeRecords, type ProfileRecords } from './profile.js';
import { profileMarkdown, writeProfileReport, formatSeconds } from './report.js';

export const kProbeUsage = `usage: superstep probe [-n P[,P...]] [--backend NAME] [--reps N] [--max-h WORDS] [--no-save] [--json]
  measures the BSP parameters g (time per 8-byte word of an h-relation), l (time of a superstep),
  r (dot-product flop/s) and b (streaming bytes/s) and saves them to ${paramsPath()}
  (or $SUPERSTEP_PARAMS). -n 2,4,8 probes each P in turn and reports how well l(P) and g(P)
  extrapolate (each P predicted from the others)`;

export const kPredictUsage = `usage: superstep predict --h WORDS [--w FLOPS] [--bytes BYTES | --w-seconds S] [--supersteps S] [-n P]
                         [--backend NAME] [--g NS_PER_WORD --l US --r GFLOPS [--b GB_PER_S]] [--json]
       superstep predict --workload matvec|jacobi|allreduce --size N [--steps S] [-n P] ...
  predicts a program's time before it runs: the sum over supersteps of w / r + bytes / b + g * h + l
  (w: flops, bytes: bytes touched, h: words, per superstep, max over ranks); --w, --bytes and --h
  take one number, or one per superstep separated by commas. --workload takes the counts of a
  built-in algorithm (matvec: n x n row-block product; jacobi: sweeps of an n x n grid; allreduce:
  n doubles), S times. Parameters come from the params file for this host, backend and P
  (extrapolated when P was not probed), or from --g, --l, --r and --b`;

function fail(cmd: string, msg: string, usage: string): number {
  console.error(`superstep ${cmd}: ${msg}\n${usage}`);
  return 2;
}

/** `superstep probe`. Returns the exit code. */
export async function probeCommand(argv: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        procs: { type: 'string', short: 'n' },
        np: { type: 'string' },
        backend: { type: 'string', default: 'sab' },
        reps: { type: 'string' },
        'max-h': { type: 'string' },
        'no-save': { type: 'boolean' },
        json: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (err) {
    return fail('probe', (err as Error).message, kProbeUsage);
  }
  if (values.help) {
    console.log(kProbeUsage);
    return 0;
  }
  const { usableCores } = await import('../../util/cores.js');
  const procList = positiveIntList(values.procs ?? values.np, [usableCores()]);
  if (procList === undefined) return fail('probe', `-n must be a positive integer or a comma-separated list of them; got '${values.procs ?? values.np}'`, kProbeUsage);
  const backend = values.backend;
  if (!backendNames().includes(backend!)) return fail('probe', `--backend must be ${backendList()}; got '${backend}'`, kProbeUsage);
  const reps = positiveInt(values.reps, 30);
  if (reps === undefined) return fail('probe', `--reps must be a positive integer; got '${values.reps}'`, kProbeUsage);
  const maxH = positiveInt(values['max-h'], 1 << 19);
  if (maxH === undefined || maxH < 8) return fail('probe', `--max-h must be an integer >= 8; got '${values['max-h']}'`, kProbeUsage);
  const hs = defaultHs().filter((h) => h <= maxH);
  const tty = process.stderr.isTTY === true;
  const results: ProbeResult[] = [];
  for (const procs of procList) {
    let res;
    try {
      res = await probe({
        procs,
        backend,
        reps,
        hs,
        onProgress: (done, total, label) => {
          // On a terminal one line is rewritten; in a log each step gets its own line.
          const line = `probe ${backend} P=${procs}: [${done}/${total}] ${label}`;
          if (tty) process.stderr.write(`\r\x1b[K${line}${done === total ? '\n' : ''}`);
          else process.stderr.write(line + '\n');
        },
      });
    } catch (err) {
      if (tty) process.stderr.write('\n');
      console.error(`superstep probe: ${(err as Error).message}`);
      return 1;
    }
    results.push(res);
    if (!values.json) console.log(formatProbe(res) + (procList.length > 1 ? '\n' : ''));
    if (!values['no-save']) {
      const { samples: _samples, ...entry } = res;
      const key = saveParams(entry);
      console.error(`saved ${key} to ${paramsPath()}`);
    }
  }
  const check = procList.length > 1 ? extrapolationCheck(results) : undefined;
  if (values.json) console.log(JSON.stringify(check ? { results, extrapolation: check } : results[0]));
  else if (check) console.log(formatExtrapolation(check));
  return 0;
}

/** A positive integer, or a comma-separated list of distinct ones (in the order given). */
function numberList(name: string, v: string | undefined): number[] | string | undefined {
  if (v === undefined) return undefined;
  const parts = v.split(',').map((s) => s.trim());
  const nums = parts.map(Number);
  if (parts.some((s) => s === '') || nums.some((x) => !Number.isFinite(x) || x < 0)) return `--${name} must be a number >= 0 or a comma-separated list of them; got '${v}'`;
  return nums;
}

/** `superstep predict`. Returns the exit code. */
export async function predictCommand(argv: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        w: { type: 'string' },
        bytes: { type: 'string' },
        'w-seconds': { type: 'string' },
        workload: { type: 'string' },
        size: { type: 'string' },
        steps: { type: 'string' },
        b: { type: 'string' },
        h: { type: 'string' },
        supersteps: { type: 'string' },
        procs: { type: 'string', short: 'n' },
        np: { type: 'string' },
        backend: { type: 'string', default: 'sab' },
        g: { type: 'string' },
        l: { type: 'string' },
        r: { type: 'string' },
        json: { type: 'boolean' },
        help: { type: 'boolean' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (err) {
    return fail('predict', (err as Error).message, kPredictUsage);
  }
  if (values.help) {
    console.log(kPredictUsage);
    return 0;
  }
  const counted = values.w !== undefined || values.bytes !== undefined || values['w-seconds'] !== undefined || values.h !== undefined;
  if (values.workload !== undefined && counted) return fail('predict', 'give --workload or counts (--w, --bytes, --w-seconds, --h), not both', kPredictUsage);
  if (values.workload === undefined && !counted) {
    return fail('predict', 'give at least one of --w, --bytes, --w-seconds, --h (or --workload NAME --size N)', kPredictUsage);
  }
  if (values['w-seconds'] !== undefined && (values.w !== undefined || values.bytes !== undefined)) return fail('predict', 'give --w (flops) and --bytes, or --w-seconds, not both', kPredictUsage);
  const lists: Record<string, number[] | undefined> = {};
  for (const k of ['w', 'bytes', 'w-seconds', 'h'] as const) {
    const v = numberList(k, values[k]);
    if (typeof v === 'string') return fail('predict', v, kPredictUsage);
    lists[k] = v;
  }
  const procs = positiveInt(values.procs ?? values.np, 2);
  if (procs === undefined) return fail('predict', `-n must be a positive integer; got '${values.procs ?? values.np}'`, kPredictUsage);
  const backend = values.backend!;
  if (!backendNames().includes(backend)) return fail('predict', `--backend must be ${backendList()}; got '${backend}'`, kPredictUsage);
  let supersteps: number | undefined;
  if (values.supersteps !== undefined) {
    supersteps = Number(values.supersteps);
    if (!Number.isInteger(supersteps) || supersteps < 0) return fail('predict', `--supersteps must be an integer >= 0; got '${values.supersteps}'`, kPredictUsage);
  }
  const one = (v: number[] | undefined) => (v && v.length === 1 && supersteps !== undefined ? v[0] : v);
  let params: BspParams | ResolvedParams | undefined;
  const given = [values.g, values.l, values.r];
  if (given.some((x) => x !== undefined) || values.b !== undefined) {
    if (given.some((x) => x === undefined)) return fail('predict', 'give all of --g (ns/word), --l (µs) and --r (Gflop/s) (and --b, GB/s, for --bytes), or none', kPredictUsage);
    const [g, l, r] = given.map(Number) as [number, number, number];
    if (![g, l, r].every((x) => Number.isFinite(x) && x >= 0)) return fail('predict', `--g, --l, --r must be numbers >= 0; got ${given.join(', ')}`, kPredictUsage);
    const b = values.b === undefined ? undefined : Number(values.b);
    if (b !== undefined && !(Number.isFinite(b) && b > 0)) return fail('predict', `--b must be a number > 0 (GB/s); got '${values.b}'`, kPredictUsage);
    params = { g: g * 1e-9, l: l * 1e-6, r: r * 1e9, ...(b !== undefined ? { b: b * 1e9 } : {}) };
  } else {
    params = resolveParams(procs, backend);
    if (!params) {
      console.error(`superstep predict: no parameters measured for this host and backend ${backend}: run \`npx superstep probe -n ${procs} --backend ${backend}\` or give --g, --l and --r`);
      return 1;
    }
  }
  const w = one(lists.w);
  const wBytes = one(lists.bytes);
  const wSeconds = one(lists['w-seconds']);
  const h = one(lists.h);
  let pred;
  try {
    if (values.workload !== undefined) {
      const name = values.workload as WorkloadName;
      if (!Object.hasOwn(kWorkloads, name)) return fail('predict', `--workload must be ${Object.keys(kWorkloads).join(', ')}; got '${values.workload}'`, kPredictUsage);
      const size = positiveInt(values.size, 0);
      if (!size) return fail('predict', `--workload needs --size N, a positive integer; got '${values.size}'`, kPredictUsage);
      const steps = positiveInt(values.steps, 1);
      if (steps === undefined) return fail('predict', `--steps must be a positive integer; got '${values.steps}'`, kPredictUsage);
      pred = predictWith({ steps: kWorkloads[name](size, procs, steps), p: procs, backend }, params);
    } else {
      pred = predictWith({ w, wBytes, wSeconds, h, supersteps, p: procs, backend }, params);
    }
  } catch (err) {
    return fail('predict', (err as Error).message, kPredictUsage);
  }
  if (values.json) {
    console.log(JSON.stringify(pred));
    return 0;
  }
  const pr = pred.params;
  const over = pr.oversubscribed ? '; P exceeds the cores probed on: oversubscribed' : '';
  const src = pr.source === 'given' ? 'given' : `${pr.source} for P = ${procs} from P = ${pr.from.join(', ')} (${pr.host}, ${pr.backend})${over}`;
  console.log(`predicted ${formatSeconds(pred.seconds)} for ${pred.supersteps} superstep(s) on P = ${procs}:`);
  console.log(`  compute         ${formatSeconds(pred.compute)}`);
  console.log(`  communication   ${formatSeconds(pred.communication)}  (g = ${(pr.g * 1e9).toPrecision(3)} ns/word)`);
  console.log(`  synchronisation ${formatSeconds(pred.synchronisation)}  (l = ${formatSeconds(pr.l)})`);
  console.log(`  parameters: ${src}`);
  return 0;
}

/**
 * The end of `superstep run --profile`: merges every rank's records (the script jobs' results),
 * prints the table on stderr and writes the report into `dir`.
 */
export function finishProfile(outcome: JobOutcome, procs: number, backend: string, dir: string): void {
  const mine = outcome.results.map((r) => r as ProfileRecords | undefined);
  const perRank = mine.map((r) => (Array.isArray(r?.supersteps) ? r.supersteps : undefined));
  const collectives = mergeCollectiveRecords(mine.map((r) => r?.collectives));
  if (perRank.every((r) => r === undefined || r.length === 0) && collectives.length === 0) {
    console.error('superstep: --profile: no superstep or collective was recorded (does the script call bsp.sync or a collective, and await its work at top level?)');
    return;
  }
  let params: ResolvedParams | undefined;
  try {
    params = resolveParams(procs, backend);
  } catch (err) {
    console.error(`superstep: --profile: cannot read the params file: ${(err as Error).message}`);
  }
  const rows = mergeRecords(perRank, params);
  console.error(`\nsuperstep profile (${rows.length} supersteps, P = ${procs}, ${backend}):\n`);
  console.error(profileMarkdown(rows, params, collectives));
  const files = writeProfileReport(dir, rows, params, collectives);
  console.error(`report: ${files.markdown}, ${files.svg}`);
}
