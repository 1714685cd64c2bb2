/**
 * @internal DistFrame joins: inner, left, right, full, semi, anti, cross; multi-column keys;
 * `on`, or `leftOn`/`rightOn`; null keys never match. Two ways to bring matching rows
 * together, chosen by the BSP cost model from the sides' byte sizes (one allgather of them):
 * - shuffle: both sides go to the rank owning each key's hash (two alltoallv), then a local
 *   hash join;
 * - broadcast: the small side goes whole to every rank (one allgather), the large side stays.
 * Predicted time of each: g·h + l per superstep, h the most words one rank sends or receives,
 * g and l from the params file of `superstep probe` (rank 0's, so every rank decides alike).
 */
import type { DataType } from 'apache-arrow';
import { Data, Field, Schema } from '../util/arrow.js';
import { world } from '../comm/comm.js';
import { resolveParams } from '../core/cost/params.js';
import { ArgumentError, SchemaMismatchError } from '../util/errors.js';
import { DistFrame } from './frame.js';
import { decodeColumns, encodeColumns, shuffle } from './frame-ipc.js';
import { concat, emptyData, familyOf, hashValue, keyString, take, valueGetter, type KeyValue } from './frame-kernels.js';

export type JoinHow = 'inner' | 'left' | 'right' | 'full' | 'outer' | 'semi' | 'anti' | 'cross';
export type JoinStrategy = 'auto' | 'shuffle' | 'broadcast';

export interface JoinOptions {
  /** Default 'inner'; 'outer' is 'full'. */
  how?: JoinHow;
  /** Key columns of the left frame (instead of `on`). */
  leftOn?: string | string[];
  /** Key columns of the right frame, paired with leftOn. */
  rightOn?: string | string[];
  /** Appended to right column names that clash with left ones. Default '_right'. */
  suffix?: string;
  /** 'auto' (default): the cost model picks; 'shuffle' or 'broadcast' force one. */
  strategy?: JoinStrategy;
}

/** How the last join on this rank ran, with the predictions that chose it. */
export interface JoinPlan {
  how: Exclude<JoinHow, 'outer'>;
  strategy: 'shuffle' | 'broadcast-left' | 'broadcast-right';
  /** Predicted seconds of the shuffle and of broadcasting each side (Infinity where not possible). */
  predicted: { shuffle: number; broadcastLeft: number; broadcastRight: number };
  /** Where g and l came from: the params file, or defaults when this machine was never probed. */
  params: 'measured' | 'extrapolated' | 'default';
}

/** @internal For tests and explain output. */
export let lastJoinPlan: JoinPlan | undefined;

const kHows: readonly JoinHow[] = ['inner', 'left', 'right', 'full', 'outer', 'semi', 'anti', 'cross'];
/** Used when `superstep probe` never ran here: about the sab backend's figures on this class of machine. */
export const kDefaultG = 1e-9;
export const kDefaultL = 2e-5;

/** The kind of a key type, for deciding whether two keys can match. */
export function keyKind(t: DataType, name: string): string {
  const fam = familyOf(t, name);
  if (fam === 'utf8' || fam === 'dict') return 'string';
  if (fam === 'bool') return 'bool';
  const s = String(t);
  if (/^u?int/i.test(s)) return 'int';
  if (/^float/i.test(s)) return 'float';
  return s; // timestamps, dates, times: the exact type
}

function names(x: string | string[] | undefined, what: string): string[] {
  if (x === undefined) return [];
  const a = typeof x === 'string' ? [x] : x;
  if (!Array.isArray(a) || a.some((k) => typeof k !== 'string')) throw new ArgumentError(what, 'a column name or a list of names', x, world.rank);
  return a;
}

/** Bytes of a frame's local columns (buffers as they are). */
function bytesOf(cols: readonly Data[]): number {
  let b = 0;
  for (const d of cols) {
    b += (d.values as ArrayBufferView | undefined)?.byteLength ?? 0;
    b += d.valueOffsets?.byteLength ?? 0;
    b += d.nullBitmap?.byteLength ?? 0;
  }
  return b;
}

/** What one way to join moves: the most bytes one rank sends or receives, in how many supersteps. */
export interface JoinShape {
  bytes: number;
  supersteps: number;
}

/**
 * What each way to join moves, from every rank's byte sizes of the two sides
 * (`sizes[r] = [left, right]`); undefined where the join kind rules a way out. Its predicted
 * time is g·bytes + supersteps·l (g per byte).
 */
export function joinShapes(sizes: readonly (readonly [number, number])[], how: Exclude<JoinHow, 'outer'>): Record<'shuffle' | 'broadcastLeft' | 'broadcastRight', JoinShape | undefined> {
  const p = sizes.length;
  let totL = 0;
  let totR = 0;
  let maxShuffle = 0;
  let maxBL = 0;
  let maxBR = 0;
  for (const [a, b] of sizes) {
    totL += a;
    totR += b;
  }
  for (const [a, b] of sizes) {
    maxShuffle = Math.max(maxShuffle, ((a + b) * (p - 1)) / p, ((totL + totR) / p) * ((p - 1) / p));
    maxBL = Math.max(maxBL, a * (p - 1), totL - a);
    maxBR = Math.max(maxBR, b * (p - 1), totR - b);
  }
  const rounds = Math.ceil(Math.log2(Math.max(p, 2)));
  const canBL = how === 'inner' || how === 'right' || how === 'cross';
  const canBR = how === 'inner' || how === 'left' || how === 'semi' || how === 'anti' || how === 'cross';
  return {
    shuffle: how === 'cross' ? undefined : { bytes: maxShuffle, supersteps: 2 },
    broadcastLeft: canBL ? { bytes: maxBL, supersteps: rounds } : undefined,
    broadcastRight: canBR ? { bytes: maxBR, supersteps: rounds } : undefined,
  };
}

/** Canonical key of row i (a number or string for one key; a tagged string for several), or null. */
export function keyFn(cols: readonly Data[], ks: readonly number[]): (i: number) => KeyValue {
  const gets = ks.map((k) => valueGetter(cols[k]!));
  if (gets.length === 1) {
    const g = gets[0]!;
    return (i) => {
      const v = g(i);
      return typeof v === 'bigint' ? keyString([v]) : v;
    };
  }
  return (i) => {
    const vals = gets.map((g) => g(i));
    return vals.some((v) => v === null) ? null : keyString(vals);
  };
}

/** Destination of each row: its key's hash mod P; rows with a null key stay (they match nothing). */
function hashDest(cols: readonly Data[], ks: readonly number[], drop: boolean): Int32Array {
  const n = cols[0]?.length ?? 0;
  const p = world.size;
  const dest = new Int32Array(n);
  const gets = ks.map((k) => valueGetter(cols[k]!));
  for (let i = 0; i < n; i++) {
    let h = 0x811c9dc5;
    let isNull = false;
    for (const g of gets) {
      const v = g(i);
      if (v === null) isNull = true;
      h = hashValue(v, h);
    }
    dest[i] = isNull ? (drop ? -1 : world.rank) : h % p;
  }
  return dest;
}

/** Rows of `cols` whose dest is not -1 go to dest (shuffle with dropped rows). */
export async function shuffleSide(schema: Schema, cols: readonly Data[], dest: Int32Array): Promise<Data[]> {
  let keep = 0;
  for (let i = 0; i < dest.length; i++) if (dest[i]! >= 0) keep++;
  if (keep === dest.length) return shuffle(schema, cols, dest);
  const idx = new Int32Array(keep);
  const d2 = new Int32Array(keep);
  for (let i = 0, j = 0; i < dest.length; i++) if (dest[i]! >= 0) { idx[j] = i; d2[j++] = dest[i]!; }
  return shuffle(schema, cols.map((c) => take(c, idx)), d2);
}

/** Collective: every rank's rows of a side, on every rank (rank order). */
async function allRows(schema: Schema, cols: readonly Data[]): Promise<Data[]> {
  if (world.size === 1) return [...cols];
  const parts = await world.allgatherObject(encodeColumns(schema, cols));
  const decoded = parts.map((b, r) => (r === world.rank ? cols : decodeColumns(b)));
  return schema.fields.map((f, k) => {
    const chunks = decoded.map((c) => c[k]!).filter((d) => d.length > 0);
    return chunks.length === 0 ? emptyData(f.type) : concat(f.type, chunks);
  });
}

/**
 * Local join of rows L and R on key columns lk/rk: row index pairs (-1 = no row on that side).
 * `unmatchedRight` adds right rows without a match (right, full joins).
 */
function localJoin(L: readonly Data[], R: readonly Data[], lk: number[], rk: number[], how: string, unmatchedRight: boolean): { li: Int32Array; ri: Int32Array } {
  const nL = L[0]?.length ?? 0;
  const nR = R[0]?.length ?? 0;
  const li: number[] = [];
  const ri: number[] = [];
  if (how === 'cross') {
    for (let i = 0; i < nL; i++) for (let j = 0; j < nR; j++) { li.push(i); ri.push(j); }
    return { li: Int32Array.from(li), ri: Int32Array.from(ri) };
  }
  const rkey = keyFn(R, rk);
  const table = new Map<KeyValue, number[]>();
  for (let j = 0; j < nR; j++) {
    const k = rkey(j);
    if (k === null) continue;
    const list = table.get(k);
    if (list) list.push(j);
    else table.set(k, [j]);
  }
  const lkey = keyFn(L, lk);
  const matched = unmatchedRight ? new Uint8Array(nR) : undefined;
  const keepLeft = how === 'left' || how === 'full';
  for (let i = 0; i < nL; i++) {
    const k = lkey(i);
    const hits = k === null ? undefined : table.get(k);
    if (how === 'semi' || how === 'anti') {
      if ((hits !== undefined) === (how === 'semi')) { li.push(i); ri.push(-1); }
      continue;
    }
    if (hits) {
      for (const j of hits) {
        li.push(i);
        ri.push(j);
        if (matched) matched[j] = 1;
      }
    } else if (keepLeft) { li.push(i); ri.push(-1); }
  }
  if (matched) for (let j = 0; j < nR; j++) if (!matched[j]) { li.push(-1); ri.push(j); }
  return { li: Int32Array.from(li), ri: Int32Array.from(ri) };
}

/** Collective: `left` joined with `right` (see DistFrame.join). */
export async function joinFrames(left: DistFrame, right: DistFrame, on: string | string[] | undefined, options: JoinOptions): Promise<DistFrame> {
  if (!(right instanceof DistFrame)) throw new ArgumentError('other', 'a DistFrame', right, world.rank);
  const how0 = options.how ?? 'inner';
  if (!kHows.includes(how0)) throw new ArgumentError('options.how', kHows.map((h) => `'${h}'`).join(', '), how0, world.rank);
  const how = how0 === 'outer' ? 'full' : how0;
  const strategy = options.strategy ?? 'auto';
  if (!['auto', 'shuffle', 'broadcast'].includes(strategy)) throw new ArgumentError('options.strategy', "'auto', 'shuffle' or 'broadcast'", strategy, world.rank);
  const suffix = options.suffix ?? '_right';
  const onNames = names(on, 'on');
  let lNames = names(options.leftOn, 'options.leftOn');
  let rNames = names(options.rightOn, 'options.rightOn');
  if (onNames.length > 0) {
    if (lNames.length > 0 || rNames.length > 0) throw new ArgumentError('on', 'given alone, or leftOn with rightOn instead', { on, leftOn: options.leftOn, rightOn: options.rightOn }, world.rank);
    lNames = onNames;
    rNames = onNames;
  }
  if (how === 'cross') {
    if (lNames.length > 0 || rNames.length > 0) throw new ArgumentError('on', 'absent for a cross join', on ?? options.leftOn, world.rank);
  } else if (lNames.length === 0 || lNames.length !== rNames.length) {
    throw new ArgumentError('on', 'key columns: on, or leftOn and rightOn of the same length', { on, leftOn: options.leftOn, rightOn: options.rightOn }, world.rank);
  }
  const lk = lNames.map((k) => keyIndex(left, k, 'left'));
  const rk = rNames.map((k) => keyIndex(right, k, 'right'));
  lk.forEach((k, j) => {
    const a = left.schema.fields[k]!;
    const b = right.schema.fields[rk[j]!]!;
    if (keyKind(a.type, a.name) !== keyKind(b.type, b.name)) {
      throw new SchemaMismatchError(`join key types differ: left '${a.name}' is ${a.type}, right '${b.name}' is ${b.type} (cast one, e.g. withColumn('${b.name}', col('${b.name}').cast(...)))`, world.rank);
    }
  });

  // The cost model: one allgather of both sides' byte sizes (and rank 0's g and l).
  const resolved = world.rank === 0 ? safeParams() : undefined;
  const mine = Float64Array.of(bytesOf(left.columns), bytesOf(right.columns), resolved?.g ?? kDefaultG, resolved?.l ?? kDefaultL, resolved ? (resolved.source === 'measured' ? 1 : 2) : 0);
  const all = world.size > 1 ? await world.allgather(mine) : mine;
  const p = world.size;
  const g = all[2]! / 8; // per byte
  const l = all[3]!;
  const paramsSource = all[4] === 1 ? 'measured' : all[4] === 2 ? 'extrapolated' : 'default';
  const shapes = joinShapes(Array.from({ length: p }, (_, r) => [all[5 * r]!, all[5 * r + 1]!] as const), how);
  const secs = (x: JoinShape | undefined) => (x ? g * x.bytes + x.supersteps * l : Infinity);
  const predicted = { shuffle: secs(shapes.shuffle), broadcastLeft: secs(shapes.broadcastLeft), broadcastRight: secs(shapes.broadcastRight) };
  let plan: JoinPlan['strategy'];
  if (strategy === 'shuffle' && how !== 'cross') plan = 'shuffle';
  else if (strategy === 'broadcast' || how === 'cross') plan = predicted.broadcastRight <= predicted.broadcastLeft ? 'broadcast-right' : 'broadcast-left';
  else plan = predicted.shuffle <= Math.min(predicted.broadcastLeft, predicted.broadcastRight) ? 'shuffle' : predicted.broadcastRight <= predicted.broadcastLeft ? 'broadcast-right' : 'broadcast-left';
  if (plan !== 'shuffle' && !Number.isFinite(plan === 'broadcast-right' ? predicted.broadcastRight : predicted.broadcastLeft)) {
    throw new ArgumentError('options.strategy', `'auto' or 'shuffle' for a ${how} join (broadcasting would repeat unmatched rows)`, strategy, world.rank);
  }
  lastJoinPlan = { how, strategy: plan, predicted, params: paramsSource };

  let L: Data[];
  let R: Data[];
  if (plan === 'shuffle') {
    // Null keys match nothing: inner/semi drop them before moving; others keep them in place.
    L = await shuffleSide(left.schema, left.columns, hashDest(left.columns, lk, how === 'inner' || how === 'semi' || how === 'right'));
    R = await shuffleSide(right.schema, right.columns, hashDest(right.columns, rk, how !== 'right' && how !== 'full'));
  } else if (plan === 'broadcast-right') {
    L = [...left.columns];
    R = await allRows(right.schema, right.columns);
  } else {
    L = await allRows(left.schema, left.columns);
    R = [...right.columns];
  }
  const { li, ri } = localJoin(L, R, lk, rk, how, how === 'right' || how === 'full');
  if (how === 'semi' || how === 'anti') return new DistFrame(left.schema, L.map((c) => take(c, li)));

  // Columns: the left's, then the right's; with `on`, equal key types are one column (coalesced).
  const coalesce = onNames.length > 0 ? lk.map((k, j) => String(left.schema.fields[k]!.type) === String(right.schema.fields[rk[j]!]!.type)) : lk.map(() => false);
  const nullableLeft = how === 'right' || how === 'full';
  const fields: Field[] = [];
  const cols: Data[] = [];
  const leftNames = new Set(left.names);
  left.schema.fields.forEach((f, k) => {
    const j = lk.indexOf(k);
    if (j >= 0 && coalesce[j] && nullableLeft) {
      const both = concat(f.type, [L[k]!, R[rk[j]!]!]);
      const nL = L[k]!.length;
      const idx = Int32Array.from(li, (x, i) => (x >= 0 ? x : ri[i]! >= 0 ? nL + ri[i]! : -1));
      fields.push(new Field(f.name, f.type, f.nullable));
      cols.push(take(both, idx));
      return;
    }
    fields.push(nullableLeft ? new Field(f.name, f.type, true) : f);
    cols.push(take(L[k]!, li));
  });
  right.schema.fields.forEach((f, k) => {
    const j = rk.indexOf(k);
    if (j >= 0 && coalesce[j]) return;
    if (j >= 0 && onNames.length > 0 && !nullableLeft) return; // `on`: the left's key column stands for both
    const name = leftNames.has(f.name) ? f.name + suffix : f.name;
    fields.push(new Field(name, f.type, true));
    cols.push(take(R[k]!, ri));
  });
  return new DistFrame(new Schema(fields), cols);
}

export function keyIndex(f: DistFrame, name: string, side: string): number {
  const k = f.schema.fields.findIndex((x) => x.name === name);
  if (k < 0) throw new ArgumentError(`join key '${name}' of the ${side} frame`, `one of ${f.names.join(', ') || '(no columns)'}`, name, world.rank);
  return k;
}

export function safeParams(): ReturnType<typeof resolveParams> {
  try {
    return resolveParams(world.size, world.backend);
  } catch {
    return undefined;
  }
}
