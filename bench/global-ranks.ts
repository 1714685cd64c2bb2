// Rank side of bench/global.bench.ts: one-sided get latency and bandwidth, local view loops.
import { bsp } from 'superstep';

export interface GlobalTimes {
  get1Us: number;
  get1MiBUs: number;
  put1MiBUs: number;
  localLoopNs: number;
  plainLoopNs: number;
  ndarrayGetNs: number;
}

const sum = (a: Float64Array): number => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]!;
  return s;
};

/** Rank 0 times operations on rank 1's block; the others wait. */
export async function time(path: 'direct' | 'served', reps1: number, repsBig: number): Promise<GlobalTimes | undefined> {
  const me = bsp.myProcID();
  const n = (1 << 20) / 8; // 1 MiB of float64 per rank
  bsp.createArray('g', 'float64', [n]);
  (bsp.asArray('g') as Float64Array).fill(me + 1);
  const ga = await bsp.merge('g', { axis: 0, path });
  await ga.sync();
  let out: GlobalTimes | undefined;
  if (me === 0) {
    const one = new Float64Array(1);
    const remote = n; // first element of rank 1's block
    for (let i = 0; i < Math.min(100, reps1); i++) await ga.get([remote, remote + 1], one); // warm up
    let t = performance.now();
    for (let i = 0; i < reps1; i++) await ga.get([remote, remote + 1], one);
    const get1Us = ((performance.now() - t) * 1e3) / reps1;
    if (one[0] !== 2) throw new Error(`get returned ${one[0]}, expected 2`);
    const big = new Float64Array(n);
    await ga.get([n, 2 * n], big);
    t = performance.now();
    for (let i = 0; i < repsBig; i++) await ga.get([n, 2 * n], big);
    const get1MiBUs = ((performance.now() - t) * 1e3) / repsBig;
    if (big[n - 1] !== 2) throw new Error('1 MiB get returned wrong data');
    t = performance.now();
    for (let i = 0; i < repsBig; i++) await ga.put([n, 2 * n], big);
    const put1MiBUs = ((performance.now() - t) * 1e3) / repsBig;
    // Local view vs a plain (non-shared) Float64Array of the same length: same loop.
    const local = ga.localArray() as Float64Array;
    const view = ga.localView();
    const plain = new Float64Array(n).fill(1);
    const loops = 200;
    let chk = 0;
    for (let k = 0; k < 20; k++) chk += sum(local) + sum(plain);
    t = performance.now();
    for (let k = 0; k < loops; k++) chk += sum(view.data as Float64Array);
    const localLoopNs = ((performance.now() - t) * 1e6) / (loops * n);
    t = performance.now();
    for (let k = 0; k < loops; k++) chk += sum(plain);
    const plainLoopNs = ((performance.now() - t) * 1e6) / (loops * n);
    t = performance.now();
    let s = 0;
    for (let i = 0; i < n; i++) s += view.get(i) as number;
    const ndarrayGetNs = ((performance.now() - t) * 1e6) / n;
    if (!Number.isFinite(chk + s)) throw new Error('unreachable');
    out = { get1Us, get1MiBUs, put1MiBUs, localLoopNs, plainLoopNs, ndarrayGetNs };
  }
  await ga.sync();
  return out;
}
