/**
 * The launcher's side of the rank threads' TypeScript hooks (ts-hooks.mjs): compiles a file
 * once with esbuild and serves it to every rank that imports it.
 */
import { readFile, stat } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { register } from 'node:module';
import { MessageChannel, type MessagePort } from 'node:worker_threads';

type Esbuild = typeof import('esbuild');
let esbuild: Promise<Esbuild> | undefined;
const cache = new Map<string, { mtimeMs: number; code: Promise<string> }>();

async function compile(url: string): Promise<string> {
  const path = fileURLToPath(url.split(/[?#]/)[0]!);
  const { mtimeMs } = await stat(path);
  const hit = cache.get(path);
  if (hit && hit.mtimeMs === mtimeMs) return hit.code;
  const code = (async () => {
    esbuild ??= import('esbuild');
    const { transform } = await esbuild;
    const source = await readFile(path, 'utf8');
    const out = await transform(source, {
      loader: path.endsWith('.tsx') ? 'tsx' : 'ts',
      format: 'esm',
      target: 'node20',
      sourcemap: 'inline',
      sourcefile: path,
    });
    return out.code;
  })();
  cache.set(path, { mtimeMs, code });
  code.catch(() => cache.delete(path));
  return code;
}

/**
 * Starts compiling a job's TypeScript module now, while the ranks are still loading the
 * library and registering their hooks (esbuild's service starts with the first compile); they
 * get the cached result. A failure is left for the ranks' own request to report.
 */
export function precompile(url: string): void {
  if (!url.startsWith('file:')) return;
  compile(url).catch(() => undefined);
}

/** A port for one rank's hooks; the launcher keeps the other end serving compiles. */
export function compilerPort(): MessagePort {
  const { port1, port2 } = new MessageChannel();
  port1.on('message', async (m: { id: number; url: string }) => {
    try {
      port1.postMessage({ id: m.id, code: await compile(m.url) });
    } catch (err) {
      // esbuild's first error as file:line:column, the way a compiler prints it.
      const first = (err as { errors?: { text: string; location?: { file: string; line: number; column: number } | null }[] }).errors?.[0];
      if (first?.location) {
        const { file, line, column } = first.location;
        port1.postMessage({ id: m.id, error: `${file}:${line}:${column + 1}: ${first.text}`, syntax: true });
      } else port1.postMessage({ id: m.id, error: `cannot compile ${m.url}: ${(err as Error).message}` });
    }
  });
  port1.unref();
  return port2;
}

export const kHooksUrl = new URL('./ts-hooks.mjs', import.meta.url).href;

/**
 * Registers the TypeScript hooks in this thread, served by a compiler in this thread: a rank
 * process of the installed package (JavaScript) that is handed a TypeScript job module.
 * esbuild is loaded and its service started first: loading it from inside a compile, under the
 * hooks that wait for that compile, deadlocked now and then.
 */
export async function registerTypeScriptHooks(): Promise<void> {
  esbuild ??= import('esbuild');
  await (await esbuild).transform('', { loader: 'ts' });
  const port = compilerPort();
  register(kHooksUrl, { data: { port }, transferList: [port] });
}
