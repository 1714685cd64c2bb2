/**
 * GlobalArray: every rank's block of one package, merged into one array addressed by global
 * index. One-sided get/put/acc on any region reach each owner with one request per owner:
 *
 * - direct path (sab): the owner's block and lock words are this rank's to load and store
 *   (SharedArrayBuffers handed over by the transport); the owner does nothing;
 * - served path (tcp, or forced): requests go to the owner's communication worker, a thread
 *   of its process that shares the block's memory, so a rank busy computing still answers.
 *
 * Operations of one rank complete in the order their promises resolve; another rank sees a
 * completed put after a synchronisation (`sync()`, a barrier, bsp.sync, a lock handover).
 */
import { ArgumentError } from '../../util/errors.js';
import { bytesOf, kDTypes, viewOf, type DType, type TypedArray } from '../../util/dtype.js';
import type { Transport } from '../../comm/transport.js';
import { ndarrayView, type NDArray } from '../ndarray.js';
import { accKernel, accOpCode, accOpName, type AccOp, type AccOpName } from './accops.js';
import type { BlockLayout } from './layout.js';
import { acquireWord, bumpVersion, kAccWord, kLockStripes, kVersionWord, releaseWord, tryAcquireWord } from './locks.js';
import { boxShape, boxSize, copyBox, flatOffset, shiftBox, toBox, toDTypeArray, toIndex, type Box, type Index, type RegionSpec } from './region.js';
import type { ServiceClient } from './service/client.js';
import { lockBody, Op, putAtBody } from './service/frame.js';
import type { ServiceAddress } from './service/host.js';

/** How one-sided operations reach owners. */
export type AccessPath = 'direct' | 'served';

/** @internal One rank's block as this rank reaches it. */
export interface OwnerBlock {
  rank: number;
  /** Global box of the block. */
  box: Box;
  shape: number[];
  /** Direct path (and this rank's own block): the block's elements. */
  view?: TypedArray;
  /** Direct path (and own block): the owner's lock words. */
  locks?: Int32Array;
  /** Served path: the owner's worker and the block's segment there. */
  remote?: { addr: ServiceAddress; seg: number };
}

/** Where part of a region lives: the owner, the part in global and in the owner's coordinates. */
export interface Location {
  rank: number;
  region: [number, number][];
  local: [number, number][];
}

const toRanges = (b: Box): [number, number][] => b.lo.map((l, d) => [l, b.hi[d]!]);

/**
 * `T` is the typed array of the dtype (as in bsp.asArray<T>): `await bsp.merge<Float64Array>('x')`.
 */
export class GlobalArray<T extends TypedArray = TypedArray> {
  private readonly held = new Map<string, number>();
  private readonly inflight = new Set<Promise<unknown>>();

  /** @internal Built by bsp.merge. */
  constructor(
    /** The package name the array was merged from. */
    readonly name: string,
    readonly dtype: DType,
    readonly layout: BlockLayout,
    readonly path: AccessPath,
    private readonly blocks: readonly OwnerBlock[],
    private readonly transport: Transport,
    private readonly client: ServiceClient | undefined,
  ) {}

  /** Global shape. */
  get shape(): readonly number[] {
    return this.layout.shape;
  }

  /** Number of axes. */
  get ndim(): number {
    return this.layout.shape.length;
  }

  /** Ranks per axis of the process grid the blocks form. */
  get grid(): readonly number[] {
    return this.layout.grid;
  }

  /** Requests this rank has sent to owners' communication workers (all served arrays). */
  get requestCount(): number {
    return this.client?.requests ?? 0;
  }

  private get me(): number {
    return this.transport.rank;
  }

  // Locality
  // --------

  /**
   * The rank owning a global index (a number for 1-D arrays, else one number per axis).
   * @throws {ArgumentError} when the index is out of bounds
   */
  owner(index: Index): number {
    return this.layout.owner(toIndex(index, this.shape, this.me));
  }

  /**
   * The owners of a region and their parts, in rank order.
   * @throws {ArgumentError} when the region is malformed or out of bounds
   */
  locate(region: RegionSpec | readonly [number, number]): Location[] {
    const box = toBox(region, this.shape, this.me);
    return this.layout.locate(box).map((p) => ({
      rank: p.rank,
      region: toRanges(p.box),
      local: toRanges(shiftBox(p.box, this.blocks[p.rank]!.box.lo)),
    }));
  }

  /** The global region this rank's block covers, one [lo, hi) per axis. */
  localRegion(): [number, number][] {
    return toRanges(this.blocks[this.me]!.box);
  }

  /** This rank's block as an @stdlib/ndarray view (no copy: it is the package's memory). */
  localView(): NDArray {
    const b = this.blocks[this.me]!;
    return ndarrayView(b.view!, b.shape, this.dtype, this.me);
  }

  /** This rank's block as a flat typed array (row-major, no copy). */
  localArray(): T {
    return this.blocks[this.me]!.view! as T;
  }

  // One-sided operations
  // --------------------

  /**
   * Reads a region (any owners) into a fresh row-major typed array, or into `out`.
   * One request per owner involved; parts in reach (own block, direct path) are plain copies.
   */
  get(region: RegionSpec | readonly [number, number], out?: T): Promise<T> {
    let box: Box;
    let dst: T;
    try {
      box = toBox(region, this.shape, this.me);
      const n = boxSize(box);
      if (out !== undefined && (!(out instanceof kDTypes[this.dtype].ctor) || out.length !== n)) {
        throw new ArgumentError('out', `a ${this.dtype} typed array of ${n} elements`, out, this.me);
      }
      dst = out ?? (new kDTypes[this.dtype].ctor(n) as T);
    } catch (err) {
      return Promise.reject(err);
    }
    const ext = boxShape(box);
    const remote: Promise<void>[] = [];
    for (const p of this.layout.locate(box)) {
      const b = this.blocks[p.rank]!;
      const { local, at, pext } = pieceOf(p.box, b.box, box);
      if (b.view) {
        copyBox(b.view, b.shape, local.lo, dst, ext, at, pext);
        continue;
      }
      remote.push(
        this.client!.request(p.rank, b.remote!.addr, Op.Get, 0, b.remote!.seg, local.lo, local.hi).then((f) => {
          const piece = viewOf(this.dtype, f.body.buffer, f.body.byteOffset, boxSize(p.box));
          copyBox(piece, pext, pext.map(() => 0), dst, ext, at, pext);
        }),
      );
    }
    // Direct path: done already, with no promise machinery beyond the result's.
    if (remote.length === 0) return Promise.resolve(dst);
    return this.track(Promise.all(remote).then(() => dst));
  }

  /**
   * Reads the elements at scattered global `indices` (in that order): one request per owner
   * involved, however many indices it holds.
   */
  getAt(indices: readonly Index[], out?: T): Promise<T> {
    let groups: Map<number, { pos: number[]; offs: number[] }>;
    let dst: T;
    try {
      groups = this.groupIndices(indices);
      if (out !== undefined && (!(out instanceof kDTypes[this.dtype].ctor) || out.length !== indices.length)) {
        throw new ArgumentError('out', `a ${this.dtype} typed array of ${indices.length} elements`, out, this.me);
      }
      dst = out ?? (new kDTypes[this.dtype].ctor(indices.length) as T);
    } catch (err) {
      return Promise.reject(err);
    }
    const d = dst as unknown as unknown[];
    const remote: Promise<void>[] = [];
    for (const [rank, { pos, offs }] of groups) {
      const b = this.blocks[rank]!;
      if (b.view) {
        const v = b.view as unknown as unknown[];
        for (let i = 0; i < pos.length; i++) d[pos[i]!] = v[offs[i]!];
        continue;
      }
      const body = new Uint8Array(Uint32Array.from(offs).buffer);
      remote.push(
        this.client!.request(rank, b.remote!.addr, Op.GetAt, 0, b.remote!.seg, [], [], [body]).then((f) => {
          const v = viewOf(this.dtype, f.body.buffer, f.body.byteOffset, pos.length) as unknown as unknown[];
          for (let i = 0; i < pos.length; i++) d[pos[i]!] = v[i];
        }),
      );
    }
    if (remote.length === 0) return Promise.resolve(dst);
    return this.track(Promise.all(remote).then(() => dst));
  }

  /** Writes `values[k]` at global `indices[k]`: one request per owner involved. */
  putAt(indices: readonly Index[], values: TypedArray | ArrayLike<number | bigint> | number | bigint): Promise<void> {
    try {
      const groups = this.groupIndices(indices);
      const src = toDTypeArray(values, this.dtype, indices.length, this.me, 'values') as unknown as unknown[];
      const pending: Promise<unknown>[] = [];
      for (const [rank, { pos, offs }] of groups) {
        const b = this.blocks[rank]!;
        if (b.view) {
          const v = b.view as unknown as unknown[];
          for (let i = 0; i < pos.length; i++) v[offs[i]!] = src[pos[i]!];
          if (rank !== this.me) bumpVersion(b.locks!);
          continue;
        }
        const vals = new kDTypes[this.dtype].ctor(pos.length);
        const w = vals as unknown as unknown[];
        for (let i = 0; i < pos.length; i++) w[i] = src[pos[i]!];
        pending.push(this.client!.request(rank, b.remote!.addr, Op.PutAt, 0, b.remote!.seg, [], [], putAtBody(Uint32Array.from(offs), bytesOf(vals))));
      }
      if (pending.length === 0) return Promise.resolve();
      return this.track(Promise.all(pending).then(() => undefined));
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /** Checks indices and groups them by owner: positions in the list, local flat offsets. */
  private groupIndices(indices: readonly Index[]): Map<number, { pos: number[]; offs: number[] }> {
    if (!Array.isArray(indices)) throw new ArgumentError('indices', 'an array of indices', indices, this.me);
    const groups = new Map<number, { pos: number[]; offs: number[] }>();
    for (let k = 0; k < indices.length; k++) {
      const idx = toIndex(indices[k], this.shape, this.me, `indices[${k}]`);
      const rank = this.layout.owner(idx);
      const b = this.blocks[rank]!;
      let g = groups.get(rank);
      if (!g) groups.set(rank, (g = { pos: [], offs: [] }));
      g.pos.push(k);
      g.offs.push(flatOffset(idx.map((i, d) => i - b.box.lo[d]!), b.shape));
    }
    return groups;
  }

  /** Writes `data` (row-major over the region, or one value for all) into a region. */
  put(region: RegionSpec | readonly [number, number], data: TypedArray | ArrayLike<number | bigint> | number | bigint): Promise<void> {
    try {
      return this.write(region, data, 'replace');
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /**
   * Combines `data` into a region: element = element op data ('sum' by default). Accumulates
   * into one owner are atomic with respect to each other, from any rank.
   */
  acc(region: RegionSpec | readonly [number, number], data: TypedArray | ArrayLike<number | bigint> | number | bigint, op: AccOp = 'sum'): Promise<void> {
    try {
      return this.write(region, data, accOpName(op, this.me));
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /** put and acc; throws synchronously for bad arguments (callers turn that into a rejection). */
  private write(region: RegionSpec | readonly [number, number], data: unknown, opName: AccOpName): Promise<void> {
    const box = toBox(region, this.shape, this.me);
    const ext = boxShape(box);
    const src = toDTypeArray(data, this.dtype, boxSize(box), this.me);
    const kernel = accKernel(opName);
    const isAcc = opName !== 'replace';
    const pending: Promise<void>[] = [];
    for (const p of this.layout.locate(box)) {
      const b = this.blocks[p.rank]!;
      const { local, at, pext } = pieceOf(p.box, b.box, box);
      if (b.view) {
        const apply = () => {
          try {
            copyBox(src, ext, at, b.view!, b.shape, local.lo, pext, kernel);
          } finally {
            if (isAcc) releaseWord(b.locks!, kAccWord);
          }
          if (p.rank !== this.me) bumpVersion(b.locks!);
        };
        // acc holds the owner's acc word; when it is busy, wait for it without blocking.
        if (!isAcc || tryAcquireWord(b.locks!, kAccWord, this.me + 1)) apply();
        else pending.push(acquireWord(b.locks!, kAccWord, this.me + 1).then(apply));
        continue;
      }
      // Pack this owner's part contiguously: one request carries it all.
      const piece = new kDTypes[this.dtype].ctor(boxSize(p.box));
      copyBox(src, ext, at, piece, pext, pext.map(() => 0), pext);
      const op = isAcc ? Op.Acc : Op.Put;
      pending.push(this.client!.request(p.rank, b.remote!.addr, op, isAcc ? accOpCode(opName) : 0, b.remote!.seg, local.lo, local.hi, [bytesOf(piece)]).then(() => undefined));
    }
    if (pending.length === 0) return Promise.resolve();
    return this.track(Promise.all(pending).then(() => undefined));
  }

  /**
   * Waits until every one-sided operation this rank started has completed, and orders this
   * rank's later loads after writes other ranks completed before (an acquire).
   */
  async fence(): Promise<void> {
    while (this.inflight.size) await Promise.allSettled([...this.inflight]);
    for (const b of this.blocks) if (b.locks) Atomics.load(b.locks, kVersionWord);
  }

  /** Collective: fence, then a barrier. Afterwards every rank sees every completed write. */
  async sync(): Promise<void> {
    await this.fence();
    await this.transport.barrier();
    await this.fence();
  }

  // Locks
  // -----

  /**
   * Locks the element at `index` for a read-modify-write: waits until no other rank holds
   * it. Locks are striped per owner (64 words), so two elements may share one; a rank may
   * take a lock it holds again (it is counted), so that is never a deadlock.
   */
  lock(index: Index): Promise<void> {
    return this.track(async () => {
      const { rank, word, key } = this.lockWord(index);
      const n = this.held.get(key) ?? 0;
      this.held.set(key, n + 1);
      if (n > 0) return;
      try {
        const b = this.blocks[rank]!;
        if (b.locks) await acquireWord(b.locks, word, this.me + 1);
        else await this.client!.request(rank, b.remote!.addr, Op.Lock, 0, b.remote!.seg, [], [], [lockBody(word, this.me + 1)]);
      } catch (err) {
        this.held.delete(key);
        throw err;
      }
    });
  }

  /** Releases a lock taken with lock(index). */
  unlock(index: Index): Promise<void> {
    return this.track(async () => {
      const { rank, word, key } = this.lockWord(index);
      const n = this.held.get(key) ?? 0;
      if (n === 0) throw new ArgumentError('index', 'the index of an element this rank has locked', index, this.me);
      if (n > 1) {
        this.held.set(key, n - 1);
        return;
      }
      this.held.delete(key);
      const b = this.blocks[rank]!;
      if (b.locks) releaseWord(b.locks, word);
      else await this.client!.request(rank, b.remote!.addr, Op.Unlock, 0, b.remote!.seg, [], [], [lockBody(word, this.me + 1)]);
    });
  }

  private lockWord(index: Index): { rank: number; word: number; key: string } {
    const idx = toIndex(index, this.shape, this.me);
    const rank = this.layout.owner(idx);
    const b = this.blocks[rank]!;
    const word = flatOffset(idx.map((i, d) => i - b.box.lo[d]!), b.shape) % kLockStripes;
    return { rank, word, key: `${rank}:${word}` };
  }

  private track<T>(work: Promise<T> | (() => Promise<T>)): Promise<T> {
    const p = typeof work === 'function' ? work() : work;
    this.inflight.add(p);
    const done = () => this.inflight.delete(p);
    p.then(done, done);
    return p;
  }

  toString(): string {
    return `GlobalArray('${this.name}', ${this.dtype}, shape [${this.shape.join(', ')}], grid [${this.grid.join(', ')}], ${this.path})`;
  }
}

/**
 * Where one owner's part `part` of a requested region `box` lies: in the owner's block
 * (`local`, relative to `block`'s origin), in the request's row-major buffer (`at`), and its
 * extent (`pext`).
 */
function pieceOf(part: Box, block: Box, box: Box): { local: Box; at: number[]; pext: number[] } {
  return { local: shiftBox(part, block.lo), at: part.lo.map((l, d) => l - box.lo[d]!), pext: boxShape(part) };
}
