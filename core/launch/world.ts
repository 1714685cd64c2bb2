/**
 * A World is a set of P ranks kept alive across jobs: the launcher behind `superstep run`,
 * `run()`, Cluster and the test harness. A job runs on every rank; the World gathers each
 * rank's status and result. The first failure aborts the job on every rank, the others are
 * given a short grace period to report, and then every thread or process is torn down, so
 * nothing outlives a failed job. Each backend starts its own World (comm/backends/<name>/).
 */
import { backendNamed } from '../../comm/backends/index.js';
import { kModelEnv } from '../../comm/collectives/choose.js';
import { BackendUnavailableError } from '../../util/errors.js';
import type { World, WorldOptions } from '../../comm/backends/types.js';
import { moduleUrl } from '../../util/module-url.js';
import { collectiveModelFor } from '../cost/params.js';

export type { Backend, World, WorldOptions, JobOptions, JobOutcome } from '../../comm/backends/types.js';

/** The module every rank imports to run a job (handed to the backend: comm does not import core). */
const kJobRunner = moduleUrl('./job', import.meta.url).href;

/** Starts P ranks on the chosen backend (default 'sab'). */
export async function startWorld(options: WorldOptions): Promise<World> {
  const backend = backendNamed(options.backend ?? 'sab');
  const why = backend.unavailable();
  if (why) throw new BackendUnavailableError(backend.name, why);
  return backend.startWorld({ ...options, env: withCollectiveModel(options.env, backend.name, options.procs), jobRunner: kJobRunner });
}

/**
 * The ranks' environment with the collective model (comm/collectives/choose.ts) from the
 * params file, resolved here once so that every rank chooses its algorithms alike; a model
 * already in the environment is kept, and without a usable params file there is none (the
 * fixed switch points then decide).
 */
function withCollectiveModel(env: Record<string, string> | undefined, backend: string, procs: number): Record<string, string> | undefined {
  if (env?.[kModelEnv] !== undefined || process.env[kModelEnv] !== undefined) return env;
  let model;
  try {
    model = collectiveModelFor(procs, backend);
  } catch {
    return env;
  }
  return model ? { ...env, [kModelEnv]: JSON.stringify(model) } : env;
}
