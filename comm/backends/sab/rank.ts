/**
 * Runs inside each rank's worker thread (sab backend): builds the transport, installs the
 * rank's context and runs the jobs the launcher sends. A job ends with a flush of pending
 * sends and a report; a failure is reported with its stack and aborts the job everywhere.
 */
import { register } from 'node:module';
import { parentPort, workerData, type MessagePort } from 'node:worker_threads';
import { createSabTransport } from './transport.js';
import { kFailed, kFinished, kRunning, setRankState, type SabWorld } from './layout.js';
import { isCollectiveError, toErrorInfo } from '../../../util/errors.js';
import { setContext, type RankContext } from '../../context.js';
import type { FromRank, ToRank } from '../protocol.js';
import type { RunJob } from '../types.js';
import { moduleUrl } from '../../../util/module-url.js';

/** The package's entry point, which a script's `import 'superstep'` resolves to. */
const kLibrary = moduleUrl('../../../index', import.meta.url).href;

interface RankData {
  world: SabWorld;
  rank: number;
  spin?: number;
  /** The module that runs a job (core/launch/job.ts, handed down by startWorld). */
  jobRunner: string;
  /** This rank's end of the launcher's TypeScript compiler, and the hooks module that uses it (ts-hooks.mjs). */
  compiler: MessagePort;
  hooks: string;
  /** The bootstrap registered a TypeScript loader already (launcher.ts). */
  tsLoader: boolean;
}

const { world, rank, spin, jobRunner, compiler, hooks, tsLoader } = workerData as RankData;
const { runJob, markTypeScriptLoader, useTypeScriptLoader } = (await import(jobRunner)) as {
  runJob: RunJob;
  markTypeScriptLoader?: () => void;
  useTypeScriptLoader?: (registerLoader: () => Promise<void>) => void;
};
if (tsLoader) markTypeScriptLoader?.();
else {
  // The first TypeScript job registers the hooks served by the launcher's compiler (launcher.ts).
  useTypeScriptLoader?.(async () => {
    // The library loads first, as it would for JavaScript: under the hooks every one of its
    // modules would be resolved and loaded through the hooks thread.
    await import(kLibrary);
    process.setSourceMapsEnabled(true);
    register(hooks, { data: { port: compiler }, transferList: [compiler] });
  });
}
const port = parentPort!;
// Shared-buffer exchange goes through the launcher: the n-th call on every rank forms one round.
let shareSeq = 0;
const shareWaits = new Map<number, (b: SharedArrayBuffer[]) => void>();
const shareRelay = (buffer: SharedArrayBuffer) =>
  new Promise<SharedArrayBuffer[]>((resolve) => {
    const seq = shareSeq++;
    shareWaits.set(seq, resolve);
    port.postMessage({ type: 'share', seq, buffer } satisfies FromRank);
  });
const transport = createSabTransport(world, rank, { spin, shareRelay });
const ctx: RankContext = { transport, job: 0, slots: new Map() };
setContext(ctx);
const post = (m: FromRank) => port.postMessage(m);

port.on('message', async (m: ToRank) => {
  if (m.type === 'exit') {
    port.close();
    return;
  }
  if (m.type === 'shared') {
    shareWaits.get(m.seq)?.(m.buffers);
    shareWaits.delete(m.seq);
    return;
  }
  ctx.job = m.id;
  ctx.slots = new Map();
  transport.beginEpoch(m.id);
  setRankState(world, rank, kRunning, m.id);
  try {
    const result = await runJob(m.spec, transport);
    setRankState(world, rank, kFinished, m.id);
    post({ type: 'done', id: m.id, result });
  } catch (err) {
    // Report first, then tell the peers: the launcher should hear the cause before the echoes.
    post({ type: 'error', id: m.id, error: toErrorInfo(err) });
    setRankState(world, rank, kFailed, m.id);
    // A collective error (every rank raises it itself) must not pre-empt the others' reports.
    if (!isCollectiveError(err)) transport.abort(err instanceof Error ? err.message : String(err));
  }
});
post({ type: 'ready' });
