// Rank-side timing loops for bench/collectives.bench.ts: the mean time per operation, the
// maximum over ranks (as mpi4py_bench.py's timeit does), once the JIT has settled (steady.ts).
import { world } from '../index.js';
import { context } from '../comm/context.js';
import { steadyTime, type SteadyTime } from './steady.js';

/** memcpy and transport_barrier are references measured in the same run, to normalise noisy machines. */
type Kind = 'barrier' | 'allreduce' | 'bcast' | 'alltoall' | 'memcpy' | 'transport_barrier' | 'allgatherv' | 'scatter' | 'pingpong';

export async function time(kind: Kind, bytes: number, reps: number): Promise<SteadyTime> {
  const n = Math.max(1, bytes / 8);
  const a = new Float64Array(kind === 'alltoall' ? n * world.size : n).fill(1);
  const out = new Float64Array(a.length);
  const op = (): Promise<unknown> => {
    switch (kind) {
      case 'barrier': return world.barrier();
      case 'allreduce': return world.allreduce(a, 'SUM', { out });
      case 'bcast': return world.bcast(world.rank === 0 ? a : null, 0, { out });
      case 'alltoall': return world.alltoall(a, { out });
      case 'memcpy': out.set(a); return Promise.resolve();
      case 'transport_barrier': return context().transport.barrier();
      // `bytes` in all: each rank's part is bytes / size (the result fills `out`).
      case 'allgatherv': return world.allgatherv(a.subarray(0, a.length / world.size), { out });
      // The root's `bytes`, a block of bytes / size to every rank.
      case 'scatter': return world.scatter(world.rank === 0 ? a : null, 0, { out: out.subarray(0, a.length / world.size) });
      // One round trip of `bytes` between ranks 0 and 1 (the others idle): the one-message reference.
      case 'pingpong': return pingpong(a, out);
    }
  };
  return steadyTime(op, reps);
}

async function pingpong(a: Float64Array, out: Float64Array): Promise<void> {
  if (world.rank === 0) {
    await world.send(a, 1, 7);
    await world.recv(1, 7, { out });
  } else if (world.rank === 1) {
    await world.recv(0, 7, { out });
    await world.send(a, 0, 7);
  }
}
