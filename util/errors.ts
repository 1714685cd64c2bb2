/**
 * Typed errors. Every error superstep throws is a `SuperstepError` with a stable `code`,
 * so callers can branch on `err.code` instead of parsing messages. Messages follow one
 * formula: what was wrong, which argument or rank, what was expected, the value seen.
 */

export type ErrorCode =
  | 'ERR_INVALID_ARG'
  | 'ERR_UNKNOWN_PACKAGE'
  | 'ERR_SYNC_MISMATCH'
  | 'ERR_ABORTED'
  | 'ERR_RANK_FAILED'
  | 'ERR_PEER_GONE'
  | 'ERR_TIMEOUT'
  | 'ERR_CLOSED'
  | 'ERR_PROTOCOL'
  | 'ERR_TASK_FAILED'
  | 'ERR_COLLECTIVE_ARG'
  | 'ERR_COLLECTIVE_MISMATCH'
  | 'ERR_IO'
  | 'ERR_FILE_FORMAT'
  | 'ERR_SCHEMA_MISMATCH'
  | 'ERR_BACKEND_UNAVAILABLE'
  | 'ERR_NO_SECRET'
  | 'ERR_MISSING_DEPENDENCY';

/** Base class of every error superstep throws. */
export class SuperstepError extends Error {
  readonly code: ErrorCode;
  /** The rank that raised the error, when known. */
  readonly rank: number | undefined;
  constructor(code: ErrorCode, message: string, options?: { rank?: number; cause?: unknown }) {
    super(options?.rank === undefined ? message : `[rank ${options.rank}] ${message}`, { cause: options?.cause });
    this.code = code;
    this.rank = options?.rank;
  }
  override get name(): string {
    return this.constructor.name;
  }
}

/** A feature needs an optional package that is not installed; the message names it and how to install it. */
export class MissingDependencyError extends SuperstepError {
  readonly packageName: string;
  constructor(packageName: string, feature: string, rank?: number, cause?: unknown) {
    super('ERR_MISSING_DEPENDENCY', `${feature} needs the optional package ${packageName}, which is not installed: run \`npm i ${packageName}\`.`, { rank, cause });
    this.packageName = packageName;
  }
}

/** A public function was called with an argument it cannot accept. */
export class ArgumentError extends SuperstepError {
  readonly argument: string;
  constructor(argument: string, expected: string, value: unknown, rank?: number) {
    super('ERR_INVALID_ARG', `invalid argument. \`${argument}\` must be ${expected}. Value: \`${show(value)}\`.`, { rank });
    this.argument = argument;
  }
}

/** A package name that this rank does not hold. */
export class UnknownPackageError extends SuperstepError {
  readonly packageName: string;
  constructor(name: string, known: readonly string[], rank?: number) {
    const list = known.length ? known.slice(0, 10).map((k) => `'${k}'`).join(', ') + (known.length > 10 ? ', …' : '') : 'none';
    super('ERR_UNKNOWN_PACKAGE', `unknown package '${name}'. Packages on this rank: ${list}.`, { rank });
    this.packageName = name;
  }
}

/** Ranks reached a sync with different pass phrases. Raised on every rank. */
export class SyncMismatchError extends SuperstepError {
  constructor(message: string, rank?: number) {
    super('ERR_SYNC_MISMATCH', message, { rank });
  }
}

/** The job was aborted because some rank failed; `failedRank` says which. */
export class AbortedError extends SuperstepError {
  readonly failedRank: number | undefined;
  constructor(message: string, failedRank?: number, rank?: number) {
    super('ERR_ABORTED', message, { rank });
    this.failedRank = failedRank;
  }
}

/** A peer rank finished or died while this rank still needed it. */
export class PeerGoneError extends SuperstepError {
  readonly peer: number;
  constructor(peer: number, message: string, rank?: number) {
    super('ERR_PEER_GONE', message, { rank });
    this.peer = peer;
  }
}

/** A bounded wait ran out. */
export class TimeoutError extends SuperstepError {
  constructor(message: string, rank?: number) {
    super('ERR_TIMEOUT', message, { rank });
  }
}

/** An operation on a closed transport, world or communicator. */
export class ClosedError extends SuperstepError {
  constructor(message: string, rank?: number) {
    super('ERR_CLOSED', message, { rank });
  }
}

/** Malformed bytes on the wire (bad frame, bad header). */
export class ProtocolError extends SuperstepError {
  constructor(message: string, rank?: number) {
    super('ERR_PROTOCOL', message, { rank });
  }
}

/**
 * A collective call (merge, share, ...) got arguments that are invalid on some rank or that
 * disagree between ranks. Every rank raises it by itself, with the same message.
 */
export class CollectiveArgumentError extends SuperstepError {
  constructor(message: string, rank?: number) {
    super('ERR_COLLECTIVE_ARG', message, { rank });
  }
}

/**
 * Ranks called different collectives at the same position on a communicator (another
 * operation, root, dtype, element count or op), or one rank called a collective while
 * another called bsp.sync. Raised on every rank; the message names what each rank called.
 * The communicator is unusable afterwards (its ranks no longer agree on the order of calls).
 */
export class CollectiveMismatchError extends SuperstepError {
  readonly collective = true;
  constructor(message: string, rank?: number) {
    super('ERR_COLLECTIVE_MISMATCH', message, { rank });
  }
}

/**
 * A collective file operation failed on some rank (I/O error, a rank that threw mid-write).
 * Raised on every rank with the failing rank's message; a write that fails leaves the
 * previous file untouched.
 */
export class IOError extends SuperstepError {
  readonly failedRank: number | undefined;
  readonly path: string;
  /** Raised by every rank itself (not an abort from one rank). */
  readonly collective = true;
  constructor(path: string, message: string, failedRank?: number, rank?: number, cause?: unknown) {
    super('ERR_IO', `${path}: ${message}`, { rank, cause });
    this.path = path;
    this.failedRank = failedRank;
  }
}

/** A file is not what it claims to be: wrong magic, truncated, a header that does not parse. */
export class FileFormatError extends SuperstepError {
  readonly path: string;
  readonly collective = true;
  constructor(path: string, message: string, rank?: number) {
    super('ERR_FILE_FORMAT', `${path}: ${message}`, { rank });
    this.path = path;
  }
}

/** Ranks passed tables (or frames) whose schemas differ. Raised on every rank. */
export class SchemaMismatchError extends SuperstepError {
  readonly collective = true;
  constructor(message: string, rank?: number) {
    super('ERR_SCHEMA_MISMATCH', message, { rank });
  }
}

/** A task of a PoolExecutor threw on the rank that ran it; carries that rank's stack. */
export class TaskError extends SuperstepError {
  readonly workerRank: number;
  readonly remoteStack: string | undefined;
  constructor(workerRank: number, message: string, remoteStack?: string) {
    super('ERR_TASK_FAILED', `task failed on rank ${workerRank}: ${message}`);
    this.workerRank = workerRank;
    this.remoteStack = remoteStack;
    if (remoteStack) this.stack = `${this.name}: ${this.message}\n    --- on rank ${workerRank} ---\n${remoteStack}`;
  }
}

/**
 * One rank of a job failed. Carries the failing rank and its original message and stack,
 * which the launcher prints.
 */
export class RankFailedError extends SuperstepError {
  readonly failedRank: number;
  readonly remoteStack: string | undefined;
  constructor(failedRank: number, message: string, remoteStack?: string) {
    super('ERR_RANK_FAILED', `rank ${failedRank} failed: ${message}`);
    this.failedRank = failedRank;
    this.remoteStack = remoteStack;
  }
}

/**
 * A backend was asked for that cannot run on this machine (e.g. `mpi` without an MPI library
 * or compiler); the message says what to install or set.
 */
export class BackendUnavailableError extends SuperstepError {
  readonly backend: string;
  constructor(backend: string, reason: string) {
    super('ERR_BACKEND_UNAVAILABLE', `backend '${backend}' is not available here: ${reason}`);
    this.backend = backend;
  }
}

function show(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'bigint') return `${value}n`;
  if (ArrayBuffer.isView(value)) return `${value.constructor.name}(${(value as { length?: number }).length ?? value.byteLength})`;
  try {
    const s = JSON.stringify(value);
    if (s !== undefined) return s.length > 80 ? s.slice(0, 77) + '...' : s;
  } catch {
    /* fall through */
  }
  return String(value);
}

/** Errors that every rank raises by itself (so one rank's copy must not abort the others'). */
export function isCollectiveError(err: unknown): boolean {
  if (err instanceof SyncMismatchError || err instanceof CollectiveArgumentError) return true;
  if (typeof err === 'object' && err !== null && (err as { collective?: unknown }).collective === true) return true;
  const name = typeof err === 'object' && err !== null ? (err as { name?: string }).name : undefined;
  return name === 'SyncMismatchError' || name === 'CollectiveArgumentError';
}

/** Serialisable form of an error, for crossing thread and process boundaries. */
export interface ErrorInfo {
  name: string;
  message: string;
  stack?: string;
  code?: string;
  /**
   * The rank whose failure this error reports, when that is another rank than the one raising
   * it (AbortedError, IOError and RankFailedError's failedRank, PeerGoneError's peer): the
   * launcher names it in its headline.
   */
  failedRank?: number;
}

export function toErrorInfo(err: unknown): ErrorInfo {
  if (err instanceof Error) {
    const info: ErrorInfo = { name: err.name, message: err.message, stack: err.stack, code: (err as { code?: string }).code };
    const e = err as { failedRank?: unknown; peer?: unknown };
    const blamed = typeof e.failedRank === 'number' ? e.failedRank : typeof e.peer === 'number' ? e.peer : undefined;
    if (blamed !== undefined && Number.isInteger(blamed) && blamed >= 0) info.failedRank = blamed;
    return info;
  }
  return { name: 'Error', message: String(err) };
}

/**
 * A multi-rank tcp job without a job secret (or with a secret file other users can read):
 * other users could join it, so it does not start. The message says how to pass one.
 */
export class SecretError extends SuperstepError {
  constructor(message: string, rank?: number) {
    super('ERR_NO_SECRET', message, { rank });
  }
}
