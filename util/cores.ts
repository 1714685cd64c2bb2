/**
 * How many cores this process may use, and whether ranks outnumber them. Waiting ranks spin
 * only while every rank has a core of its own: with more ranks than cores, a rank that spins
 * takes the core from the rank it waits for, so every backend's waits sleep (or yield) at
 * once instead, as Open MPI's `mpi_yield_when_idle` does when it is oversubscribed.
 *
 * The count is the smallest of: the CPUs the scheduler lets this process run on
 * (`os.availableParallelism()`, which reads the affinity mask, and `Cpus_allowed` in
 * /proc/self/status), and the cgroup's CPU quota (cgroup v2 `cpu.max`, v1
 * `cpu.cfs_quota_us / cpu.cfs_period_us`, rounded up), as a container limits it.
 * `SUPERSTEP_CORES` overrides it (tests, or a machine whose limits say something else).
 */
import { readFileSync } from 'node:fs';
import { availableParallelism, cpus } from 'node:os';

let cached: number | undefined;

/** Cores this process may use (at least 1). */
export function usableCores(): number {
  if (cached !== undefined) return cached;
  const forced = Number(process.env.SUPERSTEP_CORES);
  if (Number.isInteger(forced) && forced > 0) return (cached = forced);
  let n = typeof availableParallelism === 'function' ? availableParallelism() : cpus().length;
  const allowed = cpusAllowed();
  if (allowed !== undefined) n = Math.min(n, allowed);
  const quota = cgroupQuota();
  if (quota !== undefined) n = Math.min(n, quota);
  return (cached = Math.max(1, n));
}

/**
 * The host's cores as the cgroup quota allows them, whatever this process's affinity mask
 * says: an MPI launcher binds each rank to a core of its own (Open MPI binds to a core at
 * P <= 2, to a socket above, and not at all when oversubscribed), so a bound rank's mask
 * tells nothing about whether the ranks outnumber the cores.
 */
export function hostCores(): number {
  const forced = Number(process.env.SUPERSTEP_CORES);
  if (Number.isInteger(forced) && forced > 0) return forced;
  const quota = cgroupQuota();
  const n = cpus().length;
  return Math.max(1, quota !== undefined ? Math.min(n, quota) : n);
}

/**
 * True when `ranks` ranks on this host outnumber the cores they may use (`host`: counted as
 * hostCores(), for ranks an MPI launcher placed and bound).
 */
export function oversubscribed(ranks: number, host = false): boolean {
  return ranks > (host ? hostCores() : usableCores());
}

/** The number of CPUs in this process's affinity mask, from /proc/self/status (Linux). */
function cpusAllowed(): number | undefined {
  const status = readText('/proc/self/status');
  const m = status && /^Cpus_allowed:\s*([0-9a-f,]+)$/im.exec(status);
  if (!m) return undefined;
  let n = 0;
  for (const ch of m[1]!.replace(/,/g, '')) {
    let v = parseInt(ch, 16);
    while (v) {
      n += v & 1;
      v >>= 1;
    }
  }
  return n > 0 ? n : undefined;
}

/** The cgroup CPU quota in whole cores (rounded up), or undefined when there is none. */
function cgroupQuota(): number | undefined {
  const groups = readText('/proc/self/cgroup');
  if (!groups) return undefined;
  for (const line of groups.split('\n')) {
    const [, controllers, path] = line.split(':');
    if (path === undefined) continue;
    if (controllers === '') {
      // cgroup v2: "max 100000" or "200000 100000".
      const max = readText(`/sys/fs/cgroup${path}/cpu.max`) ?? readText('/sys/fs/cgroup/cpu.max');
      const [q, period] = (max ?? '').trim().split(/\s+/);
      const cores = ratio(q, period);
      if (cores !== undefined) return cores;
    } else if (controllers!.split(',').includes('cpu')) {
      for (const base of [`/sys/fs/cgroup/cpu${path}`, `/sys/fs/cgroup/cpu,cpuacct${path}`, '/sys/fs/cgroup/cpu']) {
        const cores = ratio(readText(`${base}/cpu.cfs_quota_us`)?.trim(), readText(`${base}/cpu.cfs_period_us`)?.trim());
        if (cores !== undefined) return cores;
      }
    }
  }
  return undefined;
}

function ratio(quota: string | undefined, period: string | undefined): number | undefined {
  const q = Number(quota);
  const p = Number(period);
  if (!(q > 0) || !(p > 0)) return undefined;
  return Math.max(1, Math.ceil(q / p));
}

function readText(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}
