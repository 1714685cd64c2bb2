/**
 * Test harness for multi-rank tests. Rank-side code lives in test/fixtures/*.ts modules
 * as exported functions; a test calls them on every rank of a World and gets every rank's
 * result. Worlds are cached per (backend, P) for speed; a failed job tears its world down
 * and the next call starts a fresh one. `closeWorlds()` in afterAll ends them all.
 */
import { kBackends } from '../comm/backends/index.js';
import { startWorld, type Backend, type JobOutcome, type World } from '../core/launch/world.js';
import { RankFailedError } from '../util/errors.js';

const told = new Set<string>();

/**
 * Backends the conformance suites run on: every one of the table that can run on this machine
 * (override: SUPERSTEP_BACKENDS=sab,tcp). One that cannot says why, once per test file.
 */
/**
 * The backends the conformance suites run on: SUPERSTEP_BACKENDS, or by default sab and tcp.
 * mpi is opt-in (SUPERSTEP_BACKENDS=sab,tcp,mpi): its worlds start through mpirun, slowly on
 * 2 cores, and a P = 8 world's start can outlast a test's time (test/mpi/mpi.test.ts always runs).
 */
export function backends(): Backend[] {
  const only = process.env.SUPERSTEP_BACKENDS?.split(',').filter(Boolean) ?? kDefaultBackends;
  if (!only.includes('mpi') && !told.has('mpi-default')) {
    told.add('mpi-default');
    console.warn("superstep tests: the conformance suites run on sab and tcp; SUPERSTEP_BACKENDS=sab,tcp,mpi adds the mpi backend");
  }
  const out: Backend[] = [];
  for (const b of kBackends) {
    if (only && !only.includes(b.name)) continue;
    const why = b.unavailable();
    if (why === undefined) out.push(b.name);
    else if (!told.has(b.name)) {
      told.add(b.name);
      console.warn(`superstep tests: backend '${b.name}' not run here: ${why}`);
    }
  }
  return out;
}

const kDefaultBackends = ['sab', 'tcp'];

export const fixture = (name: string): string => new URL(`./fixtures/${name}`, import.meta.url).href;

const worlds = new Map<string, World>();

export async function world(backend: Backend, procs: number): Promise<World> {
  const key = `${backend}:${procs}`;
  const w = worlds.get(key);
  if (w?.alive) return w;
  const fresh = await startWorld({ procs, backend, graceMs: 2000 });
  worlds.set(key, fresh);
  return fresh;
}

export async function closeWorlds(): Promise<void> {
  const all = [...worlds.values()];
  worlds.clear();
  await Promise.all(all.map((w) => w.close()));
}

/** Runs fixture function `fn` on every rank; returns the per-rank outcome (never throws for rank failures). */
export async function tryCall<T>(backend: Backend, procs: number, module: string, fn: string, args: unknown[] = [], timeoutMs = 30_000): Promise<JobOutcome<T>> {
  const w = await world(backend, procs);
  return w.job<T>({ kind: 'call', url: fixture(module), fn, args }, { timeoutMs });
}

/** Runs fixture function `fn` on every rank and returns every rank's result; throws if any rank failed. */
export async function callAll<T>(backend: Backend, procs: number, module: string, fn: string, args: unknown[] = [], timeoutMs = 30_000): Promise<T[]> {
  const out = await tryCall<T>(backend, procs, module, fn, args, timeoutMs);
  if (!out.ok) {
    const f = out.failure;
    throw new RankFailedError(f?.rank ?? -1, `${f?.error.name}: ${f?.error.message}`, f?.error.stack);
  }
  return out.results as T[];
}
