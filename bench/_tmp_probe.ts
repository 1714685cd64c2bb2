import { world } from '../comm/comm.js';
import { gemv } from '../distarray/kernels.js';
import { DistArray } from '../distarray/distarray.js';
import { block, grid } from '../distarray/distribution.js';
import { matvec } from '../distarray/matvec.js';
export async function probe(n: number): Promise<string> {
  const p = world.size;
  const A = await DistArray.zeros([n, n], { dist: grid([n, n], [p, 1]) });
  const a = A.data as Float64Array; for (let i = 0; i < a.length; i++) a[i] = (i % 7) * 0.125;
  const x = await DistArray.fromFunction([n], (j) => (j % 5) * 0.5, { dist: block([n], p) });
  const y = await DistArray.zeros([n], { dist: block([n], p) });
  const xs = new Float64Array(n).fill(1);
  const m = A.localShape[0]!;
  for (let r = 0; r < 5; r++) await matvec(A, x, y);
  let t0 = performance.now(); for (let r = 0; r < 20; r++) gemv(a, 0, n, m, n, xs, 0, y.data as Float64Array, 0);
  const tk = (performance.now() - t0) / 20;
  await world.barrier();
  t0 = performance.now(); for (let r = 0; r < 20; r++) await x.get({ start: [0], count: [n] });
  const tg = (performance.now() - t0) / 20;
  t0 = performance.now(); for (let r = 0; r < 20; r++) await matvec(A, x, y);
  const tm = (performance.now() - t0) / 20;
  t0 = performance.now(); for (let r = 0; r < 100; r++) await world.barrier();
  const tb = (performance.now() - t0) / 100;
  return `rank ${world.rank}: kernel ${tk.toFixed(2)} get ${tg.toFixed(3)} matvec ${tm.toFixed(2)} barrier ${(tb*1000).toFixed(1)}us`;
}
