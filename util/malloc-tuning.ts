/**
 * glibc malloc settings for processes that run ranks. By default glibc hands a freed large
 * block (an ArrayBuffer of a few MiB: a received message, a package) back to the kernel,
 * and the next one of that size is page-faulted in again, a page at a time. On this VM that
 * made a 4 MiB exchange into fresh receive buffers 3.4 ns per word instead of 0.55 into
 * reused ones; with freed blocks kept in the heap (these settings), 1.0-1.1. glibc reads the
 * settings once, at process start, so they go in the environment of the processes we start
 * (tcp ranks) and the `superstep` command re-executes itself with them for a sab job of two
 * or more ranks (its threads; the re-exec costs one more Node start-up, ~0.05 s on a quiet
 * machine; a 1-rank job exchanges nothing, and tcp ranks get the variables directly, so
 * neither pays it). The cost: memory freed by a rank stays with its process, up to 1 GiB;
 * threads share one heap's lock (small blocks mostly come from glibc's per-thread caches);
 * mapped blocks grow RSS in 2 MiB steps.
 *
 * Set SUPERSTEP_MALLOC_TUNING=0 to turn this off; variables the user set are never changed.
 */
import { spawn } from 'node:child_process';
import { constants } from 'node:os';

export const kMallocTuning: Readonly<Record<string, string>> = {
  // Blocks up to 256 MiB come from the heap, not their own mmap (and the threshold no longer moves).
  MALLOC_MMAP_THRESHOLD_: String(256 << 20),
  // Free memory at the top of the heap is returned to the kernel only beyond 1 GiB.
  MALLOC_TRIM_THRESHOLD_: String(1 << 30),
  // Every thread allocates from the one main heap. A sab rank is a thread, and a thread's own
  // arena grows in heaps of at most 64 MiB, so glibc maps any larger block (a column of a read
  // file) fresh and unmaps it on free, whatever the threshold above: readArrow at P = 1 took
  // 30,700 page faults per 120 MB read, ~0 with this (docs/io.md).
  MALLOC_ARENA_MAX: '1',
  // Blocks glibc does map (above the threshold, or new heap) are marked for transparent huge
  // pages (madvise), as numpy marks its arrays: one fault per 2 MiB instead of per 4 KiB.
  GLIBC_TUNABLES: 'glibc.malloc.hugetlb=1',
};

/** Set in the environment of the re-executed process. */
const kReexecMark = 'SUPERSTEP_MALLOC_REEXEC';

/** The variables to add to a rank process's environment (none if off, not Linux, or already set; other C libraries ignore them). */
export function mallocTuningEnv(env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  if (process.platform !== 'linux' || env.SUPERSTEP_MALLOC_TUNING === '0') return {};
  const add: Record<string, string> = {};
  for (const [k, v] of Object.entries(kMallocTuning)) if (env[k] === undefined) add[k] = v;
  return add;
}

/**
 * Re-runs this process (same node, flags and arguments) with the tuning in its environment,
 * when it is missing, and resolves to the child's exit code; resolves to undefined when
 * nothing needs doing (then the caller goes on itself). Signals are passed to the child.
 */
export function reexecWithMallocTuning(): Promise<number | undefined> {
  if (process.env[kReexecMark] === '1') {
    // The parent died while this process was still starting: 'disconnect' has been and gone.
    if (!process.channel || !process.connected) process.exit(1);
    // The re-executed child: when the parent dies (even by SIGKILL) its IPC channel closes,
    // and the job goes with it, as it would have had there been one process (its rank
    // processes and ssh sessions then see their own channels or stdin close).
    process.on('disconnect', () => process.exit(1));
    process.channel.unref();
    delete process.env[kReexecMark];
    return Promise.resolve(undefined);
  }
  const add = mallocTuningEnv();
  if (Object.keys(add).length === 0) return Promise.resolve(undefined);
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [...process.execArgv, ...process.argv.slice(1)], {
      stdio: ['inherit', 'inherit', 'inherit', 'ipc'],
      env: { ...process.env, ...add, [kReexecMark]: '1' },
    });
    const forward = (sig: NodeJS.Signals) => () => child.kill(sig);
    const handlers = (['SIGINT', 'SIGTERM', 'SIGHUP'] as const).map((s) => [s, forward(s)] as const);
    for (const [s, h] of handlers) process.on(s, h);
    child.on('error', (err) => {
      process.stderr.write(`superstep: could not restart with malloc tuning (${err.message}); set SUPERSTEP_MALLOC_TUNING=0 to skip it\n`);
      resolve(1);
    });
    child.on('exit', (code, signal) => {
      for (const [s, h] of handlers) process.off(s, h);
      resolve(code ?? 128 + (signal ? constants.signals[signal] : 1));
    });
  });
}
