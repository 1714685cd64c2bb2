/**
 * @internal The communication a DistArray needs, in one place: personalised exchanges (one
 * BSP superstep: each rank sends a message to some ranks and receives from some ranks),
 * small reductions, barriers and, where ranks share memory, the one-time swap of
 * SharedArrayBuffers that lets halos and matvec read neighbours' blocks directly.
 *
 * Messages go through a duplicate of the world communicator (its own message space) with a
 * tag drawn from a counter that every rank advances in the same order (every DistArray
 * operation is collective); reductions use the world communicator's allreduce. Only the
 * barrier and the SharedArrayBuffer swap use the transport directly.
 */
import type { Transport } from '../comm/transport.js';
import { waitAll } from '../comm/request.js';
import { context, jobSlot } from '../comm/context.js';
import { world, type Communicator } from '../comm/comm.js';

export type ReduceOp = 'sum' | 'min' | 'max';

export class Team {
  readonly rank: number;
  readonly size: number;
  private seq = 0;
  private comm: Communicator | undefined;
  /**
   * Direct access to peers' memory: on by default where the transport shares memory;
   * SUPERSTEP_DISTARRAY_SHARED=0 forces the message path (tests use it to cover both).
   */
  readonly shared: boolean;

  constructor(readonly transport: Transport) {
    this.rank = transport.rank;
    this.size = transport.size;
    const env = process.env.SUPERSTEP_DISTARRAY_SHARED;
    this.shared = transport.capabilities.sharedMemory && typeof transport.shareBuffers === 'function' && env !== '0';
  }

  /** A fresh tag for one collective operation (same on every rank). */
  nextTag(): number {
    this.seq = (this.seq + 1) & 0x3fffffff;
    return this.seq;
  }

  barrier(): Promise<void> {
    return this.transport.barrier();
  }

  /** Collective: every rank's SharedArrayBuffer, in rank order. */
  share(buffer: SharedArrayBuffer): Promise<SharedArrayBuffer[]> {
    return this.transport.shareBuffers!(buffer);
  }

  /**
   * One superstep of point-to-point messages: sends `sends` (dest -> bytes) and receives one
   * message from every rank in `from`. Resolves with source -> bytes. Collective: every rank
   * calls it for the same operation (possibly with nothing to send or receive).
   */
  async exchange(sends: Map<number, Uint8Array>, from: Iterable<number>, tag = this.nextTag()): Promise<Map<number, Uint8Array>> {
    // A communicator of our own (world.dup(), made by the first exchange on every rank), so
    // a user's world.recv(ANY_SOURCE, ANY_TAG) can never take a DistArray message.
    const comm = (this.comm ??= await world.dup());
    const sent = [...sends].map(([dest, bytes]) => comm.isend(bytes, dest, tag));
    const sources = [...from];
    const received = sources.map((src) => comm.irecv<Uint8Array>(src, tag));
    try {
      const data = await waitAll(received);
      const got = new Map<number, Uint8Array>();
      sources.forEach((src, i) => got.set(src, data[i]!));
      return got;
    } finally {
      await Promise.allSettled(sent.map((r) => r.wait()));
      await waitAll(sent);
    }
  }

  /**
   * Collective: elementwise reduction of `values` over every rank, with the same result on
   * every rank (the world communicator's allreduce).
   */
  async allreduce(values: Float64Array, op: ReduceOp): Promise<Float64Array> {
    if (this.size === 1) return values.slice();
    return world.allreduce(values, kOps[op]);
  }
}

const kOps = { sum: 'SUM', min: 'MIN', max: 'MAX' } as const;

/** This rank's team for the current job. */
export function team(): Team {
  return jobSlot('distarray.team', () => new Team(context().transport));
}
