/**
 * Reductions along axes, numpy's way: sum, prod, min, max, mean, std, var, argmin, argmax,
 * any, all (and nanSum ... nanVar, which skip NaN), over one axis, several, or all of them,
 * with `keepdims`; cumsum along one axis.
 *
 * Collective. Each rank reduces its own block into partial records (one per element of its
 * block with the reduced axes collapsed), then the ranks that share the kept axes'
 * coordinates send their records to the one at coordinate 0 of the reduced axes, which
 * merges them in rank order (so results do not depend on timing) and holds the result's
 * block. The result is laid out over the kept axes as the input was; a full reduction
 * (no `axis`) is a number, the same on every rank (records allgathered, merged in rank order).
 */
import { ArgumentError } from '../util/errors.js';
import { bytesOf, type DType } from '../util/dtype.js';
import { world } from '../comm/comm.js';
import { AxisMap, Distribution } from './distribution.js';
import { DistArray } from './distarray.js';
import { stridesOf } from './regions.js';
import { composeSpec, viewDistribution, wholeSpec } from './view.js';

/** Options of the axis reductions. */
export interface ReduceOptions {
  /** Axis or axes to reduce (negative counts from the end); default: all (the result is a number). */
  axis?: number | readonly number[];
  /** Keep reduced axes as length-1 axes (numpy's keepdims); default false. */
  keepdims?: boolean;
  /** std/var: divisor n - ddof (default 0, as numpy). */
  ddof?: number;
}

/** How one reduction accumulates: `c` channels per record. */
interface Op {
  c: number;
  init: readonly number[];
  /** Adds value v (global reduced index g) into record at acc[o ...]. */
  add(acc: Float64Array, o: number, v: number, g: number): void;
  merge(acc: Float64Array, o: number, b: Float64Array, ob: number): void;
  final(acc: Float64Array, o: number, n: number, ddof: number): number;
  dtype(input: DType): DType;
}

const floatOrF64 = (d: DType): DType => (d === 'float32' ? 'float32' : 'float64');
const same = (d: DType): DType => (d === 'uint8c' ? 'uint8' : d);
const isNaN_ = (v: number) => v !== v;

function simple(init: number, f: (a: number, v: number) => number, dtype: (d: DType) => DType, skipNaN = false): Op {
  return {
    c: 1,
    init: [init],
    add: skipNaN ? (acc, o, v) => { if (v === v) acc[o] = f(acc[o]!, v); } : (acc, o, v) => { acc[o] = f(acc[o]!, v); },
    merge: (acc, o, b, ob) => { acc[o] = f(acc[o]!, b[ob]!); },
    final: (acc, o) => acc[o]!,
    dtype,
  };
}

const fmin = (a: number, v: number) => (a !== a || v !== v ? NaN : v < a ? v : a);
const fmax = (a: number, v: number) => (a !== a || v !== v ? NaN : v > a ? v : a);

/** min/max ignoring NaN: [value, count]; all-NaN gives NaN (numpy warns and gives NaN). */
function nanExtreme(f: (a: number, v: number) => number, init: number): Op {
  return {
    c: 2,
    init: [init, 0],
    add: (acc, o, v) => { if (v === v) { acc[o] = f(acc[o]!, v); acc[o + 1]!++; } },
    merge: (acc, o, b, ob) => { acc[o] = f(acc[o]!, b[ob]!); acc[o + 1]! += b[ob + 1]!; },
    final: (acc, o) => (acc[o + 1] === 0 ? NaN : acc[o]!),
    dtype: same,
  };
}

/** Welford per record, Chan et al. to merge: [n, mean, M2]. */
function moments(kind: 'mean' | 'var' | 'std', skipNaN: boolean): Op {
  return {
    c: 3,
    init: [0, 0, 0],
    add: (acc, o, v) => {
      if (skipNaN && v !== v) return;
      const n = ++acc[o]!;
      const d = v - acc[o + 1]!;
      acc[o + 1]! += d / n;
      acc[o + 2]! += d * (v - acc[o + 1]!);
    },
    merge: (acc, o, b, ob) => {
      const na = acc[o]!;
      const nb = b[ob]!;
      if (nb === 0) return;
      if (na === 0) { acc[o] = nb; acc[o + 1] = b[ob + 1]!; acc[o + 2] = b[ob + 2]!; return; }
      const n = na + nb;
      const d = b[ob + 1]! - acc[o + 1]!;
      acc[o + 1]! += (d * nb) / n;
      acc[o + 2]! += b[ob + 2]! + (d * d * na * nb) / n;
      acc[o] = n;
    },
    final: (acc, o, _n, ddof) => {
      const n = acc[o]!;
      if (kind === 'mean') return n === 0 ? NaN : acc[o + 1]!;
      const v = n - ddof <= 0 ? NaN : acc[o + 2]! / (n - ddof);
      return kind === 'var' ? v : Math.sqrt(v);
    },
    dtype: floatOrF64,
  };
}

/** argmin/argmax: [value, index]; the first NaN wins (numpy), ties go to the smaller index. */
function arg(better: (v: number, a: number) => boolean): Op {
  const take = (av: number, ai: number, v: number, g: number) =>
    ai < 0 || (isNaN_(v) ? !isNaN_(av) || g < ai : !isNaN_(av) && (better(v, av) || (v === av && g < ai)));
  return {
    c: 2,
    init: [NaN, -1],
    add: (acc, o, v, g) => { if (take(acc[o]!, acc[o + 1]!, v, g)) { acc[o] = v; acc[o + 1] = g; } },
    merge: (acc, o, b, ob) => { if (b[ob + 1]! >= 0 && take(acc[o]!, acc[o + 1]!, b[ob]!, b[ob + 1]!)) { acc[o] = b[ob]!; acc[o + 1] = b[ob + 1]!; } },
    final: (acc, o) => acc[o + 1]!,
    dtype: () => 'int32',
  };
}

const sumType = (d: DType): DType => (d === 'float32' ? 'float32' : 'float64');

const kOps = {
  sum: simple(0, (a, v) => a + v, sumType),
  prod: simple(1, (a, v) => a * v, sumType),
  min: simple(Infinity, fmin, same),
  max: simple(-Infinity, fmax, same),
  mean: moments('mean', false),
  var: moments('var', false),
  std: moments('std', false),
  argmin: arg((v, a) => v < a),
  argmax: arg((v, a) => v > a),
  any: simple(0, (a, v) => (a !== 0 || v !== 0 ? 1 : 0), () => 'bool'),
  all: simple(1, (a, v) => (a !== 0 && v !== 0 ? 1 : 0), () => 'bool'),
  nanSum: simple(0, (a, v) => a + v, sumType, true),
  nanProd: simple(1, (a, v) => a * v, sumType, true),
  nanMin: nanExtreme(fmin, Infinity),
  nanMax: nanExtreme(fmax, -Infinity),
  nanMean: moments('mean', true),
  nanVar: moments('var', true),
  nanStd: moments('std', true),
} satisfies Record<string, Op>;

export type ReduceName = keyof typeof kOps;

/** Normalised, sorted, distinct axes (all of them if `axis` is undefined). */
function normAxes(axis: ReduceOptions['axis'], nd: number, rank: number): number[] {
  if (axis === undefined || axis === null) return Array.from({ length: nd }, (_, k) => k);
  const list = typeof axis === 'number' ? [axis] : Array.isArray(axis) ? axis : undefined;
  if (!list) throw new ArgumentError('options.axis', 'an integer or an array of integers', axis, rank);
  const out = list.map((k) => {
    if (!Number.isInteger(k) || k < -nd || k >= nd) throw new ArgumentError('options.axis', `integers in ${-nd}..${nd - 1}`, axis, rank);
    return k < 0 ? k + nd : k;
  });
  if (new Set(out).size !== out.length) throw new ArgumentError('options.axis', 'distinct axes (numpy: duplicate value in axis)', axis, rank);
  return out.sort((a, b) => a - b);
}

function checkInput(a: DistArray, rank: number): void {
  if (!(a instanceof DistArray)) throw new ArgumentError('a', 'a DistArray', a, rank);
  if (a.dtype === 'int64' || a.dtype === 'uint64') throw new ArgumentError('a', `a DistArray of number elements (not ${a.dtype})`, a.dtype, rank);
}

/**
 * This rank's partial records: one per element of its block with the reduced axes collapsed
 * (row-major), `op.c` channels each.
 */
function partials(a: DistArray, red: readonly boolean[], op: Op): { acc: Float64Array; kshape: number[] } {
  const nd = a.ndim;
  const ls = a.localShape;
  const kshape = ls.map((m, k) => (red[k] ? 1 : m));
  const nrec = kshape.reduce((p, m) => p * m, 1);
  const acc = new Float64Array(nrec * op.c);
  for (let r = 0; r < nrec; r++) for (let ch = 0; ch < op.c; ch++) acc[r * op.c + ch] = op.init[ch]!;
  if (ls.some((m) => m === 0)) return { acc, kshape };
  const pst = stridesOf(kshape).map((s, k) => (red[k] ? 0 : s * op.c));
  // Global flat index over the reduced axes (row-major over their global extents), for arg*.
  const rext = a.shape.map((n, k) => (red[k] ? n : 1));
  const rst = stridesOf(rext).map((s, k) => (red[k] ? s : 0));
  const c = a.dist.coords(a.rank);
  const gl = a.dist.axes.map((m, k) => Float64Array.from({ length: ls[k]! }, (_, l) => m.toGlobal(c[k]!, l) * rst[k]!));
  const s = a.storage();
  const d = a.data as Float64Array;
  const last = nd - 1;
  const t = s.axes[last]!;
  const gt = gl[last]!;
  const pl = pst[last]!;
  const idx = new Array<number>(nd).fill(0);
  for (;;) {
    let off = s.base;
    let pos = 0;
    let g = 0;
    for (let k = 0; k < last; k++) {
      off += s.axes[k]![idx[k]!]!;
      pos += idx[k]! * pst[k]!;
      g += gl[k]![idx[k]!]!;
    }
    const n = ls[last]!;
    for (let j = 0; j < n; j++) op.add(acc, pos + j * pl, d[off + t[j]!]!, g + gt[j]!);
    let k = last - 1;
    while (k >= 0 && ++idx[k]! === ls[k]!) idx[k--] = 0;
    if (k < 0) break;
  }
  return { acc, kshape };
}

/** The keepdims layout: reduced axes of length 1, held by process coordinate 0 of their grid extent. */
function keepDistribution(dist: Distribution, red: readonly boolean[]): Distribution {
  return new Distribution(
    dist.shape.map((n, k) => (red[k] ? 1 : n)),
    dist.grid,
    dist.axes.map((m, k) => (red[k] ? new AxisMap(1, dist.grid[k]!, 'block') : m)),
  );
}

/**
 * Collective: reduction `name` of `a` over `options.axis` (all axes: a number on every
 * rank; otherwise a DistArray over the kept axes, laid out as `a` was).
 */
export async function reduceAlong(name: ReduceName, a: DistArray, options: ReduceOptions = {}): Promise<DistArray | number> {
  const rank = a?.rank ?? world.rank;
  checkInput(a, rank);
  if (typeof options !== 'object' || options === null) throw new ArgumentError('options', 'an object ({ axis, keepdims, ddof })', options, rank);
  const op: Op = kOps[name];
  const axes = normAxes(options.axis, a.ndim, rank);
  const ddof = options.ddof ?? 0;
  if (!Number.isInteger(ddof) || ddof < 0) throw new ArgumentError('options.ddof', 'a non-negative integer', ddof, rank);
  const red = a.shape.map((_, k) => axes.includes(k));
  const n = a.shape.reduce((p, m, k) => (red[k] ? p * m : p), 1);
  if (n === 0 && (name === 'argmin' || name === 'argmax') && a.shape.every((m, k) => red[k] || m > 0)) {
    throw new ArgumentError('a', `non-empty along the reduced axes for ${name} (numpy: attempt to get ${name} of an empty sequence)`, `shape [${a.shape.join(', ')}]`, rank);
  }
  const { acc } = partials(a, red, op);
  if (axes.length === a.ndim && !options.keepdims) {
    // Full reduction: every rank merges every rank's record, in rank order.
    const all = a.size === 1 ? acc : await world.allgather(acc);
    const m = Float64Array.from(op.init);
    for (let r = 0; r < a.size; r++) op.merge(m, 0, all, r * op.c);
    return op.final(m, 0, n, ddof);
  }
  // Send records to the group's owner (coordinate 0 on every reduced axis), merge in rank order.
  const dist = a.dist;
  const me = a.rank;
  const c = dist.coords(me);
  const owner = dist.rankOf(c.map((x, k) => (red[k] ? 0 : x)));
  const t = a.team;
  const sends = new Map<number, Uint8Array>();
  const from: number[] = [];
  if (acc.length > 0) {
    if (owner !== me) sends.set(owner, bytesOf(acc));
    else {
      for (let r = 0; r < a.size; r++) {
        if (r === me) continue;
        const rc = dist.coords(r);
        if (rc.every((x, k) => red[k] || x === c[k])) from.push(r);
      }
    }
  }
  const got = await t.exchange(sends, from);
  const dtype = op.dtype(a.dtype);
  // The result's layout: keepdims', or with the reduced axes dropped as integer indices drop
  // them (same local elements in the same order on every rank, so no copy either way).
  const keep = keepDistribution(dist, red);
  const outDist = options.keepdims ? keep : viewDistribution(keep, composeSpec(wholeSpec(keep.shape), keep.shape.map((_, k) => (red[k] ? 0 : null))));
  const res = await DistArray.zeros([...outDist.shape], { dist: outDist, dtype });
  if (owner === me && acc.length > 0) {
    const merged = Float64Array.from({ length: acc.length }, (_, i) => op.init[i % op.c]!);
    const recs = acc.length / op.c;
    for (let r = 0; r < a.size; r++) {
      const src = r === me ? acc : got.get(r);
      if (!src) continue;
      const b = r === me ? src as Float64Array : new Float64Array(src.buffer.slice(src.byteOffset, src.byteOffset + src.byteLength));
      for (let i = 0; i < recs; i++) op.merge(merged, i * op.c, b, i * op.c);
    }
    const out = res.data as Float64Array;
    for (let i = 0; i < recs; i++) out[i] = op.final(merged, i * op.c, n, ddof);
  }
  return res;
}

type Reducer = {
  (a: DistArray): Promise<number>;
  (a: DistArray, options: ReduceOptions & { axis?: undefined; keepdims?: false }): Promise<number>;
  (a: DistArray, options: ReduceOptions): Promise<DistArray | number>;
};
const reducer = (name: ReduceName): Reducer => ((a: DistArray, options?: ReduceOptions) => reduceAlong(name, a, options)) as Reducer;

/** Collective: sum over `axis` (numpy.sum; integers sum in float64, float32 stays float32). */
export const sum = reducer('sum');
/** Collective: product over `axis`. */
export const prod = reducer('prod');
/** Collective: smallest element over `axis` (NaN if any is NaN; +Infinity over nothing). */
export const min = reducer('min');
/** Collective: largest element over `axis` (NaN if any is NaN; -Infinity over nothing). */
export const max = reducer('max');
/** Collective: arithmetic mean over `axis` (NaN over nothing). */
export const mean = reducer('mean');
/** Collective: variance over `axis`, divisor n - ddof. */
export const variance = reducer('var');
/** Collective: standard deviation over `axis`, divisor n - ddof. */
export const std = reducer('std');
/** Collective: index of the smallest element over `axis` (flat over several axes; the first NaN wins; ties: the first). */
export const argmin = reducer('argmin');
/** Collective: index of the largest element over `axis`. */
export const argmax = reducer('argmax');
/** Collective: 1 if any element over `axis` is non-zero (NaN counts). */
export const any = reducer('any');
/** Collective: 1 if every element over `axis` is non-zero. */
export const all = reducer('all');
/** Collective: sum treating NaN as absent (numpy.nansum). */
export const nanSum = reducer('nanSum');
/** Collective: product treating NaN as absent. */
export const nanProd = reducer('nanProd');
/** Collective: min ignoring NaN (NaN where every element is NaN). */
export const nanMin = reducer('nanMin');
/** Collective: max ignoring NaN. */
export const nanMax = reducer('nanMax');
/** Collective: mean ignoring NaN. */
export const nanMean = reducer('nanMean');
/** Collective: variance ignoring NaN. */
export const nanVar = reducer('nanVar');
/** Collective: standard deviation ignoring NaN. */
export const nanStd = reducer('nanStd');

/**
 * Collective: cumulative sum along `axis` (numpy.cumsum; default: the flattened array is
 * not supported, give an axis). Same shape and distribution as `a`; integers sum in
 * float64. `skipNaN` treats NaN as 0 (numpy.nancumsum).
 */
export async function cumsum(a: DistArray, options: { axis: number; skipNaN?: boolean }): Promise<DistArray> {
  const rank = a?.rank ?? world.rank;
  checkInput(a, rank);
  if (typeof options !== 'object' || options === null || options.axis === undefined) throw new ArgumentError('options.axis', 'an integer (cumsum along one axis)', options?.axis, rank);
  const [k] = normAxes(options.axis, a.ndim, rank);
  const ax = k!;
  const dist = a.dist;
  // Work on a layout whose axis `ax` is block-distributed over the same grid (order along it = coordinate order).
  const work = dist.axes[ax]!.contiguous
    ? dist
    : new Distribution(dist.shape, dist.grid, dist.axes.map((m, j) => (j === ax ? new AxisMap(m.n, m.p, 'block') : m)));
  const dtype = a.dtype === 'float32' ? 'float32' : 'float64';
  const w = await DistArray.zeros([...a.shape], { dist: work, dtype });
  if (a.dtype === dtype) await a.copyTo(w);
  else {
    const tmp = await a.redistribute(work, { halo: 0, periodic: false, boundary: 0 });
    tmp.map((v) => v, w);
  }
  const skip = options.skipNaN === true;
  const ls = w.localShape;
  const wd = w.data as Float64Array;
  const st = stridesOf(ls);
  // Local running sums along ax; totals of this block along ax per other index.
  const tshape = ls.map((m, j) => (j === ax ? 1 : m));
  const totals = new Float64Array(tshape.reduce((p, m) => p * m, 1));
  const tst = stridesOf(tshape);
  const outer = ls.reduce((p, m, j) => (j === ax ? p : p * m), 1);
  const idx = ls.map(() => 0);
  const lines: { base: number; t: number }[] = [];
  if (ls.every((m) => m > 0)) {
    for (let q = 0; q < outer; q++) {
      let rem = q;
      for (let j = ls.length - 1; j >= 0; j--) {
        if (j === ax) { idx[j] = 0; continue; }
        idx[j] = rem % ls[j]!;
        rem = Math.floor(rem / ls[j]!);
      }
      lines.push({ base: idx.reduce((o, v, j) => o + v * st[j]!, 0), t: idx.reduce((o, v, j) => o + (j === ax ? 0 : v * tst[j]!), 0) });
    }
  }
  for (const { base, t } of lines) {
    let s = 0;
    for (let i = 0; i < ls[ax]!; i++) {
      const o = base + i * st[ax]!;
      const v = wd[o]!;
      s += skip && v !== v ? 0 : v;
      wd[o] = s;
    }
    totals[t] = s;
  }
  // Every rank sends its totals to the ranks after it along ax (same other coordinates).
  const c = work.coords(w.rank);
  const g = work.grid[ax]!;
  const sends = new Map<number, Uint8Array>();
  const from: number[] = [];
  if (totals.length > 0 && g > 1) {
    for (let q = 0; q < g; q++) {
      if (q === c[ax]) continue;
      const r = work.rankOf(c.map((x, j) => (j === ax ? q : x)));
      if (q > c[ax]!) sends.set(r, bytesOf(totals));
      else from.push(r);
    }
  }
  const got = await w.team.exchange(sends, from);
  if (from.length > 0) {
    const offset = new Float64Array(totals.length);
    for (const r of from.sort((x, y) => work.coords(x)[ax]! - work.coords(y)[ax]!)) {
      const m = got.get(r)!;
      const b = new Float64Array(m.buffer.slice(m.byteOffset, m.byteOffset + m.byteLength));
      for (let i = 0; i < b.length; i++) offset[i]! += b[i]!;
    }
    for (const { base, t } of lines) for (let i = 0; i < ls[ax]!; i++) wd[base + i * st[ax]!]! += offset[t]!;
  }
  return work === dist ? w : w.redistribute(dist, { halo: 0, periodic: false, boundary: 0 });
}

