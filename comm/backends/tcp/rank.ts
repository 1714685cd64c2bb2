/**
 * Runs inside each rank process of a tcp World: joins the mesh through the launcher's
 * coordinator, installs the rank's context and runs the jobs the launcher sends over the IPC
 * channel (the same job protocol as rank.ts). If the launcher goes away, so does the rank:
 * nothing outlives the job.
 */
import { constants } from 'node:os';
import { joinFromEnv } from './env.js';
import { AbortedError, toErrorInfo } from '../../../util/errors.js';
import { setContext, type RankContext } from '../../context.js';
import type { FromRank, ToRank } from '../protocol.js';
import { runRankJob, type RankJobState } from '../rank-job.js';
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
let leaving = false;
process.on('disconnect', () => {
  if (!leaving) process.exit(1);
});

// The job running now, and whether this rank already reported its failure.
const job: RankJobState = { running: undefined, reported: false };

/**
 * Any uncaught exception or unhandled rejection fails the job, naming this rank, even one
 * from a timer while the rank waits in a sync. One that only echoes a failure already known
 * (an abort woke a promise nobody awaited) is not printed: the launcher reports the cause.
 */
function uncaught(err: unknown, what: string): void {
  const echo = transport.failedWith() !== undefined && err instanceof Error && ['AbortedError', 'PeerGoneError', 'ClosedError'].includes(err.name);
  if (echo) return;
  if (job.running !== undefined && !job.reported && process.connected) {
    job.reported = true;
    post({ type: 'error', id: job.running, error: toErrorInfo(err) });
    transport.abort(`${what}: ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)}`);
    return;
  }
  // No job to report to (it finished): print it and end with a failure, as node would.
  process.stderr.write(`superstep: rank ${info.rank}: ${what}: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
}
process.on('uncaughtException', (err) => uncaught(err, 'uncaught exception'));
process.on('unhandledRejection', (reason) => uncaught(reason, 'unhandled rejection'));

// SIGINT/SIGTERM/SIGHUP: a Ctrl-C or a group signal reaches the launcher too, which stops the
// job and lets this rank report; if no stop comes (the signal was for this rank alone), the
// rank fails the job itself.
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.on(sig, () => {
    setTimeout(() => {
      transport.abort(`rank ${info.rank} got ${sig}`);
      process.exit(128 + (constants.signals[sig] ?? 15));
    }, 500).unref();
  });
}

process.on('message', async (m: TcpToRank) => {
  if (m.type === 'exit') {
    await transport.close();
    // End when the event loop drains, as `node script` does (a timer still due may fail the
    // run: see lateFailures), but within 2 s, before the launcher's SIGKILL.
    leaving = true;
    setTimeout(() => process.exit(0), 2000).unref();
    process.disconnect();
    return;
  }
  if (m.type === 'abort') {
    transport.abortWith(new AbortedError(`job aborted: rank ${m.rank} failed: ${m.reason}`, m.rank, info.rank), m.rank, m.reason);
    return;
  }
  if (m.type !== 'job') return;
  await runRankJob(ctx, transport, m.id, m.spec, runJob, post, job);
});

try {
  await ready;
  post({ type: 'ready' });
} catch (err) {
  process.stderr.write(`superstep: rank ${info.rank} could not join the job: ${(err as Error).message}\n`);
  process.exit(1);
}
