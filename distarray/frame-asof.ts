/**
 * @internal DistFrame.joinAsof: for each left row, the right row with the largest `on` value
 * at most the left's, among the right rows with the same `by` keys (polars' join_asof with
 * strategy 'backward'; DuckDB's ASOF JOIN). Null `on` or `by` values never match; among right
 * rows with equal `on`, the last in the right frame's order wins.
 *
 * The left frame stays where it is, sorted by `on` over the ranks (sorted first if it is not),
 * so rank r's left rows cover a range [lo_r, hi_r] and those ranges follow each other. Each
 * right row goes to the first rank whose range reaches its value (one alltoallv): every left
 * row that could take it is there or on a later rank. A later rank still needs the best row
 * per key from the ranks before it, which one allgather of each rank's last right row per key
 * gives (the same trick as frame-window.ts's boundary rows).
 */
import { Data, Field, Schema } from '../util/arrow.js';
import { world } from '../comm/comm.js';
import { ArgumentError, SchemaMismatchError } from '../util/errors.js';
import { DistFrame } from './frame.js';
import { concat, compareValues, emptyData, familyOf, take, valueGetter, type KeyValue } from './frame-kernels.js';
import { decodeColumns, encodeColumns } from './frame-ipc.js';
import { keyFn, keyIndex, keyKind, shuffleSide } from './frame-join.js';

export interface AsofOptions {
  /** The ordered column (numbers, timestamps, dates), in both frames. */
  on: string;
  /** Columns whose values must be equal, in both frames (default: none). */
  by?: string | string[];
  /** Only 'backward' (the default): the last right row at or before the left row. */
  strategy?: 'backward';
  /** Appended to right column names that clash with left ones. Default '_right'. */
  suffix?: string;
}

/** How the last as-of join on this rank ran. */
export interface AsofPlan {
  /** Whether the left frame had to be sorted by `on` first (it was not sorted over the ranks). */
  sortedLeft: boolean;
}

/** @internal For tests. */
export let lastAsofPlan: AsofPlan | undefined;

/** Collective: `left` joined as of `options.on` with `right` (see DistFrame.joinAsof). */
export async function joinAsofFrames(left: DistFrame, right: DistFrame, options: AsofOptions): Promise<DistFrame> {
  const me = world.rank;
  if (!(right instanceof DistFrame)) throw new ArgumentError('other', 'a DistFrame', right, me);
  if (typeof options !== 'object' || options === null || typeof options.on !== 'string') throw new ArgumentError('options.on', 'the name of the ordered column, e.g. { on: \'t\' }', options?.on, me);
  if ((options.strategy ?? 'backward') !== 'backward') throw new ArgumentError('options.strategy', "'backward' (the only strategy so far)", options.strategy, me);
  const by = options.by === undefined ? [] : typeof options.by === 'string' ? [options.by] : options.by;
  if (!Array.isArray(by) || by.some((k) => typeof k !== 'string')) throw new ArgumentError('options.by', 'a column name or a list of names', options.by, me);
  const on = options.on;
  const check = (name: string) => {
    const a = left.schema.fields[keyIndex(left, name, 'left')]!;
    const b = right.schema.fields[keyIndex(right, name, 'right')]!;
    if (keyKind(a.type, a.name) !== keyKind(b.type, b.name)) throw new SchemaMismatchError(`as-of join column types differ: left '${name}' is ${a.type}, right '${name}' is ${b.type}`, me);
  };
  check(on);
  by.forEach(check);
  if (familyOf(left.schema.fields[left.indexOf(on)]!.type) !== 'fixed') throw new ArgumentError(`options.on ('${on}')`, 'an ordered column of numbers, timestamps or dates', String(left.schema.fields[left.indexOf(on)]!.type), me);

  // The left frame's range on each rank; sorted first if the ranks' rows are not in order.
  let ranges = await rangesOf(left, on);
  const sortedLeft = !ranges.sorted;
  if (sortedLeft) {
    left = await left.sortBy(on);
    ranges = await rangesOf(left, on);
  }
  lastAsofPlan = { sortedLeft };

  // Right rows (only the columns needed) to the first rank whose left range reaches them.
  const moved = [...new Set([...by, on, ...right.names])];
  const mSchema = new Schema(moved.map((n) => right.schema.fields[right.indexOf(n)]!));
  const mCols = moved.map((n) => right.columns[right.indexOf(n)]!);
  const bk = by.map((_, j) => j);
  const ok = moved.indexOf(on);
  const rOn = valueGetter(mCols[ok]!);
  const rKey = keyFn(mCols, bk);
  const dest = new Int32Array(right.localRows);
  for (let i = 0; i < dest.length; i++) {
    const v = rOn(i);
    dest[i] = v === null || rKey(i) === null ? -1 : ranges.owner(v);
  }
  const got = await shuffleSide(mSchema, mCols, dest);

  // This rank's right rows by `on` (stable: equal values keep the right frame's order), and
  // its last row per key, which the ranks after it start from.
  const gOn = valueGetter(got[ok]!);
  const order = Int32Array.from({ length: got[0]?.length ?? 0 }, (_, i) => i).sort((a, b) => compareValues(gOn(a), gOn(b)));
  const sorted = got.map((c) => take(c, order));
  const gKey = keyFn(sorted, bk);
  const last = new Map<KeyValue, number>();
  for (let j = 0; j < order.length; j++) last.set(gKey(j), j);
  const carryParts = world.size > 1 ? await world.allgatherObject(encodeColumns(mSchema, sorted.map((c) => take(c, Int32Array.from(last.values()))))) : [];
  const before = carryParts.slice(0, me).map(decodeColumns);
  const ext = mSchema.fields.map((f, k) => {
    const chunks = [...before.map((c) => c[k]!), sorted[k]!].filter((d) => d.length > 0);
    return chunks.length > 0 ? concat(f.type, chunks) : emptyData(f.type);
  });

  // One merge pass: left rows ascending, right rows ascending, the latest right row per key.
  const eOn = valueGetter(ext[ok]!);
  const eKey = keyFn(ext, bk);
  const lOn = valueGetter(left.columns[left.indexOf(on)]!);
  const lKey = keyFn(left.columns, by.map((k) => left.indexOf(k)));
  const nE = ext[0]?.length ?? 0;
  const latest = new Map<KeyValue, number>();
  const ri = new Int32Array(left.localRows).fill(-1);
  let j = 0;
  for (let i = 0; i < left.localRows; i++) {
    const v = lOn(i);
    if (v === null) continue;
    for (; j < nE && compareValues(eOn(j), v) <= 0; j++) latest.set(eKey(j), j);
    const k = lKey(i);
    if (k !== null) ri[i] = latest.get(k) ?? -1;
  }

  // Columns: the left's, then the right's other than `on` and `by` (clashing names get the suffix).
  const suffix = options.suffix ?? '_right';
  const fields = left.schema.fields.slice();
  const cols = left.columns.slice();
  const leftNames = new Set(left.names);
  mSchema.fields.forEach((f, k) => {
    if (f.name === on || by.includes(f.name)) return;
    fields.push(new Field(leftNames.has(f.name) ? f.name + suffix : f.name, f.type, true));
    cols.push(take(ext[k]!, ri));
  });
  return new DistFrame(new Schema(fields), cols);
}

/** Every rank's range of `on` (non-null values), whether they are in order, and the rank owning a value. */
async function rangesOf(f: DistFrame, on: string): Promise<{ sorted: boolean; owner: (v: KeyValue) => number }> {
  const get = valueGetter(f.columns[f.indexOf(on)]!);
  let sorted = true;
  let lo: KeyValue = null;
  let hi: KeyValue = null;
  let nulls = 0;
  for (let i = 0; i < f.localRows; i++) {
    const v = get(i);
    if (v === null) {
      nulls++;
      continue;
    }
    if (nulls > 0 || (hi !== null && compareValues(v, hi) < 0)) sorted = false;
    if (lo === null) lo = v;
    hi = v;
  }
  // 64-bit values travel as strings (exact); numbers as they are.
  const wire = (v: KeyValue) => (typeof v === 'bigint' ? `${v}` : v);
  const mine = [sorted, wire(lo), wire(hi), nulls] as const;
  const all = world.size > 1 ? await world.allgatherObject(mine) : [mine];
  const big = typeof lo === 'bigint' || all.some(([, l]) => typeof l === 'string');
  const unwire = (v: KeyValue): KeyValue => (v !== null && big ? BigInt(v as string) : v);
  const owners: { rank: number; hi: KeyValue }[] = [];
  let prevHi: KeyValue = null;
  let seenNull = false;
  all.forEach(([s, l, h, n], r) => {
    if (!s) sorted = false;
    if (l !== null) {
      if (seenNull || (prevHi !== null && compareValues(unwire(l), prevHi) < 0)) sorted = false;
      prevHi = unwire(h);
      owners.push({ rank: r, hi: prevHi });
    }
    if (n > 0) seenNull = true;
  });
  // The first rank whose range reaches v (binary search over the ranks' increasing highs); -1: past every left row.
  const owner = (v: KeyValue): number => {
    let a = 0;
    let b = owners.length;
    while (a < b) {
      const m = (a + b) >> 1;
      if (compareValues(owners[m]!.hi, v) < 0) a = m + 1;
      else b = m;
    }
    return a < owners.length ? owners[a]!.rank : -1;
  };
  return { sorted, owner };
}
