/** Loads the mpi backend's addon (built on first use, build.ts). */
import { createRequire } from 'node:module';
import { addonPath } from './build.js';
import type { MpiNative } from './transport.js';

let native: MpiNative | undefined;

/** The addon: SUPERSTEP_MPI_ADDON (set by the launcher, which built it), else built or cached now. */
export function loadNative(env: NodeJS.ProcessEnv = process.env): MpiNative {
  // UCX (MPICH's default netmod; Open MPI's ucx pml) patches mmap/munmap to track registered
  // memory, and V8's own mappings then crash Node in its first allocations after MPI_Init.
  // Read by libucm when the library loads, so it must be set before the addon is required.
  process.env.UCX_MEM_MMAP_HOOK_MODE ??= 'none';
  native ??= createRequire(import.meta.url)(env.SUPERSTEP_MPI_ADDON ?? addonPath(env)) as MpiNative;
  return native;
}
