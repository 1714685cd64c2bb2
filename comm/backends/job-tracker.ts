/**
 * Bookkeeping of one job on a World, whatever the backend: every rank's status and result,
 * which failure is the cause (an abort or a "peer gone" that overtook its cause is only its
 * echo), the grace period after a failure, and the time limit. The backend supplies how to
 * abort its ranks and how to tear them down.
 */
import type { EventEmitter } from 'node:events';
import { ClosedError, isCollectiveError, type ErrorInfo } from '../../util/errors.js';
import type { RankStatus } from './protocol.js';
import type { JobOptions, JobOutcome } from './types.js';

export interface JobHooks {
  /** Wakes every rank's pending operations with an abort (the first real failure or a timeout). */
  abort(failedRank: number, error: ErrorInfo): void;
  /** Ends every rank after a failed job (the world is not reused). */
  teardown(): Promise<void>;
}

/**
 * How much an error says about the cause: an abort is only an echo of another failure; a
 * peer gone may be one (or the cause: a rank that left early); anything else is a cause.
 */
const weight = (name: string) => (name === 'AbortedError' ? 0 : name === 'PeerGoneError' ? 1 : 2);
const isEcho = (name: string) => weight(name) < 2;

/** The error of a job stopped from outside (a signal to the launcher, its parent gone). */
export const kStoppedName = 'JobStoppedError';

/** Jobs running in this process, for stopAllJobs(). */
const live = new Set<JobTracker>();

/**
 * Stops every running job of this process (the launcher got SIGINT/SIGTERM, or the command
 * that started it is gone): every rank's pending operations reject with an AbortedError that
 * says why, ranks get up to `graceMs` to report (and print), then every rank is torn down.
 * Resolves when all are gone. One place for every backend: each World drives its jobs
 * through a JobTracker.
 */
export async function stopAllJobs(reason: string, exitCode: number, graceMs: number): Promise<number> {
  const jobs = [...live];
  await Promise.all(jobs.map((j) => j.stop(reason, exitCode, graceMs)));
  return jobs.length;
}

/**
 * Resolves when a starting rank (a Worker or a child process: whatever emits its messages,
 * 'error' and 'exit') posts `{ type: 'ready' }`; rejects if it fails or exits first.
 */
export function rankReady(rank: number, r: EventEmitter): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const onExit = (code: number | null, signal?: NodeJS.Signals | null) => reject(new Error(`rank ${rank} exited with ${signal ?? `code ${code}`} while starting`));
    const onMessage = (m: { type?: string } | undefined) => {
      if (m?.type !== 'ready') return;
      r.off('message', onMessage);
      r.off('error', reject);
      r.off('exit', onExit);
      resolve();
    };
    r.on('message', onMessage);
    r.once('error', reject);
    r.once('exit', onExit);
  });
}

/** What a World keeps of its jobs: newJob() checks and updates it. */
export interface JobSlot {
  dead: boolean;
  active: JobTracker | undefined;
  nextJob: number;
}

/**
 * The next job of a World of `size` ranks: a tracker, or the error for a World that is
 * closed or still running one (a World runs one job at a time).
 */
export function newJob<T>(w: JobSlot, size: number, hooks: JobHooks, graceMs: number, options: JobOptions): JobTracker<T> | Error {
  if (w.dead) return new ClosedError('this world is closed (a previous job failed or close() was called)');
  if (w.active && !w.active.done) return new Error('a job is already running on this world');
  const job = new JobTracker<T>(w.nextJob++, size, hooks, graceMs, options.timeoutMs);
  w.active = job as JobTracker;
  return job;
}

export class JobTracker<T = unknown> {
  readonly promise: Promise<JobOutcome<T>>;
  private readonly statuses: (RankStatus | undefined)[];
  private readonly results: (T | undefined)[];
  private failure: { rank: number; error: ErrorInfo; exitCode?: number } | undefined;
  private settled = false;
  private resolve!: (o: JobOutcome<T>) => void;
  private timer: NodeJS.Timeout | undefined;
  private graceTimer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(readonly id: number, readonly size: number, private readonly hooks: JobHooks, private readonly graceMs: number, timeoutMs?: number) {
    this.statuses = new Array(size).fill(undefined);
    this.results = new Array(size).fill(undefined);
    this.promise = new Promise((r) => (this.resolve = r));
    if (timeoutMs !== undefined) this.timer = setTimeout(() => this.timeout(timeoutMs), timeoutMs);
    live.add(this as JobTracker);
    void this.promise.then(() => live.delete(this as JobTracker));
  }

  /** Stops the job from outside (see stopAllJobs); resolves when its ranks are torn down. */
  stop(reason: string, exitCode: number, graceMs: number): Promise<unknown> {
    if (this.settled || this.stopped) return this.promise;
    this.stopped = true;
    const error = { name: kStoppedName, message: reason };
    // Whatever failed before, the stop is what the user did: it is the headline.
    this.failure = { rank: -1, error, exitCode };
    this.hooks.abort(-1, error);
    clearTimeout(this.graceTimer);
    this.graceTimer = setTimeout(() => this.settle(), Math.min(graceMs, this.graceMs));
    this.maybeSettle();
    return this.promise;
  }

  get done(): boolean {
    return this.settled;
  }

  /** Rank `rank` finished its job with `result`. */
  finished(rank: number, result: unknown): void {
    if (this.statuses[rank]) return;
    this.statuses[rank] = { rank, state: 'ok', exitCode: 0 };
    this.results[rank] = result as T;
    this.maybeSettle();
  }

  /** Rank `rank` failed (threw, exited, crashed). The first real failure aborts the others. */
  failed(rank: number, error: ErrorInfo, exitCode = 1): void {
    if (this.statuses[rank]) return;
    if (this.stopped) {
      this.statuses[rank] = { rank, state: 'aborted', exitCode, error };
      this.maybeSettle();
      return;
    }
    const echo = this.failure !== undefined && isEcho(error.name);
    this.statuses[rank] = { rank, state: echo ? 'aborted' : 'failed', exitCode, error };
    const cur = this.failure;
    if (cur && cur.rank !== rank && cur.error.failedRank === rank && weight(error.name) >= weight(cur.error.name)) {
      // The rank the first report blamed reports for itself (a collective IOError names the
      // rank that failed; its own copy carries its stack): that is the cause.
      const first = this.statuses[cur.rank];
      if (first) first.state = 'aborted';
      this.statuses[rank]!.state = 'failed';
      this.failure = { rank, error };
    } else if (this.failure && weight(error.name) > weight(this.failure.error.name)) {
      const first = this.statuses[this.failure.rank];
      if (first) first.state = 'aborted';
      this.failure = { rank, error };
    }
    if (!this.failure) {
      this.failure = { rank, error };
      // A collective error (every rank raises it itself) must not pre-empt the others' reports.
      if (!isCollectiveError(error)) this.hooks.abort(rank, error);
      this.graceTimer = setTimeout(() => this.settle(), this.graceMs);
    }
    this.maybeSettle();
  }

  private timeout(ms: number): void {
    const error = { name: 'TimeoutError', message: `job did not finish within ${ms} ms` };
    for (let r = 0; r < this.size; r++) this.statuses[r] ??= { rank: r, state: 'timeout', exitCode: 124, error };
    this.failure ??= { rank: -1, error };
    this.hooks.abort(-1, error);
    this.settle();
  }

  private maybeSettle(): void {
    if (this.statuses.every((s) => s !== undefined)) this.settle();
  }

  private settle(): void {
    if (this.settled) return;
    this.settled = true;
    clearTimeout(this.timer);
    clearTimeout(this.graceTimer);
    const statuses = this.statuses.map(
      (s, rank) => s ?? { rank, state: 'aborted' as const, exitCode: 1, error: { name: 'AbortedError', message: 'stopped: did not finish within the grace period after the failure' } },
    );
    const ok = statuses.every((s) => s.state === 'ok');
    const outcome: JobOutcome<T> = { ok, statuses, results: this.results, failure: this.failure };
    if (ok) this.resolve(outcome);
    else void this.hooks.teardown().then(() => this.resolve(outcome));
  }
}
