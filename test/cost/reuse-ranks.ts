// Rank side of test/cost/reuse.test.ts: bsp.reuseReceiveBuffers, on and off.
import { bsp } from '../../core/bsp.js';

export interface ReuseRanksReport {
  /** Every received package held exactly what its sender sent, in every superstep. */
  valuesOk: boolean;
  /** Supersteps whose large package from `prev` landed in the same memory as the one before. */
  sameMemory: number;
  /** The package of the first superstep still held its values at the end. */
  firstKept: boolean;
  /** Every DRMA put landed (puts-only messages share the reuse path). */
  putsOk: boolean;
}

/**
 * Supersteps with large packages (the largest first, then smaller ones that fit), a put-only
 * superstep, a small one, then large ones again; every rank sends to its successor.
 */
export async function reuseRun(reuse: boolean): Promise<ReuseRanksReport> {
  const p = bsp.procCount();
  const me = bsp.myProcID();
  const next = (me + 1) % p;
  const prev = (me + p - 1) % p;
  bsp.reuseReceiveBuffers(reuse);
  bsp.createArray('target', 'f8', 3000);
  await bsp.share('target');
  const target = bsp.asArray<Float64Array>('target');
  const sizes = [50000, 20000, 30000, 0, 3, 50000, 40000];
  let valuesOk = true, putsOk = true, sameMemory = 0;
  let first: Float64Array | undefined;
  let lastBuffer: ArrayBufferLike | undefined;
  for (let k = 0; k < sizes.length; k++) {
    const n = sizes[k]!;
    if (n > 0) {
      bsp.fromArray(new Float64Array(n).map((_, i) => me * 1e6 + k * 1e5 + i), 'big');
      bsp.toProc(next, 'big');
    } else {
      bsp.put(next, new Float64Array(3000).map((_, i) => me * 1e4 + i), 'target', 0);
    }
    await bsp.sync(`step ${k}`);
    if (n === 0) {
      for (let i = 0; i < 3000; i += 97) if (target[i] !== prev * 1e4 + i) putsOk = false;
      continue;
    }
    const got = bsp.toArray<Float64Array>(bsp.fromProc(prev)['big']!);
    if (got.length !== n) valuesOk = false;
    for (let i = 0; i < got.length; i += 7) if (got[i] !== prev * 1e6 + k * 1e5 + i) valuesOk = false;
    if (lastBuffer !== undefined && got.buffer === lastBuffer) sameMemory++;
    lastBuffer = got.buffer;
    if (k === 0) first = got;
  }
  let firstKept = true;
  for (let i = 0; i < first!.length; i += 7) if (first![i] !== prev * 1e6 + i) firstKept = false;
  bsp.reuseReceiveBuffers(false);
  bsp.delete('target');
  return { valuesOk, sameMemory, firstKept, putsOk };
}

/** reuseReceiveBuffers with a non-boolean: the ArgumentError's message. */
export function reuseBadArgument(): string {
  try {
    bsp.reuseReceiveBuffers('yes' as unknown as boolean);
  } catch (err) {
    return `${(err as Error).name}: ${(err as Error).message}`;
  }
  return 'no error';
}
