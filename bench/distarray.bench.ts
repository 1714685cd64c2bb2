// DistArray benchmarks vs mpi4py + numpy, in one run:
//   matvec 4096 x 4096 float64 (row blocks, x allgathered) and 2-D Jacobi 2048 x 2048
//   (row blocks, 1-cell halos, 50 sweeps) at P = 1, 2, 4 on sab (and tcp if it exists),
//   then the peer (/work/shared/peers/mpi4py_bench.py) at P = 2.
// Run: node --import tsx bench/distarray.bench.ts [--quick] [--no-peer] [--backends sab,tcp]
// Prints one JSON object per line (bench/README.md convention).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { startWorld, type Backend } from '../core/launch/world.js';

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const bi = args.indexOf('--backends');
const tcpExists = existsSync(fileURLToPath(new URL('../core/launch/tcp-world.ts', import.meta.url)));
const backends = (bi >= 0 ? args[bi + 1]!.split(',') : ['sab', ...(tcpExists ? ['tcp'] : [])]) as Backend[];
const procs = quick ? [2] : [1, 2, 4];
const N = quick ? 1024 : 4096;
const J = quick ? 512 : 2048;
const ranks = new URL('./distarray-ranks.ts', import.meta.url).href;

function emit(o: Record<string, unknown>): void {
  console.log(JSON.stringify(o));
}

for (const backend of backends) {
  for (const p of procs) {
    const w = await startWorld({ procs: p, backend, graceMs: 2000 });
    try {
      const mv = await w.job<number>({ kind: 'call', url: ranks, fn: 'matvecBench', args: [N, quick ? 20 : 30, 5] }, { timeoutMs: 120_000 });
      if (!mv.ok) throw new Error(`matvec failed: ${mv.failure?.error.message}`);
      emit({ name: `matvec_${N}_ms`, backend, p, value: +mv.results![0]!.toFixed(3), unit: 'ms', better: 'lower', compare: { mpi4py: `matvec_${N}_ms` } });
      const jb = await w.job<number>({ kind: 'call', url: ranks, fn: 'jacobiBench', args: [J, 50, 5] }, { timeoutMs: 120_000 });
      if (!jb.ok) throw new Error(`jacobi failed: ${jb.failure?.error.message}`);
      emit({ name: `jacobi_${J}_Mcells_per_s`, backend, p, value: +jb.results![0]!.toFixed(1), unit: 'Mcells/s', better: 'higher', compare: { mpi4py: `jacobi_${J}_Mcells_per_s` } });
    } finally {
      await w.close();
    }
  }
}

// The peer, same machine, same run. OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE slow a current
// numpy (see the environment notes): unset for this command only.
if (!args.includes('--no-peer') && !quick) {
  const peer = '/work/shared/peers/mpi4py_bench.py';
  const env = { ...process.env };
  delete env.OPENBLAS_CORETYPE;
  delete env.OPENBLAS_L2_SIZE;
  const r = spawnSync('mpirun', ['--allow-run-as-root', '--oversubscribe', '-n', '2', '/usr/bin/python3', peer], { env, encoding: 'utf8', timeout: 180_000 });
  const line = r.stdout?.split('\n').find((l) => l.startsWith('{'));
  if (r.status !== 0 || !line) {
    emit({ name: 'mpi4py_peer', error: `mpirun exited ${r.status}: ${(r.stderr ?? '').slice(0, 300)}` });
  } else {
    const o = JSON.parse(line) as Record<string, number>;
    emit({ name: 'mpi4py_peer', p: o.p, impl: o.impl, matvec_4096_ms: o.matvec_4096_ms, jacobi_2048_Mcells_per_s: o.jacobi_2048_Mcells_per_s });
  }
}
