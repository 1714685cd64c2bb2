/**
 * The mpi World: `mpirun -n P` starts P rank processes that join one MPI job; each connects
 * back to this launcher over a Unix-domain socket (control.ts) and runs the jobs it is sent,
 * with the same job protocol and JobTracker as the other backends. Teardown closes the control
 * sockets (a rank whose socket closes exits) and ends mpirun, so no process outlives the World.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ArgumentError, type ErrorInfo } from '../../../util/errors.js';
import { mallocTuningEnv } from '../../../util/malloc-tuning.js';
import { isSourceUrl, moduleUrl } from '../../../util/module-url.js';
import { newJob, type JobHooks, type JobSlot } from '../job-tracker.js';
import type { FromRank, JobSpec } from '../protocol.js';
import type { JobOptions, JobOutcome, LaunchOptions, World } from '../types.js';
import { addonPath } from './build.js';
import { onMessages, sendMessage } from './control.js';
import { mpirunCommand } from './mpirun.js';

const kRankModule = fileURLToPath(moduleUrl('./rank', import.meta.url));
/** In the repository the rank's sources load through tsx; the package's are JavaScript (job.ts compiles a TypeScript job). */
const kExecArgv = (): string[] => (isSourceUrl(import.meta.url) ? ['--import', import.meta.resolve('tsx')] : []);
const kMaxProcs = 1024;
const kStartMs = 120_000;

/** Launcher -> rank messages beyond the shared job protocol. */
export type MpiToRank = { type: 'job'; id: number; spec: JobSpec } | { type: 'exit' } | { type: 'abort'; rank: number; reason: string };
/** Rank -> launcher: the rank says who it is first, and its exit code when it exits. */
export type MpiFromRank = FromRank | { type: 'hello'; rank: number } | { type: 'exited'; code: number };

export async function startMpiWorld(options: LaunchOptions): Promise<World> {
  const procs = options.procs;
  if (!Number.isInteger(procs) || procs < 1 || procs > kMaxProcs) throw new ArgumentError('procs', `an integer from 1 to ${kMaxProcs}`, procs);
  // Built once here, so that P ranks do not all compile it at once on a first run.
  const addon = addonPath();
  const world = new MpiLauncher(procs, options, addon);
  await world.started;
  return world;
}

class MpiLauncher implements World {
  readonly backend = 'mpi' as const;
  readonly started: Promise<void>;
  private readonly dir = mkdtempSync(join(tmpdir(), 'superstep-mpi-'));
  private readonly sockets: (Socket | undefined)[];
  /** Exit codes ranks reported as they exited (mpirun's own code names no rank). */
  private readonly exitCodes: (number | undefined)[] = [];
  private readonly mpirun: ChildProcess;
  private readonly exited: Promise<void>;
  private mpirunDone = false;
  /** Whether the world is closed, its running job, the next job's id. */
  private readonly slot: JobSlot = { dead: false, active: undefined, nextJob: 1 };
  private closing: Promise<void> | undefined;
  private readonly graceMs: number;

  constructor(readonly size: number, options: LaunchOptions, addon: string) {
    this.graceMs = options.graceMs ?? 2000;
    this.sockets = new Array(size).fill(undefined);
    const path = join(this.dir, `control-${randomBytes(4).toString('hex')}.sock`);
    let ready = 0;
    let onReady!: () => void;
    let onFail!: (e: Error) => void;
    this.started = new Promise<void>((res, rej) => ((onReady = res), (onFail = rej)));
    const server = createServer((socket) => {
      let rank = -1;
      onMessages(socket, (m) => {
        const msg = m as MpiFromRank;
        if (msg.type === 'hello') {
          rank = msg.rank;
          this.sockets[rank] = socket;
          return;
        }
        if (msg.type === 'exited') {
          this.exitCodes[rank] = msg.code;
          return;
        }
        if (msg.type === 'ready') {
          if (++ready === size) {
            server.close();
            onReady();
          }
          return;
        }
        this.onMessage(rank, msg);
      });
      socket.on('error', () => {});
      socket.on('close', () => this.onGone(rank));
    });
    server.listen(path);
    const { command, args, env } = mpirunCommand(size, [process.execPath, ...kExecArgv(), kRankModule]);
    this.mpirun = spawn(command, args, {
      stdio: ['ignore', 'inherit', 'inherit'],
      env: {
        ...mallocTuningEnv(),
        ...process.env,
        ...env,
        ...options.env,
        SUPERSTEP_BACKEND: 'mpi',
        SUPERSTEP_LAUNCHED: '1',
        SUPERSTEP_CONTROL: path,
        SUPERSTEP_MPI_ADDON: addon,
        SUPERSTEP_JOB_RUNNER: options.jobRunner,
      },
    });
    this.exited = new Promise<void>((res) => this.mpirun.once('exit', () => ((this.mpirunDone = true), res())));
    this.mpirun.once('error', (err) => onFail(new Error(`could not start ${command}: ${err.message}`)));
    this.mpirun.once('exit', (code, signal) => {
      onFail(new Error(`${command} exited with ${signal ?? `code ${code}`} while the ranks were starting`));
      this.onMpirunExit(code, signal);
    });
    const timer = setTimeout(() => onFail(new Error(`the ranks did not all connect within ${kStartMs / 1000} s`)), kStartMs);
    this.started = this.started.then(
      () => clearTimeout(timer),
      async (err) => {
        clearTimeout(timer);
        server.close();
        await this.teardown();
        throw err;
      },
    );
    this.started.catch(() => {});
  }

  get alive(): boolean {
    return !this.slot.dead;
  }

  job<T>(spec: JobSpec, options: JobOptions = {}): Promise<JobOutcome<T>> {
    const job = newJob<T>(this.slot, this.size, this.hooks, this.graceMs, options);
    if (job instanceof Error) return Promise.reject(job);
    for (const s of this.sockets) if (s) sendMessage(s, { type: 'job', id: job.id, spec } satisfies MpiToRank);
    return job.promise;
  }

  private readonly hooks: JobHooks = {
    abort: (rank, error) => {
      for (let r = 0; r < this.size; r++) if (r !== rank && this.sockets[r]) sendMessage(this.sockets[r]!, { type: 'abort', rank, reason: error.message } satisfies MpiToRank);
    },
    teardown: () => this.teardown(),
  };

  private onMessage(rank: number, m: MpiFromRank): void {
    const job = this.slot.active;
    if (!job || job.done || !('id' in m) || m.id !== job.id) return;
    if (m.type === 'done') job.finished(rank, m.result);
    else if (m.type === 'error') job.failed(rank, m.error);
  }

  private onGone(rank: number): void {
    const job = this.slot.active;
    if (rank < 0 || this.slot.dead || !job || job.done) return;
    const code = this.exitCodes[rank];
    job.failed(rank, { name: 'ExitError', message: `rank ${rank} exited${code === undefined ? '' : ` with code ${code}`} before its job finished` }, code || 1);
  }

  private onMpirunExit(code: number | null, signal: NodeJS.Signals | null): void {
    const job = this.slot.active;
    if (this.slot.dead || !job || job.done) return;
    const e: ErrorInfo = { name: 'ExitError', message: `mpirun exited with ${signal ?? `code ${code}`} before the job finished` };
    job.failed(-1, e, code || 1);
  }

  /** Closes every rank's control socket (the rank exits) and ends mpirun. */
  private async teardown(): Promise<void> {
    this.slot.dead = true;
    for (const s of this.sockets) s?.destroy();
    // Ranks whose socket closed exit, and mpirun then ends the job by itself; a second signal
    // while it does so crashed Open MPI 4.1's mpirun (in PMIx_Finalize), so signal it only if
    // it is still there after a while.
    const term = setTimeout(() => this.mpirun.kill('SIGTERM'), 2000);
    const kill = setTimeout(() => this.mpirun.kill('SIGKILL'), 5000);
    await this.exited;
    clearTimeout(term);
    clearTimeout(kill);
    rmSync(this.dir, { recursive: true, force: true });
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      if (this.slot.dead) return this.exited;
      this.slot.dead = true;
      // Ask politely first (the ranks finalize MPI and flush their output), then make sure.
      for (const s of this.sockets) if (s) sendMessage(s, { type: 'exit' } satisfies MpiToRank);
      const t = setTimeout(() => void this.teardown(), 5000);
      await this.exited;
      clearTimeout(t);
      rmSync(this.dir, { recursive: true, force: true });
    })();
    return this.closing;
  }
}
