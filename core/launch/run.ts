/**
 * Programmatic launch: `run({ procs, backend }, scriptUrl, args)` runs a script on P ranks
 * and returns each rank's exit status, as `superstep run` does from the shell.
 */
import { ArgumentError } from '../../util/errors.js';
import { toModuleUrl } from '../../util/module-url.js';
import type { RankStatus } from '../../comm/backends/protocol.js';
import { startWorld, type Backend, type JobOutcome } from './world.js';

export interface RunOptions {
  /** Number of ranks. */
  procs: number;
  /** 'sab' (default) or 'tcp'. */
  backend?: Backend;
  /** Abort the run after this many ms (default: no limit). */
  timeoutMs?: number;
  /** How long other ranks may take to stop after one failed, in ms (default 2000). */
  graceMs?: number;
}

/**
 * Runs `script` (a path or URL of a .ts/.js module) on `procs` ranks.
 * Resolves with one status per rank, in rank order; a failed run resolves too (check `exitCode`).
 * @example
 * const statuses = await run({ procs: 4 }, new URL('./job.ts', import.meta.url), ['--n', '100']);
 * if (statuses.some((s) => s.exitCode !== 0)) process.exitCode = 1;
 */
export async function run(options: RunOptions, script: string | URL, args: readonly string[] = []): Promise<RankStatus[]> {
  return (await runDetailed(options, script, args)).statuses;
}

/** As run(), with the failure that caused a failed run. */
export async function runDetailed(options: RunOptions, script: string | URL, args: readonly string[] = []): Promise<JobOutcome> {
  if (typeof options !== 'object' || options === null) throw new ArgumentError('options', 'an object { procs, backend? }', options);
  if (!(typeof script === 'string' || script instanceof URL) || String(script) === '') {
    throw new ArgumentError('script', 'a module path or URL', script);
  }
  if (!Array.isArray(args) || args.some((a) => typeof a !== 'string')) throw new ArgumentError('args', 'an array of strings', args);
  const world = await startWorld({ procs: options.procs, backend: options.backend, graceMs: options.graceMs });
  let outcome: JobOutcome;
  try {
    outcome = await world.job({ kind: 'script', url: toModuleUrl(String(script instanceof URL ? script.href : script)), args: [...args] }, { timeoutMs: options.timeoutMs });
  } finally {
    await world.close();
  }
  // A rank that failed after reporting done (a timer's uncaught error) fails the run too.
  const late = world.lateFailures?.[0];
  if (outcome.ok && late) {
    const statuses = outcome.statuses.map((s) => (s.rank === late.rank ? { rank: s.rank, state: 'failed' as const, exitCode: late.exitCode, error: late.error } : s));
    return { ok: false, statuses, results: outcome.results, failure: { rank: late.rank, error: late.error } };
  }
  return outcome;
}
