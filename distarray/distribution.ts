/**
 * Distributions: how the elements of a global N-D array are spread over P ranks.
 *
 * Every distribution here is a product of per-axis maps over a process grid: axis k of the
 * array is split over `grid[k]` process coordinates by a block, cyclic or block-cyclic rule
 * (an axis with grid extent 1 is not distributed). A rank's grid coordinates are its rank
 * in row-major order over the grid, as MPI_Cart_create numbers them. So block, cyclic and
 * block-cyclic on any axis, and 2-D (or N-D) process grids, are one interface. Pure code:
 * nothing here communicates.
 */
import { ArgumentError } from '../util/errors.js';

/** How one axis is split over its process coordinates. */
export type AxisKind = 'block' | 'cyclic' | 'block-cyclic' | 'mapped';

/** A serialisable description of a distribution (what `describe()` returns and `fromSpec` reads). */
export interface DistributionSpec {
  shape: number[];
  grid: number[];
  /** `counts`: an irregular block axis, how many indices each process coordinate holds. */
  /** `owners`: a mapped axis, the process coordinate of every index (slicing views make these). */
  axes: { kind: AxisKind; blockSize?: number; counts?: number[]; owners?: number[] }[];
}

/**
 * A one-dimensional map of `n` global indices over `p` process coordinates.
 * Local indices on each coordinate are dense, 0 .. localSize(c) - 1, in global order.
 * A block map may be irregular: `counts[c]` indices on coordinate c (gatherv's counts), as
 * the rows of a DistFrame are after a filter or a shuffle.
 */
export class AxisMap {
  /** Chunk size for block (q or q + 1 per coordinate) / block size for block-cyclic. */
  private readonly q: number;
  private readonly r: number;
  /** Irregular block: every coordinate's count, and its first index (p + 1 entries). */
  readonly counts: readonly number[] | undefined;
  private readonly offsets: Float64Array | undefined;
  /** Mapped axis: every index's coordinate and local index, every coordinate's indices. */
  private readonly map: { owner: Int32Array; local: Int32Array; globals: Int32Array[] } | undefined;

  constructor(readonly n: number, readonly p: number, readonly kind: AxisKind, readonly blockSize = 1, counts?: readonly number[], owners?: ArrayLike<number>) {
    this.q = Math.floor(n / p);
    this.r = n % p;
    if (kind === 'cyclic') this.blockSize = 1;
    if (kind === 'mapped') {
      if (owners === undefined || owners.length !== n) throw new ArgumentError('owners', `${n} process coordinates (one per index)`, owners);
      const owner = Int32Array.from(owners);
      const local = new Int32Array(n);
      const sizes = new Int32Array(p);
      for (let i = 0; i < n; i++) {
        const c = owner[i]!;
        if (!(c >= 0 && c < p)) throw new ArgumentError('owners', `coordinates in 0..${p - 1}`, `${c} at index ${i}`);
        local[i] = sizes[c]!++;
      }
      const globals = Array.from(sizes, (m) => new Int32Array(m));
      for (let i = 0; i < n; i++) globals[owner[i]!]![local[i]!] = i;
      this.map = { owner, local, globals };
    }
    if (counts !== undefined) {
      if (kind !== 'block') throw new ArgumentError('counts', "per-coordinate counts only with kind 'block'", kind);
      if (!Array.isArray(counts) || counts.length !== p || !counts.every((c) => Number.isSafeInteger(c) && c >= 0)) {
        throw new ArgumentError('counts', `${p} non-negative integers (one per process coordinate)`, counts);
      }
      const total = counts.reduce((a, b) => a + b, 0);
      if (total !== n) throw new ArgumentError('counts', `counts summing to the axis length ${n}`, `[${counts.join(', ')}] (sum ${total})`);
      this.counts = Object.freeze([...counts]);
      this.offsets = new Float64Array(p + 1);
      for (let c = 0; c < p; c++) this.offsets[c + 1] = this.offsets[c]! + counts[c]!;
    }
  }

  /** The process coordinate that owns global index i. */
  owner(i: number): number {
    if (this.p === 1) return 0;
    if (this.map) return this.map.owner[i]!;
    if (this.offsets) {
      // The last coordinate starting at or before i (empty coordinates start where the next one does).
      let lo = 0;
      let hi = this.p - 1;
      while (lo < hi) {
        const mid = (lo + hi + 1) >> 1;
        if (this.offsets[mid]! <= i) lo = mid;
        else hi = mid - 1;
      }
      return lo;
    }
    if (this.kind === 'block') {
      const big = this.r * (this.q + 1);
      return i < big ? Math.floor(i / (this.q + 1)) : this.r + Math.floor((i - big) / this.q);
    }
    return Math.floor(i / this.blockSize) % this.p;
  }

  /** Local index of global index i on its owner. */
  toLocal(i: number): number {
    if (this.p === 1) return i;
    if (this.map) return this.map.local[i]!;
    if (this.kind === 'block') return i - this.start(this.owner(i));
    const b = this.blockSize;
    const k = Math.floor(i / b);
    return Math.floor(k / this.p) * b + (i % b);
  }

  /** Global index of local index l on coordinate c. */
  toGlobal(c: number, l: number): number {
    if (this.p === 1) return l;
    if (this.map) return this.map.globals[c]![l]!;
    if (this.kind === 'block') return this.start(c) + l;
    const b = this.blockSize;
    return (Math.floor(l / b) * this.p + c) * b + (l % b);
  }

  /** Number of indices coordinate c owns. */
  localSize(c: number): number {
    if (this.p === 1) return this.n;
    if (this.counts) return this.counts[c]!;
    if (this.map) return this.map.globals[c]!.length;
    if (this.kind === 'block') return this.q + (c < this.r ? 1 : 0);
    // ScaLAPACK's numroc: whole blocks dealt round-robin, then the last partial block.
    const b = this.blockSize;
    const nblocks = Math.floor(this.n / b);
    let size = Math.floor(nblocks / this.p) * b;
    const extra = nblocks % this.p;
    if (c < extra) size += b;
    else if (c === extra) size += this.n % b;
    return size;
  }

  /** First global index of coordinate c (block maps only: their indices are contiguous). */
  start(c: number): number {
    if (this.p === 1) return 0;
    if (this.offsets) return this.offsets[c]!;
    return c * this.q + Math.min(c, this.r);
  }

  /** True when every coordinate's indices are one contiguous global range. */
  get contiguous(): boolean {
    return this.p === 1 || this.kind === 'block';
  }

  /**
   * How many consecutive global indices from i stay on i's owner with consecutive local
   * indices (at most `limit - i`). Region copies move runs of this length at once.
   */
  runLength(i: number, limit: number): number {
    let end: number;
    if (this.map) {
      const o = this.map.owner;
      end = i + 1;
      while (end < limit && o[end] === o[i]) end++;
    } else if (this.contiguous) {
      const c = this.owner(i);
      end = this.start(c) + this.localSize(c);
    } else {
      end = (Math.floor(i / this.blockSize) + 1) * this.blockSize;
    }
    return Math.min(end, limit) - i;
  }

  equals(o: AxisMap): boolean {
    if (this.n !== o.n || this.p !== o.p) return false;
    if (this.p === 1) return true;
    if (this.map || o.map) {
      for (let i = 0; i < this.n; i++) if (this.owner(i) !== o.owner(i)) return false;
      return true;
    }
    const k1 = this.kind === 'cyclic' ? 'block-cyclic' : this.kind;
    const k2 = o.kind === 'cyclic' ? 'block-cyclic' : o.kind;
    if (k1 === 'block' && k2 === 'block' && (this.counts || o.counts)) {
      // Irregular and regular blocks with the same counts lay the axis out alike.
      for (let c = 0; c < this.p; c++) if (this.localSize(c) !== o.localSize(c)) return false;
      return true;
    }
    return k1 === k2 && (k1 === 'block' || this.blockSize === o.blockSize);
  }
}

/** A box of global indices: `start[k] <= i[k] < start[k] + count[k]`. */
export interface Region {
  start: number[];
  count: number[];
}

/**
 * How a global array of `shape` is laid out over `size` ranks (the product of `grid`).
 * Rank r holds a dense local block of `localShape(r)`, row-major.
 */
export class Distribution {
  readonly shape: readonly number[];
  /** Process grid: how many process coordinates split each axis. */
  readonly grid: readonly number[];
  readonly axes: readonly AxisMap[];
  /** Number of ranks the distribution spans. */
  readonly size: number;
  private readonly gridStrides: number[];

  constructor(shape: readonly number[], grid: readonly number[], axes: readonly AxisMap[]) {
    this.shape = Object.freeze([...shape]);
    this.grid = Object.freeze([...grid]);
    this.axes = Object.freeze([...axes]);
    this.size = grid.reduce((a, b) => a * b, 1);
    this.gridStrides = new Array<number>(grid.length);
    let s = 1;
    for (let k = grid.length - 1; k >= 0; k--) {
      this.gridStrides[k] = s;
      s *= grid[k]!;
    }
  }

  get ndim(): number {
    return this.shape.length;
  }

  /** Grid coordinates of rank r (row-major over the grid). */
  coords(rank: number): number[] {
    const c = new Array<number>(this.grid.length);
    for (let k = 0; k < this.grid.length; k++) c[k] = Math.floor(rank / this.gridStrides[k]!) % this.grid[k]!;
    return c;
  }

  /** The rank at grid coordinates c. */
  rankOf(coords: readonly number[]): number {
    let r = 0;
    for (let k = 0; k < coords.length; k++) r += coords[k]! * this.gridStrides[k]!;
    return r;
  }

  /** The rank that owns the element at global `index`. */
  owner(index: readonly number[]): number {
    let r = 0;
    for (let k = 0; k < this.axes.length; k++) r += this.axes[k]!.owner(index[k]!) * this.gridStrides[k]!;
    return r;
  }

  /** Where global `index` lives: its owner and its index in the owner's local block. */
  toLocal(index: readonly number[]): { rank: number; index: number[] } {
    const local = new Array<number>(this.axes.length);
    for (let k = 0; k < this.axes.length; k++) local[k] = this.axes[k]!.toLocal(index[k]!);
    return { rank: this.owner(index), index: local };
  }

  /** The global index of local index `local` on rank `rank`. */
  toGlobal(rank: number, local: readonly number[]): number[] {
    const c = this.coords(rank);
    const g = new Array<number>(this.axes.length);
    for (let k = 0; k < this.axes.length; k++) g[k] = this.axes[k]!.toGlobal(c[k]!, local[k]!);
    return g;
  }

  /** Shape of rank r's local block. */
  localShape(rank: number): number[] {
    const c = this.coords(rank);
    return this.axes.map((a, k) => a.localSize(c[k]!));
  }

  /** Number of elements rank r holds. */
  localSize(rank: number): number {
    return this.localShape(rank).reduce((a, b) => a * b, 1);
  }

  /**
   * For distributions whose every axis is block (or undistributed): the global box rank r
   * owns. Throws for cyclic layouts, whose local elements are not one box.
   */
  localRegion(rank: number): Region {
    const c = this.coords(rank);
    const start: number[] = [];
    const count: number[] = [];
    this.axes.forEach((a, k) => {
      if (!a.contiguous) throw new ArgumentError('distribution', 'block or undistributed on every axis (a cyclic axis has no contiguous local region)', this.toString(), undefined);
      start.push(a.start(c[k]!));
      count.push(a.localSize(c[k]!));
    });
    return { start, count };
  }

  /** True if both lay out the same shape identically over the same ranks. */
  equals(o: Distribution): boolean {
    if (this.shape.length !== o.shape.length || this.grid.length !== o.grid.length) return false;
    if (this.size !== o.size) return false;
    for (let k = 0; k < this.axes.length; k++) {
      if (this.grid[k] !== o.grid[k] || !this.axes[k]!.equals(o.axes[k]!)) return false;
    }
    return true;
  }

  /** Serialisable description (for messages and logs). */
  describe(): DistributionSpec {
    return {
      shape: [...this.shape],
      grid: [...this.grid],
      axes: this.axes.map((a) => (a.kind === 'mapped' && a.p > 1 ? { kind: a.kind, owners: Array.from({ length: a.n }, (_, i) => a.owner(i)) } : a.kind === 'block-cyclic' ? { kind: a.kind, blockSize: a.blockSize } : a.counts ? { kind: a.kind, counts: [...a.counts] } : { kind: a.kind })),
    };
  }

  toString(): string {
    const axes = this.axes.map((a, k) => (this.grid[k] === 1 ? '*' : a.kind === 'mapped' ? `mappedx${this.grid[k]}` : a.kind === 'block-cyclic' ? `block-cyclic(${a.blockSize})x${this.grid[k]}` : a.counts ? `block[${a.counts.join(', ')}]` : `${a.kind}x${this.grid[k]}`));
    return `Distribution([${this.shape.join(', ')}], ${axes.join(', ')})`;
  }
}

// Factories
// ---------

function checkShapeArg(shape: unknown): number[] {
  if (!Array.isArray(shape) || shape.length === 0 || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    throw new ArgumentError('shape', 'a non-empty array of non-negative integers', shape);
  }
  return [...shape];
}

function checkProcs(procs: unknown, argument = 'procs'): number {
  if (!Number.isSafeInteger(procs) || (procs as number) < 1) throw new ArgumentError(argument, 'a positive integer', procs);
  return procs as number;
}

function checkAxis(axis: unknown, ndim: number): number {
  if (!Number.isInteger(axis) || (axis as number) < -ndim || (axis as number) >= ndim) {
    throw new ArgumentError('axis', `an integer in ${-ndim}..${ndim - 1}`, axis);
  }
  return (axis as number) < 0 ? (axis as number) + ndim : (axis as number);
}

function alongAxis(shape: readonly number[], procs: number, axis: number, kind: AxisKind, blockSize = 1): Distribution {
  const grid = shape.map((_, k) => (k === axis ? procs : 1));
  return new Distribution(shape, grid, shape.map((n, k) => new AxisMap(n, grid[k]!, kind, blockSize)));
}

/**
 * Contiguous blocks along `axis` (default 0); the first `n % procs` ranks get one more.
 * @example block([10, 4], 3) // rows 0-3 on rank 0, 4-6 on rank 1, 7-9 on rank 2
 */
export function block(shape: readonly number[], procs: number, axis = 0): Distribution {
  const s = checkShapeArg(shape);
  return alongAxis(s, checkProcs(procs), checkAxis(axis, s.length), 'block');
}

/**
 * Contiguous blocks along `axis` (default 0) of `counts[r]` indices on rank r (an irregular
 * block, like gatherv's counts); `shape[axis]` is the sum of the counts.
 * @example irregularBlock([10], [3, 0, 7]) // 0-2 on rank 0, none on rank 1, 3-9 on rank 2
 */
export function irregularBlock(shape: readonly number[], counts: readonly number[], axis = 0): Distribution {
  const s = checkShapeArg(shape);
  const k = checkAxis(axis, s.length);
  if (!Array.isArray(counts) || counts.length === 0) throw new ArgumentError('counts', 'a non-empty array of non-negative integers (one per rank)', counts);
  const grid = s.map((_, j) => (j === k ? counts.length : 1));
  return new Distribution(s, grid, s.map((n, j) => (j === k ? new AxisMap(n, counts.length, 'block', 1, counts) : new AxisMap(n, 1, 'block'))));
}

/** Index i along `axis` on rank i % procs (round-robin). */
export function cyclic(shape: readonly number[], procs: number, axis = 0): Distribution {
  const s = checkShapeArg(shape);
  return alongAxis(s, checkProcs(procs), checkAxis(axis, s.length), 'cyclic');
}

/** Blocks of `blockSize` indices along `axis` dealt round-robin (ScaLAPACK's layout). */
export function blockCyclic(shape: readonly number[], procs: number, blockSize: number, axis = 0): Distribution {
  const s = checkShapeArg(shape);
  if (!Number.isSafeInteger(blockSize) || blockSize < 1) throw new ArgumentError('blockSize', 'a positive integer', blockSize);
  return alongAxis(s, checkProcs(procs), checkAxis(axis, s.length), 'block-cyclic', blockSize);
}

/** Per-axis kind for `grid`: a kind name, a block-cyclic block size, or irregular block counts. */
export type AxisRule = AxisKind | { kind: AxisKind; blockSize?: number; counts?: readonly number[]; owners?: readonly number[] };

/**
 * A process grid: axis k is split over `dims[k]` process coordinates (1 = not distributed),
 * by `rules[k]` (default 'block'). Ranks are numbered row-major over the grid.
 * @example grid([1024, 1024], [2, 2]) // 2-D block: rank 0 top-left, rank 1 top-right, ...
 */
export function grid(shape: readonly number[], dims: readonly number[], rules?: AxisRule | readonly AxisRule[]): Distribution {
  const s = checkShapeArg(shape);
  if (!Array.isArray(dims) || dims.length !== s.length) throw new ArgumentError('dims', `an array of ${s.length} positive integers (one per axis)`, dims);
  dims.forEach((d, k) => checkProcs(d, `dims[${k}]`));
  const rs = Array.isArray(rules) ? rules : s.map(() => rules ?? 'block');
  if (rs.length !== s.length) throw new ArgumentError('rules', `one rule per axis (${s.length})`, rules);
  const axes = s.map((n, k) => {
    const rule = rs[k]!;
    const kind = typeof rule === 'string' ? rule : rule.kind;
    const b = typeof rule === 'string' ? 1 : (rule.blockSize ?? 1);
    if (kind !== 'block' && kind !== 'cyclic' && kind !== 'block-cyclic' && kind !== 'mapped') throw new ArgumentError(`rules[${k}]`, "'block', 'cyclic', 'block-cyclic' or { kind: 'mapped', owners }", rule);
    if (kind === 'mapped') return new AxisMap(n, dims[k]!, dims[k]! > 1 ? 'mapped' : 'block', 1, undefined, dims[k]! > 1 ? (rule as { owners?: readonly number[] }).owners ?? [] : undefined);
    if (!Number.isSafeInteger(b) || b < 1) throw new ArgumentError(`rules[${k}].blockSize`, 'a positive integer', b);
    const counts = typeof rule === 'string' ? undefined : rule.counts;
    return new AxisMap(n, dims[k]!, kind, b, counts && dims[k]! > 1 ? counts : undefined);
  });
  return new Distribution(s, dims, axes);
}

/**
 * A balanced grid of `procs` ranks over `ndims` axes (MPI_Dims_create): factors as equal
 * as possible, largest first.
 * @example dimsCreate(6, 2) // [3, 2]
 */
export function dimsCreate(procs: number, ndims: number): number[] {
  checkProcs(procs);
  if (!Number.isSafeInteger(ndims) || ndims < 1) throw new ArgumentError('ndims', 'a positive integer', ndims);
  const dims = new Array<number>(ndims).fill(1);
  const factors: number[] = [];
  let n = procs;
  for (let f = 2; f * f <= n; f++) while (n % f === 0) { factors.push(f); n /= f; }
  if (n > 1) factors.push(n);
  // Largest prime factors first, each onto the currently smallest dimension.
  for (const f of factors.sort((a, b) => b - a)) {
    let k = 0;
    for (let j = 1; j < ndims; j++) if (dims[j]! < dims[k]!) k = j;
    dims[k]! *= f;
  }
  return dims.sort((a, b) => b - a);
}

/** Rebuilds a distribution from `describe()` output. */
export function fromSpec(spec: DistributionSpec): Distribution {
  return grid(spec.shape, spec.grid, spec.axes.map((a) => ({ kind: a.kind, blockSize: a.blockSize, counts: a.counts, owners: a.owners })));
}

/** The factories as one object: `distributions.block(shape, p)`. */
export const distributions = { block, irregularBlock, cyclic, blockCyclic, grid, dimsCreate, fromSpec };
