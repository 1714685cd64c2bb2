/**
 * Supervision of the launcher process and of its rank processes, for every backend:
 *
 * - SIGINT, SIGTERM, SIGHUP to the launcher stop the running job: every rank's pending
 *   operations reject with an AbortedError saying so (a rank may print that it was stopped),
 *   ranks get a short grace period, then every rank is torn down and the launcher exits with
 *   128 + the signal's number.
 * - The command that started the launcher ending (npx, npm exec, a package.json script or a
 *   wrapper script killed by its pid, even with SIGKILL) does the same (util/parent-watch.ts);
 *   SUPERSTEP_WATCH_PARENT=0 turns that off (e.g. for `nohup` in a script that exits).
 * - (In the backends' launchers, util/parent-watch.ts's watchStoppedRanks:) a rank process
 *   that is stopped (SIGSTOP, a frozen debugger) fails the job after SUPERSTEP_STOPPED_MS
 *   (default 2000; 0: never), naming it; it is then killed with the job.
 *
 * Everything ends within 2 s of the signal or of the parent's death (poll 100 ms, grace
 * 300 ms, and the launcher exits 1 s after the stop began whatever is left).
 */
import { constants } from 'node:os';
import { watchParent } from '../../util/parent-watch.js';
import { stopAllJobs } from '../../comm/backends/job-tracker.js';

/** How long ranks may take to report after a stop, in ms. */
const kStopGraceMs = 300;
/** The launcher exits this long after a stop began, whatever is left (its ranks go with it). */
const kStopDeadlineMs = 1000;

let installed = false;
let stopping = false;

/** Stops every job of this process and exits with `code` (see the module comment). */
export function stopLauncher(reason: string, code: number): void {
  if (stopping) return;
  stopping = true;
  // Whatever happens, the launcher is gone within the bound; tcp ranks see their IPC channel
  // close and exit, sab ranks are threads of this process.
  setTimeout(() => process.exit(code), kStopDeadlineMs).unref();
  void stopAllJobs(reason, code, kStopGraceMs).then((n) => {
    if (n === 0) {
      // No job yet (starting) or any more: nothing to report for.
      process.stderr.write(`superstep: ${reason}\n`);
      process.exit(code);
    }
    // Otherwise the command prints its summary and exits with the job's outcome.
  });
}

/**
 * Installs the launcher's supervision (idempotent): signal handlers and the parent watch.
 * Called by `superstep run` in the process that runs the World.
 */
export function superviseLauncher(env: NodeJS.ProcessEnv = process.env): void {
  if (installed) return;
  installed = true;
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(sig, () => stopLauncher(`job stopped: the launcher got ${sig}`, 128 + constants.signals[sig]));
  }
  if (env.SUPERSTEP_WATCH_PARENT !== '0') {
    watchParent((who) => stopLauncher(`job stopped: the command that started it (${who.comm}, pid ${who.pid}) is gone`, 128 + constants.signals.SIGHUP), 100);
  }
}
