/**
 * Global arrays at P = 2: one-sided get of 1 element and of a 1 MiB region from the other
 * rank, a 1 MiB put, and a loop over the local block's view against the same loop over a
 * plain Float64Array (ratio, ~1 means typed-array speed). Paths: sab direct (loads/stores
 * into the owner's shared memory), sab served and tcp served (the owner's communication
 * worker answers). Prints bench lines (bench/README.md).
 *
 *   node --import tsx bench/global.bench.ts [--quick]
 */
import './tuned.js';
import { startWorld, type Backend } from '../core/launch/world.js';
import { benchBackends } from './lib.js';
import type { GlobalTimes } from './global-ranks.js';

const quick = process.argv.includes('--quick');
const ranks = new URL('./global-ranks.ts', import.meta.url).href;
// sab both ways (its shared memory, and the path other backends take); the others served.
const configs: { backend: Backend; path: 'direct' | 'served' }[] = benchBackends().flatMap((backend) =>
  backend === 'sab' ? [{ backend, path: 'direct' as const }, { backend, path: 'served' as const }] : [{ backend, path: 'served' as const }],
);
const emit = (o: Record<string, unknown>) => console.log(JSON.stringify(o));
const p = 2;
const MiB = 1 << 20;

for (const { backend, path } of configs) {
  const world = await startWorld({ procs: p, backend });
  try {
    const reps1 = (path === 'direct' ? 20000 : 2000) * (quick ? 0.2 : 1);
    const repsBig = (path === 'direct' ? 400 : 60) * (quick ? 0.25 : 1);
    const out = await world.job<GlobalTimes | undefined>({ kind: 'call', url: ranks, fn: 'time', args: [path, reps1, repsBig] }, { timeoutMs: 120_000 });
    if (!out.ok) throw new Error(`${backend}/${path}: rank ${out.failure?.rank}: ${out.failure?.error.message}`);
    const r = out.results[0]!;
    const extra = { path, reps1, repsBig };
    const limit = path === 'direct' ? 'memcpy_GBps' : 'tcp_stream_GBps';
    emit({ name: `global_get_1elem_${path}_us`, backend, p, value: +r.get1Us.toFixed(3), unit: 'us', better: 'lower', extra });
    emit({ name: `global_get_1MiB_${path}_us`, backend, p, value: +r.get1MiBUs.toFixed(1), unit: 'us', better: 'lower', extra });
    emit({ name: `global_get_1MiB_${path}_GBps`, backend, p, value: +(MiB / (r.get1MiBUs * 1e3)).toFixed(3), unit: 'GBps', better: 'higher', compare: { node: limit }, extra });
    emit({ name: `global_put_1MiB_${path}_GBps`, backend, p, value: +(MiB / (r.put1MiBUs * 1e3)).toFixed(3), unit: 'GBps', better: 'higher', compare: { node: limit }, extra });
    if (path === 'direct' || backend !== 'sab') {
      emit({ name: 'global_local_view_loop_over_plain_ratio', backend, p, value: +(r.localLoopNs / r.plainLoopNs).toFixed(3), unit: 'ratio', better: 'lower', extra: { localLoopNs: r.localLoopNs, plainLoopNs: r.plainLoopNs } });
      emit({ name: 'global_local_ndarray_get_ns', backend, p, value: +r.ndarrayGetNs.toFixed(2), unit: 'ns', better: 'lower', extra: { note: '@stdlib ndarray .get(i) per element, for contrast with the typed-array loop' } });
    }
    process.stderr.write(`${backend}/${path}: get 1 elem ${r.get1Us.toFixed(2)} us, get 1 MiB ${r.get1MiBUs.toFixed(0)} us, put 1 MiB ${r.put1MiBUs.toFixed(0)} us, local loop ${r.localLoopNs.toFixed(2)} ns/elem vs plain ${r.plainLoopNs.toFixed(2)}\n`);
  } finally {
    await world.close();
  }
}
