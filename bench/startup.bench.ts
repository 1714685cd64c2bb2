/**
 * Start-up (issue 14): wall time of `superstep run -n P` of a trivial script, as an installed
 * package runs it (the built dist/, SUPERSTEP_DIST=1), beside `mpiexec -n P python3 -c "from
 * mpi4py import MPI"` in the same run, and the time to import the library. Medians of
 * interleaved runs. One JSON line per figure (bench/README.md). Run:
 *   node --import tsx bench/startup.bench.ts [--reps N]
 * It builds dist/ first (npm run build). The command is timed as `node bin/superstep.mjs`, and
 * as a user runs it: `npx superstep` (npm's own start-up added, the same for any package) and
 * the installed bin link, node_modules/.bin/superstep (its shebang finds node).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const repsArg = process.argv.indexOf('--reps');
const reps = repsArg > 0 ? Number(process.argv[repsArg + 1]) : 7;
const progress = (s: string) => process.stderr.write(`startup.bench: ${s}\n`);
const line = (o: Record<string, unknown>) => console.log(JSON.stringify(o));

progress('building dist/');
const built = spawnSync(process.execPath, [join(root, 'scripts/build.mjs')], { cwd: root, encoding: 'utf8' });
if (built.status !== 0) throw new Error(`build failed: ${built.stderr}`);

const dir = mkdtempSync(join(tmpdir(), 'superstep-startup-'));
const trivialJs = join(dir, 'trivial.mjs');
const trivialTs = join(dir, 'trivial.ts');
writeFileSync(trivialJs, "import { bsp } from 'superstep';\nbsp.procCount();\n");
writeFileSync(trivialTs, "import { bsp } from 'superstep';\nconst p: number = bsp.procCount();\nvoid p;\n");
// The scripts import 'superstep' from outside the repository: a node_modules link to it.
const nm = join(dir, 'node_modules');
spawnSync('mkdir', ['-p', nm]);
spawnSync('ln', ['-s', root, join(nm, 'superstep')]);
// The bin link npm makes at install, which `npx superstep` finds.
spawnSync('mkdir', ['-p', join(nm, '.bin')]);
spawnSync('ln', ['-s', '../superstep/bin/superstep.mjs', join(nm, '.bin', 'superstep')]);
const binLink = join(nm, '.bin', 'superstep');
const env = { ...process.env, SUPERSTEP_DIST: '1' };

function time(cmd: string, args: string[], extraEnv: NodeJS.ProcessEnv = env): number {
  const t = process.hrtime.bigint();
  const r = spawnSync(cmd, args, { cwd: dir, env: extraEnv, encoding: 'utf8', timeout: 120_000 });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed: ${r.stderr}`);
  return Number(process.hrtime.bigint() - t) / 1e9;
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const bin = join(root, 'bin/superstep.mjs');
const mpiexec = ['/usr/bin/mpiexec', '/usr/bin/python3'].every(existsSync) && spawnSync('/usr/bin/python3', ['-c', 'import mpi4py'], { encoding: 'utf8' }).status === 0;
if (!mpiexec) progress('no mpiexec + python3-mpi4py here: the peer lines are skipped');
const cases: { name: string; p: number; backend: string; cmd: string; args: string[]; env?: NodeJS.ProcessEnv }[] = [
  { name: 'startup_run_js_s', p: 1, backend: 'sab', cmd: process.execPath, args: [bin, 'run', '-n', '1', trivialJs] },
  { name: 'startup_run_ts_s', p: 1, backend: 'sab', cmd: process.execPath, args: [bin, 'run', '-n', '1', trivialTs] },
  { name: 'startup_run_js_s', p: 4, backend: 'sab', cmd: process.execPath, args: [bin, 'run', '-n', '4', trivialJs] },
  { name: 'startup_run_js_no_malloc_reexec_s', p: 4, backend: 'sab', cmd: process.execPath, args: [bin, 'run', '-n', '4', trivialJs], env: { ...env, SUPERSTEP_MALLOC_TUNING: '0' } },
  { name: 'startup_run_ts_s', p: 4, backend: 'sab', cmd: process.execPath, args: [bin, 'run', '-n', '4', trivialTs] },
  { name: 'startup_run_js_bin_link_s', p: 1, backend: 'sab', cmd: binLink, args: ['run', '-n', '1', trivialJs] },
  { name: 'startup_run_js_npx_s', p: 1, backend: 'sab', cmd: 'npx', args: ['superstep', 'run', '-n', '1', trivialJs] },
  { name: 'startup_run_js_npx_s', p: 4, backend: 'sab', cmd: 'npx', args: ['superstep', 'run', '-n', '4', trivialJs] },
  { name: 'startup_run_js_s', p: 4, backend: 'tcp', cmd: process.execPath, args: [bin, 'run', '-n', '4', '--backend', 'tcp', trivialJs] },
  { name: 'startup_node_import_s', p: 1, backend: 'any', cmd: process.execPath, args: [trivialJs] },
  { name: 'startup_node_bare_s', p: 1, backend: 'any', cmd: process.execPath, args: ['-e', '0'] },
];
if (mpiexec) {
  for (const p of [1, 4]) {
    cases.push({ name: 'startup_mpiexec_mpi4py_s', p, backend: 'mpi4py', cmd: '/usr/bin/mpiexec', args: ['--allow-run-as-root', '--oversubscribe', '-n', String(p), '/usr/bin/python3', '-c', 'from mpi4py import MPI'] });
  }
}
try {
  // Interleaved: every round runs every case once, so load from elsewhere hits all alike.
  const times = cases.map(() => [] as number[]);
  for (let r = 0; r < reps; r++) {
    progress(`round ${r + 1}/${reps}`);
    cases.forEach((c, i) => times[i]!.push(time(c.cmd, c.args, c.env ?? env)));
  }
  const med = cases.map((_, i) => median(times[i]!));
  const peer = (p: number) => med[cases.findIndex((c) => c.name === 'startup_mpiexec_mpi4py_s' && c.p === p)];
  cases.forEach((c, i) => {
    const m = peer(c.p);
    const ratio = c.name.startsWith('startup_run') && m ? +(med[i]! / m).toFixed(2) : undefined;
    line({ name: c.name, backend: c.backend, p: c.p, value: +med[i]!.toFixed(3), unit: 's', better: c.backend === 'mpi4py' ? 'none' : 'lower', extra: { runs: times[i]!.map((t) => +t.toFixed(3)), ...(ratio !== undefined ? { vs_mpiexec_mpi4py: ratio } : {}) } });
    if (ratio !== undefined) line({ name: `${c.name.replace(/_s$/, '')}_over_mpiexec_ratio`, backend: c.backend, p: c.p, value: ratio, unit: 'ratio', better: 'lower', extra: { target: c.p === 4 && c.backend === 'sab' ? 1.5 : undefined } });
  });
} finally {
  rmSync(dir, { recursive: true, force: true });
}
