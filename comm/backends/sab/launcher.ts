/**
 * The sab World: P worker threads of this process over shared memory.
 */
import { Worker } from 'node:worker_threads';
import { abortSabWorld, createSabWorld, kFailed, setRankState, type SabWorld } from './layout.js';
import { ArgumentError, type ErrorInfo } from '../../../util/errors.js';
import type { FromRank, JobSpec } from '../protocol.js';
import { compilerPort, kHooksUrl, precompile } from './ts-compiler.js';
import { kStoppedName, newJob, rankReady, type JobHooks, type JobSlot } from '../job-tracker.js';
import type { JobOptions, JobOutcome, LaunchOptions, World } from '../types.js';
import { isSourceUrl, isTypeScriptUrl, moduleUrl } from '../../../util/module-url.js';

const kRankModule = moduleUrl('./rank', import.meta.url).href;
/** In the repository, the package's own name resolves to its sources (the package's exports name dist/). */
const kSelf = isSourceUrl(import.meta.url) ? new URL('../../../index.ts', import.meta.url).href : undefined;

/**
 * The bootstrap every rank thread runs, and whether it registers a TypeScript loader. In the
 * package a JavaScript job needs none: the hooks go in with the first TypeScript job (rank.ts),
 * since a thread that registers hooks gets a hooks thread of its own that every later import
 * goes through (measured: ~0.7 s of CPU per rank for a trivial script). In the repository the
 * library itself is TypeScript, so the hooks come first. By default TypeScript is compiled once
 * by this thread and served to the ranks (ts-hooks.mjs); SUPERSTEP_LOADER=tsx uses tsx in each
 * rank instead (slower to start: ~0.4 s of CPU per rank).
 */
function bootstrap(): { code: string; tsLoader: boolean } {
  if (process.env.SUPERSTEP_LOADER === 'tsx') {
    const tsxApi = import.meta.resolve('tsx/esm/api');
    return { code: `import { register } from ${JSON.stringify(tsxApi)}; register(); await import(${JSON.stringify(kRankModule)});`, tsLoader: true };
  }
  if (!kSelf) return { code: `await import(${JSON.stringify(kRankModule)});`, tsLoader: false };
  const code = [
    `import { register } from 'node:module';`,
    `import { workerData } from 'node:worker_threads';`,
    `process.setSourceMapsEnabled(true);`,
    `register(${JSON.stringify(kHooksUrl)}, { data: { port: workerData.compiler, self: ${JSON.stringify(kSelf)} }, transferList: [workerData.compiler] });`,
    `await import(${JSON.stringify(kRankModule)});`,
  ].join('\n');
  return { code, tsLoader: true };
}

/** Max ranks on one machine; each is a thread with its own V8 heap. */
const kMaxProcs = 256;


export async function startSabWorld(options: LaunchOptions): Promise<World> {
  const procs = options.procs;
  if (!Number.isInteger(procs) || procs < 1 || procs > kMaxProcs) {
    throw new ArgumentError('procs', `an integer from 1 to ${kMaxProcs}`, procs);
  }
  const world = new SabLauncher(createSabWorld(procs), options);
  await world.started;
  return world;
}

class SabLauncher implements World {
  readonly backend = 'sab' as const;
  readonly size: number;
  readonly started: Promise<void>;
  private readonly workers: Worker[] = [];
  private readonly exited: boolean[] = [];
  /** Whether the world is closed, its running job, the next job's id. */
  private readonly slot: JobSlot = { dead: false, active: undefined, nextJob: 1 };
  private closing: Promise<void> | undefined;
  private readonly graceMs: number;
  readonly lateFailures: { rank: number; error: ErrorInfo; exitCode: number }[] = [];

  constructor(private readonly shm: SabWorld, options: LaunchOptions) {
    this.size = shm.size;
    this.graceMs = options.graceMs ?? 2000;
    const ready: Promise<void>[] = [];
    // One bootstrap for every worker.
    const { code, tsLoader } = bootstrap();
    for (let rank = 0; rank < this.size; rank++) {
      const compiler = compilerPort();
      const w = new Worker(code, { eval: true, workerData: { world: shm, rank, spin: options.spin, compiler, hooks: kHooksUrl, tsLoader, jobRunner: options.jobRunner }, transferList: [compiler], env: options.env ? { ...process.env, ...options.env } : process.env });
      this.workers.push(w);
      this.exited.push(false);
      ready.push(rankReady(rank, w));
      w.on('message', (m: FromRank) => this.onMessage(rank, m));
      w.on('error', (err) => this.onFailure(rank, err instanceof Error ? { name: err.name, message: err.message, stack: err.stack } : { name: 'Error', message: String(err) }));
      w.on('exit', (code) => this.onExit(rank, code));
    }
    this.started = Promise.all(ready).then(
      () => undefined,
      async (err) => {
        await this.teardown();
        throw err;
      },
    );
  }

  get alive(): boolean {
    return !this.slot.dead;
  }

  job<T>(spec: JobSpec, options: JobOptions = {}): Promise<JobOutcome<T>> {
    const job = newJob<T>(this.slot, this.size, this.hooks, this.graceMs, options);
    if (job instanceof Error) return Promise.reject(job);
    if (isTypeScriptUrl(spec.url)) precompile(spec.url);
    for (const w of this.workers) w.postMessage({ type: 'job', id: job.id, spec });
    return job.promise;
  }

  private readonly hooks: JobHooks = {
    abort: (rank, error) => abortSabWorld(this.shm, error.name === kStoppedName ? -2 : rank),
    teardown: () => this.teardown(),
  };

  private readonly shares = new Map<number, SharedArrayBuffer[]>();

  private onMessage(rank: number, m: FromRank): void {
    if (m.type === 'share') {
      const round = this.shares.get(m.seq) ?? new Array<SharedArrayBuffer>(this.size);
      round[rank] = m.buffer;
      this.shares.set(m.seq, round);
      if (round.filter(Boolean).length === this.size) {
        this.shares.delete(m.seq);
        for (const w of this.workers) w.postMessage({ type: 'shared', seq: m.seq, buffers: round });
      }
      return;
    }
    const job = this.slot.active;
    if (!job || job.done || m.type === 'ready' || m.id !== job.id) return;
    if (m.type === 'done') job.finished(rank, m.result);
    else job.failed(rank, m.error);
  }

  private onFailure(rank: number, error: ErrorInfo): void {
    if (this.slot.active && !this.slot.active.done) this.slot.active.failed(rank, error);
    // An uncaught error after the job was done, while the rank winds down (see lateFailures).
    else if (this.closing) this.lateFailures.push({ rank, error, exitCode: 1 });
  }

  private onExit(rank: number, code: number): void {
    this.exited[rank] = true;
    const job = this.slot.active;
    if (!job || job.done) return;
    // A rank that leaves in the middle of a job (process.exit, a crash) fails it; its peers
    // see it gone at once.
    setRankState(this.shm, rank, kFailed, job.id);
    job.failed(rank, { name: 'ExitError', message: `rank ${rank} exited with code ${code} before its job finished` }, code || 1);
  }

  /** Terminates every worker; the world cannot run jobs afterwards. */
  private async teardown(): Promise<void> {
    this.slot.dead = true;
    abortSabWorld(this.shm, -1);
    await Promise.all(this.workers.map((w) => w.terminate().catch(() => 0)));
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      if (this.slot.dead) return;
      this.slot.dead = true;
      // Ask politely first so that stdout written by the ranks is flushed, then make sure.
      const exits = this.workers.map((w, r) => (this.exited[r] ? Promise.resolve() : new Promise<void>((res) => w.once('exit', () => res()))));
      for (const w of this.workers) w.postMessage({ type: 'exit' });
      const t = setTimeout(() => void this.teardown(), 1000);
      await Promise.all(exits);
      clearTimeout(t);
    })();
    return this.closing;
  }
}
