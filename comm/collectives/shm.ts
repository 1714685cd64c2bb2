/**
 * Shared-memory allreduce for the world communicator on the sab backend, where ranks are
 * threads of one process: instead of moving blocks through the rings (two copies per hop and
 * a doorbell per chunk), every rank copies its input into a shared arena once, each rank
 * reduces its own block of every rank's input in rank order, and every rank copies the
 * result out. Two phase flags per operation replace the message rounds.
 *
 * The arena is a SharedArrayBuffer handed around once per job through a BroadcastChannel
 * (message payloads are bytes; a SAB must travel as an object), named by rank 0 over the
 * collective's own messages. Operations on one rank are chained, and each reserves its
 * message tag when it is called, so concurrent collectives still line up across ranks.
 */
import { BroadcastChannel } from 'node:worker_threads';
import { randomBytes } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { jobSlot } from '../../core/context.js';
import { bytesOf, viewOf, dtypeOf, type TypedArray } from '../../util/dtype.js';
import type { Kernel } from '../ops.js';
import type { Transport } from '../transport.js';
import { blockCounts, displsOf, kEmpty, type Chan } from './chan.js';
import { binomialBcast } from './tree.js';

/** Microtask spins before sleeping: short when ranks outnumber cores, so waiters yield the core. */
let spinBudget: number | undefined;

/** Per-rank flag stride in Int32s (64 bytes, so ranks' flags sit on separate cache lines). */
const kFlagStride = 16;

interface Arena {
  sab: SharedArrayBuffer;
  /** Bytes per rank slot. */
  cap: number;
  flags: Int32Array;
  /** Operations done on this arena. */
  gen: number;
}

interface ShmState {
  arena: Arena | undefined;
  chain: Promise<unknown>;
}

/** True when the shared-memory path applies: the world on a shared-memory backend, P > 1. */
export function shmEligible(t: Transport, isWorld: boolean, bytes: number): boolean {
  return isWorld && t.capabilities.sharedMemory && t.backend === 'sab' && t.size > 1 && bytes >= kShmMinBytes && process.env.SUPERSTEP_COMM_SHM !== '0';
}

/** Below this size the message algorithms are as fast. */
export const kShmMinBytes = 64 << 10;

/**
 * Allreduce of `data` into `out` through the shared arena. `ch` is the collective's channel,
 * reserved at call time (used only when the arena must be (re)created).
 */
export function shmAllreduce(ch: Chan, data: TypedArray, out: TypedArray, kernel: Kernel, unit: number): Promise<void> {
  const st = jobSlot<ShmState>('comm.shm', () => ({ arena: undefined, chain: Promise.resolve() }));
  const run = st.chain.then(() => allreduceNow(st, ch, data, out, kernel, unit));
  st.chain = run.catch(() => {});
  return run;
}

async function allreduceNow(st: ShmState, ch: Chan, data: TypedArray, out: TypedArray, kernel: Kernel, unit: number): Promise<void> {
  const { rank: me, size: p } = ch;
  const nbytes = data.byteLength;
  if (!st.arena || st.arena.cap < nbytes) st.arena = await createArena(ch, Math.max(nbytes, st.arena ? st.arena.cap * 2 : 0));
  const a = st.arena;
  const dt = dtypeOf(data)!;
  const n = data.length;
  const slot = (q: number) => viewOf(dt, a.sab, q * a.cap, n);
  const result = viewOf(dt, a.sab, p * a.cap, n);
  const gen = ++a.gen;
  // Phase A: every input is in the arena.
  new Uint8Array(a.sab, me * a.cap, nbytes).set(bytesOf(data));
  await phase(a, me, p, 2 * gen - 1);
  // Each rank reduces its block of every input, in rank order.
  const counts = blockCounts(n / unit, p).map((c) => c * unit);
  const lo = displsOf(counts)[me]!;
  const hi = lo + counts[me]!;
  if (hi > lo) {
    const r = result.subarray(lo, hi);
    kernel(slot(0).subarray(lo, hi), slot(1).subarray(lo, hi), r);
    for (let q = 2; q < p; q++) kernel(r, slot(q).subarray(lo, hi), r);
  }
  // Phase B: the whole result is in the arena.
  await phase(a, me, p, 2 * gen);
  new Uint8Array(out.buffer, out.byteOffset, nbytes).set(new Uint8Array(a.sab, p * a.cap, nbytes));
}

/** Publishes this rank's phase and waits until every rank has reached it. */
async function phase(a: Arena, me: number, p: number, target: number): Promise<void> {
  Atomics.store(a.flags, me * kFlagStride, target);
  Atomics.notify(a.flags, me * kFlagStride);
  let keepAlive: NodeJS.Timeout | undefined;
  const budget = (spinBudget ??= p > availableParallelism() ? 20 : 2000);
  try {
    for (let spin = 0; ; spin++) {
      let slow = -1;
      for (let q = 0; q < p; q++) {
        if (Atomics.load(a.flags, q * kFlagStride) < target) {
          slow = q;
          break;
        }
      }
      if (slow < 0) return;
      if (spin < budget) {
        await undefined;
        continue;
      }
      // A pending waitAsync does not keep a thread alive; a timer does.
      keepAlive ??= setInterval(() => {}, 1 << 30);
      const v = Atomics.load(a.flags, slow * kFlagStride);
      if (v < target) {
        const w = Atomics.waitAsync(a.flags, slow * kFlagStride, v, 20);
        if (w.async) await w.value;
      }
    }
  } finally {
    if (keepAlive) clearInterval(keepAlive);
  }
}

/**
 * Creates an arena with slots of at least `cap` bytes: rank 0 allocates it and posts it on a
 * BroadcastChannel whose name it sends to everyone; it posts once every rank listens.
 */
async function createArena(ch: Chan, minCap: number): Promise<Arena> {
  const { rank: me, size: p } = ch;
  let cap = 1 << 16;
  while (cap < minCap) cap *= 2;
  const flagBytes = p * kFlagStride * 4;
  const nameBytes = me === 0 ? new TextEncoder().encode(`superstep.comm.shm.${randomBytes(12).toString('hex')}`) : undefined;
  const got = await binomialBcast(ch, 0, nameBytes);
  const name = new TextDecoder().decode(got ?? nameBytes!);
  const bc = new BroadcastChannel(name);
  try {
    if (me === 0) {
      for (let q = 1; q < p; q++) await ch.recv(q);
      const sab = new SharedArrayBuffer((p + 1) * cap + flagBytes);
      bc.postMessage(sab);
      // Everyone must have it before the channel goes: one more round.
      for (let q = 1; q < p; q++) await ch.recv(q);
      return { sab, cap, flags: new Int32Array(sab, (p + 1) * cap, p * kFlagStride), gen: 0 };
    }
    const sabP = new Promise<SharedArrayBuffer>((resolve) => {
      bc.onmessage = (e: unknown) => resolve((e as { data: SharedArrayBuffer }).data);
    });
    await ch.send(0, kEmpty);
    const sab = await sabP;
    await ch.send(0, kEmpty);
    return { sab, cap, flags: new Int32Array(sab, (p + 1) * cap, p * kFlagStride), gen: 0 };
  } finally {
    bc.close();
  }
}
