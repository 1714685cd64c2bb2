// Module hooks for rank worker threads: TypeScript files load as they are.
//
// tsx's own register() costs each worker ~0.4 s of CPU (its loader and transform service);
// these hooks instead ask the launcher's main thread, which compiles each file once with
// esbuild and caches it for every rank. Plain JavaScript, because it runs before any loader.

let port;
/** In the repository: the URL of index.ts, which the package's own name resolves to (its exports name dist/). */
let self;
let nextId = 0;
const waiting = new Map();

export async function initialize(data) {
  port = data.port;
  self = data.self;
  port.on('message', (m) => {
    const w = waiting.get(m.id);
    waiting.delete(m.id);
    if (waiting.size === 0) port.unref();
    if (!w) return;
    if (m.error) w.reject(m.syntax ? new SyntaxError(m.error) : new Error(m.error));
    else w.resolve(m.code);
  });
  port.unref();
}

function compile(url) {
  return new Promise((resolve, reject) => {
    const id = nextId++;
    waiting.set(id, { resolve, reject });
    // Held while a compile is pending, so the thread does not exit under an unsettled import.
    port.ref();
    port.postMessage({ id, url });
  });
}

const kTs = /\.(ts|mts|tsx)$/;
const kRelative = /^(\.{1,2}\/|\/|file:)/;

/** What a TypeScript project's specifier may mean: './x.js' written for './x.ts', and so on. */
function candidates(specifier) {
  const out = [];
  const js = specifier.match(/^(.*)\.(js|mjs|jsx)$/);
  if (js) out.push(`${js[1]}.${js[2] === 'mjs' ? 'mts' : js[2] === 'jsx' ? 'tsx' : 'ts'}`);
  else if (!/\.[a-z]+$/i.test(specifier)) out.push(`${specifier}.ts`, `${specifier}/index.ts`);
  return out;
}

export async function resolve(specifier, context, next) {
  if (self && specifier === 'superstep') return { url: self, shortCircuit: true };
  try {
    return await next(specifier, context);
  } catch (err) {
    if (!kRelative.test(specifier) || (err?.code !== 'ERR_MODULE_NOT_FOUND' && err?.code !== 'ERR_UNSUPPORTED_DIR_IMPORT')) throw err;
    for (const c of candidates(specifier)) {
      try {
        return await next(c, context);
      } catch {
        /* next candidate */
      }
    }
    throw err;
  }
}

export async function load(url, context, next) {
  const path = url.split(/[?#]/)[0];
  if (url.startsWith('file:') && kTs.test(path)) {
    return { format: 'module', source: await compile(url), shortCircuit: true };
  }
  return next(url, context);
}
