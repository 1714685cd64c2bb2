/** Runs one job on a rank, whatever the backend: a whole script, or one exported function. */
import { pathToFileURL } from 'node:url';
import type { Transport } from '../../comm/transport.js';
import type { JobSpec } from '../../comm/backends/protocol.js';
import { localRecords } from '../cost/profile.js';
import { markEvaluating } from '../../comm/pool.js';

export async function runJob(spec: JobSpec, transport: Transport): Promise<unknown> {
  let result: unknown;
  if (spec.kind === 'script') {
    // The script sees its arguments where `node script args...` would put them.
    process.argv.splice(2, process.argv.length - 2, ...spec.args);
    process.argv[1] = spec.url.startsWith('file:') ? new URL(spec.url).pathname : spec.url;
    // While it runs, a pool task naming this script as its module resolves to its registered task (comm/pool.ts).
    const done = markEvaluating(spec.url);
    try {
      await import(spec.url);
    } finally {
      done();
    }
    // With profiling on, a script's result is this rank's superstep records (run --profile).
    result = localRecords();
  } else {
    const mod = (await import(spec.url)) as Record<string, unknown>;
    const fn = mod[spec.fn];
    if (typeof fn !== 'function') {
      throw new TypeError(`module ${spec.url} has no exported function '${spec.fn}' (exports: ${Object.keys(mod).join(', ') || 'none'})`);
    }
    result = await (fn as (...a: unknown[]) => unknown)(...spec.args);
  }
  // Like MPI_Finalize: messages this rank sent must leave before it reports done.
  const flush = (transport as { flush?: () => Promise<void> }).flush;
  if (flush) await flush.call(transport);
  return result;
}

export function toModuleUrl(script: string): string {
  if (/^(file|data|node):/.test(script)) return script;
  return pathToFileURL(script).href;
}
