/**
 * Rank-side parts of `superstep probe`, run as 'call' jobs on a World (one job per h, so the
 * launcher can show progress between them). Not part of the public API.
 */
import { bsp } from '../bsp.js';
import { dotRate, streamRate } from './kernels.js';

export { dotRate };

/** Words rank `me` sends to its j-th successor (j = 1 .. P-1) in an h-relation of h words. */
export function shareOf(h: number, p: number, j: number): number {
  const base = Math.floor(h / (p - 1));
  return base + (j - 1 < h % (p - 1) ? 1 : 0);
}

/**
 * Runs `warmup + ceil(h / 32768) + reps` supersteps in which every rank sends h words
 * (float64) spread evenly over the other ranks (so each rank also receives h), through bsp
 * packages and bsp.sync.
 * Returns this rank's duration of each timed superstep, in seconds.
 */
export async function probeHRelation(h: number, reps: number, warmup: number): Promise<number[]> {
  const p = bsp.procCount();
  const me = bsp.myProcID();
  const names: string[] = [];
  for (let j = 1; j < p; j++) {
    const name = `superstep.probe.${j}`;
    (bsp.createArray(name, 'f8', Math.max(1, shareOf(h, p, j))).view() as Float64Array).fill(me);
    names.push(name);
  }
  // An empty share still needs a package name; send nothing for it.
  const times: number[] = [];
  await bsp.sync('probe.start');
  // Large h need more untimed supersteps before they settle (the allocator and the GC reach
  // a steady state of message buffers); the count depends only on h, so every rank agrees.
  const settle = warmup + Math.ceil(h / 32768);
  let last = performance.now();
  for (let i = 0; i < settle + reps; i++) {
    if (h > 0) {
      for (let j = 1; j < p; j++) if (shareOf(h, p, j) > 0) bsp.toProc((me + j) % p, names[j - 1]!);
    }
    await bsp.sync('probe');
    const now = performance.now();
    if (i >= settle) times.push((now - last) / 1000);
    last = now;
  }
  if (h > 0 && p > 1) {
    // Check the traffic really happened (a probe of nothing would fit nonsense).
    const from = (me - 1 + p) % p;
    const got = Object.values(bsp.fromProc(from))[0];
    if (!got || got.byteLength !== shareOf(h, p, 1) * 8) throw new Error(`probe: rank ${me} expected ${shareOf(h, p, 1)} words from rank ${from}, got ${got?.byteLength ?? 0} bytes`);
  }
  if (names.length) bsp.delete('superstep.probe');
  return times;
}

/** Every rank measures r at once (as they compute at once in a program). */
export async function probeRate(n: number, minMs: number): Promise<number> {
  await bsp.sync('probe.rate');
  return dotRate(n, minMs);
}

/** Every rank measures b at once (they share the memory bus, as in a program). */
export async function probeStream(cells: number, minMs: number): Promise<number> {
  await bsp.sync('probe.stream');
  return streamRate(cells, minMs);
}
