/**
 * Pydsm's Cluster: a group of ranks (worker threads) sharing global arrays that live in
 * SharedArrayBuffers of the program that started them.
 *
 *   await using cluster = await Cluster.start(4);
 *   const c = cluster.createShared('C', [100], 'float64');
 *   await cluster.run(import.meta.url, 'add', 100);   // add({ pid, arrays, lock, barrier }, 100)
 *
 * Built on startWorld and 'call' jobs: each run calls core/cluster-rank.ts on every rank,
 * which builds the resources and calls the user's exported function. The arrays cross to the
 * ranks with postMessage, which shares SharedArrayBuffers instead of copying them.
 */
import { ArgumentError, ClosedError, RankFailedError } from '../util/errors.js';
import { allocArray, checkShape, resolveDType, shapeSize, type DType, type DTypeMap, type TypedArray } from '../util/dtype.js';
import { toModuleUrl } from '../util/module-url.js';
import { moduleUrl } from '../util/module-url.js';
import { startWorld, type World } from './launch/world.js';
import type { ClusterCall, SharedSpec } from './cluster-rank.js';

export type { ClusterResources, ClusterLock } from './cluster-rank.js';

export interface ClusterOptions {
  /** Abort a run that takes longer than this, in ms (default: no limit). */
  timeoutMs?: number;
  /** How long other ranks may take to stop after one failed, in ms (default 2000). */
  graceMs?: number;
}

const kEntry = moduleUrl('./cluster-rank', import.meta.url).href;

export class Cluster {
  private readonly shared = new Map<string, SharedSpec & { array: TypedArray }>();
  /** The lock every rank's `lock` takes: one Int32 word, 0 when free. */
  private readonly lockBuffer = new SharedArrayBuffer(4);
  private closed = false;

  private constructor(private world: World, readonly size: number, private readonly options: ClusterOptions) {}

  /** Starts `n` ranks (worker threads of this process). */
  static async start(n: number, options: ClusterOptions = {}): Promise<Cluster> {
    if (!Number.isInteger(n) || n < 1) throw new ArgumentError('n', 'a positive integer (number of processes)', n);
    const world = await startWorld({ procs: n, backend: 'sab', graceMs: options.graceMs });
    return new Cluster(world, n, options);
  }

  /**
   * Creates a zeroed global array `name` in shared memory and returns it; every later run
   * sees it as `arrays[name]` (the same memory: writes on any rank are seen here).
   * @throws {ArgumentError} for a used name, a bad shape or dtype
   */
  createShared<D extends DType = 'float64'>(name: string, shape: number | readonly number[], dtype?: D): DTypeMap[D]['array'];
  /** With a numpy code ('f8', 'i4', ...) for the dtype. */
  createShared(name: string, shape: number | readonly number[], dtype: string): TypedArray;
  createShared(name: string, shape: number | readonly number[], dtype: string = 'float64'): TypedArray {
    if (this.closed) throw new ClosedError('this cluster is closed');
    if (typeof name !== 'string' || name === '') throw new ArgumentError('name', 'a non-empty string', name);
    if (this.shared.has(name)) throw new ArgumentError('name', 'a name not used by another shared array of this cluster', name);
    const sh = checkShape(typeof shape === 'number' ? [shape] : shape, 'shape');
    const dt = resolveDType(dtype);
    const array = allocArray(dt, shapeSize(sh), true);
    this.shared.set(name, { buffer: array.buffer as SharedArrayBuffer, dtype: dt, shape: sh, array });
    return array;
  }

  /** The shared arrays created so far, by name. */
  get arrays(): Readonly<Record<string, TypedArray>> {
    return Object.fromEntries([...this.shared].map(([k, v]) => [k, v.array]));
  }

  /**
   * Runs the exported function `fnName` of module `moduleUrl` on every rank, as
   * `fn({ pid, procs, arrays, shapes, lock, barrier }, ...args)`; resolves with each rank's
   * result, in pid order.
   * @throws {RankFailedError} (rejects) when a rank throws; the cluster stays usable
   */
  async run<T = unknown>(moduleUrl: string | URL, fnName: string, ...args: unknown[]): Promise<T[]> {
    if (this.closed) throw new ClosedError('this cluster is closed');
    if (!(typeof moduleUrl === 'string' || moduleUrl instanceof URL) || String(moduleUrl) === '') throw new ArgumentError('moduleUrl', 'a module path or URL', moduleUrl);
    if (typeof fnName !== 'string' || fnName === '') throw new ArgumentError('fnName', 'the name of an exported function', fnName);
    // A failed run tears its ranks down; the arrays live here, so a fresh world carries on.
    if (!this.world.alive) this.world = await startWorld({ procs: this.size, backend: 'sab', graceMs: this.options.graceMs });
    Atomics.store(new Int32Array(this.lockBuffer), 0, 0);
    const call: ClusterCall = {
      url: toModuleUrl(moduleUrl instanceof URL ? moduleUrl.href : moduleUrl),
      fn: fnName,
      arrays: Object.fromEntries([...this.shared].map(([k, { buffer, dtype, shape }]) => [k, { buffer, dtype, shape }])),
      lock: this.lockBuffer,
      args,
    };
    const out = await this.world.job<T>({ kind: 'call', url: kEntry, fn: 'clusterMain', args: [call] }, { timeoutMs: this.options.timeoutMs });
    if (!out.ok) {
      const f = out.failure;
      throw new RankFailedError(f?.rank ?? -1, `${f?.error.name}: ${f?.error.message}`, f?.error.stack);
    }
    return out.results as T[];
  }

  /** Ends every rank. Idempotent; the shared arrays stay readable. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.world.close();
  }

  /** `await using cluster = await Cluster.start(n)` closes it at the end of the block. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
