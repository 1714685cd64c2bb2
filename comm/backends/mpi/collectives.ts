/**
 * The mpi backend's collective engine: long allreduce, allgather and alltoall of the world
 * communicator on MPI's own nonblocking collectives (the MPI library's tuned algorithms over
 * its fabric); everything else, and every communicator derived from the world, on superstep's
 * algorithms over messages (MessageEngine).
 *
 * superstep's guarantees stay: before a native call, the ranks pass a dissemination barrier
 * over messages that carries the call's signature (collectives/guard.ts), so a rank that
 * called another collective, another dtype, op or length raises CollectiveMismatchError on
 * every rank (and a refused argument, its error) instead of entering MPI with the others;
 * MPI is entered only by ranks that agree. Results are bit-identical on every rank: MPI's
 * allreduce only where every order of the reduction gives the same bits (integer dtypes; MIN
 * and MAX of floats are not among them, NaN makes them order-dependent), and a float SUM or
 * PROD as MPI's reduce-scatter then allgather, so that each element is reduced once, on one
 * rank. Native calls of one communicator are issued one after the other, in call order, as
 * MPI requires of collectives on one communicator.
 */
import { bytesOf, dtypeOf, kDTypes, type DType, type TypedArray } from '../../../util/dtype.js';
import { blockCounts, displsOf } from '../../collectives/chan.js';
import { checkOut, MessageEngine, registerCollectiveEngine, type CollEngine } from '../../collectives/engine.js';
import { disseminationBarrier } from '../../collectives/tree.js';
import type { CollChan } from '../../collectives/typed.js';
import type { Kernel, Op } from '../../ops.js';
import type { Transport } from '../../transport.js';
import type { MpiTransport } from './transport.js';

/** Element types MPI reduces, by the addon's codes (addon.c dtype_of). */
const kMpiTypes: Partial<Record<DType, number>> = { int8: 0, uint8: 1, int16: 2, uint16: 3, int32: 4, uint32: 5, int64: 6, uint64: 7, float32: 8, float64: 9 };
/** Reduction ops MPI has with superstep's meaning, by the addon's codes (addon.c op_of). */
const kMpiOps: Record<string, number> = { SUM: 0, PROD: 1, MIN: 2, MAX: 3, BAND: 4, BOR: 5, BXOR: 6 };
/** From this many bytes of a rank's data a collective runs on MPI's own (below it the barrier would cost more than it saves). */
const kNativeBytes = 64 << 10;
/** MPI counts are C ints. */
const kMaxCount = 0x7fffffff;

type T = TypedArray;

/** How MPI reduces `dt` with `op` bit-identically on every rank: one allreduce, via reduce-scatter, or not at all. */
function reduction(dt: DType, op: Op): 'allreduce' | 'scatter' | undefined {
  const type = kMpiTypes[dt];
  const code = kMpiOps[op.name];
  if (type === undefined || code === undefined || !op.commutative) return undefined;
  const float = dt === 'float32' || dt === 'float64';
  if (!float) return 'allreduce';
  return op.name === 'SUM' || op.name === 'PROD' ? 'scatter' : undefined;
}

/** A copy of `data` when MPI would read it from memory it also writes (send and receive may not overlap). */
function apart<R extends T>(data: R, out: T): R {
  return data.buffer === out.buffer ? (data.slice() as R) : data;
}

export class MpiEngine extends MessageEngine implements CollEngine {
  override readonly kind: string = 'mpi';
  /** The last native call of this communicator (the next is issued after it). */
  private tail: Promise<unknown> = Promise.resolve();

  constructor(private readonly t: MpiTransport) {
    super();
  }

  /**
   * Runs `call` (one or more native collectives) once every rank agreed on this call, after
   * the native calls before it. A mismatch raises here, before MPI is entered.
   */
  private native(ch: CollChan, call: () => Promise<void>): Promise<void> {
    // `tail` never rejects (a failed call is caught below), so one continuation is enough.
    const run = this.tail.then(() => disseminationBarrier(ch)).then(call);
    this.tail = run.catch(() => {});
    return run;
  }

  override async allreduce(ch: CollChan, data: T, op: Op, kernel: Kernel, into: T | undefined): Promise<T> {
    const dt = dtypeOf(data)!;
    const how = reduction(dt, op);
    if (!how || ch.size === 1 || data.byteLength < kNativeBytes || data.length > kMaxCount) return super.allreduce(ch, data, op, kernel, into);
    const out = into ?? new kDTypes[dt].ctor(data.length);
    checkOut(ch, out, data.length, dt);
    const res = out.length === data.length ? out : out.subarray(0, data.length);
    const src = apart(data, res);
    const type = kMpiTypes[dt]!;
    const code = kMpiOps[op.name]!;
    await this.native(ch, async () => {
      if (how === 'allreduce') {
        await this.t.collective((m) => m.iallreduce(bytesOf(src), bytesOf(res), data.length, type, code), [bytesOf(src), bytesOf(res)]);
        return;
      }
      const counts = blockCounts(data.length, ch.size);
      const bpe = kDTypes[dt].bytes;
      const mine = new kDTypes[dt].ctor(counts[ch.rank]!);
      await this.t.collective((m) => m.ireduceScatter(bytesOf(src), bytesOf(mine), Int32Array.from(counts), type, code), [bytesOf(src), bytesOf(mine)]);
      const byteCounts = Int32Array.from(counts, (n) => n * bpe);
      const byteDispls = Int32Array.from(displsOf(counts), (d) => d * bpe);
      await this.t.collective((m) => m.iallgatherv(bytesOf(mine), bytesOf(res), byteCounts, byteDispls), [bytesOf(mine), bytesOf(res), byteCounts, byteDispls]);
    });
    return out;
  }

  override async allgather(ch: CollChan, data: T, into: T | undefined): Promise<T> {
    const dt = dtypeOf(data)!;
    if (ch.size === 1 || data.byteLength < kNativeBytes || data.byteLength * ch.size > kMaxCount) return super.allgather(ch, data, into);
    const n = data.length;
    const out = into ?? new kDTypes[dt].ctor(n * ch.size);
    checkOut(ch, out, n * ch.size, dt);
    const res = bytesOf(out).subarray(0, data.byteLength * ch.size);
    const src = bytesOf(apart(data, out));
    const counts = new Int32Array(ch.size).fill(data.byteLength);
    const displs = Int32Array.from(counts, (c, r) => c * r);
    await this.native(ch, () => this.t.collective((m) => m.iallgatherv(src, res, counts, displs), [src, res, counts, displs]));
    return out;
  }

  override async alltoall(ch: CollChan, data: T, into: T | undefined): Promise<T> {
    const dt = dtypeOf(data)!;
    if (ch.size === 1 || data.byteLength < kNativeBytes || data.byteLength > kMaxCount) return super.alltoall(ch, data, into);
    const out = into ?? new kDTypes[dt].ctor(data.length);
    checkOut(ch, out, data.length, dt);
    const res = bytesOf(out).subarray(0, data.byteLength);
    const src = bytesOf(apart(data, out));
    await this.native(ch, () => this.t.collective((m) => m.ialltoall(src, res, data.byteLength / ch.size), [src, res]));
    return out;
  }
}

/**
 * The engine of a communicator on the mpi backend: MPI's own for the world communicator
 * (ranks null; derived communicators would need MPI communicators of their own, whose
 * creation is collective in an order every rank must share), unless
 * SUPERSTEP_MPI_COLLECTIVES=0.
 */
export function mpiEngine(t: Transport, ranks: readonly number[] | null): CollEngine | undefined {
  if (ranks !== null || process.env.SUPERSTEP_MPI_COLLECTIVES === '0') return undefined;
  return new MpiEngine(t as MpiTransport);
}

registerCollectiveEngine('mpi', mpiEngine);
