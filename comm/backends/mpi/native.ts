/** Loads the mpi backend's addon (built on first use, build.ts). */
import { createRequire } from 'node:module';
import { addonPath } from './build.js';
import type { MpiNative } from './transport.js';

let native: MpiNative | undefined;

/** The addon: SUPERSTEP_MPI_ADDON (set by the launcher, which built it), else built or cached now. */
export function loadNative(env: NodeJS.ProcessEnv = process.env): MpiNative {
  native ??= createRequire(import.meta.url)(env.SUPERSTEP_MPI_ADDON ?? addonPath(env)) as MpiNative;
  return native;
}
