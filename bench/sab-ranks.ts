// Rank-side programs of bench/sab.bench.ts (run as 'call' jobs on a World).
import { bsp } from '../core/bsp.js';
import { context } from '../comm/context.js';

const kCtx = 7; // a context no library layer uses

/** Half round trip of a ping-pong between ranks 0 and 1, in microseconds (rank 0's figure). */
export async function pingpong(bytes: number, reps: number, warmup: number): Promise<number> {
  const t = context().transport;
  if (t.rank > 1) return 0;
  const buf = new Uint8Array(bytes).fill(t.rank + 1);
  const into = new Uint8Array(bytes); // preallocated, as mpi4py's Recv into a numpy buffer
  const peer = 1 - t.rank;
  let t0 = 0;
  for (let i = 0; i < warmup + reps; i++) {
    if (i === warmup) t0 = performance.now();
    if (t.rank === 0) {
      await t.send(peer, kCtx, 1, buf);
      const m = await t.recv(peer, kCtx, 1, into);
      if (m.data.byteLength !== bytes) throw new Error(`pingpong: got ${m.data.byteLength} bytes, expected ${bytes}`);
    } else {
      const m = await t.recv(peer, kCtx, 1, into);
      await t.send(peer, kCtx, 1, m.data);
    }
  }
  return ((performance.now() - t0) * 1000) / reps / 2;
}

/** Cost of an empty superstep (bsp.sync with nothing queued), in microseconds. */
export async function emptySync(reps: number, warmup: number): Promise<number> {
  for (let i = 0; i < warmup; i++) await bsp.sync();
  const t0 = performance.now();
  for (let i = 0; i < reps; i++) await bsp.sync();
  return ((performance.now() - t0) * 1000) / reps;
}

/** Cost of a transport barrier, in microseconds. */
export async function barrier(reps: number, warmup: number): Promise<number> {
  const t = context().transport;
  for (let i = 0; i < warmup; i++) await t.barrier();
  const t0 = performance.now();
  for (let i = 0; i < reps; i++) await t.barrier();
  return ((performance.now() - t0) * 1000) / reps;
}
