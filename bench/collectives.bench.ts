/**
 * Collectives on the world communicator: barrier, allreduce 8 B and 8 MiB, bcast 1 MiB (and
 * its ratio to one 1 MiB message), alltoall (8 KiB per pair), allgatherv and scatter 1 MiB,
 * at P = 2 and 4, on every backend of the table that runs here. Prints bench lines
 * (bench/README.md); mpi4py figures come from the runner's peer run.
 *
 *   node --import tsx bench/collectives.bench.ts [--quick] [--backends=sab]
 *
 * On sab the communicators' collectives go through shared memory (comm/collectives/shm.ts);
 * SUPERSTEP_COMM_SHM=0 in the environment measures the message algorithms instead.
 */
import './tuned.js';
import { startWorld } from '../core/launch/world.js';
import { benchBackends, medianOfSteadyJobs, peerOf } from './lib.js';

const quick = process.argv.includes('--quick');
const ranks = new URL('./collectives-ranks.ts', import.meta.url).href;

const emit = (o: Record<string, unknown>) => console.log(JSON.stringify(o));
const scale = quick ? 0.25 : 1;

const cases: { name: string; kind: string; bytes: number; reps: number; unit: 'us' | 'ms'; key?: string }[] = [
  // References for the ratios below: the transport's own barrier and one 8 MiB copy.
  { name: 'transport_barrier_us', kind: 'transport_barrier', bytes: 0, reps: 4000, unit: 'us' },
  { name: 'memcpy_8MiB_ms', kind: 'memcpy', bytes: 8 << 20, reps: 20, unit: 'ms' },
  { name: 'barrier_us', kind: 'barrier', bytes: 0, reps: 4000, unit: 'us', key: 'barrier_us' },
  { name: 'allreduce_8B_us', kind: 'allreduce', bytes: 8, reps: 4000, unit: 'us', key: 'allreduce_8B_us' },
  { name: 'allreduce_8MiB_ms', kind: 'allreduce', bytes: 8 << 20, reps: 20, unit: 'ms', key: 'allreduce_8MiB_ms' },
  // A 1 MiB round trip between ranks 0 and 1: bcast 1 MiB is compared with half of it (one message).
  { name: 'pingpong_1MiB_rtt_us', kind: 'pingpong', bytes: 1 << 20, reps: 100, unit: 'us' },
  // Keys the mpi4py peer prints where it measures them (ratios appear once it does).
  { name: 'bcast_1MiB_us', kind: 'bcast', bytes: 1 << 20, reps: 100, unit: 'us', key: 'bcast_1MiB_us' },
  { name: 'alltoall_8KiB_per_pair_us', kind: 'alltoall', bytes: 8 << 10, reps: 400, unit: 'us', key: 'alltoall_8KiB_per_pair_us' },
  { name: 'allgatherv_1MiB_us', kind: 'allgatherv', bytes: 1 << 20, reps: 100, unit: 'us', key: 'allgatherv_1MiB_us' },
  { name: 'scatter_1MiB_us', kind: 'scatter', bytes: 1 << 20, reps: 200, unit: 'us' },
];

for (const backend of benchBackends()) {
  for (const p of [2, 4]) {
    const world = await startWorld({ procs: p, backend });
    const got = new Map<string, number>();
    try {
      for (const c of cases) {
        // tcp is slower per message: fewer repetitions keep the run short.
        const reps = Math.max(5, Math.round(c.reps * scale * (backend === 'tcp' ? 0.25 : 1)));
        // Each job times rounds until two agree (bench/steady.ts: the JIT's compiles stall a
        // rank for milliseconds at first); the figure is the median of three jobs' steady
        // means, and the first job's first round is reported beside it as the cold figure.
        const t = await medianOfSteadyJobs(world, ranks, 'time', [c.kind, c.bytes, reps], 3);
        const toUnit = (ms: number) => +(c.unit === 'us' ? ms * 1e3 : ms).toFixed(3);
        const value = toUnit(t.steady);
        const peer = peerOf(backend);
        emit({ name: c.name, backend, p, value, unit: c.unit, better: 'lower', ...(c.key ? { compare: { [peer]: c.key } } : {}), extra: { reps, cold: toUnit(t.cold), rounds: t.rounds } });
        process.stderr.write(`${backend} P=${p} ${c.name}: ${value} ${c.unit} (cold ${toUnit(t.cold)}, rounds ${t.rounds.join(' ')})\n`);
        got.set(c.name, value);
      }
      // Ratios to references measured in the same run: they stay meaningful on a loaded machine.
      const ratio = (name: string, num: string, den: string) => {
        const v = got.get(num)! / got.get(den)!;
        emit({ name, backend, p, value: +v.toFixed(3), unit: 'ratio', better: 'lower' });
        process.stderr.write(`${backend} P=${p} ${name}: ${v.toFixed(3)}\n`);
      };
      ratio('barrier_over_transport_barrier_ratio', 'barrier_us', 'transport_barrier_us');
      ratio('allreduce_8MiB_over_memcpy_8MiB_ratio', 'allreduce_8MiB_ms', 'memcpy_8MiB_ms');
      // Target: a 1 MiB bcast at P = 2 within 1.3x one 1 MiB message (half the round trip).
      const half = got.get('pingpong_1MiB_rtt_us')! / 2;
      emit({ name: 'bcast_1MiB_over_one_message_ratio', backend, p, value: +(got.get('bcast_1MiB_us')! / half).toFixed(3), unit: 'ratio', better: 'lower' });
    } finally {
      await world.close();
    }
  }
}
