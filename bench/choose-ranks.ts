// Rank-side timing for bench/choose.bench.ts: one collective at one size, each algorithm
// forced in turn and then the model's own choice, every figure the steady mean (steady.ts).
import { world, choose, forceCollectiveAlgorithms, predictCollective, kAlgorithms, type ChoosableCollective } from '../index.js';
import { steadyTime } from './steady.js';

/** Per variant (an algorithm forced, or null: the model's choice), ms per call; with the choice and the model's times. */
export async function timeVariants(kind: ChoosableCollective, bytes: number, reps: number, variants: (string | null)[]): Promise<{ ms: number[]; chosen: string; predicted: (number | null)[] }> {
  const n = Math.max(1, Math.floor(bytes / 8));
  const a = new Float64Array(n).fill(world.rank + 1);
  const out = new Float64Array(kind === 'allgather' ? n * world.size : n);
  const op = (): Promise<unknown> => {
    switch (kind) {
      case 'allreduce': return world.allreduce(a, 'SUM', { out });
      case 'bcast': return world.bcast(world.rank === 0 ? a : null, 0, { out });
      case 'allgather': return world.allgather(a, { out });
    }
  };
  const ms: number[] = [];
  try {
    for (const v of variants) {
      forceCollectiveAlgorithms(v === null ? undefined : `${kind}:${v}`);
      ms.push((await steadyTime(op, reps, 6)).steady);
    }
  } finally {
    forceCollectiveAlgorithms(undefined);
  }
  const chosen = choose(kind, world.size, n * 8);
  return { ms, chosen, predicted: kAlgorithms[kind].map((alg) => predictCollective(kind, alg, world.size, n * 8)) };
}
