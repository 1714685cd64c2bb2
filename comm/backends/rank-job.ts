/**
 * One job on a rank process (tcp, mpi): the same steps for every process backend. A job ends
 * with a FIN to every peer (their receives from this rank fail instead of waiting) and a
 * report; a failure is reported first, then aborts the others, so the launcher hears the
 * cause before the echoes.
 */
import { isCollectiveError, toErrorInfo } from '../../util/errors.js';
import type { RankContext } from '../context.js';
import type { Transport } from '../transport.js';
import type { FromRank, JobSpec } from './protocol.js';
import type { RunJob } from './types.js';

/** A transport that runs a World's jobs one after another. */
export interface JobTransport extends Transport {
  /** Starts job `epoch`: drops older jobs' leftovers, delivers what came early for this one. */
  reset(epoch: number): void;
  /** Ends the job on this rank: tells every peer that nothing more will come. */
  finishJob(): Promise<void>;
}

/**
 * The job running on this rank, and whether its failure was already reported (by the
 * process's uncaught-error handler, say): a second report of the same job is dropped.
 */
export interface RankJobState {
  running: number | undefined;
  reported: boolean;
}

export async function runRankJob(ctx: RankContext, transport: JobTransport, id: number, spec: JobSpec, runJob: RunJob, post: (m: FromRank) => void, state: RankJobState = { running: undefined, reported: false }): Promise<void> {
  ctx.job = id;
  ctx.slots = new Map();
  transport.reset(id);
  state.running = id;
  state.reported = false;
  try {
    const result = await runJob(spec, transport);
    await transport.finishJob();
    if (state.reported) return;
    state.running = undefined;
    post({ type: 'done', id, result });
  } catch (err) {
    if (state.reported) return;
    state.reported = true;
    if (isCollectiveError(err)) {
      // Every rank raises it itself: finish in order, and let the others report theirs.
      await transport.finishJob();
      post({ type: 'error', id, error: toErrorInfo(err) });
    } else {
      post({ type: 'error', id, error: toErrorInfo(err) });
      transport.abort(err instanceof Error ? err.message : String(err));
    }
  }
}
