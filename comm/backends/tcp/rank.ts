/**
 * Runs inside each rank process of a tcp World: joins the mesh through the launcher's
 * coordinator, installs the rank's context and runs the jobs the launcher sends over the IPC
 * channel (the same job protocol as rank.ts). If the launcher goes away, so does the rank:
 * nothing outlives the job.
 */
import { joinFromEnv } from './env.js';
import { AbortedError, isCollectiveError, toErrorInfo } from '../../../util/errors.js';
import { setContext, type RankContext } from '../../context.js';
import type { FromRank, ToRank } from '../protocol.js';
import type { RunJob } from '../types.js';

/** Launcher -> rank messages beyond the shared job protocol. */
export type TcpToRank = ToRank | { type: 'abort'; rank: number; reason: string };

const post = (m: FromRank) => process.send?.(m);
const joined = joinFromEnv(process.env);
if (!joined || !process.send || !process.env.SUPERSTEP_JOB_RUNNER) {
  process.stderr.write('superstep: comm/backends/tcp/rank.ts must be started by the tcp launcher (SUPERSTEP_RANK/SUPERSTEP_SIZE, SUPERSTEP_JOB_RUNNER and an IPC channel)\n');
  process.exit(2);
}
const { transport, ready, info } = joined;
// The module that runs a job (core/launch/job.ts, handed down by startWorld).
const { runJob } = (await import(process.env.SUPERSTEP_JOB_RUNNER!)) as { runJob: RunJob };
const ctx: RankContext = { transport, job: 0, slots: new Map() };
setContext(ctx);

// The launcher is gone (killed, crashed): end at once, leaving no orphan.
process.on('disconnect', () => process.exit(1));

process.on('message', async (m: TcpToRank) => {
  if (m.type === 'exit') {
    await transport.close();
    process.disconnect();
    return;
  }
  if (m.type === 'abort') {
    transport.abortWith(new AbortedError(`job aborted: rank ${m.rank} failed: ${m.reason}`, m.rank, info.rank), m.rank, m.reason);
    return;
  }
  if (m.type !== 'job') return;
  ctx.job = m.id;
  ctx.slots = new Map();
  transport.reset(m.id);
  try {
    const result = await runJob(m.spec, transport);
    await transport.finishJob();
    post({ type: 'done', id: m.id, result });
  } catch (err) {
    if (isCollectiveError(err)) {
      // Every rank raises it itself: finish in order, and let the others report theirs.
      await transport.finishJob();
      post({ type: 'error', id: m.id, error: toErrorInfo(err) });
    } else {
      // Report first, then abort: the launcher should hear the cause before the echoes.
      post({ type: 'error', id: m.id, error: toErrorInfo(err) });
      transport.abort(err instanceof Error ? err.message : String(err));
    }
  }
});

try {
  await ready;
  post({ type: 'ready' });
} catch (err) {
  process.stderr.write(`superstep: rank ${info.rank} could not join the job: ${(err as Error).message}\n`);
  process.exit(1);
}
