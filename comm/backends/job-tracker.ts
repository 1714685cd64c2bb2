/**
 * Bookkeeping of one job on a World, whatever the backend: every rank's status and result,
 * which failure is the cause (an abort or a "peer gone" that overtook its cause is only its
 * echo), the grace period after a failure, and the time limit. The backend supplies how to
 * abort its ranks and how to tear them down.
 */
import { isCollectiveError, type ErrorInfo } from '../../util/errors.js';
import type { RankStatus } from './protocol.js';
import type { JobOutcome } from './types.js';

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

export class JobTracker<T = unknown> {
  readonly promise: Promise<JobOutcome<T>>;
  private readonly statuses: (RankStatus | undefined)[];
  private readonly results: (T | undefined)[];
  private failure: { rank: number; error: ErrorInfo } | undefined;
  private settled = false;
  private resolve!: (o: JobOutcome<T>) => void;
  private timer: NodeJS.Timeout | undefined;
  private graceTimer: NodeJS.Timeout | undefined;

  constructor(readonly id: number, readonly size: number, private readonly hooks: JobHooks, private readonly graceMs: number, timeoutMs?: number) {
    this.statuses = new Array(size).fill(undefined);
    this.results = new Array(size).fill(undefined);
    this.promise = new Promise((r) => (this.resolve = r));
    if (timeoutMs !== undefined) this.timer = setTimeout(() => this.timeout(timeoutMs), timeoutMs);
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
    const echo = this.failure !== undefined && isEcho(error.name);
    this.statuses[rank] = { rank, state: echo ? 'aborted' : 'failed', exitCode, error };
    if (this.failure && weight(error.name) > weight(this.failure.error.name)) {
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
