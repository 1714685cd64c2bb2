/**
 * @internal What pandas users reach for first: dropna, fillna (local), dropDuplicates and
 * concat (collective).
 */
import { Field, Float64, Schema, makeData } from '../util/arrow.js';
import { world } from '../comm/comm.js';
import { ArgumentError, SchemaMismatchError } from '../util/errors.js';
import { DistFrame, schemaKey } from './frame.js';
import { col, evaluate, vecToData, type Scalar } from './frame-expr.js';
import { shuffle } from './frame-ipc.js';
import { concat, emptyData, familyOf, fillBytes, fillDict, fillFixed, hashValue, isValid, keyString, take, valueGetter } from './frame-kernels.js';

function subsetOf(f: DistFrame, subset: string | string[] | undefined, what: string): number[] {
  const names = subset === undefined ? f.names : typeof subset === 'string' ? [subset] : subset;
  if (!Array.isArray(names)) throw new ArgumentError(what, 'a column name or a list of names', subset, world.rank);
  return names.map((n) => f.indexOf(n));
}

/** Local: rows without a null in `subset` (default every column); `how: 'all'` drops rows null in all of them. */
export function dropna(f: DistFrame, options: { subset?: string | string[]; how?: 'any' | 'all' }): DistFrame {
  const ks = subsetOf(f, options.subset, 'options.subset');
  const how = options.how ?? 'any';
  if (how !== 'any' && how !== 'all') throw new ArgumentError('options.how', "'any' or 'all'", how, world.rank);
  const cols = ks.map((k) => f.columns[k]!).filter((d) => d.nullCount > 0);
  if (cols.length === 0 && how === 'any') return f;
  const keep: number[] = [];
  for (let i = 0; i < f.localRows; i++) {
    let nulls = 0;
    for (const d of cols) if (!isValid(d, i)) nulls++;
    if (how === 'any' ? nulls === 0 : ks.length === 0 || nulls < ks.length) keep.push(i);
  }
  const idx = Int32Array.from(keep);
  return new DistFrame(f.schema, f.columns.map((c) => take(c, idx)));
}

/** Local: nulls replaced by `value` (one for every column of its kind, or per column name). */
export function fillna(f: DistFrame, value: Scalar | Record<string, Scalar>): DistFrame {
  const per = typeof value === 'object' && value !== null ? (value as Record<string, Scalar>) : undefined;
  if (per) Object.keys(per).forEach((n) => f.indexOf(n));
  const cols = [...f.columns];
  const input = { schema: f.schema, columns: f.columns, rows: f.localRows };
  // Every decision here depends on the schema and the value only, never on this rank's rows:
  // each rank's chunk must keep the type (and raise the errors) the others do.
  f.schema.fields.forEach((fld, k) => {
    const v = per ? per[fld.name] : (value as Scalar);
    if (v === undefined || v === null) return;
    const fam = familyOf(fld.type, fld.name);
    const fits = fam === 'utf8' || fam === 'dict' ? typeof v === 'string' : fam === 'bool' ? typeof v === 'boolean' : typeof v === 'number' || typeof v === 'bigint';
    if (!fits) {
      if (per) throw new ArgumentError(`value.${fld.name}`, `a fill value of the column's kind (${fld.type})`, v, world.rank);
      return; // one value for all: columns of another kind keep their nulls, as in pandas
    }
    if (f.columns[k]!.nullCount === 0) return;
    // Every column keeps its type: a dictionary one finds the value in (or adds it to) this
    // rank's own dictionary; utf8 and binary ones take its bytes; numbers are stored as the
    // column's typed array stores them.
    if (fam === 'dict') cols[k] = fillDict(f.columns[k]!, v as string, world.rank);
    else if (fam === 'utf8') cols[k] = fillBytes(f.columns[k]!, v as string);
    else if (fam === 'fixed') cols[k] = fillFixed(f.columns[k]!, v as number | bigint);
    else cols[k] = vecToData({ ...evaluate(col(fld.name).fillNull(v), input), src: undefined }, f.localRows);
  });
  return new DistFrame(f.schema, cols);
}

/**
 * Collective: one row per distinct value of `subset` (default every column): the first of
 * each in global order (`keep: 'first'`) or the last. Rows go to the rank owning their key's
 * hash (one alltoallv); the result is in no particular order across ranks.
 */
export async function dropDuplicates(f: DistFrame, options: { subset?: string | string[]; keep?: 'first' | 'last' }): Promise<DistFrame> {
  const ks = subsetOf(f, options.subset, 'options.subset');
  const keep = options.keep ?? 'first';
  if (keep !== 'first' && keep !== 'last') throw new ArgumentError('options.keep', "'first' or 'last'", keep, world.rank);
  const before = world.size > 1 ? await world.exscan(Float64Array.of(f.localRows), 'SUM') : Float64Array.of(0);
  const base = world.rank === 0 ? 0 : before[0]!;
  const ids = new Float64Array(f.localRows);
  for (let i = 0; i < ids.length; i++) ids[i] = base + i;
  const schema = new Schema([...f.schema.fields, new Field('\u0000rowid', new Float64(), false)]);
  const cols = [...f.columns, makeData({ type: new Float64(), length: ids.length, data: ids })];
  const gets = ks.map((k) => valueGetter(cols[k]!));
  const dest = new Int32Array(f.localRows);
  for (let i = 0; i < dest.length; i++) {
    let h = 0x811c9dc5;
    for (const g of gets) h = hashValue(g(i), h);
    dest[i] = h % world.size;
  }
  const got = await shuffle(schema, cols, dest);
  const n = got[0]?.length ?? 0;
  const rgets = ks.map((k) => valueGetter(got[k]!));
  const rid = got[got.length - 1]!.values as Float64Array;
  const best = new Map<string, number>();
  for (let i = 0; i < n; i++) {
    const key = keyString(rgets.map((g) => g(i)));
    const j = best.get(key);
    if (j === undefined || (keep === 'first' ? rid[i]! < rid[j]! : rid[i]! > rid[j]!)) best.set(key, i);
  }
  const idx = Int32Array.from([...best.values()].sort((a, b) => rid[a]! - rid[b]!));
  return new DistFrame(f.schema, got.slice(0, -1).map((c) => take(c, idx)));
}

/**
 * Collective: the rows of every frame, in order (all of the first frame's rows, then the
 * second's, ...), in row blocks over the ranks. Schemas must agree (names and types).
 */
export async function concatFrames(frames: readonly DistFrame[]): Promise<DistFrame> {
  if (!Array.isArray(frames as unknown) || frames.length === 0 || frames.some((x) => !(x instanceof DistFrame))) throw new ArgumentError('frames', 'a non-empty list of DistFrames', frames, world.rank);
  const key = (s: Schema) => schemaKey(new Schema(s.fields.map((x) => new Field(x.name, x.type, true))));
  const k0 = key(frames[0]!.schema);
  frames.forEach((x, i) => {
    if (key(x.schema) !== k0) throw new SchemaMismatchError(`concat needs frames of one schema: frame 0 has {${k0}}, frame ${i} has {${key(x.schema)}}`, world.rank);
  });
  const schema = new Schema(frames[0]!.schema.fields.map((x, k) => new Field(x.name, x.type, frames.some((fr) => fr.schema.fields[k]!.nullable))));
  // Global position of every local row: frame by frame, rank by rank.
  const p = world.size;
  const counts = world.size > 1 ? await world.allgather(Float64Array.from(frames.map((x) => x.localRows))) : Float64Array.from(frames.map((x) => x.localRows));
  const nf = frames.length;
  let total = 0;
  const start: number[] = [];
  for (let j = 0; j < nf; j++) {
    for (let r = 0; r < p; r++) {
      if (r === world.rank) start[j] = total;
      total += counts[r * nf + j]!;
    }
  }
  const q = Math.floor(total / p);
  const extra = total % p;
  const blockStart = (r: number) => r * q + Math.min(r, extra);
  const owner = (g: number) => (g < extra * (q + 1) ? Math.floor(g / (q + 1)) : extra + Math.floor((g - extra * (q + 1)) / Math.max(q, 1)));
  const parts = frames.map((x) => x.columns);
  const local = schema.fields.map((fld, k) => {
    const chunks = parts.map((c) => c[k]!).filter((d) => d.length > 0);
    return chunks.length === 0 ? emptyData(fld.type) : concat(fld.type, chunks);
  });
  const pos = new Float64Array(local[0]?.length ?? frames.reduce((s, x) => s + x.localRows, 0));
  let at = 0;
  for (let j = 0; j < nf; j++) for (let i = 0; i < frames[j]!.localRows; i++) pos[at++] = start[j]! + i;
  const dest = Int32Array.from(pos, (g) => owner(g));
  const withPos = new Schema([...schema.fields, new Field('\u0000pos', new Float64(), false)]);
  const got = await shuffle(withPos, [...local, makeData({ type: new Float64(), length: pos.length, data: pos })], dest);
  const last = got[got.length - 1]!;
  const gp = (last.values as Float64Array).subarray(0, last.length);
  const order = new Int32Array(gp.length);
  const b0 = blockStart(world.rank);
  for (let i = 0; i < gp.length; i++) order[gp[i]! - b0] = i;
  const sizes = Array.from({ length: p }, (_, r) => q + (r < extra ? 1 : 0));
  return new DistFrame(schema, got.slice(0, -1).map((c) => take(c, order)), sizes);
}

