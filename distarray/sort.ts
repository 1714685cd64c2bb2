/**
 * Sorting DistArrays, numpy's way: sort, argsort, unique, searchsorted.
 *
 * Along the distributed axis of a 1-D array by sample sort: each rank sorts its elements,
 * P - 1 regular samples from every rank pick P - 1 splitters, one alltoallv sends each
 * element to its bucket's rank, which sorts what arrived; the result is then rebalanced to
 * the standard `block` layout (one transfer). Elements travel as float64 keys (exact for
 * every number dtype), with their global indices for argsort. NaN sorts last, as numpy.
 */
import { ArgumentError } from '../util/errors.js';
import { allocArray, type DType, type TypedArray } from '../util/dtype.js';
import { world } from '../comm/comm.js';
import { block, irregularBlock, type Distribution } from './distribution.js';
import { DistArray } from './distarray.js';
import { flatten } from './shape.js';
import { team } from './team.js';

/** Options of `sort` and `argsort`. */
export interface SortOptions {
  /** The axis to sort along (default -1, the last, as numpy; negative counts from the end). */
  axis?: number;
  /** Largest first (NaN still last), i.e. numpy's -np.sort(-a); argsort keeps ties in input order. */
  descending?: boolean;
}

/** Options of `searchsorted`. */
export interface SearchOptions {
  /** 'left': the first index where v could be inserted (default); 'right': the last. */
  side?: 'left' | 'right';
}

/** Total order of numpy's sort: numbers ascending, NaN after all of them. */
function less(x: number, y: number): boolean {
  return x < y || (y !== y && x === x);
}

/** Keys first, then global index (stable): -1, 0 or 1. */
function comparePairs(kx: number, ix: number, ky: number, iy: number): number {
  return less(kx, ky) ? -1 : less(ky, kx) ? 1 : ix - iy;
}

function checkArray(a: DistArray, name: string, rank: number): void {
  if (!(a instanceof DistArray)) throw new ArgumentError(name, 'a DistArray', a, rank);
  if (a.dtype === 'int64' || a.dtype === 'uint64') throw new ArgumentError(name, `a DistArray of number elements (not ${a.dtype}, whose elements are bigints)`, a.dtype, rank);
}

/** A dense copy (no halo, no view) unless `a` is one; with `dist`, in that layout. */
async function dense(a: DistArray, dist: Distribution = a.dist): Promise<DistArray> {
  if (a.halo === 0 && a.view === undefined && a.dist.equals(dist)) return a;
  return a.redistribute(dist, { halo: 0, periodic: false, boundary: 0 });
}

/** This rank's elements (in local order) as float64 keys, negated for descending order. */
function keysOf(a: DistArray, negate: boolean): Float64Array {
  const n = a.dist.localSize(a.rank);
  const keys = new Float64Array(n);
  for (let i = 0; i < n; i++) keys[i] = negate ? -(a.data[i] as number) : (a.data[i] as number);
  return keys;
}

/** Sorted keys of this rank's bucket (with their global indices when `ids` is given). */
interface Bucket {
  keys: Float64Array;
  ids: Float64Array | undefined;
}

/** Sorts keys (and ids alike) on this rank. */
function sortLocal(keys: Float64Array, ids: Float64Array | undefined): Bucket {
  if (!ids) return { keys: keys.sort(), ids };
  const order = Uint32Array.from({ length: keys.length }, (_, i) => i).sort((x, y) => comparePairs(keys[x]!, ids[x]!, keys[y]!, ids[y]!));
  return { keys: Float64Array.from(order, (i) => keys[i]!), ids: Float64Array.from(order, (i) => ids[i]!) };
}

/** Collective: sample sort of every rank's (key, id) pairs; rank r ends with bucket r, sorted. */
async function sampleSort(keys: Float64Array, ids: Float64Array | undefined): Promise<Bucket> {
  const local = sortLocal(keys, ids);
  const P = world.size;
  if (P === 1) return local;
  const n = local.keys.length;
  const samples: number[][] = [];
  for (let s = 1; s < P && n > 0; s++) {
    const i = Math.floor((s * n) / P);
    samples.push([local.keys[i]!, local.ids ? local.ids[i]! : 0]);
  }
  const all = (await world.allgatherObject(samples)).flat();
  all.sort((x, y) => comparePairs(x[0]!, x[1]!, y[0]!, y[1]!));
  // Bucket d holds the pairs >= splitter d - 1 and < splitter d: bounds by binary search.
  const counts = new Array<number>(P).fill(0);
  let prev = 0;
  for (let d = 0; d < P; d++) {
    let end = n;
    if (d < P - 1 && all.length > 0) {
      const [sk, si] = all[Math.floor(((d + 1) * all.length) / P)]!;
      let lo = prev, hi = n;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (comparePairs(local.keys[mid]!, local.ids ? local.ids[mid]! : 0, sk!, si!) < 0) lo = mid + 1;
        else hi = mid;
      }
      end = lo;
    }
    counts[d] = end - prev;
    prev = end;
  }
  const got = await world.alltoallv(local.keys, counts);
  const gotIds = local.ids ? (await world.alltoallv(local.ids, counts)).data : undefined;
  return sortLocal(got.data, gotIds);
}

/** Collective: this rank's part of a sorted sequence as a new block-distributed 1-D array of `dtype`. */
async function rebalance(values: ArrayLike<number>, dtype: DType, negate = false): Promise<DistArray> {
  const counts = Array.from(await world.allgather(Float64Array.of(values.length)));
  const total = counts.reduce((s, c) => s + c, 0);
  const mine = allocArray(dtype, values.length, false) as Float64Array;
  for (let i = 0; i < values.length; i++) mine[i] = negate ? -values[i]! : values[i]!;
  const uneven = DistArray.wrapLocal(mine as TypedArray, irregularBlock([total], counts), dtype);
  return uneven.redistribute(block([total], world.size));
}

/** The index dtype of numpy's argsort/searchsorted results: int32 (numpy: int64), float64 past 2^31. */
function indexDType(n: number): DType {
  return n < 2 ** 31 ? 'int32' : 'float64';
}

function normAxis(axis: number | undefined, ndim: number, rank: number): number {
  const k = axis ?? -1;
  if (!Number.isInteger(k) || k < -ndim || k >= ndim) throw new ArgumentError('options.axis', `an axis in ${-ndim}..${ndim - 1}`, axis, rank);
  return k < 0 ? k + ndim : k;
}

/**
 * Collective: a sorted copy of `a` along `axis` (numpy.sort; NaN last). A 1-D array is
 * sample-sorted across the ranks and the result is `block` over every rank; an n-D array
 * keeps its layout, and is sorted in place of each lane on every rank when `axis` is not
 * distributed (else first moved to blocks along another axis, and back).
 * @example const s = await sort(a); const d = await sort(a, { descending: true });
 */
export async function sort(a: DistArray, options: SortOptions = {}): Promise<DistArray> {
  const rank = team().rank;
  checkArray(a, 'a', rank);
  const axis = normAxis(options.axis, a.ndim, rank);
  const negate = !!options.descending;
  if (a.ndim === 1) {
    const { keys } = await sampleSort(keysOf(await dense(a), negate), undefined);
    return rebalance(keys, a.dtype, negate);
  }
  if (a.dist.grid[axis] === 1) return sortLanes(await a.copy(), axis, negate);
  const other = axis === 0 ? 1 : 0;
  const moved = await dense(a, block(a.shape, a.size, other));
  const sorted = sortLanes(moved === a ? await a.copy() : moved, axis, negate);
  return dense(sorted, a.dist);
}

/** Sorts every lane along `axis` of this rank's dense block (the axis must be whole here). */
function sortLanes(x: DistArray, axis: number, negate: boolean): DistArray {
  const shape = x.localShape;
  const len = shape[axis]!;
  let stride = 1;
  for (let k = axis + 1; k < shape.length; k++) stride *= shape[k]!;
  const lanes = len === 0 ? 0 : x.dist.localSize(x.rank) / len;
  const lane = new Float64Array(len);
  const d = x.data as Float64Array;
  for (let l = 0; l < lanes; l++) {
    const base = Math.floor(l / stride) * stride * len + (l % stride);
    for (let i = 0; i < len; i++) lane[i] = negate ? -d[base + i * stride]! : d[base + i * stride]!;
    lane.sort();
    for (let i = 0; i < len; i++) d[base + i * stride] = negate ? -lane[i]! : lane[i]!;
  }
  return x;
}

/**
 * Collective: the indices that sort a 1-D `a` (numpy.argsort(a, kind='stable'): ties keep
 * their order in `a`), as a `block`-distributed int32 array (float64 from 2^31 elements).
 * @example const order = await argsort(a);
 */
export async function argsort(a: DistArray, options: Omit<SortOptions, 'axis'> = {}): Promise<DistArray> {
  const rank = team().rank;
  checkArray(a, 'a', rank);
  if (a.ndim !== 1) throw new ArgumentError('a', 'a 1-D DistArray (argsort of n-D arrays is not built yet: flatten first)', a.toString(), rank);
  const d = await dense(a);
  const keys = keysOf(d, !!options.descending);
  const ids = Float64Array.from({ length: keys.length }, (_, i) => d.dist.toGlobal(rank, [i])[0]!);
  const got = await sampleSort(keys, ids);
  return rebalance(got.ids!, indexDType(a.shape[0]!));
}

/**
 * Collective: the sorted distinct values of `a` (numpy.unique; an n-D array is flattened;
 * NaNs count as one value), as a `block`-distributed 1-D array of a's dtype.
 * @example const u = await unique(a);
 */
export async function unique(a: DistArray): Promise<DistArray> {
  const rank = team().rank;
  checkArray(a, 'a', rank);
  const flat = a.ndim === 1 ? await dense(a) : await flatten(a);
  const { keys } = await sampleSort(keysOf(flat, false), undefined);
  const same = (x: number, y: number) => x === y || (x !== x && y !== y);
  // The last value of the nearest non-empty rank before this one: a run may span ranks.
  const tails = await world.allgather(Float64Array.of(keys.length, keys.length ? keys[keys.length - 1]! : 0));
  let before: number | undefined;
  for (let r = rank - 1; r >= 0 && before === undefined; r--) if (tails[2 * r]! > 0) before = tails[2 * r + 1]!;
  const out: number[] = [];
  for (let i = 0; i < keys.length; i++) {
    const prev = i > 0 ? keys[i - 1]! : before;
    if (prev === undefined || !same(prev, keys[i]!)) out.push(keys[i]!);
  }
  return rebalance(out, a.dtype === 'uint8c' ? 'uint8' : a.dtype);
}

/**
 * Collective: where the values `v` would be inserted into the sorted 1-D `a` to keep it
 * sorted (numpy.searchsorted; `a` is not checked to be sorted). `v` is a number (each rank
 * its own; the answer is a number), a typed array (each rank its own; an Int32Array of
 * indices, Float64Array from 2^31 elements) or a DistArray of any shape (a DistArray of
 * indices in v's layout). Each value is answered by the one rank whose block of `a` it
 * falls in: one allgather of every block's ends, two alltoallv.
 * @example const i = await searchsorted(sorted, 0.5, { side: 'right' });
 */
export async function searchsorted(a: DistArray, v: number, options?: SearchOptions): Promise<number>;
export async function searchsorted(a: DistArray, v: TypedArray | ArrayLike<number>, options?: SearchOptions): Promise<Int32Array | Float64Array>;
export async function searchsorted(a: DistArray, v: DistArray, options?: SearchOptions): Promise<DistArray>;
export async function searchsorted(a: DistArray, v: number | TypedArray | ArrayLike<number> | DistArray, options: SearchOptions = {}): Promise<number | Int32Array | Float64Array | DistArray> {
  const rank = team().rank;
  checkArray(a, 'a', rank);
  if (a.ndim !== 1) throw new ArgumentError('a', 'a sorted 1-D DistArray', a.toString(), rank);
  const side = options.side ?? 'left';
  if (side !== 'left' && side !== 'right') throw new ArgumentError('options.side', "'left' or 'right'", side, rank);
  let queries: Float64Array;
  let vv: DistArray | undefined;
  if (v instanceof DistArray) {
    checkArray(v, 'v', rank);
    vv = await v.copy();
    queries = keysOf(vv, false);
  } else if (typeof v === 'number') queries = Float64Array.of(v);
  else if (v !== null && typeof v === 'object' && typeof (v as ArrayLike<number>).length === 'number' && !(v instanceof BigInt64Array) && !(v instanceof BigUint64Array)) queries = Float64Array.from(v as ArrayLike<number>);
  else throw new ArgumentError('v', 'a number, a typed array (not 64-bit integers) or a DistArray', v, rank);
  const found = await searchBlocks(await dense(a, a.dist.axes[0]!.contiguous ? a.dist : block(a.shape, a.size)), queries, side === 'right');
  const idt = indexDType(a.shape[0]!);
  if (typeof v === 'number') return found[0]!;
  if (!vv) return idt === 'int32' ? Int32Array.from(found) : found;
  const out = await DistArray.zeros([...vv.shape], { dtype: idt, dist: vv.dist });
  (out.data as Int32Array).set(found);
  return out;
}

/** Global insertion indices of `queries` into the sorted, contiguously block-distributed `a`. */
async function searchBlocks(a: DistArray, queries: Float64Array, right: boolean): Promise<Float64Array> {
  const P = a.size;
  const keys = keysOf(a, false);
  // before(x, e): e goes before x's insertion point.
  const before = right ? (e: number, x: number) => !less(x, e) : (e: number, x: number) => less(e, x);
  const count = (x: number) => {
    let lo = 0, hi = keys.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (before(keys[mid]!, x)) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
  const ends = await world.allgather(Float64Array.of(keys.length, keys.length ? keys[0]! : 0, keys.length ? keys[keys.length - 1]! : 0));
  const starts = new Array<number>(P).fill(0);
  for (let r = 1; r < P; r++) starts[r] = starts[r - 1]! + ends[3 * (r - 1)]!;
  // Blocks wholly before x count whole; the first block not wholly before it answers for x.
  const result = new Float64Array(queries.length);
  const owner = new Int32Array(queries.length).fill(-1);
  const perRank = new Array<number>(P).fill(0);
  queries.forEach((x, q) => {
    let r = 0;
    while (r < P && (ends[3 * r]! === 0 || before(ends[3 * r + 2]!, x))) r++;
    if (r === P) result[q] = a.shape[0]!;
    else if (!before(ends[3 * r + 1]!, x)) result[q] = starts[r]!;
    else {
      owner[q] = r;
      perRank[r]!++;
    }
  });
  if (P === 1) {
    queries.forEach((x, q) => { if (owner[q] === 0) result[q] = count(x); });
    return result;
  }
  const displs = perRank.map((_, r) => perRank.slice(0, r).reduce((s, c) => s + c, 0));
  const send = new Float64Array(perRank.reduce((s, c) => s + c, 0));
  const fill = [...displs];
  queries.forEach((x, q) => { if (owner[q]! >= 0) send[fill[owner[q]!]!++] = x; });
  const asked = await world.alltoallv(send, perRank);
  const answers = asked.data.map((x) => starts[a.rank]! + count(x));
  const back = await world.alltoallv(answers, asked.counts);
  const next = [...back.displs];
  queries.forEach((_, q) => { if (owner[q]! >= 0) result[q] = back.data[next[owner[q]!]!++]!; });
  return result;
}
