/**
 * @internal Agreement for collective file operations: every rank runs its local part, then
 * all ranks exchange "ok or which error" so that a failure on any rank becomes the same typed
 * error on every rank (instead of one rank throwing and the others hanging or aborting).
 */
import { world } from '../comm/comm.js';
import { ArgumentError, CollectiveArgumentError, FileFormatError, IOError, SchemaMismatchError, SuperstepError } from '../util/errors.js';

interface Failure {
  name: string;
  message: string;
  code?: string;
}

/**
 * Runs `fn` on this rank, then agrees with every rank: resolves with this rank's result if
 * every rank succeeded, otherwise rejects on every rank with the lowest failing rank's error
 * (FileFormatError and SchemaMismatchError keep their class; a rank's invalid arguments are
 * its own ArgumentError there and a CollectiveArgumentError elsewhere; anything else becomes
 * IOError). With `{ samePath: true }` the same exchange also checks that every rank named the
 * same path (checkSamePath's error, before any other: a different file may be why `fn`
 * failed), so a read that touches only local state needs one exchange in all. Must be called
 * by all ranks.
 */
export async function agree<T>(path: string, fn: () => Promise<T>, options: { samePath?: boolean } = {}): Promise<T> {
  let result: T | undefined;
  let local: unknown;
  let failed = false;
  try {
    result = await fn();
  } catch (err) {
    failed = true;
    local = err;
  }
  const mine: Failure | null = failed ? describe(local) : null;
  if (options.samePath && world.size > 1) {
    const all = await world.allgatherObject<[string, Failure | null]>([path, mine]);
    const r = all.findIndex(([p]) => p !== all[0]![0]);
    if (r >= 0) throw differentPaths(all[0]![0], r, all[r]![0]);
    return outcome(path, all.map(([, f]) => f), result, local);
  }
  return outcome(path, await world.allgatherObject<Failure | null>(mine), result, local);
}

function outcome<T>(path: string, all: (Failure | null)[], result: T | undefined, local: unknown): T {
  const r = all.findIndex((f) => f !== null);
  if (r < 0) return result as T;
  // A rank whose own arguments were invalid raises its own ArgumentError (the class a caller
  // catches); the others a CollectiveArgumentError naming the lowest such rank.
  if (local instanceof ArgumentError) throw local;
  throw rebuild(path, all[r]!, r, world.rank, r === world.rank ? local : undefined);
}

function describe(err: unknown): Failure {
  if (err instanceof Error) return { name: err.name, message: err.message, code: (err as { code?: string }).code };
  return { name: 'Error', message: String(err) };
}

function rebuild(path: string, f: Failure, failedRank: number, rank: number, cause: unknown): SuperstepError {
  // The failing rank's message already names the path for our own file errors.
  let msg = f.message.replace(/^\[rank \d+\] /, '');
  if (msg.startsWith(`${path}: `)) msg = msg.slice(path.length + 2);
  if (f.code === 'ERR_INVALID_ARG' || f.code === 'ERR_COLLECTIVE_ARG') return new CollectiveArgumentError(`rank ${failedRank} passed invalid arguments to this collective: ${msg}`, rank);
  if (f.code === 'ERR_FILE_FORMAT') return new FileFormatError(path, `${msg} (seen by rank ${failedRank})`, rank);
  if (f.code === 'ERR_SCHEMA_MISMATCH') return new SchemaMismatchError(msg, rank);
  if (f.code === 'ERR_IO') return new IOError(path, msg, failedRank, rank, cause);
  return new IOError(path, `rank ${failedRank} failed: ${f.name}: ${msg}`, failedRank, rank, cause);
}

/**
 * Collective: every rank must name the same file (a per-rank path, e.g. one built from
 * process.pid, is a common mistake on multi-process backends).
 * @throws {CollectiveArgumentError} on every rank if the paths differ
 */
export async function checkSamePath(path: string): Promise<void> {
  if (world.size === 1) return;
  const all = await world.allgatherObject(path);
  const r = all.findIndex((x) => x !== all[0]);
  if (r >= 0) throw differentPaths(all[0]!, r, all[r]!);
}

function differentPaths(first: string, r: number, other: string): CollectiveArgumentError {
  return new CollectiveArgumentError(`collective file operations need the same path on every rank: rank 0 passed '${first}', rank ${r} passed '${other}'`, world.rank);
}
