/**
 * Joining a tcp job from the environment: a process started by superstep's launcher, by
 * mpirun (Open MPI, MPICH/Hydra), by srun or as a Kubernetes Indexed Job learns its rank, the
 * job size, the coordinator and the secret from environment variables, so the same script
 * runs under any of them with no superstep launcher.
 *
 * The tcp descriptor's `joinFromEnv` is `engineJoin`: the first BSP call in such a process
 * builds a tcp transport (which connects in the background).
 */
import { createHash } from 'node:crypto';
import { userInfo } from 'node:os';
import { ArgumentError } from '../../../util/errors.js';
import { parseAddress, rendezvous, startCoordinator, type Coordinator } from './rendezvous.js';
import { createTcpTransport, type PeerAddress, type TcpTransport } from './transport.js';

/** Default coordinator port when only the host is known (rank 0 listens there). */
export const kDefaultCoordPort = 7650;

export type Engine = 'superstep' | 'openmpi' | 'pmi' | 'slurm' | 'kubernetes';

/** Rank and size as an engine announced them. */
export interface EngineInfo {
  engine: Engine;
  rank: number;
  size: number;
}

type Env = Record<string, string | undefined>;

function int(env: Env, name: string): number | undefined {
  const v = env[name];
  if (v === undefined || v === '') return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new ArgumentError(name, 'a non-negative integer', v);
  return n;
}

/**
 * Recognises the engine that started this process from its environment; undefined when none
 * did (a plain `node script.ts`). SUPERSTEP_RANK/SUPERSTEP_SIZE win over engine variables.
 */
export function detectEngine(env: Env = process.env): EngineInfo | undefined {
  const pairs: [Engine, string, string][] = [
    ['superstep', 'SUPERSTEP_RANK', 'SUPERSTEP_SIZE'],
    ['openmpi', 'OMPI_COMM_WORLD_RANK', 'OMPI_COMM_WORLD_SIZE'],
    ['pmi', 'PMI_RANK', 'PMI_SIZE'],
    ['slurm', 'SLURM_PROCID', 'SLURM_NTASKS'],
    ['kubernetes', 'JOB_COMPLETION_INDEX', 'SUPERSTEP_SIZE'],
  ];
  for (const [engine, r, s] of pairs) {
    const rank = int(env, r);
    const size = int(env, s);
    if (rank === undefined || size === undefined) continue;
    if (size < 1 || rank >= size) throw new ArgumentError(r, `a rank below ${s}=${size}`, rank);
    return { engine, rank, size };
  }
  return undefined;
}

/** First host of a Slurm node list such as "node[03-05,9],gpu1" (-> "node03"). */
export function firstSlurmHost(list: string): string {
  const m = /^([^,[]+)(?:\[([^\]]+)\])?/.exec(list.trim());
  if (!m) return list;
  if (!m[2]) return m[1]!;
  return m[1]! + m[2].split(/[,-]/)[0]!;
}

/** The coordinator address: SUPERSTEP_COORD, else rank 0's host (when known) at a fixed port. */
export function coordinatorAddress(env: Env = process.env): PeerAddress {
  if (env.SUPERSTEP_COORD) return parseAddress(env.SUPERSTEP_COORD);
  const port = int(env, 'SUPERSTEP_PORT') ?? kDefaultCoordPort;
  const nodes = env.SLURM_STEP_NODELIST ?? env.SLURM_JOB_NODELIST;
  // Slurm places rank 0 on the first node of the step by default; otherwise one host.
  const host = env.SLURM_PROCID !== undefined && nodes ? firstSlurmHost(nodes) : '127.0.0.1';
  return { host, port };
}

/**
 * The job secret: SUPERSTEP_SECRET, else a key derived from the engine's job id. The derived
 * key keeps ranks of different jobs apart but is not secret: set SUPERSTEP_SECRET on shared
 * networks.
 */
export function jobSecret(env: Env = process.env): { secret: Uint8Array; derived: boolean } {
  if (env.SUPERSTEP_SECRET) return { secret: new Uint8Array(Buffer.from(env.SUPERSTEP_SECRET, 'utf8')), derived: false };
  const ids = ['OMPI_MCA_ess_base_jobid', 'OMPI_MCA_orte_hnp_uri', 'PMIX_NAMESPACE', 'PMI_JOBID', 'SLURM_JOB_ID', 'SLURM_STEP_ID', 'JOB_NAME', 'HOSTNAME'];
  const h = createHash('sha256').update('superstep/derived/' + safeUser());
  for (const k of ids) h.update(`|${k}=${env[k] ?? ''}`);
  return { secret: new Uint8Array(h.digest()), derived: true };
}

function safeUser(): string {
  try {
    return userInfo().username;
  } catch {
    return '';
  }
}

/** Ranks of this job on this host, as the engine tells it (undefined: unknown). */
export function localRanks(env: Env = process.env): number | undefined {
  for (const name of ['SUPERSTEP_LOCAL_SIZE', 'OMPI_COMM_WORLD_LOCAL_SIZE', 'MPI_LOCALNRANKS', 'SLURM_NTASKS_PER_NODE']) {
    const n = int(env, name);
    if (n !== undefined && n > 0) return n;
  }
  return undefined;
}

export interface EnvTransport {
  transport: TcpTransport;
  /** Resolves when the mesh is up; rejects if joining failed (the transport is failed too). */
  ready: Promise<void>;
  info: EngineInfo;
}

/** Builds a tcp transport from the environment and starts joining the job in the background. */
export function joinFromEnv(env: Env = process.env, info = detectEngine(env), options: { ref?: boolean } = {}): EnvTransport | undefined {
  if (!info) return undefined;
  const { secret, derived } = jobSecret(env);
  const coord = coordinatorAddress(env);
  const peerTimeoutMs = int(env, 'SUPERSTEP_PEER_TIMEOUT_MS');
  const timeoutMs = int(env, 'SUPERSTEP_CONNECT_TIMEOUT_MS') ?? 60_000;
  const maxFrameBytes = int(env, 'SUPERSTEP_MAX_FRAME_BYTES');
  const spinUs = int(env, 'SUPERSTEP_SPIN_US');
  const transport = createTcpTransport({
    rank: info.rank,
    size: info.size,
    secret,
    peerTimeoutMs,
    maxFrameBytes,
    connectTimeoutMs: timeoutMs,
    ref: options.ref,
    spinMs: spinUs === undefined ? undefined : spinUs / 1000,
    localRanks: localRanks(env),
    // SUPERSTEP_LOCAL_SOCKETS=0: TCP to peers on this host too (see localSockets).
    localSockets: env.SUPERSTEP_LOCAL_SOCKETS === '0' ? false : undefined,
  });
  if (derived && info.rank === 0 && info.engine !== 'superstep') {
    process.stderr.write('superstep: SUPERSTEP_SECRET is not set; ranks authenticate with a key derived from the job id, which is not secret. Set SUPERSTEP_SECRET on shared networks.\n');
  }
  const ready = (async () => {
    if (info.size === 1) return;
    let coordinator: Coordinator | undefined;
    if (info.rank === 0 && env.SUPERSTEP_COORD_EXTERNAL !== '1') {
      coordinator = await startCoordinator({ size: info.size, secret, host: env.SUPERSTEP_COORD_BIND ?? coord.host, port: coord.port, ref: options.ref });
    }
    try {
      const table = await rendezvous({
        coord,
        secret,
        rank: info.rank,
        size: info.size,
        timeoutMs,
        // Listen on the configured interface only: SUPERSTEP_BIND, else the one that reaches the coordinator.
        listen: (local) => transport.listen(env.SUPERSTEP_BIND ?? local),
      });
      await transport.connect(table);
    } finally {
      coordinator?.close();
    }
  })();
  ready.catch((err: Error) => transport.abortWith(err, info.rank, `rank ${info.rank} could not join the job: ${err.message}`));
  return { transport, ready, info };
}

/**
 * An engine-started script's transport (undefined when no engine started this process, or
 * SUPERSTEP_BACKEND names another backend); it finalizes in order when the script is done,
 * as MPI_Finalize.
 */
export function engineJoin(env: Env = process.env): TcpTransport | undefined {
  if (env.SUPERSTEP_BACKEND !== undefined && env.SUPERSTEP_BACKEND !== 'tcp') return undefined;
  const info = detectEngine(env);
  // SUPERSTEP_JOINED: a process this rank starts inherits its engine variables, but is not a rank.
  if (!info || info.size === 1 || env.SUPERSTEP_LAUNCHED === '1' || env.SUPERSTEP_JOINED === '1') return undefined;
  const joined = joinFromEnv(env, info, { ref: false })!;
  process.env.SUPERSTEP_JOINED = '1';
  const t = joined.transport;
  let finalizing = false;
  process.on('beforeExit', () => {
    if (finalizing) return;
    finalizing = true;
    void t.close();
  });
  // An uncaught error: tell the peers before the process dies, so they fail fast with it.
  process.on('uncaughtExceptionMonitor', (err) => {
    t.abortWith(new Error(String(err)), info.rank, err instanceof Error ? `${err.name}: ${err.message}` : String(err));
  });
  return t;
}

