/**
 * MPI-IO style collective raw I/O: every rank writes (reads) its own byte ranges of one file.
 *
 * `writeAtAll(path, data, at)` and `readAtAll(path, at, out)` take either an explicit byte
 * offset per rank (MPI_File_write_at_all) or a file view: a typed global array of `total`
 * elements at byte displacement `disp`, split over the ranks block-wise, cyclically or
 * block-cyclically (MPI_File_set_view with a darray type). Non-contiguous views use two-phase
 * collective buffering as ROMIO does: the ranks first exchange elements (alltoallv) so that
 * each holds one contiguous block of the file, then each does one positioned write (read).
 */
import { open } from 'node:fs/promises';
import { world } from '../comm/comm.js';
import { AxisMap, type AxisKind } from '../distarray/distribution.js';
import { ArgumentError } from '../util/errors.js';
import { bytesOf, dtypeOf, kDTypes, resolveDType, viewOf, type DType, type TypedArray } from '../util/dtype.js';
import { agree } from './collective.js';
import { maybeFault, readExactlyAt, writeAllAt, writeCollective } from './atomic.js';
import { readAllAt, uninitialized } from './read.js';

/** How a global array of `total` elements of `dtype`, starting at byte `disp`, maps to ranks. */
export interface FileView {
  kind: AxisKind;
  total: number;
  dtype: DType;
  /** Byte offset of element 0 in the file (e.g. after a header). Default 0. */
  disp?: number;
  /** Block size of 'block-cyclic' (elements). */
  blockSize?: number;
}

/**
 * A file view (MPI_File_set_view): `total` elements of `dtype` from byte `disp`, dealt to
 * the ranks block-wise ('block'), round-robin ('cyclic') or in blocks of `blockSize`
 * round-robin ('block-cyclic').
 */
export function fileView(kind: AxisKind, total: number, dtype: DType | string, options: { disp?: number; blockSize?: number } = {}): FileView {
  if (kind !== 'block' && kind !== 'cyclic' && kind !== 'block-cyclic') throw new ArgumentError('kind', "'block', 'cyclic' or 'block-cyclic'", kind);
  if (!Number.isSafeInteger(total) || total < 0) throw new ArgumentError('total', 'a non-negative integer', total);
  return { kind, total, dtype: resolveDType(dtype), disp: options.disp ?? 0, blockSize: options.blockSize ?? 1 };
}

/** How many elements of a view rank `rank` of `size` holds. */
export function viewCount(view: FileView, rank = world.rank, size = world.size): number {
  return axisOf(view, size).localSize(rank);
}

function axisOf(view: FileView, size: number): AxisMap {
  return new AxisMap(view.total, size, view.kind, view.blockSize ?? 1);
}

/**
 * Collective: writes a new file at `path` (replacing any old one atomically) in which every
 * rank's `data` lands at its place: byte offset `at` (a number, per rank), or the rank's part
 * of a file view. Bytes no rank writes read as zeros. Rejects on every rank if any rank
 * fails; the previous file is then unchanged.
 * @example await writeAtAll('out.bin', local, fileView('cyclic', n, 'float64'));
 */
export async function writeAtAll(path: string, data: TypedArray | Uint8Array, at: number | FileView): Promise<void> {
  const pieces = await agree(path, async () => planWrite(data, at));
  // Pieces are (file offset, bytes); two-phase exchange already done for views.
  const { offset, bytes } = await exchangeForWrite(pieces, at);
  await writeCollective(path, async (fh) => {
    if (bytes.byteLength === 0) return;
    const half = Math.floor(bytes.byteLength / 2);
    await writeAllAt(fh, [bytes.subarray(0, half)], offset);
    await maybeFault(path);
    await writeAllAt(fh, [bytes.subarray(half)], offset + half);
  });
}

/**
 * Collective: reads every rank's part of `path`: `out.byteLength` bytes at byte offset `at`
 * (a number, per rank), or the rank's elements of a file view. With a view, `out` may be
 * omitted (a fresh array of the view's dtype is returned).
 */
export async function readAtAll<T extends TypedArray>(path: string, at: number | FileView, out?: T): Promise<T> {
  // One exchange agrees on the path and on every rank's read.
  const local = await agree(path, async () => {
    if (typeof at === 'number') {
      if (!out || !dtypeOf(out)) throw new ArgumentError('out', 'a typed array to read into (explicit offsets)', out, world.rank);
      checkOffset(at);
      await readRange(path, bytesOf(out), at);
      return out;
    }
    checkView(at);
    const ax = axisOf(at, world.size);
    const bpe = kDTypes[at.dtype].bytes;
    if (at.kind === 'block' || world.size === 1) {
      // A block view is one contiguous range per rank: read it straight into the result.
      const want = ax.localSize(world.rank);
      const res = (out ?? viewOf(at.dtype, uninitialized(want * bpe), 0, want)) as T;
      if (res.length < want || dtypeOf(res) !== dtypeOf(new kDTypes[at.dtype].ctor(0))) throw new ArgumentError('out', `a ${at.dtype} array of at least ${want} elements`, res, world.rank);
      const fh = await open(path, 'r');
      try {
        await readAllAt(fh, [[bytesOf(res).subarray(0, want * bpe), (at.disp ?? 0) + (want > 0 ? ax.toGlobal(world.rank, 0) : 0) * bpe]], path);
      } finally {
        await fh.close();
      }
      return { direct: res };
    }
    // Phase 1: each rank reads one contiguous block of the file (block distribution).
    const blk = new AxisMap(at.total, world.size, 'block');
    const n = blk.localSize(world.rank);
    const buf = new Uint8Array(n * bpe);
    await readRange(path, buf, (at.disp ?? 0) + blk.start(world.rank) * bpe);
    const want = ax.localSize(world.rank);
    const res = (out ?? new kDTypes[at.dtype].ctor(want)) as T;
    if (res.length < want || dtypeOf(res) !== dtypeOf(new kDTypes[at.dtype].ctor(0))) throw new ArgumentError('out', `a ${at.dtype} array of at least ${want} elements`, res, world.rank);
    return { buf, res, ax, blk, bpe };
  }, { samePath: true });
  if (typeof at === 'number') return local as T;
  if ('direct' in (local as object)) return (local as { direct: T }).direct;
  const { buf, res, ax, blk, bpe } = local as { buf: Uint8Array; res: T; ax: AxisMap; blk: AxisMap; bpe: number };
  // Phase 2: send each element of my block to the rank the view gives it to.
  const p = world.size;
  const start = blk.start(world.rank);
  const n = blk.localSize(world.rank);
  const counts = new Array<number>(p).fill(0);
  for (let g = start; g < start + n; g++) counts[ax.owner(g)]! += bpe;
  const displs = prefix(counts);
  const send = new Uint8Array(n * bpe);
  const fill = displs.slice();
  for (let g = start; g < start + n; g++) {
    const o = ax.owner(g);
    send.set(buf.subarray((g - start) * bpe, (g - start + 1) * bpe), fill[o]!);
    fill[o]! += bpe;
  }
  const got = await world.alltoallv(send, counts);
  // Data from source s are my elements in s's block, in increasing global (= local) order.
  const dst = bytesOf(res);
  const mine = ax.localSize(world.rank);
  const ptr = got.displs.slice();
  for (let l = 0; l < mine; l++) {
    const s = blk.owner(ax.toGlobal(world.rank, l));
    dst.set(got.data.subarray(ptr[s]!, ptr[s]! + bpe), l * bpe);
    ptr[s]! += bpe;
  }
  return res;
}

function checkOffset(at: number): void {
  if (!Number.isSafeInteger(at) || at < 0) throw new ArgumentError('at', 'a non-negative byte offset or a FileView', at, world.rank);
}

function checkView(v: FileView): void {
  if (typeof v !== 'object' || v === null) throw new ArgumentError('at', 'a byte offset or a FileView', v, world.rank);
  if (!Number.isSafeInteger(v.total) || v.total < 0) throw new ArgumentError('at.total', 'a non-negative integer', v.total, world.rank);
  if (v.disp !== undefined && (!Number.isSafeInteger(v.disp) || v.disp < 0)) throw new ArgumentError('at.disp', 'a non-negative byte offset', v.disp, world.rank);
  resolveDType(v.dtype, 'at.dtype', world.rank);
}

async function readRange(path: string, into: Uint8Array, position: number): Promise<void> {
  const fh = await open(path, 'r');
  try {
    await readExactlyAt(fh, into, position, path);
  } finally {
    await fh.close();
  }
}

interface WritePlan {
  bytes: Uint8Array;
  offset: number;
}

function planWrite(data: TypedArray | Uint8Array, at: number | FileView): WritePlan {
  if (!ArrayBuffer.isView(data) || !dtypeOf(data)) throw new ArgumentError('data', 'a typed array', data, world.rank);
  if (typeof at === 'number') {
    checkOffset(at);
    return { bytes: bytesOf(data), offset: at };
  }
  checkView(at);
  const want = viewCount(at);
  if (data.length !== want) throw new ArgumentError('data', `${want} elements (this rank's part of the ${at.kind} view of ${at.total})`, data, world.rank);
  const bpe = kDTypes[at.dtype].bytes;
  if (data.BYTES_PER_ELEMENT !== bpe) throw new ArgumentError('data', `an array of ${at.dtype} (${bpe}-byte elements)`, data, world.rank);
  return { bytes: bytesOf(data), offset: -1 };
}

/** Two-phase write: with a view, exchange elements so each rank holds one contiguous block. */
async function exchangeForWrite(plan: WritePlan, at: number | FileView): Promise<WritePlan> {
  if (typeof at === 'number') return plan;
  const ax = axisOf(at, world.size);
  const blk = new AxisMap(at.total, world.size, 'block');
  const bpe = kDTypes[at.dtype].bytes;
  const p = world.size;
  const mine = ax.localSize(world.rank);
  const counts = new Array<number>(p).fill(0);
  for (let l = 0; l < mine; l++) counts[blk.owner(ax.toGlobal(world.rank, l))]! += bpe;
  const displs = prefix(counts);
  const send = new Uint8Array(mine * bpe);
  const fill = displs.slice();
  for (let l = 0; l < mine; l++) {
    const o = blk.owner(ax.toGlobal(world.rank, l));
    send.set(plan.bytes.subarray(l * bpe, (l + 1) * bpe), fill[o]!);
    fill[o]! += bpe;
  }
  const got = await world.alltoallv(send, counts);
  const start = blk.start(world.rank);
  const n = blk.localSize(world.rank);
  const out = new Uint8Array(n * bpe);
  const ptr = got.displs.slice();
  for (let g = start; g < start + n; g++) {
    const s = ax.owner(g);
    out.set(got.data.subarray(ptr[s]!, ptr[s]! + bpe), (g - start) * bpe);
    ptr[s]! += bpe;
  }
  return { bytes: out, offset: (at.disp ?? 0) + start * bpe };
}

function prefix(counts: readonly number[]): number[] {
  const d = new Array<number>(counts.length);
  let s = 0;
  for (let i = 0; i < counts.length; i++) {
    d[i] = s;
    s += counts[i]!;
  }
  return d;
}
