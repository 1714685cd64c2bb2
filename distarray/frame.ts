/**
 * DistFrame: a table whose rows are spread over the ranks of a job, each column an Arrow
 * column (ints and floats of every width, bool, utf8, dictionary-encoded strings,
 * timestamps), null-aware through validity bitmaps.
 *
 * Each rank holds a contiguous slice of rows as one Arrow chunk per column (no row need live
 * on a particular rank). A numeric column is also a 1-D DistArray over the same memory,
 * laid out by the irregular block of every rank's row count (`column(name).array`). Local
 * operations (select, filter, withColumn) are synchronous and touch only this rank's rows;
 * operations that move rows (groupBy().agg, sortBy, join, rebalance, head, describe,
 * toArrow, fromArrow) are collective: every rank calls them, in the same order. Shuffles are
 * one alltoallv of Arrow IPC streams.
 */
import type { DataType } from 'apache-arrow';
import {
  Bool, Data, Field, Float32, Float64, Int8, Int16, Int32, Int64, Schema, Table, Type, Uint8, Uint16, Uint32, Uint64, Utf8, makeData, tableFromIPC, vectorFromArray, loadArrow,
} from '../util/arrow.js';
import { world } from '../comm/comm.js';
import { groupByCounts } from '../core/cost/counts.js';
import type { SuperstepCounts } from '../core/cost/predict.js';
import { ArgumentError, SchemaMismatchError } from '../util/errors.js';
import { dtypeOf, type DType, type TypedArray } from '../util/dtype.js';
import { DistArray } from './distarray.js';
import { block, irregularBlock } from './distribution.js';
import {
  compareValues, concat, familyOf, hashValue, isValid, keyString, normalize, packBits, take, validBytes, valueGetter, dictStrings,
  type KeyValue,
} from './frame-kernels.js';
import { columnsOf, decodeColumns, encodeColumns, shuffle, toTable } from './frame-ipc.js';
import { adoptTable, type ArrowLike } from './frame-adopt.js';
import { GroupTable, aggregateLocal, emptyPartial, groupIds, mergePartial } from './frame-groupby.js';
import { Expr, evaluate, maskIndices, vecToData } from './frame-expr.js';
import { joinFrames, type JoinOptions } from './frame-join.js';
import { LazyFrame } from './frame-lazy.js';
import { joinAsofFrames, type AsofOptions } from './frame-asof.js';
import { windowFrame, type WindowFn, type WindowSpec } from './frame-window.js';
import { concatFrames, dropDuplicates, dropna, fillna } from './frame-tidy.js';
import { aggregateRows, kHolisticOps, type HolisticOp } from './frame-agg.js';

/** A column's local values as given to filter/withColumn functions. */
export type ColumnValues = TypedArray | (string | null)[];

/** What a withColumn function may return: values (no nulls), values with validity, or strings. */
export type ColumnResult = TypedArray | { values: TypedArray; valid?: ArrayLike<number | boolean> | null } | (string | null)[];

/** Aggregations of groupBy().agg(). */
export type AggOp = 'sum' | 'mean' | 'count' | 'min' | 'max' | HolisticOp;

/** One output of agg(): an op on a column (`col` omitted with 'count' counts rows). */
export interface AggSpec {
  /** A column name, or an expression evaluated over the rows before aggregating. */
  col?: string | Expr;
  op: AggOp;
  /** For 'quantile': the quantile in [0, 1] (linear interpolation, as pandas). */
  q?: number;
}

const kAggOps: readonly AggOp[] = ['sum', 'mean', 'count', 'min', 'max', ...kHolisticOps];

/** The local part of a DistFrame column: an Arrow chunk of this rank's rows. */
export interface FrameColumn {
  readonly name: string;
  readonly type: DataType;
  /** This rank's rows, one Arrow chunk (values, validity bitmap, offsets, dictionary). */
  readonly data: Data;
  /** Number of this rank's rows. */
  readonly length: number;
  /**
   * A numeric column (ints, floats, timestamps, dates) as a 1-D DistArray whose local block
   * IS this chunk's values (same memory, no copy), over the irregular block of every rank's
   * row count; undefined for bool, utf8 and dictionary columns, and when the frame does not
   * know the other ranks' row counts (after a local filter: `await frame.distArray(name)`).
   * Null rows hold unspecified values: `validity` says which rows are null.
   */
  readonly array: DistArray | undefined;
  /** Validity bitmap (Arrow's: bit i of byte i >> 3, 1 = valid), or null if no row is null. */
  readonly validity: Uint8Array | null;
}

export class DistFrame {
  readonly schema: Schema;
  /** @internal This rank's rows: one offset-0 chunk per column. */
  readonly columns: readonly Data[];
  /** Number of rows on this rank. */
  readonly localRows: number;
  /** @internal Every rank's row count, when known without communicating. */
  private rowCounts: readonly number[] | undefined;
  /** Column index -> its DistArray (made once, on first use). */
  private readonly arrays = new Map<number, DistArray>();

  /**
   * @internal Use the static factories or operations. `rowCounts`: every rank's number of
   * rows, if the caller knows them.
   */
  constructor(schema: Schema, columns: readonly Data[], rowCounts?: readonly number[]) {
    this.schema = schema;
    this.columns = columns.map(normalize);
    this.localRows = columns[0]?.length ?? 0;
    schema.fields.forEach((f) => familyOf(f.type, f.name));
    if (rowCounts && rowCounts[world.rank] !== this.localRows) throw new ArgumentError('rowCounts', `this rank's entry equal to its ${this.localRows} rows`, rowCounts[world.rank], world.rank);
    this.rowCounts = rowCounts;
  }

  /** Column names, in order. */
  get names(): string[] {
    return this.schema.fields.map((f) => f.name);
  }

  get rank(): number {
    return world.rank;
  }

  get size(): number {
    return world.size;
  }

  // Creation
  // --------

  /**
   * Collective: a frame from each rank's own table (rows stay where they are; rank order is
   * row order). Every rank's schema must agree by names and types; nullability is merged as
   * Arrow's schema unification does (a column is nullable if it is on any rank: apache-arrow
   * marks a column built from an empty typed array nullable, a full one not).
   * `table` may be any Arrow table (see fromArrow).
   * @throws {SchemaMismatchError} on every rank if names or types differ
   */
  static async fromLocal(input: ArrowLike): Promise<DistFrame> {
    await loadArrow();
    const table = await adoptTable(input, 'table', world.rank);
    const { schema, counts } = await agreeSchemas(table.schema, table.numRows);
    return new DistFrame(schema, columnsOf(table), counts);
  }

  /**
   * Collective: scatters a table given on `root` in row blocks (the first rows % P ranks get
   * one more row). Other ranks pass undefined. The table may come from anyone: this package's
   * apache-arrow Table, one of another apache-arrow version, arquero's `toArrow()`, or Arrow
   * IPC bytes (stream or file, LZ4/ZSTD compressed or not); Utf8View/LargeUtf8 columns
   * become Utf8, BinaryView/LargeBinary become Binary.
   */
  static async fromArrow(input: ArrowLike | undefined, options: { root?: number } = {}): Promise<DistFrame> {
    await loadArrow();
    const root = options.root ?? 0;
    const p = world.size;
    let parts: Uint8Array[] | null = null;
    if (world.rank === root) {
      let table: Table;
      try {
        if (input === undefined) throw new ArgumentError('table', 'an Arrow table or IPC bytes on the root', input, world.rank);
        table = await adoptTable(input, 'table', world.rank);
      } catch (err) {
        // The others are in the scatter below: they raise it too (catch and retry works).
        if (p > 1) await world.refuseCollective('scatterObject', root, err);
        throw err;
      }
      const cols = columnsOf(table);
      const n = table.numRows;
      parts = [];
      let start = 0;
      for (let r = 0; r < p; r++) {
        const len = Math.floor(n / p) + (r < n % p ? 1 : 0);
        const idx = new Int32Array(len);
        for (let i = 0; i < len; i++) idx[i] = start + i;
        start += len;
        parts.push(encodeColumns(table.schema, cols.map((c) => take(c, idx))));
      }
    }
    const mine = p > 1 ? await world.scatterObject(parts, root) : parts![0]!;
    const t = tableFromIPC(mine);
    return new DistFrame(t.schema, columnsOf(t), await rowCountsOf(t.numRows));
  }

  /**
   * Collective: a frame from 1-D DistArrays of one distribution (rank r's rows are its local
   * elements, in local order; for block layouts that is global order). No copy: each column's
   * values are the array's local block, and `column(name).array` is that same DistArray.
   */
  static async fromDistArrays(columns: Record<string, DistArray>): Promise<DistFrame> {
    await loadArrow();
    const names = Object.keys(columns);
    const fields: Field[] = [];
    const datas: Data[] = [];
    for (const name of names) {
      const a = columns[name]!;
      if (!(a instanceof DistArray) || a.ndim !== 1 || a.halo !== 0) throw new ArgumentError(`columns.${name}`, 'a 1-D DistArray without halo', a, world.rank);
      if (!a.dist.equals(columns[names[0]!]!.dist)) throw new ArgumentError(`columns.${name}`, `the distribution of columns.${names[0]}`, a.dist.toString(), world.rank);
      const type = arrowTypeOf(a.data, a.dtype);
      fields.push(new Field(name, type, false));
      datas.push(a.dtype === 'bool' ? boolData(a.data as Uint8Array, null) : makeData({ type: type as never, length: a.data.length, data: a.data as never } as never));
    }
    const d0 = names.length > 0 ? columns[names[0]!]!.dist : undefined;
    const frame = new DistFrame(new Schema(fields), datas, d0 ? Array.from({ length: world.size }, (_, r) => d0.localSize(r)) : undefined);
    names.forEach((name, k) => {
      if (columns[name]!.dtype !== 'bool') frame.arrays.set(k, columns[name]!);
    });
    return frame;
  }

  // Local access
  // ------------

  /**
   * This rank's part of column `name`: its Arrow chunk, and for numeric columns the
   * DistArray over the same memory (see FrameColumn.array).
   */
  column(name: string): FrameColumn {
    const k = this.indexOf(name);
    const d = this.columns[k]!;
    const validity = d.nullCount > 0 && d.nullBitmap ? d.nullBitmap : null;
    return { name, type: d.type, data: d, length: d.length, array: this.arrayOf(k), validity };
  }

  /**
   * Collective: numeric column `name` as a 1-D DistArray without copying: rank r's local
   * block is its rows' values (the column's own memory), over the irregular block of every
   * rank's row count, so rows keep their global order. Null rows hold unspecified values.
   * Communicates only when the frame does not know the ranks' row counts (after a filter).
   * @throws {ArgumentError} for bool, utf8 and dictionary columns
   */
  async distArray(name: string): Promise<DistArray> {
    const k = this.indexOf(name);
    const d = this.columns[k]!;
    if (!dtypeOfArrow(d.type)) throw new ArgumentError(name, 'a numeric column (int, float, timestamp, date) for a DistArray', String(d.type), world.rank);
    this.rowCounts ??= await rowCountsOf(this.localRows);
    return this.arrayOf(k)!;
  }

  /** This rank's rows as an Arrow table (no copy). */
  localTable(): Table {
    return toTable(this.schema, this.columns);
  }

  /**
   * A lazy plan starting from this frame: the same verbs recorded, run by `collect()` after
   * pushing filters and projections down; `explain()` shows the plan with predicted times.
   * @example const out = await frame.lazy().filter(col('x').gt(0)).groupBy('g').agg({ x: 'sum' }).collect();
   */
  lazy(): LazyFrame {
    return new LazyFrame({ kind: 'frame', frame: this });
  }

  /** Local: the frame with only `names` (in that order). */
  select(...names: (string | string[])[]): DistFrame {
    const flat = names.flat();
    const ks = flat.map((n) => this.indexOf(n));
    return new DistFrame(new Schema(ks.map((k) => this.schema.fields[k]!)), ks.map((k) => this.columns[k]!), this.rowCounts);
  }

  /**
   * Local: the rows for which `predicate(cols, valid)` is truthy. `cols.x` is column x's
   * local values (a typed array for numbers, bigints and timestamps, 0/1 bytes for bool,
   * strings for utf8 and dictionary columns; null rows hold 0 / null), `valid.x` its
   * validity bytes (null when it has no nulls). Return one truthy/falsy value per row.
   * @example const adults = people.filter((c) => c.age.map((a) => +(a >= 18)));
   */
  filter(predicate: Expr | ((cols: Record<string, ColumnValues>, valid: Record<string, Uint8Array | null>) => ArrayLike<number | boolean | bigint>)): DistFrame {
    if (predicate instanceof Expr) {
      const keep = maskIndices(predicate, { schema: this.schema, columns: this.columns, rows: this.localRows });
      return new DistFrame(this.schema, this.columns.map((c) => take(c, keep)));
    }
    const mask = predicate(this.valuesView(), this.validView());
    if (!mask || typeof mask.length !== 'number' || mask.length !== this.localRows) {
      throw new ArgumentError('predicate', `a function returning one value per local row (${this.localRows})`, mask, world.rank);
    }
    let n = 0;
    for (let i = 0; i < mask.length; i++) if (mask[i]) n++;
    const idx = new Int32Array(n);
    for (let i = 0, j = 0; i < mask.length; i++) if (mask[i]) idx[j++] = i;
    return new DistFrame(this.schema, this.columns.map((c) => take(c, idx)));
  }

  /**
   * Local: adds (or replaces) column `name` computed from this rank's typed arrays:
   * `fn(cols, valid)` returns a typed array (its Arrow type follows: Float64Array -> float64,
   * Int32Array -> int32, BigInt64Array -> int64, ...), `{ values, valid }` for nulls, or an
   * array of strings (utf8). `options.type` overrides the Arrow type (e.g. new Bool() for
   * 0/1 bytes, new TimestampMillisecond() for BigInt64Array).
   * @example const f = df.withColumn('z', (c) => Float64Array.from(c.x as Float64Array, (x, i) => x * (c.y as Float64Array)[i]!));
   */
  withColumn(name: string, fn: Expr | ColumnResult | ((cols: Record<string, ColumnValues>, valid: Record<string, Uint8Array | null>) => ColumnResult), options: { type?: DataType } = {}): DistFrame {
    if (typeof name !== 'string' || name.length === 0) throw new ArgumentError('name', 'a non-empty column name', name, world.rank);
    let d: Data;
    if (fn instanceof Expr) d = vecToData(evaluate(fn, { schema: this.schema, columns: this.columns, rows: this.localRows }), this.localRows);
    else d = toData(typeof fn === 'function' ? fn(this.valuesView(), this.validView()) : fn, this.localRows, options.type, name);
    const k = this.names.indexOf(name);
    const field = new Field(name, d.type, true);
    if (k >= 0) {
      const fields = this.schema.fields.slice();
      const cols = this.columns.slice();
      fields[k] = field;
      cols[k] = d;
      return new DistFrame(new Schema(fields), cols, this.rowCounts);
    }
    return new DistFrame(new Schema([...this.schema.fields, field]), [...this.columns, d], this.rowCounts);
  }

  // Collective operations
  // ---------------------

  /** Collective: the global number of rows. */
  async count(): Promise<number> {
    const n = await world.allreduce(new Float64Array([this.localRows]), 'SUM');
    return n[0]!;
  }

  /** Collective: the same rows in the same global order, in row blocks (as DistArray's block). */
  async rebalance(): Promise<DistFrame> {
    const counts = await world.allgather(new Float64Array([this.localRows]));
    const total = counts.reduce((a, b) => a + b, 0);
    let first = 0;
    for (let r = 0; r < world.rank; r++) first += counts[r]!;
    const p = world.size;
    const q = Math.floor(total / p);
    const extra = total % p;
    const big = extra * (q + 1);
    const dest = new Int32Array(this.localRows);
    for (let i = 0; i < dest.length; i++) {
      const g = first + i;
      dest[i] = g < big ? Math.floor(g / (q + 1)) : extra + Math.floor((g - big) / Math.max(q, 1));
    }
    const sizes = Array.from({ length: p }, (_, r) => q + (r < extra ? 1 : 0));
    return new DistFrame(this.schema, await shuffle(this.schema, this.columns, dest), sizes);
  }

  /**
   * Groups rows by the values of `keys` (nulls form a group of their own). Call `.agg()` on
   * the result. Aggregation is two-phase: each rank pre-aggregates its rows, then partial
   * results are hash-shuffled (alltoallv) to the rank owning each group and merged.
   */
  groupBy(keys: string | Expr | (string | Expr)[]): GroupedFrame {
    const ks = typeof keys === 'string' || keys instanceof Expr ? [keys] : keys;
    if (!Array.isArray(ks) || ks.length === 0) throw new ArgumentError('keys', 'a column name, an expression or a non-empty list of them', keys, world.rank);
    // Expression keys become columns named by their alias (or their text).
    let f: DistFrame = this;
    const names = ks.map((k) => {
      if (!(k instanceof Expr)) return k;
      const name = k.name ?? String(k);
      f = f.withColumn(name, k);
      return name;
    });
    names.forEach((k) => f.indexOf(k));
    return new GroupedFrame(f, names);
  }

  /**
   * Collective: rows sorted by `keys` (nulls last, or first with `nullsFirst`; NaN after numbers, as pandas; ties keep the input's
   * global order, so the sort is stable), by sample sort: local sort, P - 1 splitters from
   * every rank's samples, one alltoallv, local sort of what arrived.
   */
  async sortBy(keys: string | string[], options: { descending?: boolean | boolean[]; nullsFirst?: boolean } = {}): Promise<DistFrame> {
    const ks = (typeof keys === 'string' ? [keys] : keys).map((k) => this.indexOf(k));
    const desc = ks.map((_, j) => (Array.isArray(options.descending) ? !!options.descending[j] : !!options.descending));
    const nullsFirst = !!options.nullsFirst;
    const p = world.size;
    // Global row ids make ties break by input order.
    const before = await world.exscan(new Float64Array([this.localRows]), 'SUM');
    const base = world.rank === 0 ? 0 : before[0]!;
    const ids = new Float64Array(this.localRows);
    for (let i = 0; i < ids.length; i++) ids[i] = base + i;
    const idField = new Field('\u0000rowid', new Float64(), false);
    const schema = new Schema([...this.schema.fields, idField]);
    const cols = [...this.columns, makeData({ type: new Float64(), length: ids.length, data: ids })];
    const order = sortedOrder(cols, ks, desc, cols.length - 1, nullsFirst);
    const getters = [...ks.map((k) => valueGetter(cols[k]!)), valueGetter(cols[cols.length - 1]!)];
    const tuple = (i: number): KeyValue[] => getters.map((g) => {
      const v = g(i);
      return typeof v === 'bigint' ? Number(v) : v; // splitters only need to be order-consistent
    });
    const cmp = tupleCompare([...desc, false], nullsFirst);
    let dest = new Int32Array(this.localRows);
    if (p > 1) {
      const samples: KeyValue[][] = [];
      const n = order.length;
      for (let s = 1; s < p && n > 0; s++) samples.push(tuple(order[Math.floor((s * n) / p)]!));
      const all = (await world.allgatherObject(samples)).flat();
      all.sort(cmp);
      const splitters: KeyValue[][] = [];
      for (let s = 1; s < p && all.length > 0; s++) splitters.push(all[Math.floor((s * all.length) / p)]!);
      let d = 0;
      for (let j = 0; j < order.length; j++) {
        const i = order[j]!;
        const t = tuple(i);
        while (d < splitters.length && cmp(t, splitters[d]!) >= 0) d++;
        dest[order[j]!] = d;
      }
    } else dest = new Int32Array(this.localRows);
    const got = await shuffle(schema, cols, dest);
    const sorted = sortedOrder(got, ks, desc, got.length - 1, nullsFirst);
    return new DistFrame(this.schema, got.slice(0, -1).map((c) => take(c, sorted)));
  }

  /**
   * Collective: joins with `other` on equal values of the key columns (`on`, or
   * `{ leftOn, rightOn }`; several columns make a composite key; null keys never match).
   * `how`: 'inner' (default), 'left', 'right', 'full' (or 'outer'): the unmatched rows of
   * that side with nulls for the other's columns; 'semi' / 'anti': the left rows with / without
   * a match (left columns only, each row once); 'cross': every pair (no keys). Columns: the
   * left's, then the right's (names that clash get `suffix`, default '_right'); with `on`, a
   * key column appears once (coalesced from both sides in right and full joins). The rows meet
   * by a hash shuffle of both frames or a broadcast of the smaller, whichever the cost model
   * predicts faster (`strategy` forces one).
   * @throws {ArgumentError} on every rank: a key column that does not exist
   * @throws {SchemaMismatchError} on every rank: key columns of different kinds (string vs int, int vs float)
   */
  async join(other: DistFrame, on?: string | string[] | JoinOptions, options: JoinOptions = {}): Promise<DistFrame> {
    if (typeof on === 'object' && on !== null && !Array.isArray(on)) return joinFrames(this, other, undefined, on);
    return joinFrames(this, other, on, options);
  }

  /**
   * Collective: an as-of join (polars' `join_asof`, DuckDB's `ASOF JOIN`): each left row with
   * the right row whose `on` value is the largest at most the left's (strategy 'backward'),
   * among the right rows with equal `by` values; null `on` or `by` values never match (the
   * right columns are null there); of right rows with equal `on`, the last in the right
   * frame's order. Columns: the left's, then the right's other than `on` and `by` (clashes get
   * `suffix`). The result has the left's rows in the left's order, which must be sorted by
   * `on` over the ranks: a left frame that is not is sorted first (sortBy(on)); the right
   * frame may be in any order. Moves the right rows once (to the rank whose left rows reach
   * them) and allgathers each rank's last right row per key.
   * @example await trades.joinAsof(quotes, { on: 't', by: 'sym' })
   * @throws {ArgumentError} on every rank: a column missing, `on` not numeric/timestamp/date, another strategy
   * @throws {SchemaMismatchError} on every rank: `on` or `by` of different kinds in the two frames
   */
  async joinAsof(other: DistFrame, options: AsofOptions): Promise<DistFrame> {
    return joinAsofFrames(this, other, options);
  }

  /**
   * Collective: the rows sorted by the spec's partition keys then order keys (stable: ties keep
   * input order; nulls last), with one column added per entry of `fns` (a name already there is
   * replaced). A partition that spans ranks gives what one process gives.
   * @example await frame.window(partitionBy('g').orderBy('t'), { rn: rowNumber(), prev: lag('x'), s: cumSum('x'), m: rollingMean('x', 3) })
   * @throws {ArgumentError} on every rank: a column the frame does not have, named
   */
  async window(spec: WindowSpec, fns: Record<string, WindowFn>): Promise<DistFrame> {
    return windowFrame(this, spec, fns);
  }

  /** Local: the rows without a null in `subset` (default: every column); `how: 'all'` drops only rows null in all of them. */
  dropna(options: { subset?: string | string[]; how?: 'any' | 'all' } = {}): DistFrame {
    return dropna(this, options);
  }

  /**
   * Local: nulls replaced by `value`: one value for every column of its kind (numbers for
   * numeric columns, strings for string ones, booleans for bool), or `{ column: value }`.
   * Numeric columns keep their type; dictionary columns become utf8.
   */
  fillna(value: number | string | boolean | bigint | Record<string, number | string | boolean | bigint | null>): DistFrame {
    return fillna(this, value);
  }

  /**
   * Collective: one row per distinct value of `subset` (default: every column), the first in
   * global order (or the last, `keep: 'last'`); nulls equal nulls. Rows move by key hash, so
   * the result's rows are in no particular order across ranks.
   */
  async dropDuplicates(options: { subset?: string | string[]; keep?: 'first' | 'last' } = {}): Promise<DistFrame> {
    return dropDuplicates(this, options);
  }

  /**
   * Collective: the rows of every frame in order (this frame's, then each of `others'`), in
   * row blocks over the ranks. Schemas must agree (names and types).
   * @throws {SchemaMismatchError} on every rank if they do not
   */
  static async concat(frames: DistFrame[]): Promise<DistFrame> {
    await loadArrow();
    return concatFrames(frames);
  }

  /** Collective: the first `n` rows in global order, as an Arrow table on every rank. */
  async head(n = 5): Promise<Table> {
    const counts = await world.allgather(new Float64Array([this.localRows]));
    let before = 0;
    for (let r = 0; r < world.rank; r++) before += counts[r]!;
    const mine = Math.max(0, Math.min(this.localRows, n - before));
    const idx = new Int32Array(mine);
    for (let i = 0; i < mine; i++) idx[i] = i;
    const parts = await world.allgatherObject(encodeColumns(this.schema, this.columns.map((c) => take(c, idx))));
    const cols = parts.map(decodeColumns);
    return toTable(this.schema, this.schema.fields.map((f, k) => concat(f.type, cols.map((c) => c[k]!))));
  }

  /**
   * Collective: summary statistics of every numeric (int, float, bool, timestamp) column,
   * the same on every rank: count of non-null values, nulls, mean, std (sample, n - 1), min, max.
   */
  async describe(): Promise<Record<string, { count: number; nulls: number; mean: number; std: number; min: number; max: number }>> {
    const ks = this.schema.fields.map((f, k) => [f, k] as const).filter(([f]) => familyOf(f.type) === 'fixed' || familyOf(f.type) === 'bool');
    const m = ks.length;
    const sums = new Float64Array(3 * m); // count, nulls, sum
    const lo = new Float64Array(m).fill(Infinity);
    const hi = new Float64Array(m).fill(-Infinity);
    const nums = ks.map(([, k]) => numberGetter(this.columns[k]!));
    ks.forEach(([, k], j) => {
      const d = this.columns[k]!;
      const get = nums[j]!;
      for (let i = 0; i < d.length; i++) {
        if (!isValid(d, i)) { sums[3 * j + 1]!++; continue; }
        const v = get(i);
        sums[3 * j]!++;
        sums[3 * j + 2]! += v;
        if (v < lo[j]! || Number.isNaN(v)) lo[j] = Number.isNaN(lo[j]!) ? lo[j]! : v;
        if (v > hi[j]! || Number.isNaN(v)) hi[j] = Number.isNaN(hi[j]!) ? hi[j]! : v;
      }
    });
    const [S, LO, HI] = await Promise.all([world.allreduce(sums, 'SUM'), world.allreduce(lo, 'MIN'), world.allreduce(hi, 'MAX')]);
    const sq = new Float64Array(m);
    ks.forEach(([, k], j) => {
      const d = this.columns[k]!;
      const mean = S[3 * j + 2]! / S[3 * j]!;
      const get = nums[j]!;
      for (let i = 0; i < d.length; i++) if (isValid(d, i)) sq[j]! += (get(i) - mean) ** 2;
    });
    const SQ = await world.allreduce(sq, 'SUM');
    const out: Record<string, { count: number; nulls: number; mean: number; std: number; min: number; max: number }> = {};
    ks.forEach(([f], j) => {
      const count = S[3 * j]!;
      out[f.name] = {
        count, nulls: S[3 * j + 1]!, mean: count > 0 ? S[3 * j + 2]! / count : NaN,
        std: count > 1 ? Math.sqrt(SQ[j]! / (count - 1)) : NaN,
        min: count > 0 ? LO[j]! : NaN, max: count > 0 ? HI[j]! : NaN,
      };
    });
    return out;
  }

  /** Collective: the whole table on `root` (rank order is row order), undefined elsewhere. */
  async toArrow(root = 0): Promise<Table | undefined> {
    const bytes = encodeColumns(this.schema, this.columns);
    const parts = world.size > 1 ? await world.gatherObject(bytes, root) : [bytes];
    if (!parts) return undefined;
    const cols = parts.map((b, r) => (r === world.rank ? this.columns : decodeColumns(b)));
    return toTable(this.schema, this.schema.fields.map((f, k) => concat(f.type, cols.map((c) => c[k]!))));
  }

  /**
   * Collective: a numeric column without nulls as a 1-D DistArray in block layout (rows in
   * global order), so DistArray's operations apply.
   */
  async toDistArray(name: string): Promise<DistArray> {
    const d = this.columns[this.indexOf(name)]!;
    const dtype = dtypeOfArrow(d.type);
    if (!dtype || d.nullCount > 0) throw new ArgumentError(name, 'a numeric column without nulls', String(d.type), world.rank);
    const counts = await world.allgather(new Float64Array([this.localRows]));
    const total = counts.reduce((a, b) => a + b, 0);
    let start = 0;
    for (let r = 0; r < world.rank; r++) start += counts[r]!;
    const a = await DistArray.zeros([total], { dtype, dist: block([total], world.size) });
    const values = (d.values as TypedArray).subarray(0, d.length) as TypedArray;
    await a.set(d.length > 0 ? { start: [start], count: [d.length] } : undefined, d.length > 0 ? values : undefined);
    return a;
  }

  toString(): string {
    return `DistFrame(rank ${world.rank}/${world.size}, ${this.localRows} local rows; ${this.schema.fields.map((f) => `${f.name}: ${f.type}`).join(', ')})`;
  }

  // Internals
  // ---------

  /** Column k's DistArray over its own memory, if it is numeric and the row counts are known. */
  private arrayOf(k: number): DistArray | undefined {
    let a = this.arrays.get(k);
    if (a || !this.rowCounts) return a;
    const d = this.columns[k]!;
    const dtype = dtypeOfArrow(d.type);
    if (!dtype) return undefined;
    const total = this.rowCounts.reduce((x, y) => x + y, 0);
    const values = (d.values as TypedArray).subarray(0, d.length) as TypedArray;
    a = DistArray.wrapLocal(values, irregularBlock([total], this.rowCounts), dtype);
    this.arrays.set(k, a);
    return a;
  }

  /** @internal */
  indexOf(name: string): number {
    const k = this.schema.fields.findIndex((f) => f.name === name);
    if (k < 0) throw new ArgumentError('column', `one of ${this.names.join(', ') || '(no columns)'}`, name, world.rank);
    return k;
  }

  private valuesView(): Record<string, ColumnValues> {
    const view: Record<string, ColumnValues> = {};
    this.schema.fields.forEach((f, k) => {
      let cached: ColumnValues | undefined;
      Object.defineProperty(view, f.name, { enumerable: true, get: () => (cached ??= localValues(this.columns[k]!)) });
    });
    return view;
  }

  private validView(): Record<string, Uint8Array | null> {
    const view: Record<string, Uint8Array | null> = {};
    this.schema.fields.forEach((f, k) => {
      let cached: Uint8Array | null | undefined;
      Object.defineProperty(view, f.name, { enumerable: true, get: () => (cached === undefined ? (cached = validBytes(this.columns[k]!)) : cached) });
    });
    return view;
  }
}

/** The result of `frame.groupBy(keys)`: call `agg`. */
export class GroupedFrame {
  constructor(readonly frame: DistFrame, readonly keys: readonly string[]) {}

  /**
   * The counts of `agg` with decomposable ops (sum, mean, min, max, count) over `columns` value
   * columns, per superstep, for bsp.predict({ steps }) (core/cost/counts.ts, groupByCounts).
   * `groups`: distinct keys over the frame (an estimate); `rows`: rows of the largest rank
   * (default: this rank's). Local: no communication.
   * @example bsp.predict({ steps: frame.groupBy('k').cost({ columns: 2, groups: 1000 }) })
   */
  cost(options: { columns: number; groups: number; rows?: number }): SuperstepCounts[] {
    return groupByCounts({ rows: options?.rows ?? this.frame.localRows, keys: this.keys.length, columns: options?.columns, groups: options?.groups, p: world.size });
  }

  /**
   * Collective: one row per group: the key columns, then one column per entry of `spec`:
   * - `{ x: 'sum' }`: column x = sum of x (likewise mean, min, max, count)
   * - `{ x: ['sum', 'max'] }`: columns x_sum, x_max
   * - `{ n: { op: 'count' } }`: n = rows in the group; `{ t: { col: 'x', op: 'mean' } }`: t = mean of x
   * - `{ xs: { col: 'x', op: 'list' } }`: xs = a List column of each group's x values in input
   *   order, nulls kept as null items (polars' `agg(pl.col('x'))`, DuckDB's `list(x)`)
   * sum, mean, min, max are float64 and null when a group has no non-null value; count
   * (non-null values, or rows) is int32. Groups are spread over the ranks by key hash.
   */
  async agg(spec: Record<string, AggOp | AggOp[] | AggSpec>): Promise<DistFrame> {
    let f = this.frame;
    // Expression inputs become hidden columns first.
    if (typeof spec === 'object' && spec !== null) {
      const plain: Record<string, AggOp | AggOp[] | AggSpec> = {};
      for (const [name, v] of Object.entries(spec)) {
        if (typeof v === 'object' && v !== null && !Array.isArray(v) && v.col instanceof Expr) {
          const hidden = `\u0000agg:${name}`;
          f = f.withColumn(hidden, v.col);
          plain[name] = { col: hidden, op: v.op, q: v.q };
        } else plain[name] = v;
      }
      spec = plain;
    }
    const outs = parseSpec(spec, f);
    const keyIdx = this.keys.map((k) => f.indexOf(k));
    if (outs.some((o) => (kHolisticOps as readonly string[]).includes(o.op))) {
      const r = await aggregateRows(f.schema, f.columns, keyIdx, outs, hashDest(f.columns, keyIdx));
      return new DistFrame(r.schema, r.columns);
    }
    const cols = [...new Set(outs.map((o) => o.col).filter((c): c is string => c !== undefined))];
    const colIdx = cols.map((c) => f.indexOf(c));
    const needsNum = cols.map((c) => outs.some((o) => o.col === c && o.op !== 'count'));
    colIdx.forEach((k, j) => {
      const fam = familyOf(f.schema.fields[k]!.type);
      if (needsNum[j] && fam !== 'fixed' && fam !== 'bool') throw new ArgumentError(`spec (column ${cols[j]})`, 'a numeric column for sum/mean/min/max (count works on any)', String(f.schema.fields[k]!.type), world.rank);
    });
    // Phase 1: local pre-aggregation into partials (keys, rows, per column: n, sum, min, max).
    const partial = partialAggregate(f, keyIdx, colIdx, needsNum);
    // Phase 2: partials go to the rank owning each group's key hash; merge there.
    const pSchema = partialSchema(f, keyIdx, cols);
    const nk = keyIdx.length;
    const got = await shuffle(pSchema, partial, hashDest(partial, keyIdx.map((_, j) => j)));
    const merged = groupIds(got.slice(0, nk), got[0]?.length ?? 0);
    const g = merged.count;
    const rows = new Float64Array(g);
    const rowsIn = got[nk]!.values as Float64Array;
    for (let i = 0; i < merged.gid.length; i++) rows[merged.gid[i]!]! += rowsIn[i]!;
    const acc = cols.map((_, j) => {
      const [n, s, lo, hi] = [0, 1, 2, 3].map((q) => got[nk + 1 + 4 * j + q]!.values as Float64Array);
      const a = emptyPartial(g);
      mergePartial(a, merged.gid, { n: n!, s: s!, lo: lo!, hi: hi! });
      return a;
    });
    const fields = keyIdx.map((k) => f.schema.fields[k]!);
    const out = got.slice(0, nk).map((c) => take(c, merged.first));
    for (const o of outs) {
      if (o.col === undefined) {
        fields.push(new Field(o.name, new Int32(), false));
        out.push(makeData({ type: new Int32(), length: g, data: Int32Array.from(rows) }));
        continue;
      }
      const a = acc[cols.indexOf(o.col)]!;
      if (o.op === 'count') {
        fields.push(new Field(o.name, new Int32(), false));
        out.push(makeData({ type: new Int32(), length: g, data: Int32Array.from(a.n) }));
        continue;
      }
      const v = new Float64Array(g);
      for (let x = 0; x < g; x++) v[x] = o.op === 'sum' ? a.s[x]! : o.op === 'mean' ? a.s[x]! / a.n[x]! : o.op === 'min' ? a.lo[x]! : a.hi[x]!;
      const [bm, nulls] = packBits(g, (x) => a.n[x]! > 0);
      fields.push(new Field(o.name, new Float64(), true));
      out.push(makeData({ type: new Float64(), length: g, data: v, nullCount: nulls, nullBitmap: nulls > 0 ? bm : undefined }));
    }
    return new DistFrame(new Schema(fields), out);
  }
}

// Helpers
// -------

function partialSchema(f: DistFrame, keyIdx: number[], cols: string[]): Schema {
  const fields = keyIdx.map((k) => f.schema.fields[k]!);
  fields.push(new Field('\u0000rows', new Float64(), false));
  for (const c of cols) for (const q of ['n', 's', 'lo', 'hi']) fields.push(new Field(`\u0000${q}:${c}`, new Float64(), false));
  return new Schema(fields);
}

function partialAggregate(f: DistFrame, keyIdx: number[], colIdx: number[], needsNum: boolean[]): Data[] {
  const table = new GroupTable(keyIdx.map((k) => f.columns[k]!), f.localRows);
  const inputs = colIdx.map((k, j) => {
    const d = f.columns[k]!;
    return { values: needsNum[j] ? numbersOf(d) : null, nulls: d.nullCount > 0 && d.nullBitmap ? d.nullBitmap : null };
  });
  const { rows, partials } = aggregateLocal(table, inputs, f.localRows);
  const m = table.count;
  const first = table.firstRows();
  const out: Data[] = keyIdx.map((k) => take(f.columns[k]!, first));
  out.push(makeData({ type: new Float64(), length: m, data: rows }));
  for (const a of partials) for (const q of [a.n, a.s, a.lo, a.hi]) out.push(makeData({ type: new Float64(), length: m, data: q }));
  return out;
}

/** A numeric column's values as numbers: the typed array itself, or converted (bool, 64-bit ints). */
function numbersOf(d: Data): ArrayLike<number> {
  const v = d.values as unknown as ArrayLike<number | bigint>;
  if (familyOf(d.type) === 'fixed' && !(v instanceof BigInt64Array || v instanceof BigUint64Array)) return v as ArrayLike<number>;
  const get = numberGetter(d);
  const out = new Float64Array(d.length);
  for (let i = 0; i < out.length; i++) out[i] = get(i);
  return out;
}

function parseSpec(spec: Record<string, AggOp | AggOp[] | AggSpec>, f: DistFrame): { name: string; col: string | undefined; op: AggOp; q?: number }[] {
  if (typeof spec !== 'object' || spec === null || Object.keys(spec).length === 0) throw new ArgumentError('spec', "an object such as { x: 'sum', n: { op: 'count' } }", spec, world.rank);
  const out: { name: string; col: string | undefined; op: AggOp; q?: number }[] = [];
  const check = (op: unknown, where: string): AggOp => {
    if (!kAggOps.includes(op as AggOp)) throw new ArgumentError(where, `one of ${kAggOps.join(', ')}`, op, world.rank);
    return op as AggOp;
  };
  for (const [name, v] of Object.entries(spec)) {
    if (typeof v === 'string' && v === 'quantile') throw new ArgumentError(`spec.${name}`, "{ op: 'quantile', q } (quantile needs q)", v, world.rank);
    if (typeof v === 'string') out.push({ name, col: name, op: check(v, `spec.${name}`) });
    else if (Array.isArray(v)) for (const op of v) out.push({ name: `${name}_${check(op, `spec.${name}`)}`, col: name, op });
    else if (typeof v === 'object' && v !== null) {
      const op = check(v.op, `spec.${name}.op`);
      const col = v.col === undefined || v.col === '*' ? undefined : (v.col as string);
      if (col === undefined && op !== 'count') throw new ArgumentError(`spec.${name}.col`, `a column name for ${op}`, v.col, world.rank);
      out.push({ name, col, op, q: v.q });
    } else throw new ArgumentError(`spec.${name}`, 'an op name, a list of op names or { col, op }', v, world.rank);
  }
  for (const o of out) if (o.col !== undefined) f.indexOf(o.col);
  return out;
}

/** Destination rank of each row: hash of its key values mod P. */
function hashDest(cols: readonly Data[], keys: readonly number[]): Int32Array {
  const n = cols[0]?.length ?? 0;
  const p = world.size;
  const dest = new Int32Array(n);
  if (p === 1) return dest;
  const gets = keys.map((k) => {
    const d = cols[k]!;
    if (familyOf(d.type) === 'dict') {
      // Hash each dictionary string once, not once per row.
      const hs = dictStrings(d).map((s) => hashValue(s));
      const idx = d.values as unknown as { [i: number]: number };
      return (i: number, h: number) => (isValid(d, i) ? hashMix(h, hs[idx[i]!]!) : hashValue(null, h));
    }
    const get = valueGetter(d);
    return (i: number, h: number) => hashValue(get(i), h);
  });
  for (let i = 0; i < n; i++) {
    let h = 0x811c9dc5;
    for (const g of gets) h = g(i, h);
    dest[i] = h % p;
  }
  return dest;
}

function hashMix(h: number, x: number): number {
  return hashValue(x, h);
}

function tupleCompare(desc: readonly boolean[], nullsFirst = false): (a: KeyValue[], b: KeyValue[]) => number {
  const nul = nullsFirst ? -1 : 1;
  return (a, b) => {
    for (let j = 0; j < a.length; j++) {
      const x = a[j]!;
      const y = b[j]!;
      if (x === null || y === null) {
        if (x !== y) return x === null ? nul : -nul; // nulls last (or first) in either direction
        continue;
      }
      const c = compareValues(x, y);
      if (c !== 0) return desc[j] ? -c : c;
    }
    return 0;
  };
}

/** Row order of `cols` by key columns `ks` (then the row-id column `idCol`, ascending). */
function sortedOrder(cols: readonly Data[], ks: readonly number[], desc: readonly boolean[], idCol: number, nullsFirst = false): Int32Array {
  const n = cols[0]?.length ?? 0;
  const keyVals = [...ks, idCol].map((k) => {
    const get = valueGetter(cols[k]!);
    const arr: KeyValue[] = new Array(n);
    for (let i = 0; i < n; i++) arr[i] = get(i);
    return arr;
  });
  const cmp = tupleCompare([...desc, false], nullsFirst);
  const nul = nullsFirst ? -1 : 1;
  const order = new Int32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  const row = (i: number) => keyVals.map((v) => v[i]!);
  // One numeric key: compare without building tuples.
  if (ks.length === 1 && keyVals[0]!.every((v) => typeof v === 'number' || v === null)) {
    const v = keyVals[0]! as (number | null)[];
    const id = keyVals[1]! as number[];
    const sgn = desc[0] ? -1 : 1;
    order.sort((a, b) => {
      const x = v[a]!;
      const y = v[b]!;
      if (x === null || y === null) {
        if (x !== y) return x === null ? nul : -nul;
      } else {
        const c = compareValues(x, y);
        if (c !== 0) return sgn * c;
      }
      return id[a]! - id[b]!;
    });
    return order;
  }
  order.sort((a, b) => cmp(row(a), row(b)));
  return order;
}

/** A column's values as numbers (bool 0/1, bigints converted). */
export function numberGetter(d: Data): (i: number) => number {
  if (familyOf(d.type) === 'bool') {
    const v = d.values as Uint8Array;
    return (i) => (v[i >> 3]! >> (i & 7)) & 1;
  }
  const v = d.values as unknown as { [i: number]: number | bigint };
  return (i) => Number(v[i]!);
}

/** A column's local values for filter/withColumn functions. */
function localValues(d: Data): ColumnValues {
  const fam = familyOf(d.type);
  if (fam === 'fixed') return (d.values as TypedArray).subarray(0, d.length) as TypedArray;
  if (fam === 'bool') {
    const out = new Uint8Array(d.length);
    const v = d.values as Uint8Array;
    for (let i = 0; i < d.length; i++) out[i] = (v[i >> 3]! >> (i & 7)) & 1;
    return out;
  }
  const get = valueGetter(d);
  const out: (string | null)[] = new Array(d.length);
  for (let i = 0; i < d.length; i++) out[i] = get(i) as string | null;
  return out;
}

function boolData(bytes: Uint8Array, valid: ArrayLike<number | boolean> | null): Data {
  const n = bytes.length;
  const [bits] = packBits(n, (i) => bytes[i] !== 0);
  if (!valid) return makeData({ type: new Bool(), length: n, data: bits });
  const [bm, nulls] = packBits(n, (i) => !!valid[i]);
  return makeData({ type: new Bool(), length: n, data: bits, nullCount: nulls, nullBitmap: nulls > 0 ? bm : undefined });
}

/** The Arrow type of a typed array. */
function arrowTypeOf(a: ArrayBufferView, dtype?: DType): DataType {
  switch (dtype ?? dtypeOf(a)) {
    case 'float64': return new Float64();
    case 'float32': return new Float32();
    case 'int8': return new Int8();
    case 'int16': return new Int16();
    case 'int32': return new Int32();
    case 'int64': return new Int64();
    case 'uint8': case 'uint8c': return new Uint8();
    case 'uint16': return new Uint16();
    case 'uint32': return new Uint32();
    case 'uint64': return new Uint64();
    case 'bool': return new Bool();
    default: throw new ArgumentError('values', 'a typed array', a);
  }
}

/** superstep dtype of a numeric Arrow type (timestamps are int64). */
function dtypeOfArrow(t: DataType): DType | undefined {
  if (t.typeId === Type.Timestamp) return 'int64';
  if (familyOf(t) !== 'fixed') return undefined;
  const d = dtypeOf(new (t as unknown as { ArrayType: new (n: number) => TypedArray }).ArrayType(0));
  return d;
}

function toData(res: ColumnResult, n: number, type: DataType | undefined, name: string): Data {
  if (Array.isArray(res)) {
    if (res.length !== n) throw new ArgumentError(name, `${n} values (one per local row)`, res.length, world.rank);
    if (type && type.typeId === Type.Dictionary) return vectorFromArray(res, type as never).data[0] as Data;
    return vectorFromArray(res as (string | null)[], new Utf8()).data[0] as Data;
  }
  const values = ArrayBuffer.isView(res) ? (res as TypedArray) : (res as { values: TypedArray }).values;
  const valid = ArrayBuffer.isView(res) ? null : ((res as { valid?: ArrayLike<number | boolean> | null }).valid ?? null);
  if (!ArrayBuffer.isView(values) || !dtypeOf(values) || values.length !== n) throw new ArgumentError(name, `a typed array of ${n} values (one per local row)`, values, world.rank);
  if (valid && valid.length !== n) throw new ArgumentError(`${name}.valid`, `${n} validity values`, valid.length, world.rank);
  const t = type ?? arrowTypeOf(values);
  if (t.typeId === Type.Bool) return boolData(values as Uint8Array, valid);
  const Ctor = (t as unknown as { ArrayType: new (n: number) => TypedArray }).ArrayType;
  const data = values.constructor === Ctor ? values : (() => { throw new ArgumentError(name, `values of ${Ctor.name} for type ${t}`, values, world.rank); })();
  if (!valid) return makeData({ type: t as never, length: n, data: data as never } as never);
  const [bm, nulls] = packBits(n, (i) => !!valid[i]);
  return makeData({ type: t as never, length: n, data: data as never, nullCount: nulls, nullBitmap: nulls > 0 ? bm : undefined } as never);
}

/** Fingerprint of a schema: names, types, nullability (dictionary ids ignored). */
export function schemaKey(schema: Schema): string {
  return schema.fields.map((f) => `${JSON.stringify(f.name)}:${String(f.type)}:${f.nullable ? 'null' : 'nonnull'}`).join(', ');
}

/** Collective: every rank's row count. */
async function rowCountsOf(rows: number): Promise<number[]> {
  return Array.from(await world.allgather(Float64Array.of(rows)));
}

/**
 * Collective: every rank's schema agrees by names and types (SchemaMismatchError on every
 * rank otherwise), and every rank's row count, in one allgather. The schema returned is the
 * same on every rank: a field is nullable if it is on any rank (Arrow's schema unification).
 */
async function agreeSchemas(schema: Schema, rows: number, what = 'tables'): Promise<{ schema: Schema; counts: number[] }> {
  const typesOnly = schemaKey(new Schema(schema.fields.map((f) => new Field(f.name, f.type, true))));
  const all = await world.allgatherObject([typesOnly, schema.fields.map((f) => f.nullable), rows] as const);
  const r = all.findIndex(([k]) => k !== all[0]![0]);
  if (r >= 0) throw new SchemaMismatchError(`the ranks' ${what} have different schemas: rank 0 has {${all[0]![0]}}, rank ${r} has {${all[r]![0]}}`, world.rank);
  const fields = schema.fields.map((f, k) => {
    const nullable = all.some(([, n]) => n[k]);
    return nullable === f.nullable ? f : new Field(f.name, f.type, nullable, f.metadata);
  });
  return { schema: new Schema(fields, schema.metadata), counts: all.map(([, , n]) => n) };
}

/** Collective: every rank's schema must be the same. */
export async function checkSchemas(schema: Schema, what = 'tables'): Promise<void> {
  const keys = await world.allgatherObject(schemaKey(schema));
  const r = keys.findIndex((k) => k !== keys[0]);
  if (r >= 0) throw new SchemaMismatchError(`the ranks' ${what} have different schemas: rank 0 has {${keys[0]}}, rank ${r} has {${keys[r]}}`, world.rank);
}

