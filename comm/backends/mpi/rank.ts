/**
 * Runs inside each rank process of an mpi World (started by mpirun): joins the MPI job,
 * connects back to the launcher (control.ts), installs the rank's context and runs the jobs the
 * launcher sends. If the launcher goes away, so does the rank: nothing outlives the job.
 */
import { connect } from 'node:net';
import { AbortedError, isCollectiveError, toErrorInfo } from '../../../util/errors.js';
import { setContext, type RankContext } from '../../context.js';
import type { RunJob } from '../types.js';
import { onMessages, sendMessage } from './control.js';
import type { MpiFromRank, MpiToRank } from './launcher.js';
import { loadNative } from './native.js';
import { MpiTransport } from './transport.js';

const control = process.env.SUPERSTEP_CONTROL;
const runner = process.env.SUPERSTEP_JOB_RUNNER;
if (!control || !runner) {
  process.stderr.write('superstep: comm/backends/mpi/rank.ts must be started by the mpi launcher (SUPERSTEP_CONTROL, SUPERSTEP_JOB_RUNNER)\n');
  process.exit(2);
}
const transport = new MpiTransport(loadNative(), { abortJobOnAbort: false });
const ctx: RankContext = { transport, job: 0, slots: new Map() };
setContext(ctx);
const { runJob } = (await import(runner)) as { runJob: RunJob };

const socket = connect(control);
const post = (m: MpiFromRank) => sendMessage(socket, m);
// The launcher is gone (killed, crashed, or tearing the world down): end at once.
socket.on('close', () => process.exit(1));
socket.on('error', () => process.exit(1));

onMessages(socket, async (raw) => {
  const m = raw as MpiToRank;
  if (m.type === 'exit') {
    await transport.close();
    transport.finalize();
    socket.removeAllListeners('close');
    socket.end(() => process.exit(0));
    return;
  }
  if (m.type === 'abort') {
    transport.fail(new AbortedError(`job aborted: rank ${m.rank} failed: ${m.reason}`, m.rank, transport.rank));
    return;
  }
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
      return;
    }
    // Report first, then fail this rank's operations: the launcher should hear the cause before the echoes.
    post({ type: 'error', id: m.id, error: toErrorInfo(err) });
    transport.abort(err instanceof Error ? err.message : String(err));
  }
});

post({ type: 'hello', rank: transport.rank });
post({ type: 'ready' });
