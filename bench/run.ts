/**
 * `npm run bench`: runs every bench/*.bench.ts, the plain-Node limits and (where installed)
 * the mpi4py peer in one run, and writes bench/results/<date>.{json,md} and SVG charts of the
 * ratios. See bench/README.md.
 *
 *   node --import tsx bench/run.ts [--only a,b] [--no-peers] [--no-mpi] [--peer-p 2,4] [--out DIR] [--dir DIR] [--timeout S]
 */
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { hostname, loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { fitLinear } from '../core/cost/fit.js';
import { computeRatios, lastJsonObject, parseBenchOutput, ratiosMarkdown, ratiosSvg, type BenchLine, type PeerResults } from './lib.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const benchDir = join(root, 'bench');

/** Where the peers live: $SUPERSTEP_PEERS, else ../shared/peers beside the repo. */
export function peersDir(): string | undefined {
  const cands = [process.env.SUPERSTEP_PEERS, join(root, '..', 'shared', 'peers')].filter((x): x is string => !!x);
  return cands.find((d) => existsSync(join(d, 'node_limits.mjs')) || existsSync(join(d, 'mpi4py_bench.py')));
}

interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
  timedOut: boolean;
}

/** Runs a command, streaming its stderr (progress) with a prefix, collecting stdout. */
function runCmd(cmd: string, args: string[], opts: { env?: NodeJS.ProcessEnv; timeoutMs: number; label: string }): Promise<Ran> {
  return new Promise((resolveRun) => {
    const t0 = performance.now();
    const child = spawn(cmd, args, { cwd: root, env: opts.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => {
      const s = d.toString();
      stderr += s;
      for (const line of s.split(/\r?\n|\r/)) if (line.trim()) process.stderr.write(`  [${opts.label}] ${line}\n`);
    });
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, opts.timeoutMs);
    child.on('error', (err) => {
      stderr += String(err);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolveRun({ code, stdout, stderr, ms: performance.now() - t0, timedOut });
    });
  });
}

function has(cmd: string, args: string[]): boolean {
  const r = spawnSync(cmd, args, { stdio: 'ignore', timeout: 20_000 });
  return r.status === 0;
}

/** The Python with mpi4py and numpy (Debian's), if any. */
function mpiPython(): string | undefined {
  if (!has('mpirun', ['--version'])) return undefined;
  for (const py of ['/usr/bin/python3', 'python3']) if (has(py, ['-c', 'import mpi4py, numpy'])) return py;
  return undefined;
}

/** The mpi4py peer's command line for P ranks, over shared memory or Open MPI's TCP transport. */
export function mpiArgs(p: number, tcp: boolean, python: string, script: string): string[] {
  const tcpArgs = tcp ? ['--mca', 'pml', 'ob1', '--mca', 'btl', 'self,tcp', '--mca', 'btl_tcp_if_include', 'lo', '--mca', 'oob_tcp_if_include', 'lo'] : [];
  return ['--allow-run-as-root', '--oversubscribe', '-n', String(p), ...tcpArgs, python, script];
}

/** The peer's environment: numpy's OpenBLAS without the machine's compatibility overrides, one thread per rank. */
export function peerEnv(env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const e = { ...env };
  delete e.OPENBLAS_CORETYPE;
  delete e.OPENBLAS_L2_SIZE;
  e.OPENBLAS_NUM_THREADS = '1';
  e.OMP_NUM_THREADS = '1';
  return e;
}

/**
 * Adds `bsp_l_us_robust` and `bsp_g_ns_per_double_robust` to a peer's output: the mpi4py
 * peer's raw probe points (bsp_H_doubles, bsp_t_us) refitted with superstep's robust fit, so
 * that both sides' g and l come from the same estimator (its own plain least squares is
 * dominated by the largest h and can give a negative l on a busy machine).
 */
export function addRobustFit(o: Record<string, unknown>): Record<string, unknown> {
  const H = o.bsp_H_doubles, T = o.bsp_t_us;
  if (!Array.isArray(H) || !Array.isArray(T) || H.length !== T.length) return o;
  try {
    const f = fitLinear(H.map((h, i) => ({ h: Number(h), times: [Number(T[i]) * 1e-6] })));
    return { ...o, bsp_l_us_robust: +(f.l * 1e6).toFixed(3), bsp_g_ns_per_double_robust: +(f.g * 1e9).toFixed(4) };
  } catch {
    return o;
  }
}

function today(): string {
  return new Date().toISOString().slice(0, 10);
}

async function main(): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: process.argv.slice(2),
      options: {
        only: { type: 'string' },
        'no-peers': { type: 'boolean' },
        'no-mpi': { type: 'boolean' },
        'peer-p': { type: 'string', default: '2,4' },
        out: { type: 'string' },
        dir: { type: 'string' },
        timeout: { type: 'string', default: '300' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
    }));
  } catch (err) {
    console.error(`bench: ${(err as Error).message}`);
    return 2;
  }
  if (values.help) {
    console.log('usage: npm run bench -- [--only a,b] [--no-peers] [--no-mpi] [--peer-p 2,4] [--out DIR] [--dir BENCH_DIR] [--timeout SECONDS]');
    return 0;
  }
  const timeoutMs = Number(values.timeout) * 1000;
  const peerPs = values['peer-p']!.split(',').map(Number).filter((x) => Number.isInteger(x) && x >= 1);
  const only = values.only?.split(',').map((s) => s.trim()).filter(Boolean);
  const dir = resolve(values.dir ?? benchDir);
  const files = readdirSync(dir)
    .filter((f) => f.endsWith('.bench.ts'))
    .filter((f) => !only || only.includes(f.replace(/\.bench\.ts$/, '')))
    .sort();
  const outDir = resolve(values.out ?? join(dir, 'results'));
  mkdirSync(outDir, { recursive: true });

  const loadStart = loadavg();
  const lines: BenchLine[] = [];
  const runs: Record<string, { code: number | null; seconds: number; timedOut: boolean; ignored: number }> = {};
  for (const f of files) {
    process.stderr.write(`bench: ${f} ...\n`);
    const r = await runCmd(process.execPath, ['--import', 'tsx', join(dir, f)], { timeoutMs, label: f.replace(/\.bench\.ts$/, '') });
    const parsed = parseBenchOutput(r.stdout, f);
    lines.push(...parsed.lines);
    runs[f] = { code: r.code, seconds: +(r.ms / 1000).toFixed(1), timedOut: r.timedOut, ignored: parsed.ignored.length };
    process.stderr.write(`bench: ${f}: ${parsed.lines.length} lines in ${(r.ms / 1000).toFixed(1)} s${r.code === 0 ? '' : `, exit ${r.timedOut ? 'timeout' : r.code}`}${parsed.ignored.length ? `, ${parsed.ignored.length} non-JSON lines ignored` : ''}\n`);
  }

  const peers: PeerResults = {};
  const peerRuns: Record<string, unknown> = {};
  const pdir = peersDir();
  if (!values['no-peers']) {
    if (!pdir) process.stderr.write('bench: no peers directory (../shared/peers): skipping node limits and mpi4py\n');
    else {
      const lim = join(pdir, 'node_limits.mjs');
      if (existsSync(lim)) {
        process.stderr.write('bench: node limits ...\n');
        const r = await runCmd(process.execPath, [lim], { timeoutMs, label: 'node' });
        const o = lastJsonObject(r.stdout);
        if (o) peers.node = { 0: o };
        peerRuns.node = { code: r.code, seconds: +(r.ms / 1000).toFixed(1), timedOut: r.timedOut };
        if (!o) process.stderr.write(`bench: node limits gave no result (${r.timedOut ? 'timed out' : `exit ${r.code}`})\n`);
      }
      const mpi = join(pdir, 'mpi4py_bench.py');
      const py = !values['no-mpi'] && existsSync(mpi) ? mpiPython() : undefined;
      if (!py) process.stderr.write(`bench: mpi4py peer skipped (${values['no-mpi'] ? '--no-mpi' : 'needs mpirun and python3 with mpi4py and numpy: apt-get install openmpi-bin python3-mpi4py python3-numpy'})\n`);
      else {
        for (const tcp of [false, true]) {
          const name = tcp ? 'mpi4py_tcp' : 'mpi4py';
          for (const p of peerPs) {
            process.stderr.write(`bench: ${name} P=${p} ...\n`);
            const r = await runCmd('mpirun', mpiArgs(p, tcp, py, mpi), { env: peerEnv(), timeoutMs, label: `${name} P=${p}` });
            const o = lastJsonObject(r.stdout);
            if (o) (peers[name] ??= {})[p] = addRobustFit(o);
            else process.stderr.write(`bench: ${name} P=${p} gave no result (${r.timedOut ? 'timed out' : `exit ${r.code}`})\n`);
            peerRuns[`${name}_p${p}`] = { code: r.code, seconds: +(r.ms / 1000).toFixed(1), timedOut: r.timedOut };
            // The figures the shared script lacks (bench/peers/mpi4py_extra.py), into the same peer.
            const x = await runCmd('mpirun', mpiArgs(p, tcp, py, join(dir, 'peers', 'mpi4py_extra.py')), { env: peerEnv(), timeoutMs, label: `${name} extra P=${p}` });
            const xo = lastJsonObject(x.stdout);
            if (xo) (peers[name] ??= {})[p] = { ...xo, ...(peers[name]![p] as object | undefined) };
            peerRuns[`${name}_extra_p${p}`] = { code: x.code, seconds: +(x.ms / 1000).toFixed(1), timedOut: x.timedOut };
          }
        }
      }
    }
  }

  const ratios = computeRatios(lines, peers);
  const date = today();
  const base = join(outDir, date);
  const commit = spawnSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: root, encoding: 'utf8' }).stdout?.trim() || undefined;
  // The machine's load tells how far the figures can be trusted (other jobs share the cores).
  const load = { start: loadStart, end: loadavg() };
  const result = { date: new Date().toISOString(), host: hostname(), node: process.version, commit, load, runs, peerRuns, lines, peers, ratios };
  writeFileSync(`${base}.json`, JSON.stringify(result, null, 2) + '\n');
  const peerRatios = ratios.filter((r) => !r.limit);
  const limitRatios = ratios.filter((r) => r.limit);
  const charts: string[] = [];
  if (peerRatios.length) {
    writeFileSync(`${base}-peers.svg`, ratiosSvg(peerRatios, `superstep vs peers (${date})`));
    charts.push(`![superstep vs peers](${date}-peers.svg)`);
  }
  if (limitRatios.length) {
    writeFileSync(`${base}-limits.svg`, ratiosSvg(limitRatios, `superstep vs plain-Node limits (${date})`));
    charts.push(`![superstep vs limits](${date}-limits.svg)`);
  }
  const md =
    ratiosMarkdown(lines, ratios, `superstep benchmarks, ${date} (${hostname()}, Node ${process.version}${commit ? `, ${commit}` : ''})`) +
    (charts.length ? '\n' + charts.join('\n\n') + '\n' : '') +
    `\nBench files: ${Object.entries(runs).map(([f, r]) => `${f} (${r.seconds} s${r.code === 0 ? '' : `, exit ${r.timedOut ? 'timeout' : r.code}`})`).join(', ') || 'none'}.` +
    ` Peers: ${Object.keys(peers).join(', ') || 'none'}${Object.entries(peerRuns).filter(([, r]) => (r as { code: number | null }).code !== 0).map(([k]) => ` (${k} failed or timed out)`).join('')}. Load average (1 min) at start / end: ${load.start[0]!.toFixed(1)} / ${load.end[0]!.toFixed(1)}. Reproduce: \`npm run bench\` (see bench/README.md).\n`;
  writeFileSync(`${base}.md`, md);
  copyFileSync(`${base}.md`, join(outDir, 'latest.md'));
  process.stdout.write(md);
  process.stderr.write(`bench: wrote ${base}.json, ${base}.md${charts.length ? ' and charts' : ''}\n`);
  const failed = Object.values(runs).some((r) => r.code !== 0);
  return failed ? 1 : 0;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.exitCode = await main();
}
