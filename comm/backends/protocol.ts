/**
 * Messages between a launcher and its ranks (worker threads or child processes).
 * The same job protocol drives both backends, so one World abstraction serves the CLI,
 * the programmatic run(), Cluster and the test harness.
 */
import type { ErrorInfo } from '../../util/errors.js';

/** What a rank is asked to run. */
export type JobSpec =
  | { kind: 'script'; url: string; args: string[] }
  | { kind: 'call'; url: string; fn: string; args: unknown[] };

export type ToRank =
  | { type: 'job'; id: number; spec: JobSpec }
  | { type: 'shared'; seq: number; buffers: SharedArrayBuffer[] }
  | { type: 'exit' };

export type FromRank =
  | { type: 'ready' }
  | { type: 'done'; id: number; result: unknown }
  | { type: 'error'; id: number; error: ErrorInfo }
  | { type: 'share'; seq: number; buffer: SharedArrayBuffer };

/** How one rank ended a job. */
export interface RankStatus {
  rank: number;
  /** ok: finished; failed: threw or exited first; aborted: stopped because another rank failed; timeout. */
  state: 'ok' | 'failed' | 'aborted' | 'timeout';
  /** Process-style exit status: 0 when ok. */
  exitCode: number;
  error?: ErrorInfo;
}
