/**
 * The tcp World: P child processes on this host, joined by the tcp backend. The launcher
 * hosts the coordinator on loopback, hands every child a fresh job secret through its
 * environment, and drives jobs over each child's IPC channel with the same protocol as the
 * sab World. The first failure aborts the job on every rank; ranks that have not reported
 * within the grace period are killed with SIGKILL, so no process outlives a failed job.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { startCoordinator } from './rendezvous.js';
import { ArgumentError, type ErrorInfo } from '../../../util/errors.js';
import { mallocTuningEnv } from '../../../util/malloc-tuning.js';
import { isSourceUrl, moduleUrl } from '../../../util/module-url.js';
import { newJob, rankReady, type JobHooks, type JobSlot } from '../job-tracker.js';
import type { FromRank, JobSpec } from '../protocol.js';
import type { TcpToRank } from './rank.js';
import type { JobOptions, JobOutcome, LaunchOptions, World } from '../types.js';
import { watchStoppedRanks } from '../../../util/parent-watch.js';

const kRankModule = moduleUrl('./rank', import.meta.url);
/**
 * In the repository the rank's own sources load through tsx; the package's are JavaScript, and
 * a rank compiles a TypeScript job module when one comes (core/launch/job.ts).
 */
const kExecArgv = (): string[] => (isSourceUrl(kRankModule.href) ? ['--import', import.meta.resolve('tsx')] : []);
const kMaxProcs = 1024;


/** A World whose ranks are local processes; `pids` lists them (for fault tests and tools). */
export interface TcpWorld extends World {
  readonly pids: readonly number[];
}

/** Starts P rank processes on this host over the tcp backend. */
export async function startTcpWorld(options: LaunchOptions): Promise<TcpWorld> {
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
  /** Whether the world is closed, its running job, the next job's id. */
  private readonly slot: JobSlot = { dead: false, active: undefined, nextJob: 1 };
  private closing: Promise<void> | undefined;
  private readonly graceMs: number;
  readonly lateFailures: { rank: number; error: ErrorInfo; exitCode: number }[] = [];
  /** Ranks this launcher killed itself (teardown): their exits are not failures. */
  private killing = false;
  private readonly unwatch: () => void;

  constructor(readonly size: number, options: LaunchOptions, secret: string, coord: string) {
    this.graceMs = options.graceMs ?? 2000;
    const ready: Promise<void>[] = [];
    for (let rank = 0; rank < size; rank++) {
      const child = fork(kRankModule, [], {
        execArgv: kExecArgv(),
        serialization: 'advanced',
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
        env: {
          ...mallocTuningEnv(),
          ...process.env,
          ...options.env,
          SUPERSTEP_RANK: String(rank),
          SUPERSTEP_SIZE: String(size),
          SUPERSTEP_COORD: coord,
          SUPERSTEP_COORD_EXTERNAL: '1',
          SUPERSTEP_SECRET: secret,
          SUPERSTEP_LAUNCHED: '1',
          SUPERSTEP_JOB_RUNNER: options.jobRunner,
        },
      });
      this.children.push(child);
      this.isExited.push(false);
      this.exited.push(new Promise<void>((res) => child.once('exit', () => res())));
      ready.push(rankReady(rank, child));
      child.on('message', (m: FromRank) => this.onMessage(rank, m));
      child.on('error', (err) => this.onFailure(rank, { name: err.name, message: err.message, stack: err.stack }));
      child.on('exit', (code, signal) => this.onExit(rank, code, signal));
    }
    // A rank process that is stopped (SIGSTOP) fails the job, or its start, naming it.
    let startFailed!: (e: Error) => void;
    const stopped = new Promise<never>((_, reject) => (startFailed = reject));
    stopped.catch(() => {});
    let starting = true;
    this.unwatch = watchStoppedRanks(
      () => this.pids,
      (rank, ms) => {
        const message = `rank ${rank} was stopped (SIGSTOP, or a debugger) and did not resume within ${ms} ms; it is killed with the job (SUPERSTEP_STOPPED_MS)`;
        if (starting) startFailed(new Error(message));
        else if (this.slot.active && !this.slot.active.done) this.slot.active.failed(rank, { name: 'RankStoppedError', message }, 1);
      },
    );
    this.started = Promise.race([Promise.all(ready), stopped]).then(
      () => {
        starting = false;
      },
      async (err) => {
        starting = false;
        await this.teardown();
        throw err;
      },
    );
    this.started.catch(() => {});
  }

  get alive(): boolean {
    return !this.slot.dead;
  }

  get pids(): readonly number[] {
    return this.children.map((c) => c.pid ?? -1);
  }

  job<T>(spec: JobSpec, options: JobOptions = {}): Promise<JobOutcome<T>> {
    const job = newJob<T>(this.slot, this.size, this.hooks, this.graceMs, options);
    if (job instanceof Error) return Promise.reject(job);
    for (const c of this.children) this.post(c, { type: 'job', id: job.id, spec });
    return job.promise;
  }

  private readonly hooks: JobHooks = {
    abort: (rank, error) => {
      for (let r = 0; r < this.size; r++) if (r !== rank) this.post(this.children[r]!, { type: 'abort', rank, reason: error.message });
    },
    teardown: () => this.teardown(),
  };

  private post(child: ChildProcess, m: TcpToRank): void {
    if (child.connected) child.send(m, (err) => void err);
  }

  private onMessage(rank: number, m: FromRank): void {
    const job = this.slot.active;
    if (!job || job.done || m.type === 'ready' || !('id' in m) || m.id !== job.id) return;
    if (m.type === 'done') job.finished(rank, m.result);
    else if (m.type === 'error') job.failed(rank, m.error);
  }

  private onFailure(rank: number, error: ErrorInfo): void {
    if (this.slot.active && !this.slot.active.done) this.slot.active.failed(rank, error);
  }

  private onExit(rank: number, code: number | null, signal: NodeJS.Signals | null): void {
    this.isExited[rank] = true;
    const job = this.slot.active;
    if (!job || job.done) {
      // A rank that failed after its job was done, while it wound down (see lateFailures).
      if (this.closing && !this.killing && (code !== 0 || signal)) {
        const how = signal ? `was killed by ${signal}` : `exited with code ${code}`;
        this.lateFailures.push({ rank, error: { name: 'ExitError', message: `rank ${rank} ${how} after its job finished (an uncaught error after the script's end?)` }, exitCode: code || 1 });
      }
      return;
    }
    // A rank that leaves in the middle of a job (process.exit, a crash, SIGKILL) fails it.
    const how = signal ? `was killed by ${signal}` : `exited with code ${code}`;
    job.failed(rank, { name: 'ExitError', message: `rank ${rank} ${how} before its job finished` }, code || 1);
  }

  /** Kills every rank process and waits until all are gone; the world cannot run jobs afterwards. */
  private async teardown(): Promise<void> {
    this.slot.dead = true;
    this.killing = true;
    this.unwatch();
    for (let r = 0; r < this.size; r++) if (!this.isExited[r]) this.children[r]!.kill('SIGKILL');
    await Promise.all(this.exited);
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      if (this.slot.dead) {
        await Promise.all(this.exited);
        return;
      }
      this.slot.dead = true;
      this.unwatch();
      // Ask politely first so that the ranks flush their output and close in order, then make sure.
      for (const c of this.children) this.post(c, { type: 'exit' });
      const t = setTimeout(() => void this.teardown(), 3000);
      await Promise.all(this.exited);
      clearTimeout(t);
    })();
    return this.closing;
  }
}
