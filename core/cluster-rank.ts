/**
 * Rank side of Cluster.run: builds Pydsm's resource object ({ pid, arrays, lock, barrier })
 * from the shared buffers the launcher passed, and calls the user's function with it.
 */
import { ArgumentError } from '../util/errors.js';
import { viewOf, shapeSize, type DType, type TypedArray } from '../util/dtype.js';
import { context } from '../comm/context.js';
import { acquireWord, releaseWord } from './global/locks.js';

/** @internal A shared array as it crosses to the ranks. */
export interface SharedSpec {
  buffer: SharedArrayBuffer;
  dtype: DType;
  shape: number[];
}

/** @internal One Cluster.run call. */
export interface ClusterCall {
  url: string;
  fn: string;
  arrays: Record<string, SharedSpec>;
  lock: SharedArrayBuffer;
  args: unknown[];
}

/** The cluster-wide lock (Pydsm's `lock.apply()` / `lock.release()`). */
export interface ClusterLock {
  /** Waits until this rank holds the lock (never blocks the event loop). */
  acquire(): Promise<void>;
  /** Pydsm's name for acquire. */
  apply(): Promise<void>;
  release(): void;
}

/** What the user's function receives first. */
export interface ClusterResources {
  /** This process's id, 0 .. procs - 1. */
  pid: number;
  procs: number;
  /** The cluster's shared arrays by name (flat, row-major; the same memory everywhere). */
  arrays: Record<string, TypedArray>;
  shapes: Record<string, number[]>;
  lock: ClusterLock;
  /** Resolves once every process has called it. */
  barrier(): Promise<void>;
}

/** @internal Entry point of a Cluster.run job. */
export async function clusterMain(call: ClusterCall): Promise<unknown> {
  const t = context().transport;
  const arrays: Record<string, TypedArray> = {};
  const shapes: Record<string, number[]> = {};
  for (const [name, s] of Object.entries(call.arrays)) {
    arrays[name] = viewOf(s.dtype, s.buffer, 0, shapeSize(s.shape));
    shapes[name] = s.shape;
  }
  const words = new Int32Array(call.lock);
  const holder = t.rank + 1;
  const lock: ClusterLock = {
    acquire: () => acquireWord(words, 0, holder),
    apply: () => acquireWord(words, 0, holder),
    release: () => {
      if (Atomics.load(words, 0) !== holder) throw new ArgumentError('lock', 'held by this process when released', `holder ${Atomics.load(words, 0) - 1}`, t.rank);
      releaseWord(words, 0);
    },
  };
  const res: ClusterResources = { pid: t.rank, procs: t.size, arrays, shapes, lock, barrier: () => t.barrier() };
  const mod = (await import(call.url)) as Record<string, unknown>;
  const fn = mod[call.fn];
  if (typeof fn !== 'function') {
    throw new TypeError(`module ${call.url} has no exported function '${call.fn}' (exports: ${Object.keys(mod).join(', ') || 'none'})`);
  }
  return (fn as (r: ClusterResources, ...a: unknown[]) => unknown)(res, ...call.args);
}
