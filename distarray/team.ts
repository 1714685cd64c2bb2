/**
 * @internal The communication a DistArray needs, in one place: personalised exchanges (one
 * BSP superstep: each rank sends a message to some ranks and receives from some ranks),
 * small reductions, barriers and, where ranks share memory, the one-time swap of
 * SharedArrayBuffers that lets halos and matvec read neighbours' blocks directly.
 *
 * Messages use a transport context of their own and a tag drawn from a counter that every
 * rank advances in the same order (every DistArray operation is collective), so concurrent
 * BSP syncs or communicator traffic never match them.
 */
import { ANY_SOURCE, type Payload, type Transport } from '../comm/transport.js';
import { context, jobSlot } from '../core/context.js';
import { ArgumentError } from '../util/errors.js';
import { world } from '../comm/comm.js';

/** Transport context reserved for distarray messages. */
export const kDistContext = 0x0d15a;

export type ReduceOp = 'sum' | 'min' | 'max';

export class Team {
  readonly rank: number;
  readonly size: number;
  private seq = 0;
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
   * One superstep of point-to-point messages: sends `sends` (dest -> payload) and receives
   * one message from every rank in `from`. Resolves with source -> bytes.
   */
  async exchange(sends: Map<number, Payload>, from: Iterable<number>, tag = this.nextTag()): Promise<Map<number, Uint8Array>> {
    const t = this.transport;
    const pending: Promise<void>[] = [];
    for (const [dest, payload] of sends) pending.push(t.send(dest, kDistContext, tag, payload));
    const got = new Map<number, Uint8Array>();
    const want = new Set(from);
    try {
      while (want.size > 0) {
        const m = await t.recv(want.size === 1 ? [...want][0]! : ANY_SOURCE, kDistContext, tag);
        if (!want.delete(m.source)) throw new ArgumentError('message', `one from ranks ${[...want].join(', ')}`, `rank ${m.source}`, this.rank);
        got.set(m.source, m.data);
      }
    } finally {
      await Promise.allSettled(pending);
    }
    await Promise.all(pending);
    return got;
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
