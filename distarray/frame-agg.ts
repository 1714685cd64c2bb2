/**
 * @internal groupBy aggregates that do not fold into small partials (first, last, nunique,
 * median, quantile, list: every value of the group in order, a List column) and the ones that do but need more than n/sum/min/max (std, var, any,
 * all): the rows themselves (keys, the columns asked, a global row id) go to the rank owning
 * each key's hash (one alltoallv), and each group is computed there from its rows in global
 * order. A spec with any of these ops computes all of its outputs this way.
 */
import { Bool, Data, Field, Float64, Int32, List, Schema, makeData } from '../util/arrow.js';
import { world } from '../comm/comm.js';
import { ArgumentError } from '../util/errors.js';
import { familyOf, isValid, keyString, packBits, take, valueGetter } from './frame-kernels.js';
import { shuffle } from './frame-ipc.js';
import { groupIds } from './frame-groupby.js';
import { numberGetter } from './frame.js';

export type HolisticOp = 'first' | 'last' | 'nunique' | 'std' | 'var' | 'median' | 'quantile' | 'any' | 'all' | 'list';
export const kHolisticOps: readonly HolisticOp[] = ['first', 'last', 'nunique', 'std', 'var', 'median', 'quantile', 'any', 'all', 'list'];

/** One output: name, input column (undefined: count rows), op, q for quantile. */
export interface AggOut {
  name: string;
  col: string | undefined;
  op: string;
  q?: number;
}

/** Collective: one row per group of `keys` with every output of `outs`. */
export async function aggregateRows(schema: Schema, columns: readonly Data[], keys: readonly number[], outs: readonly AggOut[], dest: Int32Array): Promise<{ schema: Schema; columns: Data[] }> {
  const index = (n: string) => schema.fields.findIndex((f) => f.name === n);
  const valueCols = [...new Set(outs.map((o) => o.col).filter((c): c is string => c !== undefined))].map(index);
  for (const o of outs) {
    if (o.col === undefined) continue;
    const fam = familyOf(schema.fields[index(o.col)]!.type);
    const numeric = fam === 'fixed' || fam === 'bool';
    if (['sum', 'mean', 'min', 'max', 'std', 'var', 'median', 'quantile'].includes(o.op) && !numeric) throw new ArgumentError(`spec (column ${o.col})`, `a numeric column for ${o.op}`, String(schema.fields[index(o.col)]!.type), world.rank);
    if ((o.op === 'any' || o.op === 'all') && fam !== 'bool') throw new ArgumentError(`spec (column ${o.col})`, `a bool column for ${o.op}`, String(schema.fields[index(o.col)]!.type), world.rank);
    if (o.op === 'quantile' && !(typeof o.q === 'number' && o.q >= 0 && o.q <= 1)) throw new ArgumentError(`spec.${o.name}.q`, 'a number in [0, 1]', o.q, world.rank);
  }
  // Global row ids, so first/last follow the frame's global order.
  const n0 = columns[0]?.length ?? 0;
  const before = world.size > 1 ? await world.exscan(Float64Array.of(n0), 'SUM') : Float64Array.of(0);
  const base = world.rank === 0 ? 0 : before[0]!;
  const ids = new Float64Array(n0);
  for (let i = 0; i < n0; i++) ids[i] = base + i;
  const moved = [...keys, ...valueCols];
  const mSchema = new Schema([...moved.map((k) => schema.fields[k]!), new Field('\u0000rowid', new Float64(), false)]);
  const got = await shuffle(mSchema, [...moved.map((k) => columns[k]!), makeData({ type: new Float64(), length: n0, data: ids })], dest);
  const n = got[0]?.length ?? 0;
  const nk = keys.length;
  const { gid, first, count: g } = groupIds(got.slice(0, nk), n);
  const rid = got[got.length - 1]!.values as Float64Array;
  // Rows by group, each group's rows in global order: a counting sort by gid of the rows sorted by id.
  const byId = Int32Array.from({ length: n }, (_, i) => i).sort((a, b) => rid[a]! - rid[b]!);
  const start = new Int32Array(g + 1);
  for (let i = 0; i < n; i++) start[gid[i]! + 1]!++;
  for (let x = 0; x < g; x++) start[x + 1]! += start[x]!;
  const order = new Int32Array(n);
  const fill = start.slice(0, g);
  for (const i of byId) order[fill[gid[i]!]!++] = i;

  const fields: Field[] = moved.slice(0, nk).map((k) => schema.fields[k]!);
  const out: Data[] = got.slice(0, nk).map((c) => take(c, first));
  const f64 = (name: string, v: Float64Array, ok: (x: number) => boolean) => {
    const [bm, nulls] = packBits(g, ok);
    fields.push(new Field(name, new Float64(), true));
    out.push(makeData({ type: new Float64(), length: g, data: v, nullCount: nulls, nullBitmap: nulls > 0 ? bm : undefined }));
  };
  const i32 = (name: string, v: Int32Array) => {
    fields.push(new Field(name, new Int32(), false));
    out.push(makeData({ type: new Int32(), length: g, data: v }));
  };
  for (const o of outs) {
    if (o.col === undefined) {
      i32(o.name, Int32Array.from({ length: g }, (_, x) => start[x + 1]! - start[x]!));
      continue;
    }
    const d = got[nk + valueCols.indexOf(index(o.col))]!;
    const vals = (x: number): number[] => {
      const r: number[] = [];
      const get = numberGetter(d);
      for (let j = start[x]!; j < start[x + 1]!; j++) {
        const i = order[j]!;
        if (isValid(d, i)) r.push(get(i));
      }
      return r;
    };
    switch (o.op) {
      case 'count': i32(o.name, Int32Array.from({ length: g }, (_, x) => vals2count(d, order, start[x]!, start[x + 1]!))); break;
      case 'first':
      case 'last': {
        const pick = new Int32Array(g).fill(-1);
        for (let x = 0; x < g; x++) {
          const [a, b, step] = o.op === 'first' ? [start[x]!, start[x + 1]!, 1] : [start[x + 1]! - 1, start[x]! - 1, -1];
          for (let j = a; j !== b; j += step) if (isValid(d, order[j]!)) { pick[x] = order[j]!; break; }
        }
        fields.push(new Field(o.name, d.type, true));
        out.push(take(d, pick));
        break;
      }
      case 'list': {
        // The group's rows are order[start[x] .. start[x + 1]), in global order: the items.
        fields.push(new Field(o.name, new List(new Field('item', d.type, true)), false));
        out.push(makeData({ type: new List(new Field('item', d.type, true)), length: g, valueOffsets: start, child: take(d, order) }));
        break;
      }
      case 'nunique': {
        const get = valueGetter(d);
        i32(o.name, Int32Array.from({ length: g }, (_, x) => {
          const seen = new Set<string>();
          for (let j = start[x]!; j < start[x + 1]!; j++) {
            const v = get(order[j]!);
            if (v !== null) seen.add(keyString([v]));
          }
          return seen.size;
        }));
        break;
      }
      case 'any':
      case 'all': {
        const v = new Uint8Array(g);
        for (let x = 0; x < g; x++) {
          const xs = vals(x);
          v[x] = +(o.op === 'any' ? xs.some((y) => y === 1) : xs.every((y) => y === 1));
        }
        fields.push(new Field(o.name, new Bool(), false));
        out.push(makeData({ type: new Bool(), length: g, data: packBits(g, (x) => v[x] === 1)[0] }));
        break;
      }
      default: {
        const v = new Float64Array(g);
        const has = new Uint8Array(g);
        for (let x = 0; x < g; x++) {
          const xs = vals(x);
          const r = reduce(o.op, xs, o.q);
          if (r !== null) { v[x] = r; has[x] = 1; }
        }
        f64(o.name, v, (x) => has[x] === 1);
      }
    }
  }
  return { schema: new Schema(fields), columns: out };
}

function vals2count(d: Data, order: Int32Array, a: number, b: number): number {
  let c = 0;
  for (let j = a; j < b; j++) if (isValid(d, order[j]!)) c++;
  return c;
}

/** sum, mean, min, max, var and std (sample, n - 1), median, quantile (linear, as pandas) of the non-null values; null for none. */
function reduce(op: string, xs: number[], q?: number): number | null {
  const n = xs.length;
  if (n === 0) return null;
  switch (op) {
    case 'sum': return xs.reduce((a, b) => a + b, 0);
    case 'mean': return xs.reduce((a, b) => a + b, 0) / n;
    case 'min': return xs.some(Number.isNaN) ? NaN : Math.min(...xs);
    case 'max': return xs.some(Number.isNaN) ? NaN : Math.max(...xs);
    case 'var':
    case 'std': {
      if (n < 2) return null;
      const m = xs.reduce((a, b) => a + b, 0) / n;
      let s = 0;
      for (const x of xs) s += (x - m) ** 2;
      return op === 'var' ? s / (n - 1) : Math.sqrt(s / (n - 1));
    }
    case 'median':
    case 'quantile': {
      const s = Float64Array.from(xs).sort();
      const pos = (op === 'median' ? 0.5 : q!) * (n - 1);
      const lo = Math.floor(pos);
      const hi = Math.min(n - 1, lo + 1);
      return s[lo]! + (s[hi]! - s[lo]!) * (pos - lo);
    }
    default: return null;
  }
}
