import './tuned.js';
// DistArray benchmarks vs mpi4py + numpy, in one run:
//   matvec 4096 x 4096 float64 (row blocks, x allgathered) and 2-D Jacobi 2048 x 2048
//   (row blocks, 1-cell halos, 50 sweeps) at P = 1, 2, 4 on sab (--backends sab,tcp for tcp too),
//   matmul 2048 x 2048 float64 at P = 2 against numpy's A @ B (OpenBLAS, 2 threads),
//   and with --peer the mpi4py peer (/work/shared/peers/mpi4py_bench.py) at P = 2 in the same
//   run (`npm run bench` runs the peers itself, so by default this file does not).
// Run: node --import tsx bench/distarray.bench.ts [--quick] [--peer] [--backends sab,tcp]
// Prints one JSON object per line (bench/README.md convention).
import { spawnSync } from 'node:child_process';
import { startWorld, type Backend } from '../core/launch/world.js';
import { benchBackends, peerOf } from './lib.js';

const args = process.argv.slice(2);
const quick = args.includes('--quick');
// sab unless --backends names others.
const backends = args.some((a) => a.startsWith('--backends')) ? benchBackends(args) : ['sab'];
const procs = quick ? [2] : [1, 2, 4];
const N = quick ? 1024 : 4096;
const J = quick ? 512 : 2048;
const ADD = quick ? 1 << 16 : 1 << 24;
const S = quick ? 256 : 4096;
/** matmul at P = 2 only, against numpy + OpenBLAS on the same 2 cores. */
const MM = quick ? 256 : 2048;
const gflops = (ms: number) => +((2 * MM ** 3) / ms / 1e6).toFixed(2);
let matmulMs: number | undefined;
const ranks = new URL('./distarray-ranks.ts', import.meta.url).href;

/** The peer runs at P = 2 and 4 only; a P = 1 line has nothing to compare with. */
function compare(key: string, p: number, backend: Backend): { compare?: Record<string, string> } {
  if (p < 2 || quick) return {};
  return { compare: { [peerOf(backend)]: key } };
}

function emit(o: Record<string, unknown>): void {
  console.log(JSON.stringify(o));
}

for (const backend of backends) {
  for (const p of procs) {
    const w = await startWorld({ procs: p, backend, graceMs: 2000 });
    try {
      for (const kernel of ['wasm', 'js'] as const) {
        const mv = await w.job<number>({ kind: 'call', url: ranks, fn: 'matvecBench', args: [N, 20, 3, kernel] }, { timeoutMs: 120_000 });
        if (!mv.ok) throw new Error(`matvec failed: ${mv.failure?.error.message}`);
        // The default kernel (WebAssembly SIMD) under the peer's key; plain loops beside it.
        const name = kernel === 'wasm' ? `matvec_${N}_ms` : `matvec_${N}_js_loops_ms`;
        emit({ name, backend, p, value: +mv.results![0]!.toFixed(3), unit: 'ms', better: 'lower', ...compare(`matvec_${N}_ms`, p, backend) });
      }
      const jb = await w.job<number>({ kind: 'call', url: ranks, fn: 'jacobiBench', args: [J, 50, 5] }, { timeoutMs: 120_000 });
      if (!jb.ok) throw new Error(`jacobi failed: ${jb.failure?.error.message}`);
      emit({ name: `jacobi_${J}_Mcells_per_s`, backend, p, value: +jb.results![0]!.toFixed(1), unit: 'Mcells_per_s', better: 'higher', ...compare(`jacobi_${J}_Mcells_per_s`, p, backend) });
      // numpy-surface operations; numpy's own figures (one process) follow below as numpy_* lines.
      const ad = await w.job<number>({ kind: 'call', url: ranks, fn: 'addBench', args: [ADD, quick ? 3 : 10] }, { timeoutMs: 120_000 });
      if (!ad.ok) throw new Error(`add failed: ${ad.failure?.error.message}`);
      emit({ name: `add_${ADD}_f64_ms`, backend, p, value: +ad.results![0]!.toFixed(3), unit: 'ms', better: 'lower', GBps: +((3 * 8 * ADD) / ad.results![0]! / 1e6).toFixed(2) });
      const sa = await w.job<number>({ kind: 'call', url: ranks, fn: 'sumAxisBench', args: [S, quick ? 3 : 10] }, { timeoutMs: 120_000 });
      if (!sa.ok) throw new Error(`sum failed: ${sa.failure?.error.message}`);
      emit({ name: `sum_axis0_${S}_ms`, backend, p, value: +sa.results![0]!.toFixed(3), unit: 'ms', better: 'lower' });
      if (p === 2) {
        const mm = await w.job<number>({ kind: 'call', url: ranks, fn: 'matmulBench', args: [MM, quick ? 2 : 3, 1] }, { timeoutMs: 600_000 });
        if (!mm.ok) throw new Error(`matmul failed: ${mm.failure?.error.message}`);
        const ms = mm.results![0]!;
        if (backend === backends[0]) matmulMs = ms;
        emit({ name: `matmul_${MM}_f64_ms`, backend, p, value: +ms.toFixed(3), unit: 'ms', better: 'lower', GFLOPs: gflops(ms) });
      }
    } finally {
      await w.close();
    }
  }
}

// numpy itself (one process, same run) for the numpy-surface lines; skipped without numpy.
{
  const py = `import time,json\nimport numpy as np\ndef t(f,r):\n  f()\n  t0=time.perf_counter()\n  for _ in range(r): f()\n  return (time.perf_counter()-t0)/r*1e3\na=np.full(${ADD},1.5);b=np.full(${ADD},2.5);c=np.empty(${ADD})\nm=np.full((${S},${S}),0.5)\nprint(json.dumps({'add':t(lambda: np.add(a,b,out=c),${quick ? 3 : 10}),'sum':t(lambda: m.sum(axis=0),${quick ? 3 : 10})}))`;
  const r = spawnSync('/usr/bin/python3', ['-c', py], { encoding: 'utf8', env: { ...process.env, OPENBLAS_NUM_THREADS: '1' } });
  if (r.status !== 0) emit({ name: 'numpy_reference', error: `python3 with numpy unavailable: ${(r.stderr ?? '').slice(0, 200)}` });
  else {
    const o = JSON.parse(r.stdout) as { add: number; sum: number };
    emit({ name: `numpy_add_${ADD}_f64_ms`, value: +o.add.toFixed(3), unit: 'ms', better: 'lower', GBps: +((3 * 8 * ADD) / o.add / 1e6).toFixed(2) });
    emit({ name: `numpy_sum_axis0_${S}_ms`, value: +o.sum.toFixed(3), unit: 'ms', better: 'lower' });
  }
}

// numpy's A @ B (OpenBLAS dgemm) on the same 2 cores: two BLAS threads, as superstep's two ranks.
{
  const py = `import time,json\nimport numpy as np\na=np.full((${MM},${MM}),0.5);b=np.full((${MM},${MM}),0.25)\na@b\nr=${quick ? 2 : 3}\nt0=time.perf_counter()\nfor _ in range(r): a@b\nprint(json.dumps({'matmul':(time.perf_counter()-t0)/r*1e3}))`;
  const r = spawnSync('/usr/bin/python3', ['-c', py], { encoding: 'utf8', env: { ...process.env, OPENBLAS_NUM_THREADS: '2' } });
  if (r.status !== 0) emit({ name: 'numpy_matmul_reference', error: `python3 with numpy unavailable: ${(r.stderr ?? '').slice(0, 200)}` });
  else {
    const o = JSON.parse(r.stdout) as { matmul: number };
    // ratio: superstep's time over numpy's (target: at most 2).
    emit({ name: `numpy_matmul_${MM}_f64_ms`, value: +o.matmul.toFixed(3), unit: 'ms', better: 'lower', GFLOPs: gflops(o.matmul), ...(matmulMs ? { ratio: +(matmulMs / o.matmul).toFixed(2) } : {}) });
  }
}

// The peer, same machine, same run, set up as bench/run.ts does: OPENBLAS_CORETYPE /
// OPENBLAS_L2_SIZE slow a current numpy (see the environment notes), so they are unset for
// this command only; one BLAS thread per rank, as a superstep rank uses one core.
if (args.includes('--peer')) {
  // As bench/run.ts finds the peers: $SUPERSTEP_PEERS, else ../shared/peers beside the repository.
  const peer = `${process.env.SUPERSTEP_PEERS ?? new URL('../../shared/peers', import.meta.url).pathname}/mpi4py_bench.py`;
  const env = { ...process.env };
  delete env.OPENBLAS_CORETYPE;
  delete env.OPENBLAS_L2_SIZE;
  env.OPENBLAS_NUM_THREADS = '1';
  env.OMP_NUM_THREADS = '1';
  const r = spawnSync('mpirun', ['--allow-run-as-root', '--oversubscribe', '-n', '2', '/usr/bin/python3', peer], { env, encoding: 'utf8', timeout: 180_000 });
  const line = r.stdout?.split('\n').find((l) => l.startsWith('{'));
  if (r.status !== 0 || !line) {
    emit({ name: 'mpi4py_peer', error: `mpirun exited ${r.status}: ${(r.stderr ?? '').slice(0, 300)}` });
  } else {
    const o = JSON.parse(line) as Record<string, number>;
    emit({ name: 'mpi4py_peer', p: o.p, impl: o.impl, matvec_4096_ms: o.matvec_4096_ms, jacobi_2048_Mcells_per_s: o.jacobi_2048_Mcells_per_s });
  }
}
