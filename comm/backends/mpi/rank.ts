/**
 * Runs inside each rank process of an mpi World (started by mpirun): joins the MPI job,
 * connects back to the launcher (control.ts), installs the rank's context and runs the jobs the
 * launcher sends. If the launcher goes away, so does the rank: nothing outlives the job.
 */
import { writeSync } from 'node:fs';
import { connect } from 'node:net';
import { AbortedError } from '../../../util/errors.js';
import { setContext, type RankContext } from '../../context.js';
import { runRankJob } from '../rank-job.js';
import type { RunJob } from '../types.js';
import { frame, onMessages, sendMessage } from './control.js';
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
// A script that calls process.exit: the launcher learns the code (written synchronously, as
// nothing asynchronous runs any more once the process exits).
process.on('exit', (code) => {
  const fd = (socket as unknown as { _handle?: { fd?: number } })._handle?.fd;
  if (fd !== undefined && fd >= 0) {
    try {
      writeSync(fd, frame({ type: 'exited', code } satisfies MpiFromRank));
    } catch {
      /* the launcher is gone */
    }
  }
});

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
  await runRankJob(ctx, transport, m.id, m.spec, runJob, post);
});

post({ type: 'hello', rank: transport.rank });
post({ type: 'ready' });
