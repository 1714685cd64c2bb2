/**
 * What a backend is to the rest of superstep: a descriptor (name, capabilities, how a World
 * starts, how a rank starts, how a rank joins a job an engine started) plus the World and job
 * types every launcher implements. One table (comm/backends/index.ts) lists the descriptors;
 * `startWorld`, both CLIs, the test harness and the benches read only that table.
 */
import type { ErrorInfo } from '../../util/errors.js';
import type { Transport } from '../transport.js';
import type { JobSpec, RankStatus } from './protocol.js';

/** The name of a backend in the table ('sab', 'tcp', 'mpi'). */
export type Backend = string;

export interface WorldOptions {
  /** Number of ranks. */
  procs: number;
  /** A backend of the table (default 'sab'). */
  backend?: Backend;
  /** How long ranks that did not fail may take to stop after another rank failed, in ms. */
  graceMs?: number;
  /** Spin iterations before a waiting rank sleeps (sab); default scales with ranks per core. */
  spin?: number;
  /** Extra environment for the ranks (threads on sab, processes on tcp and mpi). */
  env?: Record<string, string>;
}

/**
 * What a launcher needs beyond the user's options: the module each rank imports to run a job
 * (core/launch/job.ts, handed down so that comm never imports core).
 */
export interface LaunchOptions extends WorldOptions {
  /** URL of a module exporting `runJob(spec, transport): Promise<unknown>`. */
  jobRunner: string;
}

/** The signature of the job runner module's export (see LaunchOptions.jobRunner). */
export type RunJob = (spec: JobSpec, transport: Transport) => Promise<unknown>;

export interface JobOptions {
  /** Abort the job if it runs longer than this, in ms (default: no limit). */
  timeoutMs?: number;
}

/** What a job gave back: one status and one result per rank. */
export interface JobOutcome<T = unknown> {
  ok: boolean;
  statuses: RankStatus[];
  results: (T | undefined)[];
  /** The first rank that failed (the cause; later failures are usually its echo). */
  /** rank -1: the job as a whole failed (a timeout, a stop from outside, with the exit code to use). */
  failure?: { rank: number; error: ErrorInfo; exitCode?: number };
}

/** P ranks kept alive across jobs (the launcher behind run(), the CLI, Cluster, the tests). */
export interface World {
  readonly size: number;
  readonly backend: Backend;
  /** Runs a job on every rank. Resolves with every rank's status; never rejects for rank failures. */
  job<T = unknown>(spec: JobSpec, options?: JobOptions): Promise<JobOutcome<T>>;
  /** Ends every rank. Idempotent. */
  close(): Promise<void>;
  /** False once a job failed (its ranks were torn down) or close() was called. */
  readonly alive: boolean;
  /**
   * Failures after a job had finished, while close() waited for the ranks to end (an
   * uncaught exception or unhandled rejection from a timer that fired after the script's
   * last line): a script is done when its rank ends, so `run` counts these as the job's.
   */
  readonly lateFailures?: readonly { rank: number; error: ErrorInfo; exitCode: number }[];
}

/** `superstep run --hosts FILE`: ranks started on other hosts (tcp). */
export interface HostsRun {
  hostsFile: string;
  procs: number;
  script: string;
  args: string[];
  timeoutMs?: number;
}

export interface BackendCapabilities {
  /** Ranks share memory (SharedArrayBuffers move between them without a copy). */
  readonly sharedMemory: boolean;
  /** Ranks are processes (not threads of one process). */
  readonly processes: boolean;
  /** Ranks may run on several hosts. */
  readonly multiHost: boolean;
}

type Env = Record<string, string | undefined>;

/** One backend. Everything of it lives in comm/backends/<name>/; see docs/backends.md. */
export interface BackendDescriptor {
  readonly name: Backend;
  /** One line for `superstep help` and docs: what it is and when to use it. */
  readonly summary: string;
  readonly capabilities: BackendCapabilities;
  /** Why this backend cannot run on this machine (e.g. no MPI library), or undefined if it can. */
  unavailable(): string | undefined;
  /** Starts P ranks of this backend, kept alive across jobs. */
  startWorld(options: LaunchOptions): Promise<World>;
  /** The module a launched rank runs (a worker thread's or a process's entry point). */
  readonly rankModule: URL;
  /**
   * For a script started by an engine (mpirun, srun, a Kubernetes Indexed Job) rather than by
   * superstep's launcher: this process's transport, when the environment says it belongs to
   * this backend; undefined otherwise. Called synchronously on the first BSP/comm call.
   */
  joinFromEnv?(env: Env): Transport | undefined;
  /** `superstep run --hosts FILE` (ranks on other hosts through ssh); resolves with the exit code. */
  runOnHosts?(run: HostsRun): Promise<number>;
  /** The peer a bench compares this backend with (a key of the mpi4py results), if any. */
  readonly benchPeer?: string;
}
