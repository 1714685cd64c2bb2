/**
 * @internal Fast positioned reads for the parallel readers: pieces go straight to their final
 * place, a few reads in flight (the page cache copies on several threads; a disk sees a queue),
 * into memory the allocator recycles rather than fresh zeroed pages.
 */
import { readSync } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { world } from '../comm/comm.js';
import { FileFormatError } from '../util/errors.js';
import { readExactlyAt } from './atomic.js';

const kChunk = 16 << 20;
const kInFlight = 4;

/** Reads every `[into, position]` piece whole, up to 4 reads of at most 16 MiB in flight. */
export async function readAllAt(fh: FileHandle, pieces: readonly (readonly [Uint8Array, number])[], path: string): Promise<void> {
  const jobs: [Uint8Array, number][] = [];
  for (const [into, at] of pieces) for (let o = 0; o < into.byteLength; o += kChunk) jobs.push([into.subarray(o, Math.min(into.byteLength, o + kChunk)), at + o]);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < jobs.length) {
      const [into, at] = jobs[next++]!;
      await readExactlyAt(fh, into, at, path);
    }
  };
  await Promise.all(Array.from({ length: Math.min(kInFlight, jobs.length) }, worker));
}

/**
 * An ArrayBuffer of `bytes` with unspecified contents, for a caller that overwrites all of
 * it: no zero-filling, and (with the ranks' malloc settings) memory a previous read freed,
 * already mapped, instead of pages faulted in anew.
 */
export function uninitialized(bytes: number): ArrayBuffer {
  return Buffer.allocUnsafeSlow(bytes).buffer as ArrayBuffer; // its own buffer: offset 0, exactly `bytes`
}

/**
 * Reads `into` whole from `fh` at `position`, synchronously: for the small reads before the
 * data (magic, footer, each batch's metadata), where an await per read (a trip through
 * libuv's thread pool, tens of microseconds) costs more than the read itself.
 */
export function readSmallAt(fh: FileHandle, into: Uint8Array, position: number, path: string): void {
  let done = 0;
  while (done < into.byteLength) {
    const n = readSync(fh.fd, into, done, into.byteLength - done, position + done);
    if (n === 0) throw new FileFormatError(path, `truncated: expected ${into.byteLength} bytes at offset ${position}, the file ends after ${done}`, world.rank);
    done += n;
  }
}
