/**
 * A task pool in the style of mpi4py.futures: `new PoolExecutor(world)` on every rank; the
 * root (rank 0) submits, the others serve until the root shuts the pool down.
 *
 * Functions cannot be serialised safely, so a task names its function:
 * - a function registered on every rank with `registerTask(fn)` (at the top level of a module
 *   every rank imports, e.g. the script itself), passed as the function or by its name; or
 * - `{ module, name }`: an export of a module URL (e.g. `import.meta.url`) that workers import.
 * Arguments and results travel as msgpack (typed arrays included). A task that throws
 * rejects its promise with a TaskError carrying the worker's rank and stack.
 *
 * @example
 * registerTask(square);
 * const pool = new PoolExecutor(world);
 * if (pool.isRoot) console.log(await pool.map(square, [1, 2, 3]));
 * await pool.shutdown(); // every rank: the root stops the workers, workers return
 */
import { ArgumentError, ClosedError, TaskError, toErrorInfo, type ErrorInfo } from '../util/errors.js';
import { world, type Communicator } from './comm.js';
import { ANY_SOURCE, ANY_TAG } from './transport.js';
import { Status } from './request.js';

/** A function exported by a module that every rank can import. */
export interface TaskRef {
  module: string;
  name: string;
}

export interface MapOptions {
  /** Items per task message (default 1): larger chunks cost fewer messages. */
  chunksize?: number;
}

type TaskFn = (...args: any[]) => unknown;

const kRegistry = Symbol.for('superstep.pool.registry');
type Registry = { byName: Map<string, TaskFn>; byFn: Map<TaskFn, string> };

function registry(): Registry {
  const g = globalThis as { [kRegistry]?: Registry };
  return (g[kRegistry] ??= { byName: new Map(), byFn: new Map() });
}

/**
 * Registers `fn` under `name` (default: its name) so pools can run it. Call it on every rank,
 * e.g. at the top level of the script.
 */
export function registerTask<F extends TaskFn>(fn: F, name: string = fn.name): F {
  if (typeof fn !== 'function') throw new ArgumentError('fn', 'a function', fn);
  if (typeof name !== 'string' || name === '') throw new ArgumentError('name', 'a non-empty name (anonymous functions need one)', name);
  const reg = registry();
  const prev = reg.byName.get(name);
  if (prev && prev !== fn) reg.byFn.delete(prev);
  reg.byName.set(name, fn);
  reg.byFn.set(fn, name);
  return fn;
}

type WireRef = { n: string } | { m: string; n: string };
type TaskMsg = { id: number; f: WireRef; a?: unknown[]; items?: unknown[] };
type ResultMsg = { id: number; ok: true; v: unknown } | { id: number; ok: false; e: ErrorInfo };

const kTagTask = 1;
const kTagResult = 2;
const kTagStop = 3;

function toWire(fn: unknown): WireRef {
  if (typeof fn === 'function') {
    const name = registry().byFn.get(fn as TaskFn);
    if (!name) throw new ArgumentError('fn', `a registered function: call registerTask(${fn.name || 'fn'}) on every rank, or pass { module, name }`, fn.name || 'anonymous function');
    return { n: name };
  }
  if (typeof fn === 'string') return { n: fn };
  if (fn && typeof fn === 'object' && typeof (fn as TaskRef).module === 'string' && typeof (fn as TaskRef).name === 'string') {
    const { module, name } = fn as TaskRef;
    if (evaluating().has(module)) {
      // The running script, still in its top-level code: importing it would wait for itself
      // (workers serve tasks from inside that code). Its registered task of that name is the
      // same function (every rank runs the script's top level, registerTask included).
      if (registry().byName.has(name)) return { n: name };
      throw new ArgumentError(
        'fn',
        `a module that has finished loading, or a registered task: ${module} is the script being run, still in its top-level code, so a worker importing it would wait for itself. Call registerTask(${name}) at the top level of the script, or put the task in a module of its own`,
        fn,
      );
    }
    return { m: module, n: name };
  }
  throw new ArgumentError('fn', 'a registered function, its registered name, or { module, name }', fn);
}

const kEvaluating = Symbol.for('superstep.evaluating');

/** URLs of scripts whose top-level code is running now (the job runner marks them). */
function evaluating(): Set<string> {
  const g = globalThis as { [kEvaluating]?: Set<string> };
  return (g[kEvaluating] ??= new Set());
}

/** @internal Marks `url` as a script whose top-level code runs until the returned function is called. */
export function markEvaluating(url: string): () => void {
  evaluating().add(url);
  return () => evaluating().delete(url);
}

async function resolveFn(ref: WireRef): Promise<TaskFn> {
  if ('m' in ref) {
    const mod = (await import(ref.m)) as Record<string, unknown>;
    const f = mod[ref.n];
    if (typeof f !== 'function') throw new ArgumentError('fn', `an exported function of ${ref.m}`, ref.n);
    return f as TaskFn;
  }
  const f = registry().byName.get(ref.n);
  if (!f) throw new ArgumentError('fn', `a task registered on this rank (registered: ${[...registry().byName.keys()].join(', ') || 'none'})`, ref.n);
  return f;
}

async function execute(msg: TaskMsg): Promise<unknown> {
  const f = await resolveFn(msg.f);
  if (msg.items) {
    const out: unknown[] = [];
    for (const item of msg.items) out.push(await f(item));
    return out;
  }
  return f(...(msg.a ?? []));
}

interface Pending {
  msg: TaskMsg;
  resolve(v: unknown): void;
  reject(e: unknown): void;
}

/** A pool of ranks running tasks for the root. Construct it on every rank of `comm`. */
export class PoolExecutor {
  /** The rank that submits tasks. */
  readonly root: number;
  private readonly comm: Promise<Communicator>;
  private readonly queue: Pending[] = [];
  private readonly running = new Map<number, Pending & { worker: number }>();
  private readonly idle: number[] = [];
  private nextId = 0;
  private pumping = false;
  private stopped = false;
  private readonly serving: Promise<void> | undefined;
  private readonly rank: number;
  /** Wakes the dispatcher while it waits for results (a task was submitted). */
  private wake: (() => void) | undefined;

  constructor(comm: Communicator = world, options: { root?: number } = {}) {
    this.root = options.root ?? 0;
    this.rank = comm.rank;
    // The pool talks on a communicator of its own, so its messages never meet the user's.
    this.comm = comm.dup();
    this.comm.catch(() => {});
    if (this.rank === this.root) {
      for (let r = 0; r < comm.size; r++) if (r !== this.root) this.idle.push(r);
    } else {
      this.serving = this.serve();
      this.serving.catch(() => {});
    }
  }

  /** True on the rank that submits (the root). */
  get isRoot(): boolean {
    return this.rank === this.root;
  }

  /** Runs `fn(...args)` on a worker; resolves with its result (rejects with a TaskError). */
  async submit<R = unknown>(fn: TaskFn | string | TaskRef, ...args: unknown[]): Promise<R> {
    this.checkRoot('submit');
    return this.enqueue({ id: this.nextId++, f: toWire(fn), a: args }) as Promise<R>;
  }

  /** Runs `fn(item)` for every item, `chunksize` items per task; resolves with results in order. */
  async map<R = unknown>(fn: TaskFn | string | TaskRef, items: Iterable<unknown>, options: MapOptions = {}): Promise<R[]> {
    this.checkRoot('map');
    const chunksize = options.chunksize ?? 1;
    if (!Number.isInteger(chunksize) || chunksize < 1) throw new ArgumentError('chunksize', 'a positive integer', chunksize, this.rank);
    const f = toWire(fn);
    const all = [...items];
    const chunks: Promise<unknown>[] = [];
    for (let i = 0; i < all.length; i += chunksize) chunks.push(this.enqueue({ id: this.nextId++, f, items: all.slice(i, i + chunksize) }));
    return ((await Promise.all(chunks)) as R[][]).flat() as R[];
  }

  /**
   * Ends the pool. On the root: waits for submitted tasks, then stops the workers. On a
   * worker: resolves when the root has stopped it (serving tasks meanwhile).
   */
  async shutdown(): Promise<void> {
    if (!this.isRoot) return this.serving;
    if (this.stopped) return;
    this.stopped = true;
    await Promise.allSettled([...this.queue, ...this.running.values()].map((p) => new Promise((res) => {
      const { resolve, reject } = p;
      p.resolve = (v) => { resolve(v); res(undefined); };
      p.reject = (e) => { reject(e); res(undefined); };
    })));
    const comm = await this.comm;
    await Promise.all(Array.from({ length: comm.size }, (_, r) => (r === this.root ? undefined : comm.sendObject(null, r, kTagStop))));
  }

  private checkRoot(what: string): void {
    if (!this.isRoot) throw new ArgumentError('this', `the pool on its root rank ${this.root} (${what} is for the root; workers serve)`, `rank ${this.rank}`, this.rank);
    if (this.stopped) throw new ClosedError('the pool is shut down', this.rank);
  }

  private enqueue(msg: TaskMsg): Promise<unknown> {
    return new Promise((resolve, reject) => {
      this.queue.push({ msg, resolve, reject });
      if (this.idle.length) this.wake?.();
      void this.pump();
    });
  }

  /** Hands queued tasks to idle workers and collects results until nothing is in flight. */
  private async pump(): Promise<void> {
    if (this.pumping) return;
    this.pumping = true;
    try {
      const comm = await this.comm;
      if (comm.size === 1) {
        // No workers: run on the root itself.
        while (this.queue.length) {
          const p = this.queue.shift()!;
          await execute(p.msg).then(p.resolve, (err) => p.reject(new TaskError(this.rank, (err as Error)?.message ?? String(err), (err as Error)?.stack)));
        }
        return;
      }
      let pending: Promise<{ res: ResultMsg; source: number }> | undefined;
      for (;;) {
        while (this.idle.length && this.queue.length) {
          const worker = this.idle.shift()!;
          const p = this.queue.shift()!;
          this.running.set(p.msg.id, { ...p, worker });
          await comm.sendObject(p.msg, worker, kTagTask);
        }
        if (this.running.size === 0) return;
        if (!pending) {
          const status = new Status();
          pending = comm.recvObject<ResultMsg>(ANY_SOURCE, kTagResult, { status }).then((res) => ({ res, source: status.source }));
        }
        // Wake for a result, or for a task submitted meanwhile that an idle worker can take.
        const wake = new Promise<undefined>((resolve) => (this.wake = () => resolve(undefined)));
        const got = await Promise.race([pending, wake]);
        this.wake = undefined;
        if (!got) continue;
        pending = undefined;
        const { res, source } = got;
        const p = this.running.get(res.id);
        this.idle.push(source);
        if (!p) continue;
        this.running.delete(res.id);
        if (res.ok) p.resolve(res.v);
        else p.reject(new TaskError(source, `${res.e.name}: ${res.e.message}`, res.e.stack));
      }
    } catch (err) {
      for (const p of [...this.queue.splice(0), ...this.running.values()]) p.reject(err);
      this.running.clear();
    } finally {
      this.pumping = false;
      if (this.queue.length) void this.pump();
    }
  }

  private async serve(): Promise<void> {
    const comm = await this.comm;
    for (;;) {
      const status = new Status();
      const msg = await comm.recvObject<TaskMsg | null>(this.root, ANY_TAG, { status });
      if (status.tag === kTagStop) return;
      let reply: ResultMsg;
      try {
        reply = { id: msg!.id, ok: true, v: await execute(msg!) };
      } catch (err) {
        reply = { id: msg!.id, ok: false, e: toErrorInfo(err) };
      }
      await comm.sendObject(reply, this.root, kTagResult);
    }
  }
}
