/**
 * The sab backend's own figures (issue 3): point-to-point ping-pong half round trip at
 * 8 B, 1 MiB and 16 MiB, 16 MiB bandwidth, empty-superstep sync and transport barrier at
 * P = 2 and 4. One JSON line per figure (bench/README.md). Run:
 *   node --import tsx bench/sab.bench.ts
 */
import './tuned.js';
import { startWorld } from '../core/launch/world.js';
import { medianOfJobs } from './lib.js';

const url = new URL('./sab-ranks.ts', import.meta.url).href;
const line = (o: Record<string, unknown>) => console.log(JSON.stringify({ backend: 'sab', ...o }));
const progress = (s: string) => process.stderr.write(`sab.bench: ${s}\n`);

const median = (world: Awaited<ReturnType<typeof startWorld>>, fn: string, args: unknown[], runs = 5) => medianOfJobs(world, url, fn, args, runs);

const w2 = await startWorld({ procs: 2 });
try {
  for (const [bytes, name, reps, peerKey] of [
    [8, 'pingpong_8B_half_rtt_us', 20000, 'pingpong_8B_us'],
    [1 << 20, 'pingpong_1MiB_half_rtt_us', 200, 'pingpong_1MiB_us'],
    [16 << 20, 'pingpong_16MiB_half_rtt_us', 12, 'pingpong_16MiB_us'],
  ] as const) {
    progress(`ping-pong ${bytes} B`);
    // One discarded job first: the chunked large-message path sees few calls per message, so
    // the JIT tiers it up only after some tens of messages (the first jobs ran 1.5-3x slower).
    await median(w2, 'pingpong', [bytes, reps, Math.max(2, reps / 10)], 1);
    const us = await median(w2, 'pingpong', [bytes, reps, Math.max(2, reps / 10)]);
    line({ name, p: 2, value: +us.toFixed(3), unit: 'us', better: 'lower', compare: { mpi4py: peerKey, ...(bytes === 8 ? { node: 'atomics_spin_pingpong_half_rtt_us' } : {}) } });
    if (bytes === 16 << 20) {
      line({ name: 'bw_16MiB_GBps', p: 2, value: +(bytes / (us * 1e-6) / 1e9).toFixed(3), unit: 'GBps', better: 'higher', compare: { mpi4py: 'bw_16MiB_GBps', node: 'memcpy_GBps' } });
    }
  }
} finally {
  await w2.close();
}

for (const p of [2, 4]) {
  const w = await startWorld({ procs: p });
  try {
    progress(`empty sync and barrier at P=${p}`);
    const sync = await median(w, 'emptySync', [5000, 500], 3);
    line({ name: 'empty_sync_us', p, value: +sync.toFixed(3), unit: 'us', better: 'lower', compare: { mpi4py: 'barrier_us' } });
    // Five runs: the first one or two still include the JIT tiering up the barrier path.
    const bar = await median(w, 'barrier', [20000, 1000], 5);
    line({ name: 'barrier_transport_us', p, value: +bar.toFixed(3), unit: 'us', better: 'lower', compare: { mpi4py: 'barrier_us' } });
  } finally {
    await w.close();
  }
}
