/**
 * @internal DistFrame window functions over `partitionBy(keys).orderBy(keys)`: rowNumber, rank,
 * denseRank, lag, lead, cumSum, cumMax, rollingSum, rollingMean, with the global order of a
 * single process whichever ranks a partition spans.
 *
 * The rows are sorted by (partition keys, order keys) with the frame's sample sort (stable, so
 * ties keep input order), then each rank computes its rows as if its first partition started
 * there. One allgather of every rank's boundary state fixes that up: the state at its last row
 * (partition and order key, row number, rank, dense rank, running sum/max) folded over the
 * ranks before gives the carry into this rank's first partition, and the last K rows (lag,
 * rolling) and first L rows (lead) of every rank give the rows just before and after this
 * rank's own in global order, however many ranks they come from.
 */
import { Data, Dictionary, Field, Float64, Int32, Schema, Type, makeData } from '../util/arrow.js';
import { world } from '../comm/comm.js';
import { ArgumentError } from '../util/errors.js';
import { DistFrame, numberGetter } from './frame.js';
import { concat, emptyData, familyOf, isValid, keyString, packBits, take, valueGetter } from './frame-kernels.js';
import { decodeColumns, encodeColumns } from './frame-ipc.js';

/** Which rows a window function sees: partitions by key, each in order. */
export class WindowSpec {
  /** @internal Use partitionBy(...) or orderBy(...). */
  constructor(readonly partition: readonly string[], readonly order: readonly string[] = [], readonly descending: readonly boolean[] = []) {}

  /** The same partitions, each ordered by `keys` (ascending unless `descending`, per key or for all; nulls last). */
  orderBy(keys: string | string[], options: { descending?: boolean | boolean[] } = {}): WindowSpec {
    const ks = namesOf(keys, 'orderBy');
    const desc = ks.map((_, j) => (Array.isArray(options.descending) ? !!options.descending[j] : !!options.descending));
    return new WindowSpec(this.partition, ks, desc);
  }

  toString(): string {
    const order = this.order.map((k, j) => `${k}${this.descending[j] ? ' desc' : ''}`).join(', ');
    return `partitionBy(${this.partition.join(', ')}).orderBy(${order})`;
  }
}

/** Partitions of the rows with equal values of `keys` (nulls equal nulls); call `.orderBy(...)` to order them. */
export function partitionBy(...keys: (string | string[])[]): WindowSpec {
  return new WindowSpec(namesOf(keys.flat(), 'partitionBy'));
}

/** One partition of every row, ordered by `keys`. */
export function orderBy(keys: string | string[], options: { descending?: boolean | boolean[] } = {}): WindowSpec {
  return new WindowSpec([]).orderBy(keys, options);
}

export type WindowKind = 'rowNumber' | 'rank' | 'denseRank' | 'lag' | 'lead' | 'cumSum' | 'cumMax' | 'rollingSum' | 'rollingMean';

/** A window function: what `frame.window(spec, { name: fn })` computes for each row. */
export class WindowFn {
  /** @internal Use rowNumber(), lag(col, n), rollingMean(col, k), ... */
  constructor(readonly kind: WindowKind, readonly col?: string, readonly n = 0) {}

  toString(): string {
    return this.col === undefined ? `${this.kind}()` : this.kind === 'cumSum' || this.kind === 'cumMax' ? `${this.kind}(${this.col})` : `${this.kind}(${this.col}, ${this.n})`;
  }
}

/** 1, 2, 3, ... in each partition's order (ties in input order). int32. */
export const rowNumber = (): WindowFn => new WindowFn('rowNumber');
/** 1 + the rows before with a smaller order key (ties share a rank, then a gap), as SQL's rank(). int32. */
export const rank = (): WindowFn => new WindowFn('rank');
/** 1 + the distinct order keys before (no gaps), as SQL's dense_rank(). int32. */
export const denseRank = (): WindowFn => new WindowFn('denseRank');
/** `col` of the row `n` before in the partition (null if none), in col's type. */
export const lag = (col: string, n = 1): WindowFn => new WindowFn('lag', colName(col, 'lag'), count(n, 'lag', 0));
/** `col` of the row `n` after in the partition (null if none), in col's type. */
export const lead = (col: string, n = 1): WindowFn => new WindowFn('lead', colName(col, 'lead'), count(n, 'lead', 0));
/** Running sum of the non-null values of numeric `col` up to this row (null before the first). float64. */
export const cumSum = (col: string): WindowFn => new WindowFn('cumSum', colName(col, 'cumSum'));
/** Running max of the non-null values of numeric `col` up to this row (NaN above every number). float64. */
export const cumMax = (col: string): WindowFn => new WindowFn('cumMax', colName(col, 'cumMax'));
/** Sum of the non-null values of `col` over this row and the k - 1 before it in the partition (null if none). float64. */
export const rollingSum = (col: string, k: number): WindowFn => new WindowFn('rollingSum', colName(col, 'rollingSum'), count(k, 'rollingSum', 1));
/** Mean of the non-null values of `col` over this row and the k - 1 before it in the partition (null if none). float64. */
export const rollingMean = (col: string, k: number): WindowFn => new WindowFn('rollingMean', colName(col, 'rollingMean'), count(k, 'rollingMean', 1));

const kNumeric: readonly WindowKind[] = ['cumSum', 'cumMax', 'rollingSum', 'rollingMean'];
const kCumulative: readonly WindowKind[] = ['cumSum', 'cumMax'];

/** Running state at a row: its position in the partition and the running sums/maxes. */
interface RunState {
  rows: number;
  rank: number;
  dense: number;
  /** Per cumulative function: running value and whether any non-null value was seen. */
  acc: [number, boolean][];
}

/** A rank's boundary state, allgathered. */
interface Boundary {
  n: number;
  firstKey: string;
  lastKey: string;
  firstOrd: string;
  lastOrd: string;
  /** The state at the last row, computed as if the rank's first partition started there. */
  end: RunState;
  /** Arrow IPC of the halo columns of the first L and last K rows, and those rows' partition keys. */
  head?: Uint8Array;
  headKeys?: string[];
  tail?: Uint8Array;
  tailKeys?: string[];
}

/** The carry into a rank: the state at the last row before it, with its keys. */
interface Carry extends RunState {
  key: string;
  ord: string;
}

/** Collective: `frame` sorted by the spec's keys, with one column per entry of `fns`. */
export async function windowFrame(frame: DistFrame, spec: WindowSpec, fns: Record<string, WindowFn>): Promise<DistFrame> {
  const outs = checkWindow(frame, spec, fns);
  const keys = [...spec.partition, ...spec.order];
  const sorted = keys.length > 0 ? await frame.sortBy(keys, { descending: [...spec.partition.map(() => false), ...spec.descending] }) : frame;
  const n = sorted.localRows;
  const pk = rowKeys(sorted, spec.partition);
  const ok = rowKeys(sorted, spec.order);
  const cums = outs.filter(([, f]) => kCumulative.includes(f.kind));
  const haloCols = [...new Set(outs.filter(([, f]) => f.col !== undefined && !kCumulative.includes(f.kind)).map(([, f]) => f.col!))];
  const before = Math.max(0, ...outs.map(([, f]) => (f.kind === 'lag' ? f.n : f.kind.startsWith('rolling') ? f.n - 1 : 0)));
  const after = Math.max(0, ...outs.map(([, f]) => (f.kind === 'lead' ? f.n : 0)));

  // Each rank's rows as if its first partition started here.
  const run = localRuns(sorted, pk, ok, cums.map(([, f]) => f));
  const haloSchema = new Schema(haloCols.map((c) => sorted.schema.fields[sorted.indexOf(c)]!));
  const haloData = haloCols.map((c) => sorted.columns[sorted.indexOf(c)]!);
  const range = (a: number, b: number) => Int32Array.from({ length: Math.max(0, b - a) }, (_, i) => a + i);
  const mine: Boundary = {
    n, firstKey: pk[0] ?? '', lastKey: pk[n - 1] ?? '', firstOrd: ok[0] ?? '', lastOrd: ok[n - 1] ?? '',
    end: n > 0 ? run.at(n - 1) : { rows: 0, rank: 0, dense: 0, acc: [] },
  };
  if (haloCols.length > 0 && world.size > 1) {
    const h = range(0, Math.min(n, after));
    const t = range(Math.max(0, n - before), n);
    mine.head = encodeColumns(haloSchema, haloData.map((d) => take(d, h)));
    mine.headKeys = pk.slice(0, h.length);
    mine.tail = encodeColumns(haloSchema, haloData.map((d) => take(d, t)));
    mine.tailKeys = pk.slice(n - t.length);
  }
  const all = world.size > 1 ? await world.allgatherObject(mine) : [mine];
  const me = world.rank;

  // Fix up the first partition with the carry from the ranks before.
  let carry: Carry | undefined;
  const maxes = cums.map(([, f]) => f.kind === 'cumMax');
  for (let r = 0; r < me; r++) carry = fold(carry, all[r]!, maxes);
  if (carry && n > 0 && carry.key === pk[0]) {
    const c = carry;
    const peers = ok[0] === c.ord;
    for (let i = 0; i < n && pk[i] === pk[0]; i++) run.continueFrom(i, c, peers, maxes);
  }

  // The rows just before and after this rank's own (in global order) for lag, lead, rolling.
  const prev = halo(all, me, -1, before, haloSchema);
  const next = halo(all, me, +1, after, haloSchema);
  const extKeys = [...prev.keys, ...pk, ...next.keys];
  const ext = haloCols.map((_, j) => concat(haloSchema.fields[j]!.type, [prev.cols[j]!, haloData[j]!, next.cols[j]!]));
  const off = prev.keys.length;

  const fields = sorted.schema.fields.slice();
  const cols = sorted.columns.slice();
  const put = (name: string, d: Data, nullable: boolean) => {
    const field = new Field(name, d.type, nullable);
    const k = fields.findIndex((f) => f.name === name);
    if (k >= 0) [fields[k], cols[k]] = [field, d];
    else (fields.push(field), cols.push(d));
  };
  for (const [name, f] of outs) {
    switch (f.kind) {
      case 'rowNumber': case 'rank': case 'denseRank': {
        const src = f.kind === 'rowNumber' ? run.rows : f.kind === 'rank' ? run.rank : run.dense;
        put(name, makeData({ type: new Int32(), length: n, data: Int32Array.from(src) }), false);
        break;
      }
      case 'cumSum': case 'cumMax': {
        const j = cums.findIndex(([x]) => x === name);
        put(name, float64(run.acc[j]!.value, (i) => run.acc[j]!.has[i] === 1), true);
        break;
      }
      case 'lag': case 'lead': {
        const e = ext[haloCols.indexOf(f.col!)]!;
        const step = f.kind === 'lag' ? -f.n : f.n;
        const idx = new Int32Array(n);
        for (let i = 0; i < n; i++) {
          const j = off + i + step;
          idx[i] = j >= 0 && j < extKeys.length && extKeys[j] === pk[i] ? j : -1;
        }
        put(name, ownDictionary(take(e, idx), fields), true);
        break;
      }
      case 'rollingSum': case 'rollingMean': {
        const r = rolling(ext[haloCols.indexOf(f.col!)]!, extKeys, f.n, off, n, f.kind === 'rollingMean');
        put(name, r, true);
        break;
      }
    }
  }
  return new DistFrame(new Schema(fields), cols);
}

/** The (name, fn) pairs of `fns`, after checking spec and fns against the frame (the same on every rank). */
function checkWindow(frame: DistFrame, spec: WindowSpec, fns: Record<string, WindowFn>): [string, WindowFn][] {
  const r = world.rank;
  if (!(spec instanceof WindowSpec)) throw new ArgumentError('spec', "partitionBy('g').orderBy('t'), or orderBy('t')", spec, r);
  const has = (c: string) => frame.names.includes(c);
  const cols = `a column of the frame (one of ${frame.names.join(', ') || '(no columns)'})`;
  for (const c of spec.partition) if (!has(c)) throw new ArgumentError(`partitionBy '${c}'`, cols, c, r);
  for (const c of spec.order) if (!has(c)) throw new ArgumentError(`orderBy '${c}'`, cols, c, r);
  if (typeof fns !== 'object' || fns === null || Object.keys(fns).length === 0) throw new ArgumentError('fns', "an object such as { rn: rowNumber(), prev: lag('x') }", fns, r);
  const outs = Object.entries(fns);
  for (const [name, f] of outs) {
    if (!(f instanceof WindowFn)) throw new ArgumentError(`fns.${name}`, 'a window function: rowNumber(), rank(), denseRank(), lag, lead, cumSum, cumMax, rollingSum, rollingMean', f, r);
    if (f.col === undefined) continue;
    if (!has(f.col)) throw new ArgumentError(`fns.${name} (${f})`, `a window over ${cols}`, f.col, r);
    const fam = familyOf(frame.schema.fields[frame.indexOf(f.col)]!.type);
    if (kNumeric.includes(f.kind) && fam !== 'fixed' && fam !== 'bool') throw new ArgumentError(`fns.${name} (${f})`, `over a numeric column; '${f.col}' is`, String(frame.schema.fields[frame.indexOf(f.col)]!.type), r);
  }
  return outs;
}

/** Per-row running state, each rank's first partition starting at its first row. */
class LocalRuns {
  readonly rows: Float64Array;
  readonly rank: Float64Array;
  readonly dense: Float64Array;
  readonly acc: { value: Float64Array; has: Uint8Array }[];
  constructor(n: number, cums: number) {
    this.rows = new Float64Array(n);
    this.rank = new Float64Array(n);
    this.dense = new Float64Array(n);
    this.acc = Array.from({ length: cums }, () => ({ value: new Float64Array(n), has: new Uint8Array(n) }));
  }

  at(i: number): RunState {
    return { rows: this.rows[i]!, rank: this.rank[i]!, dense: this.dense[i]!, acc: this.acc.map((a) => [a.value[i]!, a.has[i] === 1]) };
  }

  /**
   * Row i, counted from the rank's first row, continued from `c` (the state just before the
   * rank's first row, in the same partition). `peers`: the rank's first row is a peer of c's
   * row; `maxes[j]`: cumulative function j is a max (else a sum).
   */
  continueFrom(i: number, c: RunState, peers: boolean, maxes: readonly boolean[]): void {
    // A row of the rank's first peer group has rank 1 locally.
    this.rank[i] = this.rank[i] === 1 && peers ? c.rank : c.rows + this.rank[i]!;
    this.rows[i] = c.rows + this.rows[i]!;
    this.dense[i] = c.dense + this.dense[i]! - (peers ? 1 : 0);
    this.acc.forEach((a, j) => {
      const [cv, ch] = c.acc[j]!;
      if (!ch) return;
      a.value[i] = a.has[i] ? step(cv, a.value[i]!, maxes[j]!) : cv;
      a.has[i] = 1;
    });
  }

  /** One row holding state `s`. */
  static of(s: RunState): LocalRuns {
    const run = new LocalRuns(1, s.acc.length);
    run.rows[0] = s.rows;
    run.rank[0] = s.rank;
    run.dense[0] = s.dense;
    s.acc.forEach(([v, h], j) => {
      run.acc[j]!.value[0] = v;
      run.acc[j]!.has[0] = +h;
    });
    return run;
  }
}

function localRuns(f: DistFrame, pk: string[], ok: string[], cums: WindowFn[]): LocalRuns {
  const n = pk.length;
  const run = new LocalRuns(n, cums.length);
  const gets = cums.map((c) => {
    const d = f.columns[f.indexOf(c.col!)]!;
    return { d, get: numberGetter(d), max: c.kind === 'cumMax' };
  });
  for (let i = 0; i < n; i++) {
    const fresh = i === 0 || pk[i] !== pk[i - 1];
    const peer = !fresh && ok[i] === ok[i - 1];
    run.rows[i] = fresh ? 1 : run.rows[i - 1]! + 1;
    run.rank[i] = fresh ? 1 : peer ? run.rank[i - 1]! : run.rows[i]!;
    run.dense[i] = fresh ? 1 : peer ? run.dense[i - 1]! : run.dense[i - 1]! + 1;
    gets.forEach(({ d, get, max }, j) => {
      const a = run.acc[j]!;
      const had = !fresh && a.has[i - 1] === 1;
      let v = had ? a.value[i - 1]! : 0;
      if (isValid(d, i)) v = had ? step(v, get(i), max) : get(i);
      a.value[i] = v;
      a.has[i] = +(had || isValid(d, i));
    });
  }
  return run;
}

/** A running sum or max (NaN above every number, as the sort and DuckDB order it) taking x. */
function step(acc: number, x: number, max: boolean): number {
  if (!max) return acc + x;
  return Number.isNaN(acc) || Number.isNaN(x) ? NaN : Math.max(acc, x);
}

/** The carry after rank `b`'s rows, given the carry before them. */
function fold(c: Carry | undefined, b: Boundary, maxes: readonly boolean[]): Carry | undefined {
  if (b.n === 0) return c;
  if (!c || c.key !== b.firstKey || b.firstKey !== b.lastKey) return { ...b.end, key: b.lastKey, ord: b.lastOrd };
  const run = LocalRuns.of(b.end);
  run.continueFrom(0, c, b.firstOrd === c.ord, maxes);
  return { ...run.at(0), key: b.lastKey, ord: b.lastOrd };
}

/** Partition (or order) key of every row, as a string (nulls equal nulls; '' for no keys). */
function rowKeys(f: DistFrame, names: readonly string[]): string[] {
  const gets = names.map((k) => valueGetter(f.columns[f.indexOf(k)]!));
  return Array.from({ length: f.localRows }, (_, i) => (gets.length === 0 ? '' : keyString(gets.map((g) => g(i)))));
}

/**
 * The `want` rows next to rank `me`'s in global order (dir -1: just before, +1: just after)
 * from the other ranks' heads and tails, with their partition keys.
 */
function halo(all: Boundary[], me: number, dir: -1 | 1, want: number, schema: Schema): { cols: Data[]; keys: string[] } {
  const parts: { cols: Data[]; keys: string[] }[] = [];
  let got = 0;
  for (let r = me + dir; want > 0 && got < want && r >= 0 && r < all.length; r += dir) {
    const b = all[r]!;
    const bytes = dir < 0 ? b.tail : b.head;
    const keys = (dir < 0 ? b.tailKeys : b.headKeys) ?? [];
    if (!bytes || keys.length === 0) continue;
    parts.push({ cols: decodeColumns(bytes), keys });
    got += keys.length;
  }
  if (dir < 0) parts.reverse();
  const keys = parts.flatMap((p) => p.keys);
  const cols = schema.fields.map((f, j) => (parts.length > 0 ? concat(f.type, parts.map((p) => p.cols[j]!)) : emptyData(f.type)));
  // Only the `want` nearest rows matter.
  const cut = Math.max(0, keys.length - want);
  if (dir < 0 && cut > 0) {
    const idx = Int32Array.from({ length: want }, (_, i) => cut + i);
    return { cols: cols.map((d) => take(d, idx)), keys: keys.slice(cut) };
  }
  return { cols, keys };
}

/**
 * Sum (or mean) of the non-null values over each local row and the k - 1 before it in its
 * partition: one sliding pass over the halo and local rows, the sum compensated (Neumaier) so
 * that values leaving the window do not leave their rounding behind; infinities and NaN are
 * counted apart (a sum with +inf and -inf, or a NaN, is NaN, as DuckDB's).
 */
function rolling(d: Data, keys: string[], k: number, off: number, n: number, mean: boolean): Data {
  const get = numberGetter(d);
  const out = new Float64Array(n);
  const ok = new Uint8Array(n);
  let sum = 0, comp = 0, count = 0, nan = 0, pinf = 0, ninf = 0;
  const add = (j: number, sign: 1 | -1) => {
    if (!isValid(d, j)) return;
    const x = get(j);
    count += sign;
    if (Number.isNaN(x)) nan += sign;
    else if (x === Infinity) pinf += sign;
    else if (x === -Infinity) ninf += sign;
    else {
      const y = sign * x;
      const t = sum + y;
      comp += Math.abs(sum) >= Math.abs(y) ? sum - t + y : y - t + sum;
      sum = t;
    }
  };
  for (let e = 0, lo = 0; e < off + n; e++) {
    if (e > 0 && keys[e] !== keys[e - 1]) {
      sum = comp = count = nan = pinf = ninf = 0;
      lo = e;
    }
    add(e, 1);
    if (e - lo >= k) add(lo++, -1);
    if (e < off) continue;
    const s = nan > 0 || (pinf > 0 && ninf > 0) ? NaN : pinf > 0 ? Infinity : ninf > 0 ? -Infinity : sum + comp;
    out[e - off] = mean ? s / count : s;
    ok[e - off] = +(count > 0);
  }
  return float64(out, (i) => ok[i] === 1);
}

/**
 * A dictionary column under an id of its own, the same on every rank (a schema may not hold
 * one dictionary id twice, and a fresh apache-arrow id may clash with one read from IPC).
 */
function ownDictionary(d: Data, fields: readonly Field[]): Data {
  if (d.type.typeId !== Type.Dictionary) return d;
  const t = d.type as Dictionary;
  const id = 1 + Math.max(-1, ...fields.map((f) => (f.type.typeId === Type.Dictionary ? (f.type as Dictionary).id : -1)));
  return makeData({ type: new Dictionary(t.dictionary, t.indices, id, t.isOrdered), length: d.length, nullCount: d.nullCount, nullBitmap: d.nullBitmap, data: d.values, dictionary: d.dictionary } as never);
}

function float64(v: Float64Array, valid: (i: number) => boolean): Data {
  const [bm, nulls] = packBits(v.length, valid);
  return makeData({ type: new Float64(), length: v.length, data: v, nullCount: nulls, nullBitmap: nulls > 0 ? bm : undefined });
}

function namesOf(keys: unknown, where: string): string[] {
  const ks = typeof keys === 'string' ? [keys] : keys;
  if (!Array.isArray(ks) || ks.some((k) => typeof k !== 'string' || k.length === 0)) throw new ArgumentError(where, 'column names (a string or a list of strings)', keys, world.rank);
  return ks as string[];
}

function colName(c: unknown, fn: string): string {
  if (typeof c !== 'string' || c.length === 0) throw new ArgumentError(`${fn}(col)`, 'a column name', c, world.rank);
  return c;
}

function count(n: unknown, fn: string, min: number): number {
  if (typeof n !== 'number' || !Number.isInteger(n) || n < min) throw new ArgumentError(`${fn}(col, ${min === 0 ? 'n' : 'k'})`, `an integer >= ${min}`, n, world.rank);
  return n;
}
