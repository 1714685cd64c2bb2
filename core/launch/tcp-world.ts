/**
 * The tcp World: P child processes on this host, joined by the tcp backend. The launcher
 * hosts the coordinator on loopback, hands every child a fresh job secret through its
 * environment, and drives jobs over each child's IPC channel with the same protocol as the
 * sab World. The first failure aborts the job on every rank; ranks that have not reported
 * within the grace period are killed with SIGKILL, so no process outlives a failed job.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { startCoordinator } from '../../comm/tcp/rendezvous.js';
import { ArgumentError, ClosedError, isCollectiveError, type ErrorInfo } from '../../util/errors.js';
import type { FromRank, JobSpec, RankStatus } from './protocol.js';
import type { TcpToRank } from './tcp-rank.js';
import type { JobOptions, JobOutcome, World, WorldOptions } from './world.js';

const kRankModule = new URL('./tcp-rank.ts', import.meta.url);
const kTsx = import.meta.resolve('tsx');
const kMaxProcs = 1024;

interface ActiveJob {
  id: number;
  statuses: (RankStatus | undefined)[];
  results: unknown[];
  failure?: { rank: number; error: ErrorInfo };
  settle(): void;
  timer?: NodeJS.Timeout;
  graceTimer?: NodeJS.Timeout;
}

/** A World whose ranks are local processes; `pids` lists them (for fault tests and tools). */
export interface TcpWorld extends World {
  readonly pids: readonly number[];
}

/** Starts P rank processes on this host over the tcp backend. */
export async function startTcpWorld(options: WorldOptions): Promise<TcpWorld> {
  const procs = options.procs;
  if (!Number.isInteger(procs) || procs < 1 || procs > kMaxProcs) {
    throw new ArgumentError('procs', `an integer from 1 to ${kMaxProcs}`, procs);
  }
  const secret = randomBytes(32).toString('hex');
  const coordinator = await startCoordinator({ size: procs, secret: new Uint8Array(Buffer.from(secret, 'utf8')), host: '127.0.0.1' });
  const world = new TcpLauncher(procs, options, secret, `${coordinator.address.host}:${coordinator.address.port}`);
  try {
    await world.started;
  } finally {
    coordinator.close();
  }
  return world;
}

class TcpLauncher implements TcpWorld {
  readonly backend = 'tcp' as const;
  readonly started: Promise<void>;
  private readonly children: ChildProcess[] = [];
  private readonly exited: Promise<void>[] = [];
  private readonly isExited: boolean[] = [];
  private nextJob = 1;
  private active: ActiveJob | undefined;
  private dead = false;
  private closing: Promise<void> | undefined;
  private readonly graceMs: number;

  constructor(readonly size: number, options: WorldOptions, secret: string, coord: string) {
    this.graceMs = options.graceMs ?? 2000;
    const ready: Promise<void>[] = [];
    for (let rank = 0; rank < size; rank++) {
      const child = fork(kRankModule, [], {
        execArgv: ['--import', kTsx],
        serialization: 'advanced',
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
        env: {
          ...process.env,
          ...options.env,
          SUPERSTEP_RANK: String(rank),
          SUPERSTEP_SIZE: String(size),
          SUPERSTEP_COORD: coord,
          SUPERSTEP_COORD_EXTERNAL: '1',
          SUPERSTEP_SECRET: secret,
          SUPERSTEP_LAUNCHED: '1',
        },
      });
      this.children.push(child);
      this.isExited.push(false);
      this.exited.push(new Promise<void>((res) => child.once('exit', () => res())));
      ready.push(
        new Promise<void>((resolve, reject) => {
          const onMessage = (m: FromRank) => {
            if (m.type === 'ready') {
              child.off('message', onMessage);
              resolve();
            }
          };
          child.on('message', onMessage);
          child.once('error', reject);
          child.once('exit', (code, signal) => reject(new Error(`rank ${rank} exited with ${signal ?? `code ${code}`} while starting`)));
        }),
      );
      child.on('message', (m: FromRank) => this.onMessage(rank, m));
      child.on('error', (err) => this.onFailure(rank, { name: err.name, message: err.message, stack: err.stack }));
      child.on('exit', (code, signal) => this.onExit(rank, code, signal));
    }
    this.started = Promise.all(ready).then(
      () => undefined,
      async (err) => {
        await this.teardown();
        throw err;
      },
    );
    this.started.catch(() => {});
  }

  get alive(): boolean {
    return !this.dead;
  }

  get pids(): readonly number[] {
    return this.children.map((c) => c.pid ?? -1);
  }

  job<T>(spec: JobSpec, options: JobOptions = {}): Promise<JobOutcome<T>> {
    if (this.dead) return Promise.reject(new ClosedError('this world is closed (a previous job failed or close() was called)'));
    if (this.active) return Promise.reject(new Error('a job is already running on this world'));
    const id = this.nextJob++;
    return new Promise<JobOutcome<T>>((resolve) => {
      const job: ActiveJob = {
        id,
        statuses: new Array(this.size).fill(undefined),
        results: new Array(this.size).fill(undefined),
        settle: () => {
          if (this.active !== job) return;
          this.active = undefined;
          clearTimeout(job.timer);
          clearTimeout(job.graceTimer);
          const statuses = job.statuses.map(
            (s, rank) => s ?? { rank, state: 'aborted' as const, exitCode: 1, error: { name: 'AbortedError', message: 'stopped: did not finish within the grace period after the failure' } },
          );
          const ok = statuses.every((s) => s.state === 'ok');
          const done = () => resolve({ ok, statuses, results: job.results as (T | undefined)[], failure: job.failure });
          if (ok) done();
          else void this.teardown().then(done);
        },
      };
      this.active = job;
      if (options.timeoutMs !== undefined) {
        job.timer = setTimeout(() => {
          const error = { name: 'TimeoutError', message: `job did not finish within ${options.timeoutMs} ms` };
          for (let r = 0; r < this.size; r++) job.statuses[r] ??= { rank: r, state: 'timeout', exitCode: 124, error };
          job.failure ??= { rank: -1, error };
          job.settle();
        }, options.timeoutMs);
      }
      for (const c of this.children) this.post(c, { type: 'job', id, spec });
    });
  }

  private post(child: ChildProcess, m: TcpToRank): void {
    if (child.connected) child.send(m, (err) => void err);
  }

  private onMessage(rank: number, m: FromRank): void {
    const job = this.active;
    if (!job || m.type === 'ready' || !('id' in m) || m.id !== job.id) return;
    if (m.type === 'done') {
      job.statuses[rank] ??= { rank, state: 'ok', exitCode: 0 };
      job.results[rank] = m.result;
    } else if (m.type === 'error') {
      this.record(job, rank, m.error);
    }
    this.maybeSettle(job);
  }

  private onFailure(rank: number, error: ErrorInfo): void {
    const job = this.active;
    if (!job) return;
    this.record(job, rank, error);
    this.maybeSettle(job);
  }

  private onExit(rank: number, code: number | null, signal: NodeJS.Signals | null): void {
    this.isExited[rank] = true;
    const job = this.active;
    if (!job || job.statuses[rank]) return;
    // A rank that leaves in the middle of a job (process.exit, a crash, SIGKILL) fails it.
    const how = signal ? `was killed by ${signal}` : `exited with code ${code}`;
    this.record(job, rank, { name: 'ExitError', message: `rank ${rank} ${how} before its job finished` }, code || 1);
    this.maybeSettle(job);
  }

  /** Records a failure: the first one is the cause; it aborts the job on every rank. */
  private record(job: ActiveJob, rank: number, error: ErrorInfo, exitCode = 1): void {
    if (job.statuses[rank]) return;
    const isEcho = job.failure !== undefined && (error.name === 'AbortedError' || error.name === 'PeerGoneError');
    job.statuses[rank] = { rank, state: isEcho ? 'aborted' : 'failed', exitCode, error };
    if (!job.failure) {
      job.failure = { rank, error };
      if (!isCollectiveError(error)) {
        for (let r = 0; r < this.size; r++) if (r !== rank) this.post(this.children[r]!, { type: 'abort', rank, reason: error.message });
      }
      job.graceTimer = setTimeout(() => job.settle(), this.graceMs);
    }
  }

  private maybeSettle(job: ActiveJob): void {
    if (job.statuses.every((s) => s !== undefined)) job.settle();
  }

  /** Kills every rank process and waits until all are gone; the world cannot run jobs afterwards. */
  private async teardown(): Promise<void> {
    this.dead = true;
    for (let r = 0; r < this.size; r++) if (!this.isExited[r]) this.children[r]!.kill('SIGKILL');
    await Promise.all(this.exited);
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      if (this.dead) {
        await Promise.all(this.exited);
        return;
      }
      this.dead = true;
      // Ask politely first so that the ranks flush their output and close in order, then make sure.
      for (const c of this.children) this.post(c, { type: 'exit' });
      const t = setTimeout(() => void this.teardown(), 3000);
      await Promise.all(this.exited);
      clearTimeout(t);
    })();
    return this.closing;
  }
}
