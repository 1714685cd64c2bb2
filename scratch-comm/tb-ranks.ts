import { world } from '../index.ts';
import { context } from '../core/context.ts';
async function timeit(f: () => Promise<unknown>, n: number) { for (let i = 0; i < 200; i++) await f(); await world.barrier(); const t0 = performance.now(); for (let i = 0; i < n; i++) await f(); return (performance.now() - t0) / n * 1e3; }
export const tbarrier = () => timeit(() => context().transport.barrier(), 5000);
export const cbarrier = () => timeit(() => world.barrier(), 5000);
const a = new Float64Array(1), o = new Float64Array(1);
export const callreduce = () => timeit(() => world.allreduce(a, 'SUM', { out: o }), 5000);
const b8 = new Uint8Array(8);
export const tpingpong = () => { const t = context().transport; return timeit(async () => { if (world.rank === 0) { await t.send(1, 9, 0, b8); await t.recv(1, 9, 0); } else { await t.recv(0, 9, 0); await t.send(0, 9, 0, b8); } }, 5000); };
const big = new Float64Array(1 << 20).fill(1), bo = new Float64Array(1 << 20);
export const big8 = async () => (await timeit(() => world.allreduce(big, 'SUM', { out: bo }), 20)) / 1000;
export const memcpy = async () => { const x = new Float64Array(1 << 20); const t0 = performance.now(); for (let i = 0; i < 20; i++) x.set(big); return (performance.now() - t0) / 20; };
