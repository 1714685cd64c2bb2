import { spawnSync } from 'node:child_process';
import { startWorld } from '../core/launch/world.js';
const ranks = new URL('./distarray-ranks.ts', import.meta.url).href;
const env = { ...process.env, OPENBLAS_NUM_THREADS: '1', OMP_NUM_THREADS: '1' };
delete env.OPENBLAS_CORETYPE; delete env.OPENBLAS_L2_SIZE;
const w = await startWorld({ procs: 2, backend: 'sab' });
for (let i = 0; i < 4; i++) {
  const mw = (await w.job<number>({ kind: 'call', url: ranks, fn: 'matvecBench', args: [4096, 20, 3, 'wasm'] })).results![0]!;
  const mj = (await w.job<number>({ kind: 'call', url: ranks, fn: 'matvecBench', args: [4096, 20, 3, 'js'] })).results![0]!;
  const jb = (await w.job<number>({ kind: 'call', url: ranks, fn: 'jacobiBench', args: [2048, 50, 5] })).results![0]!;
  const r = spawnSync('mpirun', ['--allow-run-as-root', '--oversubscribe', '-n', '2', '/usr/bin/python3', '/work/shared/peers/mpi4py_bench.py'], { env, encoding: 'utf8' });
  const o = JSON.parse(r.stdout.split('\n').find((l) => l.startsWith('{'))!);
  console.log(JSON.stringify({ i, wasm: +mw.toFixed(2), js: +mj.toFixed(2), jac: +jb.toFixed(0), peer_mv: o.matvec_4096_ms, peer_jac: o.jacobi_2048_Mcells_per_s, r_wasm: +(mw / o.matvec_4096_ms).toFixed(2), r_js: +(mj / o.matvec_4096_ms).toFixed(2), r_jac: +(jb / o.jacobi_2048_Mcells_per_s).toFixed(2) }));
}
await w.close();
