/** Runs one job on a rank, whatever the backend: a whole script, or one exported function. */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Transport } from '../../comm/transport.js';
import type { JobSpec } from '../../comm/backends/protocol.js';
import { localProfile, profilingRequested } from '../cost/profile.js';
import { markEvaluating } from '../../comm/pool.js';
import { isSourceUrl, isTypeScriptUrl } from '../../util/module-url.js';

/**
 * Whether this thread loads TypeScript already: the library's own sources run under a loader
 * in the repository, and sab rank threads register the launcher's hooks (markTypeScriptLoader).
 */
let tsLoader: Promise<void> | undefined = isSourceUrl(import.meta.url) ? Promise.resolve() : undefined;

/** Called where a TypeScript loader is registered before any job runs (sab rank threads). */
export function markTypeScriptLoader(): void {
  tsLoader ??= Promise.resolve();
}

/** How this thread registers a TypeScript loader when a job first needs one (sab rank threads: hooks served by the launcher). */
let registerLoader: (() => void | Promise<void>) | undefined;

/** Sets how the first TypeScript job registers its loader (instead of a compiler in this thread). */
export function useTypeScriptLoader(register: () => void | Promise<void>): void {
  registerLoader = register;
}

/** Imports a job's module; a TypeScript one first registers esbuild-compiling hooks in this thread. */
async function importJobModule(url: string): Promise<Record<string, unknown>> {
  if (isTypeScriptUrl(url)) {
    tsLoader ??= registerLoader
      ? Promise.resolve().then(registerLoader)
      : import('../../comm/backends/sab/ts-compiler.js').then((m) => m.registerTypeScriptHooks());
    await tsLoader;
  }
  return (await import(url)) as Record<string, unknown>;
}

export async function runJob(spec: JobSpec, transport: Transport): Promise<unknown> {
  let result: unknown;
  if (spec.kind === 'script') {
    // The script sees its arguments where `node script args...` would put them.
    process.argv.splice(2, process.argv.length - 2, ...spec.args);
    process.argv[1] = spec.url.startsWith('file:') ? new URL(spec.url).pathname : spec.url;
    // While it runs, a pool task naming this script as its module resolves to its registered task (comm/pool.ts).
    const done = markEvaluating(spec.url);
    // Profiling from the start: collectives before the first sync (or in a script without one) are recorded too.
    if (profilingRequested()) (await import('../bsp.js')).state();
    try {
      await importJobModule(spec.url).catch((err: unknown) => {
        throw located(err, spec.url);
      });
    } finally {
      done();
    }
    // With profiling on, a script's result is this rank's superstep and collective records (run --profile).
    result = localProfile();
  } else {
    const mod = await importJobModule(spec.url);
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

export { toModuleUrl } from '../../util/module-url.js';

/**
 * A syntax error in a job's script, as file:line:column: message. V8 keeps the place of an ES
 * module's syntax error out of the error object, so `node --check` finds it again (the script
 * itself only; an error in a module it imports keeps V8's message). TypeScript arrives located
 * from the compiler (ts-compiler.ts). The stack of a syntax error is the loader's: dropped.
 */
function located(err: unknown, url: string): unknown {
  if (!(err instanceof SyntaxError)) return err;
  let message = err.message;
  if (url.startsWith('file:') && !isTypeScriptUrl(url) && !/^\S+:\d+:\d+: /.test(message)) {
    const path = fileURLToPath(url);
    const check = spawnSync(process.execPath, ['--check', path], { encoding: 'utf8', timeout: 10_000 });
    // <path>:<line>\n<source line>\n<spaces>^\n\nSyntaxError: <message>
    const m = check.stderr?.match(/^(.*):(\d+)\n.*\n( *)\^/m);
    if (check.status !== 0 && m) message = `${path}:${m[2]}:${m[3]!.length + 1}: ${message}`;
  }
  const out = new SyntaxError(message);
  out.stack = `SyntaxError: ${message}`;
  return out;
}
