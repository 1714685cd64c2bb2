/**
 * Per-rank, per-job state of global arrays: shared packages (for DRMA), queued DRMA
 * operations, the collective call counter (message tags) and the service client.
 */
import type { Transport } from '../../comm/transport.js';
import type { DType, TypedArray } from '../../util/dtype.js';
import { context, jobSlot } from '../../comm/context.js';
import { kDrmaContext, kGlobalContext } from '../../comm/contexts.js';
import { packr } from '../package.js';
import { ServiceClient } from './service/client.js';

const kClient = Symbol.for('superstep.globalServiceClient');

// Global arrays' transport contexts are reserved in the registry, apart from communicators'.
export { kDrmaContext, kGlobalContext };

/** What every rank knows about one rank's shared package. */
export interface SharedMeta {
  dtype: DType;
  length: number;
}

/** A shared package: this rank's memory and every rank's metadata. */
export interface SharedEntry {
  name: string;
  /** This rank's elements (the package's memory at share time). */
  view: TypedArray;
  metas: SharedMeta[];
}

export interface PutOp {
  name: string;
  offset: number;
  bytes: Uint8Array;
}

export interface GetOp {
  name: string;
  offset: number;
  count: number;
  out: TypedArray;
}

export class GlobalState {
  readonly shared = new Map<string, SharedEntry>();
  puts: PutOp[][];
  gets: GetOp[][];
  /** Collective calls so far (each uses its own tag). */
  seq = 0;
  /** Served-path segments registered in this job (unregistered at the next job). */
  readonly segments: number[] = [];

  constructor(readonly transport: Transport) {
    this.puts = Array.from({ length: transport.size }, () => []);
    this.gets = Array.from({ length: transport.size }, () => []);
  }

  /** This thread's connections to owners' workers: kept across jobs (the workers are). */
  get client(): ServiceClient {
    const g = globalThis as { [kClient]?: ServiceClient };
    return (g[kClient] ??= new ServiceClient(this.transport.rank));
  }
}

/** @internal The current rank's global-array state. */
export function globalState(): GlobalState {
  return jobSlot('global', () => new GlobalState(context().transport));
}

/**
 * Every rank sends `value` to every rank (itself included) and gets every rank's, in rank
 * order: one small message per pair, on the global context, tagged by call number.
 */
export async function allgatherSmall<T>(t: Transport, value: T): Promise<T[]> {
  const st = globalState();
  const tag = st.seq++ & 0x7fffffff;
  const bytes = packr.pack(value);
  const sends: Promise<void>[] = [];
  for (let d = 0; d < t.size; d++) sends.push(t.send(d, kGlobalContext, tag, bytes));
  const out: T[] = [];
  try {
    for (let s = 0; s < t.size; s++) out.push(packr.unpack((await t.recv(s, kGlobalContext, tag)).data) as T);
  } finally {
    await Promise.allSettled(sends);
  }
  await Promise.all(sends);
  return out;
}
