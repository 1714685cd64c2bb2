/**
 * A World is a set of P ranks kept alive across jobs: the launcher behind `superstep run`,
 * `run()`, Cluster and the test harness. A job runs on every rank; the World gathers each
 * rank's status and result. The first failure aborts the job on every rank, the others are
 * given a short grace period to report, and then every thread or process is torn down, so
 * nothing outlives a failed job.
 */
import type { ErrorInfo } from '../../util/errors.js';
import type { JobSpec, RankStatus } from './protocol.js';
import { moduleUrl } from '../../util/module-url.js';

export type Backend = 'sab' | 'tcp';

export interface WorldOptions {
  /** Number of ranks. */
  procs: number;
  /** 'sab' (worker threads, default) or 'tcp' (processes). */
  backend?: Backend;
  /** How long ranks that did not fail may take to stop after another rank failed, in ms. */
  graceMs?: number;
  /** Spin iterations before a waiting rank sleeps (sab); default scales with ranks per core. */
  spin?: number;
  /** Extra environment for rank processes (tcp). */
  env?: Record<string, string>;
}

export interface JobOptions {
  /** Abort the job if it runs longer than this, in ms (default: no limit). */
  timeoutMs?: number;
}

/** What a job gave back: one status and one result per rank. */
export interface JobOutcome<T = unknown> {
  ok: boolean;
  statuses: RankStatus[];
  results: (T | undefined)[];
  /** The first rank that failed (the cause; later failures are usually its echo). */
  failure?: { rank: number; error: ErrorInfo };
}

export interface World {
  readonly size: number;
  readonly backend: Backend;
  /** Runs a job on every rank. Resolves with every rank's status; never rejects for rank failures. */
  job<T = unknown>(spec: JobSpec, options?: JobOptions): Promise<JobOutcome<T>>;
  /** Ends every rank. Idempotent. */
  close(): Promise<void>;
  /** False once a job failed (its ranks were torn down) or close() was called. */
  readonly alive: boolean;
}

/** Starts P ranks on the chosen backend. */
export async function startWorld(options: WorldOptions): Promise<World> {
  const backend = options.backend ?? 'sab';
  if (backend === 'sab') {
    const { startSabWorld } = await import('./sab-world.js');
    return startSabWorld(options);
  }
  if (backend === 'tcp') {
    // Resolved at run time: the tcp backend is optional for sab-only use.
    const url = moduleUrl('./tcp-world', import.meta.url).href;
    const mod = (await import(url).catch(() => undefined)) as { startTcpWorld(o: WorldOptions): Promise<World> } | undefined;
    if (mod) return mod.startTcpWorld(options);
  }
  const { ArgumentError } = await import('../../util/errors.js');
  throw new ArgumentError('backend', "'sab' or 'tcp'", backend);
}
