/**
 * `superstep scaling`: the command around scaling.ts (see there and docs/cost.md §5).
 */
import { existsSync } from 'node:fs';
import { usableCores } from '../../util/cores.js';
import { parseArgs } from 'node:util';
import { backendList, backendNames } from '../../comm/backends/index.js';
import type { Backend } from '../launch/world.js';
import { hostName, readParamsFile, resolveFrom, resolveParams, type BspParams, type ParamsEntry } from './params.js';
import { positiveIntList } from './args.js';
import { probe } from './probe.js';
import { scaling, type ScalingMode, type ScalingWorkload } from './scaling.js';
import { scalingMarkdown, writeScalingReport } from './scaling-report.js';

export const kScalingUsage = `usage: superstep scaling [--quick] [-n P,P,...] [--backend NAME] [--workloads matvec,jacobi]
                         [--modes strong,weak] [--matvec-n N] [--jacobi-n N] [--reps R] [--warmup W]
                         [--cluster FILE [--cluster-host H] [--cluster-backend B] | --cluster-g NS --cluster-l US]
                         [--cluster-procs P,P,...] [--report DIR] [--json]
  runs the row-block matvec and Jacobi at P = 1..8 (-n), strong (one problem) and weak (the same
  work per rank) scaling, predicts each from its counts and this machine's parameters (the params
  file; a short probe at P = 1 and 2 if it has none), and extends the prediction to P = 64..1024 for a
  cluster: the g and l of a params file (--cluster, e.g. from \`superstep probe --backend tcp\` run
  on the cluster) or given (--cluster-g ns/word, --cluster-l µs at P = 2), else an illustrative
  25 GbE profile. Writes scaling.md, scaling.svg and scaling.json into DIR (superstep-scaling).
  --quick: P = 1,2, n = 256, 5 iterations (seconds)`;

/**
 * An illustrative cluster, not a measurement: 25 Gb/s links at 90% (2.8 GB/s: 2.9 ns per
 * 8-byte word) and a superstep of 30 µs at P = 2 (two TCP round trips on a switch), l growing
 * with log2 P by the one-point rule of extrapolate.ts. Probe the real one and pass --cluster.
 */
export const kExampleCluster: ParamsEntry = { host: 'example-25gbe', backend: 'tcp', p: 2, g: 2.9e-9, l: 30e-6, r: 0, measuredAt: 'illustrative, not measured' };

function fail(msg: string): number {
  console.error(`superstep scaling: ${msg}\n${kScalingUsage}`);
  return 2;
}


/** `superstep scaling`. Returns the exit code. */
export async function scalingCommand(argv: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        quick: { type: 'boolean' },
        procs: { type: 'string', short: 'n' },
        backend: { type: 'string', default: 'sab' },
        workloads: { type: 'string' },
        modes: { type: 'string' },
        'matvec-n': { type: 'string' },
        'jacobi-n': { type: 'string' },
        reps: { type: 'string' },
        warmup: { type: 'string' },
        cluster: { type: 'string' },
        'cluster-host': { type: 'string' },
        'cluster-backend': { type: 'string', default: 'tcp' },
        'cluster-g': { type: 'string' },
        'cluster-l': { type: 'string' },
        'cluster-procs': { type: 'string' },
        report: { type: 'string', default: 'superstep-scaling' },
        json: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (err) {
    return fail((err as Error).message);
  }
  if (values.help) {
    console.log(kScalingUsage);
    return 0;
  }
  const quick = values.quick === true;
  const backend = values.backend as Backend;
  if (!backendNames().includes(backend)) return fail(`--backend must be ${backendList()}; got '${backend}'`);
  const procs = positiveIntList(values.procs, quick ? [1, 2] : [1, 2, 3, 4, 5, 6, 7, 8]);
  if (!procs) return fail(`-n must be a comma-separated list of positive integers; got '${values.procs}'`);
  const clusterProcs = positiveIntList(values['cluster-procs'], [64, 128, 256, 512, 1024]);
  if (!clusterProcs) return fail(`--cluster-procs must be a comma-separated list of positive integers; got '${values['cluster-procs']}'`);
  const pick = <T extends string>(flag: string, v: string | undefined, all: readonly T[]): T[] | string => {
    if (v === undefined) return [...all];
    const xs = v.split(',').map((s) => s.trim());
    const bad = xs.find((x) => !all.includes(x as T));
    return bad === undefined ? (xs as T[]) : `--${flag} must be a comma-separated list of ${all.join(', ')}; got '${bad}'`;
  };
  const workloads = pick<ScalingWorkload>('workloads', values.workloads, ['matvec', 'jacobi']);
  if (typeof workloads === 'string') return fail(workloads);
  const modes = pick<ScalingMode>('modes', values.modes, ['strong', 'weak']);
  if (typeof modes === 'string') return fail(modes);
  const num = (flag: string, v: string | undefined, fallback: number): number | undefined => {
    if (v === undefined) return fallback;
    const x = Number(v);
    return Number.isInteger(x) && x >= 1 ? x : (fail(`--${flag} must be a positive integer; got '${v}'`), undefined);
  };
  const matvecN = num('matvec-n', values['matvec-n'], quick ? 256 : 1024);
  const jacobiN = num('jacobi-n', values['jacobi-n'], quick ? 256 : 1024);
  const reps = num('reps', values.reps, quick ? 5 : 15);
  const warmup = num('warmup', values.warmup, quick ? 2 : 5);
  if (matvecN === undefined || jacobiN === undefined || reps === undefined || warmup === undefined) return 2;

  // The cluster's g and l.
  let cluster: ParamsEntry[];
  let clusterName: string;
  if (values.cluster !== undefined) {
    if (!existsSync(values.cluster)) return fail(`--cluster: no file ${values.cluster} (a params file, as \`superstep probe\` writes)`);
    let entries: ParamsEntry[];
    try {
      entries = Object.values(readParamsFile(values.cluster)).filter((e) => e.backend === values['cluster-backend']);
    } catch (err) {
      return fail(`--cluster: ${(err as Error).message}`);
    }
    const host = values['cluster-host'] ?? entries[0]?.host;
    cluster = entries.filter((e) => e.host === host);
    if (!cluster.length) return fail(`--cluster ${values.cluster} has no entry for backend ${values['cluster-backend']}${values['cluster-host'] ? ` and host ${values['cluster-host']}` : ''}`);
    clusterName = `${host} (${values.cluster})`;
  } else if (values['cluster-g'] !== undefined || values['cluster-l'] !== undefined) {
    const g = Number(values['cluster-g']), l = Number(values['cluster-l']);
    if (!(g >= 0 && l >= 0)) return fail(`give both --cluster-g (ns/word) and --cluster-l (µs at P = 2), numbers >= 0; got '${values['cluster-g']}', '${values['cluster-l']}'`);
    cluster = [{ ...kExampleCluster, host: 'given', g: g * 1e-9, l: l * 1e-6, measuredAt: 'given' }];
    clusterName = `given (g = ${g} ns/word, l = ${l} µs at P = 2)`;
  } else {
    cluster = [kExampleCluster];
    clusterName = 'an illustrative 25 GbE cluster (g = 2.9 ns/word, l = 30 µs at P = 2; not measured)';
  }
  const clusterHost = cluster[0]!.host, clusterBackend = cluster[0]!.backend;

  // This machine's parameters: the params file, else a short probe (not saved).
  const host = hostName();
  let local: ParamsEntry[] = [];
  if (!resolveParams(1, backend)) {
    const ps = Math.max(...procs) > 1 ? [1, 2] : [1];
    console.error(`superstep scaling: no parameters for ${host}/${backend} in the params file: a short probe at P = ${ps.join(', ')} (not saved; \`npx superstep probe -n 1,2,4 --backend ${backend}\` measures better ones)`);
    for (const p of ps) {
      const { samples: _s, ...entry } = await probe({ procs: p, backend, reps: 6, rounds: 1, warmup: 5, hs: [0, 8, 64, 512, 4096, 32768, 131072] });
      local.push(entry);
    }
  }
  const paramsFor = (p: number): BspParams => (local.length ? resolveFrom(local, p, backend, host) : resolveParams(p, backend))!;
  const clusterFor = (p: number): BspParams => resolveFrom(cluster, p, clusterBackend, clusterHost)!;

  let report;
  try {
    report = await scaling({
      backend, procs, clusterProcs, workloads, modes, matvecN, jacobiN, reps, warmup, paramsFor, clusterFor,
      cores: usableCores(),
      onProgress: (line) => console.error(line),
    });
  } catch (err) {
    console.error(`superstep scaling: ${(err as Error).message}`);
    return 1;
  }
  const files = writeScalingReport(values.report!, report);
  if (values.json) console.log(JSON.stringify({ ...report, cluster: clusterName }));
  else console.log(`Cluster: ${clusterName}\n\n${scalingMarkdown(report)}`);
  console.error(`report: ${files.markdown}, ${files.svg}`);
  return 0;
}
