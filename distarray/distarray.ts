/**
 * DistArray: a numpy-like N-D array distributed over the ranks of a job.
 *
 * Each rank holds the block its Distribution assigns it, row-major, in a SharedArrayBuffer,
 * optionally surrounded by a halo of ghost cells (a width per axis, a boundary rule per side:
 * halo.ts). All methods that communicate are collective (every rank calls them, in the same
 * order) and async; local operations (map, zip, local views) are synchronous.
 *
 * Where ranks share memory (the sab backend) the first collective that needs it swaps the
 * blocks' SharedArrayBuffers once (transport.shareBuffers); after that halo exchange,
 * matvec's gather of x, redistribute and region get/set are a barrier plus direct copies.
 * Elsewhere they are messages, one per pair of ranks per superstep.
 */
import { ArgumentError } from '../util/errors.js';
import { ndarrayCtor, type NDArray as ndarray } from '../core/ndarray.js';
import { allocArray, dtypeOf, kDTypes, resolveDType, shapeSize, viewOf, type DType, type TypedArray } from '../util/dtype.js';
import { block, irregularBlock, type Distribution, type Region } from './distribution.js';
import { edgeFills, haloPlan, noHalo, periodicAxes, resolveHalo, widest, type Boundary, type BoundaryRule, type EdgeFill, type HaloSpec, type HaloWidth } from './halo.js';
import { copyBox, denseStrided, fillBox, isRun, padded, plan, rootLayout, stridesOf, type Box, type Strided } from './regions.js';
import { composeSpec, viewDistribution, viewStorage, wholeSpec, type SliceArg, type ViewSpec } from './view.js';
import { eachLocal, mapLocal, zipLocal } from './loops.js';
import { team, type Team } from './team.js';
import { world } from '../comm/comm.js';
import { execute, type Side } from './transfer.js';
import { reduceLocal, dotLocal } from './kernels.js';
import { allocWasmBlock, kWasmMinElements, type WasmBlock } from './wasm.js';


/** Options of the DistArray factories. */
export interface DistArrayOptions {
  /** Element type (name or numpy code); default 'float64'. */
  dtype?: DType | string;
  /** Layout; default block along axis 0 over every rank. */
  dist?: Distribution;
  /** Ghost cells on each side of every axis (a number), or of each axis (one per axis, 0 allowed); default 0. */
  halo?: HaloWidth;
  /** Per axis (or one for all): halos wrap around (the same as `boundary: 'periodic'` there). Default false. */
  periodic?: boolean | boolean[];
  /**
   * What fills halo cells outside the global domain: a number (that fixed value), 'periodic',
   * 'reflect' (mirrored, the edge repeated: Dask's 'reflect', numpy.pad's 'symmetric') or
   * 'nearest' (the edge cell repeated); one for every side, or per axis a rule or a
   * [low, high] pair. Default 0.
   */
  boundary?: Boundary;
}

/** Options of `exchangeHalos`. */
export interface HaloOptions {
  /**
   * End with a barrier, so no rank writes its interior while a neighbour still copies from
   * it (default true). `false` saves one barrier per sweep and is safe when every rank's
   * next write to this array's interior comes after another collective that all ranks
   * enter after this exchange, e.g. Jacobi alternating two arrays u -> v -> u (the exchange
   * of v separates the reads of u from the next writes to u).
   */
  trailingBarrier?: boolean;
}

type ElementFn = (value: number) => number;
type ZipFn = (a: number, b: number) => number;

const kIntDTypes = new Set<DType>(['int64', 'uint64']);

/** Local elementwise / reduction work is refused on 64-bit integer dtypes (bigint elements). */
function checkNumeric(dtype: DType, what: string, rank: number): void {
  if (kIntDTypes.has(dtype)) throw new ArgumentError('dtype', `a number dtype for ${what} (not ${dtype}, whose elements are bigints)`, dtype, rank);
}

export class DistArray {
  /** Global shape. */
  readonly shape: readonly number[];
  readonly dtype: DType;
  readonly dist: Distribution;
  /** Ghost-cell width on each side of every axis: the widest of `halos` (0: no halo). */
  readonly halo: number;
  /** Ghost-cell width on each side of each axis. */
  readonly halos: readonly number[];
  /** Per axis: halos wrap around. */
  readonly periodic: readonly boolean[];
  /** The fixed value of halo cells outside the global domain, when `boundary` was one number (else 0). */
  readonly boundary: number;
  /** Per axis, what fills the halo cells outside the global domain on its [low, high] sides. */
  readonly boundaries: readonly (readonly [BoundaryRule, BoundaryRule])[];
  /** @internal The halo as resolved (halo.ts). */
  readonly haloSpec: HaloSpec;
  /** This rank's block with its halo, row-major (padded shape). Kernels loop over it. */
  readonly data: TypedArray;
  /** Shape of this rank's block without halo. */
  readonly localShape: readonly number[];
  /** Shape of `data`: localShape + 2 * halos[k] along each axis k. */
  readonly paddedShape: readonly number[];
  /** @internal Every rank's `data`, once shared (sab); undefined on message backends. */
  peers: TypedArray[] | undefined;
  /** @internal */
  readonly team: Team;
  private haloBoxes: Box[] | undefined;
  /** This rank's halo boxes as copies out of the peers' padded blocks (sab): src, padded starts. */
  private haloPulls: { src: number; from: number[]; start: number[]; count: number[] }[] | undefined;
  private edgeCopies: EdgeFill[] | undefined;
  /** @internal The WebAssembly memory holding `data`, for large 2-D float64 blocks. */
  readonly wasm: WasmBlock | undefined;

  /**
   * @internal False for an array over memory it was given (DistArray.fromLocal, a DistFrame
   * column): never swapped with peers, so its collectives go by messages.
   */
  readonly shareable: boolean;

  /**
   * Set for a slicing view (see `slice`): the array whose memory it views and which elements
   * it selects. A view has no halo of its own; `data` is its root's padded block.
   */
  readonly view: { readonly root: DistArray; readonly spec: ViewSpec } | undefined;

  /**
   * @internal Use the static factories. `local`: this rank's block, used as it is (no halo).
   * `view`: a slicing view of `view.root` (whose memory it shares).
   */
  constructor(t: Team, dist: Distribution, dtype: DType, halo: HaloSpec = noHalo(dist.ndim), local?: TypedArray, view?: { root: DistArray; spec: ViewSpec }) {
    this.team = t;
    this.dist = dist;
    this.shape = dist.shape;
    this.dtype = dtype;
    this.haloSpec = halo;
    this.halos = Object.freeze([...halo.widths]);
    this.halo = widest(halo);
    this.periodic = Object.freeze(periodicAxes(halo));
    this.boundary = halo.fixed;
    this.boundaries = halo.sides;
    this.localShape = Object.freeze(dist.localShape(t.rank));
    this.paddedShape = Object.freeze(this.localShape.map((m, k) => m + 2 * this.halos[k]!));
    const size = shapeSize(this.paddedShape);
    this.shareable = view ? view.root.shareable : local === undefined;
    this.view = view;
    if (view) {
      this.wasm = undefined;
      this.data = view.root.data;
      return;
    }
    if (local !== undefined) {
      this.wasm = undefined;
      this.data = local;
      return;
    }
    // Large 2-D float64 blocks (matrices) live in a WebAssembly memory so the SIMD matvec
    // kernel can read them in place; everything else in a plain SharedArrayBuffer.
    if (dtype === 'float64' && this.paddedShape.length === 2 && size >= kWasmMinElements) {
      this.wasm = allocWasmBlock(size * 8, (this.paddedShape[0]! + this.paddedShape[1]! + 8) * 8);
    }
    this.data = this.wasm ? new Float64Array(this.wasm.memory.buffer, 0, size) : allocArray(dtype, size, true);
    if (this.halo > 0) {
      // Fixed sides at the domain's edge get their value once, in axis order (corners: the later axis's).
      const big = kIntDTypes.has(dtype);
      for (const f of edgeFills(dist, halo, t.rank).fixed) fillBox(this.data, this.paddedShape, f.start, f.count, big ? BigInt(f.value!) : f.value!);
    }
  }

  /** This rank's id and the number of ranks. */
  get rank(): number {
    return this.team.rank;
  }
  get size(): number {
    return this.team.size;
  }
  get ndim(): number {
    return this.shape.length;
  }

  // Creation
  // --------

  /**
   * Collective: a zeroed DistArray of `shape`.
   * @example const u = await DistArray.zeros([1024, 1024], { dist: grid([1024, 1024], [2, 2]), halo: 1 });
   */
  static async zeros(shape: number[], options: DistArrayOptions = {}): Promise<DistArray> {
    return create(shape, options);
  }

  /**
   * Collective: a 1-D DistArray over each rank's own typed array, without copying: rank r's
   * local block IS `values` (same memory; writes show on both sides), and the distribution
   * is the irregular block of every rank's length (`dist`, if given, must lay out the same
   * counts). Such an array is not swapped with peers, so its collectives go by messages.
   * @example const a = await DistArray.fromLocal(Float64Array.of(1, 2, 3)); // 3 elements per rank
   */
  static async fromLocal(values: TypedArray, options: { dist?: Distribution } = {}): Promise<DistArray> {
    const t = team();
    const dtype = ArrayBuffer.isView(values) ? dtypeOf(values) : undefined;
    if (!dtype) throw new ArgumentError('values', 'a typed array', values, t.rank);
    const counts = Array.from(await world.allgather(Float64Array.of(values.length)));
    const total = counts.reduce((a, b) => a + b, 0);
    const dist = options.dist ?? irregularBlock([total], counts);
    if (dist.ndim !== 1 || dist.size !== t.size || counts.some((c, r) => dist.localSize(r) !== c)) {
      throw new ArgumentError('options.dist', `a 1-D distribution over ${t.size} ranks holding [${counts.join(', ')}] elements`, dist.toString(), t.rank);
    }
    return DistArray.wrapLocal(values, dist, dtype);
  }

  /** @internal Local: this rank's block of `dist` is `values` (every rank calls it alike). */
  static wrapLocal(values: TypedArray, dist: Distribution, dtype: DType): DistArray {
    const t = team();
    return new DistArray(t, dist, dtype, undefined, values);
  }

  /**
   * Collective: a DistArray whose element at global index (i, j, ...) is `fn(i, j, ...)`.
   * Each rank calls `fn` for its own elements only.
   */
  static async fromFunction(shape: number[], fn: (...index: number[]) => number | bigint, options: DistArrayOptions = {}): Promise<DistArray> {
    if (typeof fn !== 'function') throw new ArgumentError('fn', 'a function (...index) => value', fn, team().rank);
    const a = create(shape, options);
    a.fillFrom(fn);
    return a;
  }

  /**
   * Collective: distributes `data` (a row-major typed array of the whole global array, given
   * on `root` only) over the ranks. Shape and dtype come from the root (`shape` there
   * reshapes a flat array; default: [data.length]), so other ranks pass undefined.
   */
  static async scatter(data: TypedArray | undefined, options: DistArrayOptions & { root?: number; shape?: number[] } = {}): Promise<DistArray> {
    const t = team();
    const root = options.root ?? 0;
    if (!Number.isInteger(root) || root < 0 || root >= t.size) throw new ArgumentError('root', `a rank in 0..${t.size - 1}`, root, t.rank);
    // The root tells everyone the shape and dtype first (one small message each).
    let header: { shape: number[]; dtype: DType } | null = null;
    if (t.rank === root) {
      if (!ArrayBuffer.isView(data) || !dtypeOf(data)) throw new ArgumentError('data', 'a typed array on the root', data, t.rank);
      const shape = options.shape ?? options.dist?.shape.slice() ?? [data.length];
      if (shapeSize(shape) !== data.length) throw new ArgumentError('shape', `a shape of ${data.length} elements (data's length)`, shape, t.rank);
      const dtype = options.dtype === undefined ? dtypeOf(data)! : resolveDType(options.dtype, 'dtype', t.rank);
      if (kDTypes[dtype].ctor !== data.constructor && !(dtype === 'bool' && data instanceof Uint8Array)) {
        throw new ArgumentError('data', `a ${dtype} array (options.dtype)`, data, t.rank);
      }
      header = { shape, dtype };
    }
    if (t.size > 1) header = await world.bcastObject(header, root);
    if (!header) throw new ArgumentError('data', 'a typed array on the root', data, t.rank);
    const a = create(header.shape, { ...options, dtype: header.dtype });
    const whole = wholeSide(root, data, header.shape);
    const boxes = plan(rootLayout(header.shape, root), a.dist, undefined);
    await a.sharePeers();
    await execute(t, a.dtype, boxes, whole, a.side(), a.peers ? 'push' : 'messages');
    return a;
  }

  // Slicing views
  // -------------

  /**
   * Local (no communication, no copy): a view of the elements `index` selects, as numpy's
   * `a[lo:hi:step, i, ...]`. One entry per axis (missing ones take the whole axis):
   * `[lo, hi, step]` with numpy's defaults, negative indices and clamping (null or undefined
   * = default; a negative step reverses the axis), an integer (drops the axis), or null.
   * The view is a DistArray over the same memory, laid out by a distribution derived from
   * this one (every element stays on its rank): writes through it land in this array.
   * @example const inner = a.slice([[1, -1], [1, -1]]); const col = a.slice([null, 3]); const rev = v.slice([[null, null, -1]]);
   */
  slice(index: readonly SliceArg[]): DistArray {
    const root = this.view?.root ?? this;
    const spec = composeSpec(this.view?.spec ?? wholeSpec(root.shape), index, this.rank);
    const dist = viewDistribution(root.dist, spec);
    return new DistArray(this.team, dist, this.dtype, undefined, undefined, { root, spec });
  }

  /** Collective: a new array with this one's elements and distribution (no halo): materialises a view. */
  async copy(): Promise<DistArray> {
    return this.redistribute(this.dist, { halo: 0, periodic: false, boundary: 0 });
  }

  private storageCache = new Map<number, Strided>();
  /**
   * @internal Where rank `rank`'s elements lie in its block (its own, or a peer's once
   * shared): element at local index l is at `base + sum_k axes[k][l_k]`.
   */
  storage(rank = this.rank): Strided {
    let s = this.storageCache.get(rank);
    if (s) return s;
    const data = rank === this.rank ? this.data : this.peers?.[rank];
    if (!data) throw new ArgumentError('rank', `this rank (${this.rank}) or a rank whose memory is shared`, rank, this.rank);
    if (this.view) {
      const root = this.view.root;
      s = viewStorage(root.dist, this.view.spec, this.dist, rank, data, root.paddedShapes()[rank]!, root.halos);
    } else s = denseStrided(data, this.paddedShapes()[rank]!, this.halos);
    this.storageCache.set(rank, s);
    return s;
  }

  // Local access
  // ------------

  /** This rank's block (without halo) as an @stdlib/ndarray view: writes go into the array. */
  local(): ndarray {
    const dt = this.dtype === 'bool' ? 'uint8' : this.dtype;
    if (dt === 'int64' || dt === 'uint64') throw new ArgumentError('dtype', 'one @stdlib/ndarray can view (not int64/uint64: use .data)', dt, this.rank);
    const ndctor = ndarrayCtor('DistArray.local()', this.rank);
    if (this.view) {
      // A view's local elements are an ndarray when every axis steps evenly through memory.
      const s = this.storage();
      const strides = s.axes.map((t) => (t.length > 1 ? t[1]! - t[0]! : 0));
      if (!s.axes.every((t, k) => isRun(Array.from(t, (v, j) => (strides[k] === 0 ? j : (v - t[0]!) / strides[k]!))))) {
        throw new ArgumentError('this', 'a view whose local elements are evenly spaced (this one\'s are not: copy() it first)', this.toString(), this.rank);
      }
      const offset = s.axes.reduce((o, t) => o + (t.length > 0 ? t[0]! : 0), s.base);
      return new ndctor(dt, this.data, [...this.localShape], strides, offset, 'row-major');
    }
    const strides = stridesOf(this.paddedShape);
    const offset = strides.reduce((s, st, k) => s + st * this.halos[k]!, 0);
    return new ndctor(dt, this.data, [...this.localShape], strides, offset, 'row-major');
  }

  /** This rank's block with its halo as an @stdlib/ndarray view (padded shape). */
  padded(): ndarray {
    this.checkNotView('padded()');
    const dt = this.dtype === 'bool' ? 'uint8' : this.dtype;
    if (dt === 'int64' || dt === 'uint64') throw new ArgumentError('dtype', 'one @stdlib/ndarray can view (not int64/uint64: use .data)', dt, this.rank);
    const ndctor = ndarrayCtor('DistArray.padded()', this.rank);
    return new ndctor(dt, this.data, [...this.paddedShape], stridesOf(this.paddedShape), 0, 'row-major');
  }

  /** The global box this rank owns (block distributions only). */
  localRegion(): Region {
    return this.dist.localRegion(this.rank);
  }

  /** Index into `data` of local (unpadded) index `local`. */
  offsetOf(local: readonly number[]): number {
    if (this.view) {
      const s = this.storage();
      return local.reduce((o, l, k) => o + s.axes[k]![l]!, s.base);
    }
    const st = stridesOf(this.paddedShape);
    let o = 0;
    for (let k = 0; k < local.length; k++) o += (local[k]! + this.halos[k]!) * st[k]!;
    return o;
  }

  /** Sets every element of this rank's block (not the halo) to `value`. */
  fill(value: number | bigint): this {
    if (this.view) {
      const d = this.data as unknown as { [i: number]: number | bigint };
      eachLocal(this.storage(), this.localShape, (o) => { d[o] = value; });
      return this;
    }
    const n = this.localShape[this.ndim - 1] ?? 1;
    for (const o of this.rowOffsets()) (this.data as Float64Array).fill(value as number, o, o + n);
    return this;
  }

  // Elementwise
  // -----------

  /**
   * Local (no communication): `out[i] = fn(this[i])` for every element of this rank's block.
   * Without `out`, returns a new array of the same layout (its halo zeroed).
   */
  map(fn: ElementFn, out?: DistArray): DistArray {
    checkNumeric(this.dtype, 'map', this.rank);
    const o = out ?? this.like();
    this.checkSameLayout(o, 'out');
    if (this.view || o.view) {
      mapLocal(this.storage(), o.storage(), this.localShape, fn);
      return o;
    }
    const src = this.data as Float64Array;
    const dst = o.data as Float64Array;
    const rows = this.rowOffsets();
    const orows = o.rowOffsets();
    const n = this.localShape[this.ndim - 1] ?? 1;
    for (let r = 0; r < rows.length; r++) {
      const s = rows[r]!;
      const d = orows[r]!;
      for (let j = 0; j < n; j++) dst[d + j] = fn(src[s + j]!);
    }
    return o;
  }

  /** Local: `out[i] = fn(this[i], other[i])`; `other` must have the same distribution. */
  zip(other: DistArray, fn: ZipFn, out?: DistArray): DistArray {
    checkNumeric(this.dtype, 'zip', this.rank);
    this.checkSameLayout(other, 'other');
    const o = out ?? this.like();
    this.checkSameLayout(o, 'out');
    if (this.view || other.view || o.view) {
      zipLocal(this.storage(), other.storage(), o.storage(), this.localShape, fn);
      return o;
    }
    const a = this.data as Float64Array;
    const b = other.data as Float64Array;
    const dst = o.data as Float64Array;
    const ra = this.rowOffsets();
    const rb = other.rowOffsets();
    const ro = o.rowOffsets();
    const n = this.localShape[this.ndim - 1] ?? 1;
    for (let r = 0; r < ra.length; r++) {
      const x = ra[r]!;
      const y = rb[r]!;
      const z = ro[r]!;
      for (let j = 0; j < n; j++) dst[z + j] = fn(a[x + j]!, b[y + j]!);
    }
    return o;
  }

  /** A zeroed array of this one's layout (local: no communication). */
  like(dtype: DType = this.dtype): DistArray {
    if (this.view) return new DistArray(this.team, this.dist, dtype);
    return new DistArray(this.team, this.dist, dtype, this.haloSpec);
  }

  // Reductions
  // ----------

  /** Collective: the sum of every element (the same number on every rank). */
  async sum(): Promise<number> {
    return this.reduce('sum');
  }
  /** Collective: the smallest element (NaN if any is NaN; +Infinity if empty). */
  async min(): Promise<number> {
    return this.reduce('min');
  }
  /** Collective: the largest element (NaN if any is NaN; -Infinity if empty). */
  async max(): Promise<number> {
    return this.reduce('max');
  }

  /** Collective: sum of this[i] * other[i]; both must have the same distribution. */
  async dot(other: DistArray): Promise<number> {
    checkNumeric(this.dtype, 'dot', this.rank);
    this.checkSameLayout(other, 'other');
    let s = 0;
    if (this.view || other.view) {
      const x = new Float64Array(this.localShape.reduce((p, m) => p * m, 1));
      const y = new Float64Array(x.length);
      const nd = this.ndim;
      const dense = denseStrided(x, this.localShape, 0);
      mapLocal(this.storage(), dense, this.localShape, (v) => v);
      mapLocal(other.storage(), { ...dense, data: y }, this.localShape, (v) => v);
      s = dotLocal(x, 0, y, 0, x.length);
      void nd;
      return (await this.team.allreduce(Float64Array.of(s), 'sum'))[0]!;
    }
    const ra = this.rowOffsets();
    const rb = other.rowOffsets();
    const n = this.localShape[this.ndim - 1] ?? 1;
    for (let r = 0; r < ra.length; r++) s += dotLocal(this.data as Float64Array, ra[r]!, other.data as Float64Array, rb[r]!, n);
    return (await this.team.allreduce(Float64Array.of(s), 'sum'))[0]!;
  }

  /** Collective: the Euclidean norm, sqrt(dot(this, this)). */
  async norm(): Promise<number> {
    return Math.sqrt(await this.dot(this));
  }

  private async reduce(op: 'sum' | 'min' | 'max'): Promise<number> {
    checkNumeric(this.dtype, op, this.rank);
    let acc = op === 'sum' ? 0 : op === 'min' ? Infinity : -Infinity;
    if (this.view) {
      const d = this.data as Float64Array;
      if (op === 'sum') eachLocal(this.storage(), this.localShape, (o) => { acc += d[o]!; });
      else eachLocal(this.storage(), this.localShape, (o) => { acc = reduceLocal(d, o, 1, op, acc); });
      return (await this.team.allreduce(Float64Array.of(acc), op))[0]!;
    }
    const n = this.localShape[this.ndim - 1] ?? 1;
    for (const o of this.rowOffsets()) acc = reduceLocal(this.data as Float64Array, o, n, op, acc);
    return (await this.team.allreduce(Float64Array.of(acc), op))[0]!;
  }

  // Communication
  // -------------

  /**
   * Collective: the whole array, row-major, on `root` (undefined on other ranks).
   */
  async gather(root = 0): Promise<TypedArray | undefined> {
    const t = this.team;
    if (!Number.isInteger(root) || root < 0 || root >= t.size) throw new ArgumentError('root', `a rank in 0..${t.size - 1}`, root, t.rank);
    const out = t.rank === root ? allocArray(this.dtype, shapeSize(this.shape), false) : undefined;
    const boxes = plan(this.dist, rootLayout(this.shape, root), undefined);
    await this.sharePeers();
    await execute(t, this.dtype, boxes, this.side(), wholeSide(root, out, this.shape), this.peers ? 'pull' : 'messages');
    return out;
  }

  /**
   * Collective: the elements of `region` (global indices), row-major, as a new typed array.
   * Every rank may ask for a different region (or an empty one).
   */
  async get(region: Region): Promise<TypedArray> {
    const t = this.team;
    this.checkRegion(region);
    const out = allocArray(this.dtype, shapeSize(region.count), false);
    await this.sharePeers();
    if (this.peers) {
      const boxes = plan(this.dist, rootLayout(this.shape, t.rank), region, t.rank);
      await execute(t, this.dtype, rebase(boxes, region, 'dst'), this.side(), regionSide(t.rank, out, region), 'pull');
      return out;
    }
    const regions = await this.allgatherRegions(region);
    const boxes: Box[] = [];
    regions.forEach((reg, r) => boxes.push(...rebase(plan(this.dist, rootLayout(this.shape, r), reg, t.rank), reg, 'dst')));
    await execute(t, this.dtype, boxes, this.side(), regionSide(t.rank, out, region), 'messages');
    return out;
  }

  /**
   * Collective: writes `data` (row-major, `region.count` elements) into `region` (global
   * indices). Every rank may write a different region; pass `undefined` to write nothing.
   * Overlapping writes from different ranks land in an unspecified order.
   */
  async set(region: Region | undefined, data?: TypedArray | ArrayLike<number>): Promise<void> {
    const t = this.team;
    const reg = region ?? { start: this.shape.map(() => 0), count: this.shape.map(() => 0) };
    this.checkRegion(reg);
    const n = shapeSize(reg.count);
    let src: TypedArray;
    if (n === 0) src = allocArray(this.dtype, 0, false);
    else if (ArrayBuffer.isView(data) && (data as TypedArray).constructor === this.data.constructor) src = data as TypedArray;
    else if (data !== undefined && typeof (data as ArrayLike<number>).length === 'number' && !kIntDTypes.has(this.dtype)) {
      src = allocArray(this.dtype, (data as ArrayLike<number>).length, false);
      (src as Float64Array).set(data as ArrayLike<number>);
    } else throw new ArgumentError('data', `a ${this.dtype} typed array or array of ${n} numbers`, data, t.rank);
    if (src.length !== n) throw new ArgumentError('data', `${n} elements (the region's size)`, src.length, t.rank);
    await this.sharePeers();
    if (this.peers) {
      const boxes = plan(rootLayout(this.shape, t.rank), this.dist, reg, t.rank);
      await execute(t, this.dtype, rebase(boxes, reg, 'src'), regionSide(t.rank, src, reg), this.side(), 'push');
      return;
    }
    const regions = await this.allgatherRegions(reg);
    const boxes: Box[] = [];
    regions.forEach((rg, r) => boxes.push(...rebase(plan(rootLayout(this.shape, r), this.dist, rg, t.rank), rg, 'src')));
    await execute(t, this.dtype, boxes, regionSide(t.rank, src, reg), this.side(), 'messages');
  }

  /**
   * Collective: the same global array laid out by `dist` (a new DistArray; this one is
   * unchanged). Options default to this array's halo settings.
   */
  async redistribute(dist: Distribution, options: Omit<DistArrayOptions, 'dist' | 'dtype'> = {}): Promise<DistArray> {
    if (dist.shape.length !== this.shape.length || dist.shape.some((n, k) => n !== this.shape[k])) {
      throw new ArgumentError('dist', `a distribution of shape [${this.shape.join(', ')}]`, dist.toString(), this.rank);
    }
    const out = create(this.shape as number[], { ...options, dtype: this.dtype, dist }, this.haloSpec);
    await this.copyTo(out);
    return out;
  }

  /**
   * Collective: a copy of this array with a halo of `width` (same distribution): a number pads
   * every axis by it, an array each axis by its own (0 allowed, e.g. `[2, 1, 0]`). Options
   * left out keep this array's (`boundary`: see DistArrayOptions).
   * @example const u = await a.withHalo([1, 1, 0], { boundary: ['periodic', 'reflect', 0] });
   */
  async withHalo(width: HaloWidth, options: Omit<DistArrayOptions, 'dist' | 'dtype' | 'halo'> = {}): Promise<DistArray> {
    // Checked here, on every rank and at every P, not first in exchangeHalos (the argument is
    // called `halo`, as the option of the factories, so code catching either sees one name).
    const out = create(this.shape as number[], { ...options, dtype: this.dtype, dist: this.dist, halo: width }, this.haloSpec);
    // Same distribution: every element stays on its rank, so this is a local copy.
    const boxes = plan(this.dist, out.dist, undefined, this.rank).filter((b) => b.src === this.rank && b.dst === this.rank);
    await execute(this.team, this.dtype, boxes, this.side(), out.side(), 'messages');
    return out;
  }

  /**
   * Collective: copies this array's elements into `out`, which may have another
   * distribution and halo (same shape and dtype).
   */
  async copyTo(out: DistArray): Promise<DistArray> {
    if (out.dtype !== this.dtype) throw new ArgumentError('out', `a ${this.dtype} DistArray`, out.dtype, this.rank);
    const boxes = plan(this.dist, out.dist, undefined, this.rank);
    await this.sharePeers();
    await out.sharePeers();
    await execute(this.team, this.dtype, boxes, this.side(), out.side(), this.peers && out.peers ? 'pull' : 'messages');
    return out;
  }

  /**
   * Collective: fills every halo cell from the neighbouring blocks along every axis with a
   * halo (diagonal neighbours included), wrapping around periodic axes; then the cells
   * outside the domain along 'reflect' or 'nearest' sides from the rank's own cells (fixed
   * sides keep their value). One superstep.
   */
  async exchangeHalos(options: HaloOptions = {}): Promise<void> {
    if (this.halo === 0) return;
    this.haloBoxes ??= haloPlan(this.dist, this.halos, this.periodic).filter((b) => b.src === this.rank || b.dst === this.rank);
    this.edgeCopies ??= edgeFills(this.dist, this.haloSpec, this.rank).copies;
    await this.sharePeers();
    const t = this.team;
    if (this.peers) {
      // Pull straight out of the neighbours' shared blocks.
      this.haloPulls ??= this.haloBoxes.filter((b) => b.dst === this.rank).map((b) => ({ src: b.src, from: padded(b.srcStart, this.halos), start: padded(b.dstStart, this.halos), count: b.count }));
      await t.barrier();
      const sh = this.paddedShapes();
      for (const b of this.haloPulls) copyBox(this.peers[b.src]!, sh[b.src]!, b.from, this.data, this.paddedShape, b.start, b.count);
      this.fillEdges();
      if (options.trailingBarrier !== false) await t.barrier();
      return;
    }
    await execute(t, this.dtype, this.haloBoxes, this.side(), this.side(), 'messages');
    this.fillEdges();
  }

  /** The reflect/nearest cells outside the domain, from this rank's own block (after an exchange). */
  private fillEdges(): void {
    for (const f of this.edgeCopies!) copyBox(this.data, this.paddedShape, f.from!, this.data, this.paddedShape, f.start, f.count);
  }

  /** Sets every halo cell (not the interior) to `value`. */
  fillHalo(value: number): void {
    if (this.view) return; // a view has no halo
    const d = this.data as Float64Array;
    const all = new Uint8Array(d.length);
    for (const o of this.rowOffsets()) all.fill(1, o, o + (this.localShape[this.ndim - 1] ?? 1));
    for (let i = 0; i < d.length; i++) if (!all[i]) d[i] = value;
  }

  // Internals
  // ---------

  /** @internal Collective on first call: swaps SharedArrayBuffers where ranks share memory. */
  async sharePeers(): Promise<void> {
    if (this.view) {
      await this.view.root.sharePeers();
      this.peers = this.view.root.peers;
      return;
    }
    if (this.peers || !this.team.shared || !this.shareable) return;
    const sabs = await this.team.share(this.data.buffer as SharedArrayBuffer);
    const sh = this.paddedShapes();
    this.peers = sabs.map((b, r) => viewOf(this.dtype, b, 0, shapeSize(sh[r]!)));
  }

  private paddedShapesCache: number[][] | undefined;
  /** @internal Every rank's padded shape. */
  paddedShapes(): number[][] {
    return (this.paddedShapesCache ??= Array.from({ length: this.size }, (_, r) => this.dist.localShape(r).map((m, k) => m + 2 * this.halos[k]!)));
  }

  /** @internal This array as one side of a transfer. */
  side(): Side {
    const sh = this.paddedShapes();
    return {
      data: (r) => (r === this.rank ? this.data : this.peers?.[r]),
      shape: (r) => sh[r]!,
      pad: () => this.halos,
      strided: this.view ? (r) => this.storage(r) : undefined,
    };
  }

  /** @internal Offsets into `data` of each row (last axis) of the interior, in row-major order. */
  rowOffsets(): number[] {
    const nd = this.ndim;
    const ls = this.localShape;
    if (shapeSize(ls) === 0) return [];
    if (this.halo === 0) {
      const n = ls[nd - 1]!;
      const rows = shapeSize(ls) / n;
      return Array.from({ length: rows }, (_, i) => i * n);
    }
    const st = stridesOf(this.paddedShape);
    const h = this.halos;
    const out: number[] = [];
    const idx = new Array<number>(nd - 1).fill(0);
    for (;;) {
      let o = h[nd - 1]! * st[nd - 1]!;
      for (let k = 0; k < nd - 1; k++) o += (idx[k]! + h[k]!) * st[k]!;
      out.push(o);
      let k = nd - 2;
      while (k >= 0 && ++idx[k]! === ls[k]!) idx[k--] = 0;
      if (k < 0) break;
    }
    return out;
  }

  private fillFrom(fn: (...index: number[]) => number | bigint): void {
    const nd = this.ndim;
    const rows = this.rowOffsets();
    const d = this.data as unknown as { [i: number]: number | bigint };
    const c = this.dist.coords(this.rank);
    const axes = this.dist.axes;
    const n = this.localShape[nd - 1] ?? 1;
    const last = axes[nd - 1]!;
    const lc = c[nd - 1]!;
    const g = new Array<number>(nd).fill(0);
    const idx = new Array<number>(nd - 1).fill(0);
    for (let r = 0; r < rows.length; r++) {
      for (let k = 0; k < nd - 1; k++) g[k] = axes[k]!.toGlobal(c[k]!, idx[k]!);
      const o = rows[r]!;
      for (let j = 0; j < n; j++) {
        g[nd - 1] = last.toGlobal(lc, j);
        d[o + j] = nd === 1 ? fn(g[0]!) : nd === 2 ? fn(g[0]!, g[1]!) : nd === 3 ? fn(g[0]!, g[1]!, g[2]!) : fn(...g);
      }
      let k = nd - 2;
      while (k >= 0 && ++idx[k]! === this.localShape[k]!) idx[k--] = 0;
    }
  }

  /** @internal Refuses views where an operation needs a dense padded block. */
  checkNotView(what: string): void {
    if (this.view) throw new ArgumentError('this', `a DistArray that is not a slicing view for ${what} (copy() it first)`, this.toString(), this.rank);
  }

  private checkSameLayout(o: DistArray, argument: string): void {
    if (!(o instanceof DistArray)) throw new ArgumentError(argument, 'a DistArray', o, this.rank);
    if (!o.dist.equals(this.dist)) throw new ArgumentError(argument, `a DistArray with distribution ${this.dist}`, o.dist.toString(), this.rank);
  }

  private checkRegion(region: Region): void {
    const ok =
      typeof region === 'object' && region !== null && Array.isArray(region.start) && Array.isArray(region.count) &&
      region.start.length === this.ndim && region.count.length === this.ndim &&
      region.start.every((s, k) => Number.isSafeInteger(s) && s >= 0 && Number.isSafeInteger(region.count[k]) && region.count[k]! >= 0 && s + region.count[k]! <= this.shape[k]!);
    if (!ok) throw new ArgumentError('region', `{ start, count } inside shape [${this.shape.join(', ')}]`, region, this.rank);
  }

  private async allgatherRegions(region: Region): Promise<Region[]> {
    return this.size === 1 ? [region] : world.allgatherObject(region);
  }

  toString(): string {
    return `DistArray(${this.dtype}, ${this.dist}, ${this.view ? 'view' : `halo ${this.halos.every((w) => w === this.halo) ? this.halo : `[${this.halos.join(', ')}]`}`})`;
  }
}

// Helpers
// -------

/** A new array (local: no communication); halo options left out are taken from `inherit`. */
function create(shape: number[], options: DistArrayOptions, inherit?: HaloSpec): DistArray {
  const t = team();
  if (typeof options !== 'object' || options === null) throw new ArgumentError('options', 'an object', options, t.rank);
  const dtype = resolveDType(options.dtype ?? 'float64', 'dtype', t.rank);
  const dist = options.dist ?? block(shape, t.size, 0);
  if (!Array.isArray(shape) || shape.length !== dist.ndim || shape.some((n, k) => n !== dist.shape[k])) {
    throw new ArgumentError('shape', `the distribution's shape [${dist.shape.join(', ')}]`, shape, t.rank);
  }
  if (dist.size !== t.size) throw new ArgumentError('dist', `a distribution over ${t.size} ranks (the job's size)`, `${dist} over ${dist.size}`, t.rank);
  const halo = resolveHalo(dist, options, t.rank, inherit);
  if (kIntDTypes.has(dtype) && halo.sides.some((s) => s.some((v) => typeof v === 'number' && !Number.isSafeInteger(v)))) {
    throw new ArgumentError('boundary', `integers where it is a fixed value (the array is ${dtype})`, options.boundary, t.rank);
  }
  return new DistArray(t, dist, dtype, halo);
}

/** A whole global array held by `root` as a transfer side. */
function wholeSide(root: number, data: TypedArray | undefined, shape: readonly number[]): Side {
  return { data: (r) => (r === root ? data : undefined), shape: () => shape, pad: () => 0 };
}

/** A region buffer held by `owner`; box starts were rebased to the region. */
function regionSide(owner: number, data: TypedArray, region: Region): Side {
  return { data: (r) => (r === owner ? data : undefined), shape: () => region.count, pad: () => 0 };
}

/** Rebases one side of boxes from global indices to region-relative ones. */
function rebase(boxes: Box[], region: Region, side: 'src' | 'dst'): Box[] {
  for (const b of boxes) {
    const st = side === 'src' ? b.srcStart : b.dstStart;
    for (let k = 0; k < st.length; k++) st[k]! -= region.start[k]!;
  }
  return boxes;
}
