import { world } from '../index.ts';
import { context } from '../core/context.ts';
const N = 3000;
async function timeit(f: () => Promise<unknown>, n = N) { for (let i = 0; i < 100; i++) await f(); await world.barrier(); const t0 = performance.now(); for (let i = 0; i < n; i++) await f(); return (performance.now() - t0) / n * 1e3; }
export const tbarrier = () => timeit(() => context().transport.barrier());
export const cbarrier = () => timeit(() => world.barrier());
const a = new Float64Array(1), o = new Float64Array(1);
export const callreduce = () => timeit(() => world.allreduce(a, 'SUM', { out: o }));
const t = () => context().transport;
const b8 = new Uint8Array(8);
export const tpingpong = () => timeit(async () => { if (world.rank === 0) { await t().send(1, 9, 0, b8); await t().recv(1, 9, 0); } else { await t().recv(0, 9, 0); await t().send(0, 9, 0, b8); } });
const big = new Float64Array(1 << 20).fill(1), bo = new Float64Array(1 << 20);
export const big_ = 0;
export { bigf as big };
async function bigf() { return (await timeit(() => world.allreduce(big, 'SUM', { out: bo }), 10)) / 1000; }
