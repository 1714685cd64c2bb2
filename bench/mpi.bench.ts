/**
 * The mpi backend's own figures, beside mpi4py on the same MPI library (the runner's peer
 * run): ping-pong half round trip at 8 B, 1 MiB and 16 MiB, 16 MiB bandwidth, transport
 * barrier and empty-superstep sync at P = 2 and 4. Prints why it did not run where the mpi
 * backend cannot (no MPI). One JSON line per figure (bench/README.md). Run:
 *   node --import tsx bench/mpi.bench.ts [--quick]
 */
import './tuned.js';
import { backendNamed } from '../comm/backends/index.js';
import { startWorld } from '../core/launch/world.js';
import { medianOfJobs } from './lib.js';

const quick = process.argv.includes('--quick');
const scale = quick ? 0.02 : 1;
const url = new URL('./sab-ranks.ts', import.meta.url).href;
const line = (o: Record<string, unknown>) => console.log(JSON.stringify({ backend: 'mpi', ...o }));
const progress = (s: string) => process.stderr.write(`mpi.bench: ${s}\n`);
const reps = (n: number) => Math.max(4, Math.round(n * scale));

const why = backendNamed('mpi').unavailable();
if (why) {
  progress(`not run: ${why}`);
} else {
  const median = (world: Awaited<ReturnType<typeof startWorld>>, fn: string, args: unknown[], runs = 5) => medianOfJobs(world, url, fn, args, quick ? 1 : runs);
  const w2 = await startWorld({ procs: 2, backend: 'mpi' });
  try {
    for (const [bytes, name, n, peerKey] of [
      [8, 'pingpong_8B_half_rtt_us', 20000, 'pingpong_8B_us'],
      [1 << 20, 'pingpong_1MiB_half_rtt_us', 200, 'pingpong_1MiB_us'],
      [16 << 20, 'pingpong_16MiB_half_rtt_us', 12, 'pingpong_16MiB_us'],
    ] as const) {
      progress(`ping-pong ${bytes} B`);
      const args = [bytes, reps(n), Math.max(2, reps(n) / 10)];
      await median(w2, 'pingpong', args, 1);
      const us = await median(w2, 'pingpong', args);
      line({ name, p: 2, value: +us.toFixed(3), unit: 'us', better: 'lower', compare: { mpi4py: peerKey } });
      if (bytes === 16 << 20) line({ name: 'bw_16MiB_GBps', p: 2, value: +(bytes / (us * 1e-6) / 1e9).toFixed(3), unit: 'GBps', better: 'higher', compare: { mpi4py: 'bw_16MiB_GBps' } });
    }
  } finally {
    await w2.close();
  }
  for (const p of [2, 4]) {
    const w = await startWorld({ procs: p, backend: 'mpi' });
    try {
      progress(`barrier and empty sync at P=${p}`);
      const bar = await median(w, 'barrier', [reps(20000), reps(1000)], 5);
      line({ name: 'barrier_transport_us', p, value: +bar.toFixed(3), unit: 'us', better: 'lower', compare: { mpi4py: 'barrier_us' } });
      const sync = await median(w, 'emptySync', [reps(5000), reps(500)], 3);
      line({ name: 'empty_sync_us', p, value: +sync.toFixed(3), unit: 'us', better: 'lower', compare: { mpi4py: 'barrier_us' } });
    } finally {
      await w.close();
    }
  }
}
