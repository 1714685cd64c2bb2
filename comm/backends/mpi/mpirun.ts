/**
 * How superstep starts an MPI job itself (`superstep run --backend mpi`, startWorld): the
 * machine's mpirun/mpiexec ($MPIRUN, else $MPI_HOME/bin, else the one beside mpicc, else PATH),
 * with Open MPI's flags where it is Open MPI: --oversubscribe (more ranks than cores is
 * allowed, as on the other backends) and, as root, its run-as-root consent.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { BackendUnavailableError } from '../../../util/errors.js';
import { findMpicc } from './build.js';

/** The mpirun (or mpiexec) to use, or undefined. */
export function findMpirun(env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (env.MPIRUN) return env.MPIRUN;
  const dirs = [env.MPI_HOME && join(env.MPI_HOME, 'bin'), findMpicc(env) && dirname(findMpicc(env)!), ...(env.PATH ?? '').split(':')].filter(Boolean) as string[];
  for (const d of dirs) for (const name of ['mpirun', 'mpiexec']) if (existsSync(join(d, name))) return join(d, name);
  return undefined;
}

let openMpi: boolean | undefined;

/** The command line that starts `argv` on `procs` ranks, and the environment it needs. */
export function mpirunCommand(procs: number, argv: readonly string[], env: NodeJS.ProcessEnv = process.env): { command: string; args: string[]; env: Record<string, string> } {
  const command = findMpirun(env);
  if (!command) throw new BackendUnavailableError('mpi', 'no mpirun or mpiexec found; install the MPI runtime (Debian: openmpi-bin or mpich) or set MPIRUN');
  openMpi ??= /open mpi|open-mpi|openrte/i.test(versionOf(command));
  const args = ['-n', String(procs)];
  const extra: Record<string, string> = {};
  if (openMpi) {
    args.push('--oversubscribe');
    if (process.getuid?.() === 0) {
      extra.OMPI_ALLOW_RUN_AS_ROOT = '1';
      extra.OMPI_ALLOW_RUN_AS_ROOT_CONFIRM = '1';
    }
  }
  return { command, args: [...args, ...argv], env: extra };
}

function versionOf(command: string): string {
  try {
    return execFileSync(command, ['--version'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 10_000 });
  } catch (err) {
    return String((err as { stdout?: string }).stdout ?? '');
  }
}
