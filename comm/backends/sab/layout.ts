/**
 * Shared-memory layout of the sab backend. One control block (Int32 slots) for the whole
 * job, and one single-producer single-consumer byte ring per ordered pair of ranks.
 * Slots that different threads write often sit on different 64-byte lines.
 */

/** Control block, global slots. */
export const kAbort = 0; // 0 running, 1 aborted
export const kAbortRank = 1; // rank that failed, -1 if unknown
export const kJob = 2; // job counter, bumped by the launcher
/** Control block, per-rank slots: base = kRankBase + rank * kRankStride. */
export const kRankBase = 16;
export const kRankStride = 16; // 64 bytes per rank
export const kDoorbell = 0; // bumped by anyone who wants this rank to look again
export const kSleeping = 1; // 1 while the rank waits in Atomics.waitAsync
export const kState = 2; // job epoch * 4 + (kRunning | kFinished | kFailed)
export const kBarrier = 3; // generation of the last barrier this rank entered

export const kRunning = 0;
export const kFinished = 1;
export const kFailed = 2;

export function controlSlots(size: number): number {
  return kRankBase + size * kRankStride;
}
export function slot(rank: number, field: number): number {
  return kRankBase + rank * kRankStride + field;
}

/** The state of `rank` as seen from job `epoch`: kRunning unless it finished or failed in that job. */
export function rankState(ctl: Int32Array, rank: number, epoch: number): number {
  const v = Atomics.load(ctl, slot(rank, kState));
  return v >>> 2 === (epoch & 0x1fffffff) ? v & 3 : kRunning;
}

/** Ring header: head (written by producer) and tail (written by consumer) on separate lines. */
export const kHead = 0; // Int32 index
export const kTail = 16; // Int32 index (byte 64)
export const kRingHeaderBytes = 128;
/** Message record header in a ring: context, tag, byte length (low, high). */
export const kRecordHeaderBytes = 16;

/** Largest single message, in bytes. */
export const kMaxMessageBytes = 2 ** 32 - 1;

/** Ring capacity for P ranks: a power of two, 64 KiB .. 4 MiB, about 64 MiB in all. */
export function defaultRingBytes(size: number): number {
  const pairs = Math.max(1, size * (size - 1));
  let cap = 4 << 20;
  while (cap > 64 << 10 && cap * pairs > 64 << 20) cap >>= 1;
  return cap;
}

/** What the launcher hands each rank's thread. */
export interface SabWorld {
  size: number;
  control: SharedArrayBuffer;
  /** rings[src * size + dst]; undefined on the diagonal. */
  rings: (SharedArrayBuffer | undefined)[];
  ringBytes: number;
}

export function createSabWorld(size: number, ringBytes = defaultRingBytes(size)): SabWorld {
  if ((ringBytes & (ringBytes - 1)) !== 0 || ringBytes < 1024) throw new RangeError(`ringBytes must be a power of two >= 1024; got ${ringBytes}`);
  const control = new SharedArrayBuffer(controlSlots(size) * 4);
  const rings: (SharedArrayBuffer | undefined)[] = [];
  for (let s = 0; s < size; s++) {
    for (let d = 0; d < size; d++) rings.push(s === d ? undefined : new SharedArrayBuffer(kRingHeaderBytes + ringBytes));
  }
  new Int32Array(control)[kAbortRank] = -1;
  return { size, control, rings, ringBytes };
}

/** Marks the job aborted and wakes every rank (callable from the launcher's main thread). */
export function abortSabWorld(world: SabWorld, failedRank: number): void {
  const ctl = new Int32Array(world.control);
  if (Atomics.compareExchange(ctl, kAbort, 0, 1) === 0) Atomics.store(ctl, kAbortRank, failedRank);
  for (let r = 0; r < world.size; r++) {
    Atomics.add(ctl, slot(r, kDoorbell), 1);
    Atomics.notify(ctl, slot(r, kDoorbell));
  }
}

/**
 * Sets a rank's state in job `epoch` and wakes everyone (so waits on it are re-examined).
 * The epoch keeps a rank that already started the next job from reading a peer's
 * 'finished' of the previous one as 'gone'.
 */
export function setRankState(world: SabWorld, rank: number, state: number, epoch: number): void {
  const ctl = new Int32Array(world.control);
  Atomics.store(ctl, slot(rank, kState), ((epoch & 0x1fffffff) << 2) | state);
  for (let r = 0; r < world.size; r++) {
    Atomics.add(ctl, slot(r, kDoorbell), 1);
    Atomics.notify(ctl, slot(r, kDoorbell));
  }
}
