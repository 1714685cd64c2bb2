/**
 * The mpi backend: ranks are the processes of an MPI job, on the machine's own MPI library
 * (its fabric, its launcher), through a small addon built from source on first use.
 */
import { moduleUrl } from '../../../util/module-url.js';
import type { BackendDescriptor } from '../types.js';
import { whyUnbuildable } from './build.js';
import { engineJoin } from './env.js';
import { findMpirun } from './mpirun.js';

export const mpi: BackendDescriptor = {
  name: 'mpi',
  summary: "processes of an MPI job on the machine's MPI library (clusters; needs MPI, e.g. libopenmpi-dev)",
  capabilities: { sharedMemory: false, processes: true, multiHost: true },
  unavailable: () => whyUnbuildable() ?? (findMpirun() ? undefined : 'no mpirun or mpiexec found; install the MPI runtime (Debian: openmpi-bin or mpich) or set MPIRUN'),
  startWorld: async (options) => (await import('./launcher.js')).startMpiWorld(options),
  rankModule: moduleUrl('./rank', import.meta.url),
  joinFromEnv: engineJoin,
  benchPeer: 'mpi4py',
};
