/**
 * Builds the mpi backend's addon (addon.c) from source with the machine's MPI compiler wrapper,
 * the first time it is needed, and caches it by MPI installation, Node-API version and source:
 * never a downloaded binary. Which MPI: $MPICC, else $MPI_HOME/bin/mpicc, else mpicc on PATH.
 * Node's headers: <node>/include/node beside the running node, else the `node-api-headers`
 * package. Synchronous, because a script an engine started joins its job on the first
 * (synchronous) BSP or comm call.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { homedir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BackendUnavailableError } from '../../../util/errors.js';

const kSource = fileURLToPath(new URL('./addon.c', import.meta.url));
const kInstall = 'an MPI library with its compiler wrapper: on Debian/Ubuntu `apt-get install libopenmpi-dev openmpi-bin` (or `libmpich-dev mpich`); on a cluster `module load` one; or point MPICC or MPI_HOME at one';

/** The MPI compiler wrapper to use, or undefined when none is found. */
export function findMpicc(env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (env.MPICC) return existsSync(env.MPICC) ? env.MPICC : onPath(env.MPICC, env);
  if (env.MPI_HOME) {
    const p = join(env.MPI_HOME, 'bin', 'mpicc');
    if (existsSync(p)) return p;
  }
  return onPath('mpicc', env);
}

function onPath(name: string, env: NodeJS.ProcessEnv): string | undefined {
  if (name.includes('/')) return undefined;
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    const p = join(dir || '.', name);
    try {
      if (statSync(p).isFile()) return p;
    } catch {
      /* not here */
    }
  }
  return undefined;
}

/** The directory holding node_api.h: node's own, else the node-api-headers package's. */
export function findNodeHeaders(): string | undefined {
  const own = join(process.execPath, '../../include/node');
  if (existsSync(join(own, 'node_api.h'))) return own;
  try {
    const pkg = createRequire(import.meta.url).resolve('node-api-headers/package.json');
    const dir = join(dirname(pkg), 'include');
    if (existsSync(join(dir, 'node_api.h'))) return dir;
  } catch {
    /* not installed */
  }
  return undefined;
}

/** Why the addon cannot be built here, or undefined. Cheap: looks for files, runs nothing. */
export function whyUnbuildable(env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (!findMpicc(env)) return `no MPI compiler wrapper (mpicc) found; install ${kInstall}`;
  if (!findNodeHeaders()) return `no Node-API headers (node_api.h) beside ${process.execPath}; \`npm install node-api-headers\``;
  return undefined;
}

/** The cache directory: $SUPERSTEP_CACHE_DIR, else $XDG_CACHE_HOME/superstep, else ~/.cache/superstep. */
function cacheDir(env: NodeJS.ProcessEnv): string {
  return env.SUPERSTEP_CACHE_DIR ?? join(env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'superstep');
}

/**
 * The path of the built addon, building it if this MPI, Node-API version and source have no
 * cached build yet. Throws a BackendUnavailableError saying what to install.
 */
export function addonPath(env: NodeJS.ProcessEnv = process.env): string {
  const why = whyUnbuildable(env);
  if (why) throw new BackendUnavailableError('mpi', why);
  const mpicc = findMpicc(env)!;
  const headers = findNodeHeaders()!;
  // The wrapper's compile line names the MPI installation (its include and library paths).
  let show: string;
  try {
    show = execFileSync(mpicc, ['-show'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch {
    show = execFileSync(mpicc, ['--version'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  }
  const key = createHash('sha256')
    .update(readFileSync(kSource))
    .update(`|${mpicc}|${show}|napi ${process.versions.napi}|abi ${process.versions.modules}|${process.arch}`)
    .digest('hex')
    .slice(0, 16);
  const dir = join(cacheDir(env), `mpi-${key}`);
  const out = join(dir, 'superstep_mpi.node');
  if (existsSync(out)) return out;
  mkdirSync(dir, { recursive: true });
  // Every rank of a first job may build at once: each writes its own file and renames it in.
  const tmp = `${out}.${process.pid}.tmp`;
  try {
    execFileSync(mpicc, ['-shared', '-fPIC', '-O2', `-I${headers}`, '-DNODE_GYP_MODULE_NAME=superstep_mpi', kSource, '-o', tmp], { stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    const e = err as { stderr?: Buffer; message: string };
    throw new BackendUnavailableError('mpi', `building the MPI binding with ${mpicc} failed: ${e.stderr?.toString().trim() || e.message}; check that ${mpicc} compiles C (a C compiler and the MPI headers: ${kInstall})`);
  }
  renameSync(tmp, out);
  return out;
}
