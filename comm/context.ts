/**
 * The per-rank runtime context: which transport this rank uses and the state of the job
 * it is running. It lives on globalThis under a registered symbol so that every copy of
 * the library loaded in one thread (e.g. through different import paths) sees the same
 * rank, which a module-level variable would not guarantee.
 */
import { kBackends } from './backends/index.js';
import { createSelfTransport } from './self.js';
import type { Transport } from './transport.js';

export interface RankContext {
  transport: Transport;
  /** Job number on this world (0 for a plain script run). */
  job: number;
  /** Per-job state of higher layers (the BSP runtime keeps its packages here). */
  slots: Map<string, unknown>;
}

const kKey = Symbol.for('superstep.context');
type Holder = { [kKey]?: RankContext };

/** The current rank's context, created on first use when no launcher set one. */
export function context(): RankContext {
  const g = globalThis as Holder;
  let ctx = g[kKey];
  if (!ctx) {
    // A process an engine (mpirun, srun, ...) started: the first backend that recognises its
    // environment joins the job; with none, the script runs as a single rank.
    let transport: Transport | undefined;
    for (const b of kBackends) {
      transport = b.joinFromEnv?.(process.env);
      if (transport) break;
    }
    ctx = { transport: transport ?? createSelfTransport(), job: 0, slots: new Map() };
    g[kKey] = ctx;
  }
  return ctx;
}

/** @internal Installs the context for a rank (launcher bootstrap). */
export function setContext(ctx: RankContext): void {
  (globalThis as Holder)[kKey] = ctx;
}

/** @internal True if a context exists (launcher or first use). */
export function hasContext(): boolean {
  return (globalThis as Holder)[kKey] !== undefined;
}

/** The job-scoped state of a layer, created on first use in each job. */
export function jobSlot<T>(key: string, create: () => T): T {
  const ctx = context();
  let v = ctx.slots.get(key) as T | undefined;
  if (v === undefined) {
    v = create();
    ctx.slots.set(key, v);
  }
  return v;
}
