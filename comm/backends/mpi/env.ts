/**
 * A script an engine started (mpirun, mpiexec, srun --mpi=pmix) with SUPERSTEP_BACKEND=mpi
 * joins the MPI job on its first BSP or comm call. Failure stays whole: an uncaught error
 * prints the rank, message and stack and calls MPI_Abort, which ends every rank and makes
 * mpirun exit non-zero. When the script is done, MPI is finalized (MPI_Finalize).
 */
import { loadNative } from './native.js';
import { MpiTransport } from './transport.js';

type Env = Record<string, string | undefined>;

export function engineJoin(env: Env): MpiTransport | undefined {
  if (env.SUPERSTEP_BACKEND !== 'mpi' || env.SUPERSTEP_LAUNCHED === '1' || env.SUPERSTEP_JOINED === '1') return undefined;
  const native = loadNative(env as NodeJS.ProcessEnv);
  const t = new MpiTransport(native, { abortJobOnAbort: true });
  // A process this rank starts inherits SUPERSTEP_BACKEND, but is not a rank.
  process.env.SUPERSTEP_JOINED = '1';
  let finalized = false;
  process.on('beforeExit', async () => {
    if (finalized) return;
    finalized = true;
    await t.close();
    t.finalize();
  });
  process.on('uncaughtExceptionMonitor', (err) => {
    const what = err instanceof Error ? err.stack ?? `${err.name}: ${err.message}` : String(err);
    process.stderr.write(`superstep: rank ${t.rank} failed: ${what}\n`);
    native.abort(1);
  });
  return t;
}
