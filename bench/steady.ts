// Rank-side steady-state timing, in the manner of JMH's warm-up iterations: a JIT-compiled
// loop is not at its speed until V8 has compiled (and sometimes recompiled) its paths, and on
// 2 cores each background compile stalls a spinning rank for 1-7 ms (measured with
// --trace-opt: the stalls line up with "completed optimizing" and vanish under --no-opt).
// Python's interpreter has no such phase, so a fair comparison with mpi4py times rounds
// until two agree, and reports the first round beside it as the cold figure.
import { world } from '../index.js';

export interface SteadyTime {
  /** Mean ms per operation of the last round, once it agreed with the round before it. */
  steady: number;
  /** Mean ms per operation of the first round (the JIT still compiling). */
  cold: number;
  rounds: number;
}

/**
 * Times `op` in rounds of `reps` calls until two rounds in a row agree within `tolerance` (at
 * most `maxRounds`). Every figure is the maximum over ranks, as mpi4py's
 * timeit reports, and the stopping rule uses it, so every rank runs the same rounds.
 */
export async function steadyTime(op: () => unknown, reps: number, maxRounds = 8, tolerance = 0.1): Promise<SteadyTime> {
  const slowest = new Float64Array(1);
  let cold = 0;
  let prev = Infinity;
  let last = 0;
  let rounds = 0;
  while (rounds < maxRounds) {
    await world.barrier();
    const t0 = performance.now();
    for (let i = 0; i < reps; i++) await op();
    slowest[0] = (performance.now() - t0) / reps;
    last = (await world.allreduce(slowest, 'MAX'))[0]!;
    if (rounds++ === 0) cold = last;
    if (Math.abs(last - prev) <= tolerance * Math.min(last, prev)) break;
    prev = last;
  }
  return { steady: last, cold, rounds };
}
