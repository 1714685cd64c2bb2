/**
 * Durable collective writes: a file written by all ranks lands whole or not at all.
 *
 * Rank 0 creates a temporary file in the target's directory (so the final rename stays on one
 * file system); every rank opens it and writes its own byte ranges with positioned writes,
 * then fsyncs; the ranks agree; only if every rank succeeded does rank 0 rename the temporary
 * file over the target and fsync the directory. A rank that throws mid-write makes every rank
 * reject with an IOError naming it, and the previous file stays as it was. A rank that dies
 * (killed process, process.exit) fails the job through the transport; the previous file is
 * still untouched, and every rank still running removes the temporary file (all know its
 * name), so that any survivor cleans up, rank 0 or not. The temporary file's name carries
 * the host and pid of the process that made it; if every rank died at once, the next write of
 * the same path removes temporary files whose process is gone.
 */
import { open, readdir, rename, unlink, type FileHandle } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { world } from '../comm/comm.js';
import { FileFormatError, IOError } from '../util/errors.js';
import { agree, checkSamePath } from './collective.js';

/** @internal Test hook: called on every rank after it wrote part of its data, before the rest. */
export type WriteFault = (rank: number, path: string) => void | Promise<void>;
let fault: WriteFault | undefined;

/** @internal Installs (or clears) a fault hook on this rank, for tests of partial writes. */
export function setWriteFault(f: WriteFault | undefined): void {
  fault = f;
}

/** @internal Runs the installed fault hook, if any. */
export async function maybeFault(path: string): Promise<void> {
  if (fault) await fault(world.rank, path);
}

/**
 * Collective: creates `path` atomically. `write(fh)` runs on every rank with the temporary
 * file open read-write and writes this rank's ranges (positioned writes, e.g.
 * `fh.write(buf, 0, n, position)`). Rejects on every rank if any rank's write failed.
 */
export async function writeCollective(path: string, write: (fh: FileHandle) => Promise<void>): Promise<void> {
  await checkSamePath(path);
  const dir = dirname(path);
  // Rank 0 names and creates the temporary file; everyone learns its name.
  let created: string | undefined;
  let name: string | undefined;
  let committed = false;
  try {
    const tmp = await agree(path, async () => {
      if (world.rank !== 0) return '';
      await removeStale(dir, basename(path));
      const fresh = join(dir, `.${basename(path)}.${kHost}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
      const fh = await open(fresh, 'wx', 0o644);
      created = fresh;
      await fh.close();
      return fresh;
    });
    const known = world.size > 1 ? await world.bcastObject<string>(tmp, 0) : tmp;
    name = known;
    await agree(path, async () => {
      const fh = await open(known, 'r+');
      try {
        await write(fh);
        await fh.sync();
      } finally {
        await fh.close();
      }
    });
    await agree(path, async () => {
      if (world.rank !== 0) return;
      await rename(known, path);
      committed = true;
      await syncDir(dir);
    });
    committed = true;
  } finally {
    // Any rank still here removes it: rank 0 may be the one that died.
    const tmp = name ?? created;
    if (!committed && tmp) await unlink(tmp).catch(() => undefined);
  }
}

/** This host, as it appears in temporary file names (no dots: the name is split at them). */
const kHost = hostname().replace(/[^A-Za-z0-9-]/g, '-').slice(0, 40) || 'host';

/**
 * Removes temporary files of earlier writes of `base` in `dir` that were made on this host by
 * a process that no longer exists (a job whose every rank died mid-write).
 */
async function removeStale(dir: string, base: string): Promise<void> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return;
  }
  const prefix = `.${base}.`;
  for (const n of names) {
    if (!n.startsWith(prefix) || !n.endsWith('.tmp')) continue;
    const parts = n.slice(prefix.length, -'.tmp'.length).split('.');
    if (parts.length !== 3 || parts[0] !== kHost || !/^\d+$/.test(parts[1]!)) continue;
    if (alive(Number(parts[1]))) continue;
    await unlink(join(dir, n)).catch(() => undefined);
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as { code?: string }).code === 'EPERM';
  }
}

/** fsync a directory so a rename in it survives a crash (best effort where not supported). */
async function syncDir(dir: string): Promise<void> {
  let fh: FileHandle | undefined;
  try {
    fh = await open(dir, 'r');
    await fh.sync();
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code !== 'EISDIR' && code !== 'EINVAL' && code !== 'EPERM') throw new IOError(dir, `fsync of the directory failed: ${(err as Error).message}`);
  } finally {
    await fh?.close();
  }
}

/** Writes every byte of `parts` at `position` (positioned, no concatenation). */
export async function writeAllAt(fh: FileHandle, parts: readonly Uint8Array[], position: number): Promise<void> {
  let pos = position;
  let rest = parts.filter((p) => p.byteLength > 0);
  while (rest.length > 0) {
    // writev may write less than asked (large buffers): continue from where it stopped.
    const batch = rest.slice(0, 1024);
    const want = batch.reduce((s, p) => s + p.byteLength, 0);
    const { bytesWritten } = await fh.writev(batch, pos);
    pos += bytesWritten;
    if (bytesWritten === want) {
      rest = rest.slice(batch.length);
      continue;
    }
    let skip = bytesWritten;
    const next: Uint8Array[] = [];
    for (const p of rest) {
      if (skip >= p.byteLength) skip -= p.byteLength;
      else {
        next.push(skip > 0 ? p.subarray(skip) : p);
        skip = 0;
      }
    }
    rest = next;
  }
}

/** Reads exactly `into.byteLength` bytes at `position`, or throws naming what was missing. */
export async function readExactlyAt(fh: FileHandle, into: Uint8Array, position: number, path: string): Promise<void> {
  let done = 0;
  while (done < into.byteLength) {
    const { bytesRead } = await fh.read(into, done, into.byteLength - done, position + done);
    if (bytesRead === 0) {
      throw new FileFormatError(path, `truncated: expected ${into.byteLength} bytes at offset ${position}, the file ends after ${done}`, world.rank);
    }
    done += bytesRead;
  }
}
