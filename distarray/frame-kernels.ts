/**
 * @internal Column kernels of DistFrame over Arrow `Data` (one chunk, offset 0): row access,
 * take (gather rows by index, -1 = null), concatenation (dictionaries unified), hashing and
 * ordering of key values. Per-type dispatch is one table of families.
 */
import type { DataType, Vector } from 'apache-arrow';
import { Bool, Data, Dictionary, Type, Utf8, makeData, makeVector, vectorFromArray } from '../util/arrow.js';
import { ArgumentError } from '../util/errors.js';

/** How a column's values are stored. */
export type Family = 'fixed' | 'bool' | 'utf8' | 'dict' | 'list';

/** A key value: numbers, bigints (64-bit ints, timestamps), strings, or null. */
export type KeyValue = number | bigint | string | null;

// Made on first use: apache-arrow loads with the first frame (util/arrow.ts).
let fixed: Set<Type> | undefined;
const kFixed = () => (fixed ??= new Set<Type>([Type.Int, Type.Float, Type.Timestamp, Type.Date, Type.Time, Type.Duration]));

/** The storage family of an Arrow type, or a typed error for types DistFrame does not handle. */
export function familyOf(type: DataType, name = 'column'): Family {
  if (kFixed().has(type.typeId) && !(type.typeId === Type.Float && (type as unknown as { precision: number }).precision === 0)) return 'fixed';
  if (type.typeId === Type.Bool) return 'bool';
  if (type.typeId === Type.Utf8 || type.typeId === Type.Binary) return 'utf8'; // Binary: the same layout
  if (type.typeId === Type.Dictionary && (type as Dictionary).dictionary.typeId === Type.Utf8) return 'dict';
  // A list of any of the above (groupBy's 'list' aggregate makes them): carried, never a key.
  if (type.typeId === Type.List) {
    familyOf((type as unknown as { valueType: DataType }).valueType, name);
    return 'list';
  }
  throw new ArgumentError(name, 'a column of int, float, bool, utf8, binary, dictionary<utf8>, timestamp or date type (or a list of one)', String(type));
}

const isValidAt = (bm: Uint8Array | null | undefined, i: number): boolean => !bm || ((bm[i >> 3]! >> (i & 7)) & 1) === 1;

/** Validity of row i (offset-0 data). */
export function isValid(d: Data, i: number): boolean {
  return d.nullCount === 0 || isValidAt(d.nullBitmap, i);
}

/** Makes every column offset-0 (sliced data from user tables is copied once). */
export function normalize(d: Data): Data {
  if (d.offset === 0) return d;
  const idx = new Int32Array(d.length);
  for (let i = 0; i < idx.length; i++) idx[i] = i;
  return takeGeneric(d, idx);
}

function takeGeneric(d: Data, idx: Int32Array): Data {
  const v = makeVector(d) as Vector;
  const out: unknown[] = new Array(idx.length);
  for (let i = 0; i < idx.length; i++) out[i] = idx[i]! < 0 ? null : v.get(idx[i]!);
  return vectorFromArray(out, d.type).data[0] as Data;
}

/** Decoded dictionary strings of a dictionary column (cached per dictionary vector). */
const dictCache = new WeakMap<object, (string | null)[]>();
export function dictStrings(d: Data): (string | null)[] {
  // A rank's empty chunk of a dictionary column may carry no dictionary at all.
  const dict = d.dictionary;
  if (!dict) return [];
  let s = dictCache.get(dict);
  if (!s) {
    s = dict.toArray() as (string | null)[];
    if (!Array.isArray(s)) s = Array.from(s as Iterable<string | null>);
    dictCache.set(dict, s);
  }
  return s;
}

const decoder = new TextDecoder();

/** A function giving the value of row i (null for null rows): decoded strings, numbers, bigints. */
export function valueGetter(d: Data): (i: number) => KeyValue {
  const fam = familyOf(d.type);
  const nulls = d.nullCount > 0 ? d.nullBitmap : null;
  const ok = (i: number) => !nulls || isValidAt(nulls, i);
  switch (fam) {
    case 'fixed': {
      const v = d.values as unknown as { [i: number]: number | bigint };
      return (i) => (ok(i) ? v[i]! : null);
    }
    case 'bool': {
      const v = d.values as Uint8Array;
      return (i) => (ok(i) ? (v[i >> 3]! >> (i & 7)) & 1 : null);
    }
    case 'utf8': {
      const o = d.valueOffsets as Int32Array;
      const b = d.values as Uint8Array;
      return (i) => (ok(i) ? decoder.decode(b.subarray(o[i]!, o[i + 1]!)) : null);
    }
    case 'dict': {
      const s = dictStrings(d);
      const v = d.values as unknown as { [i: number]: number };
      return (i) => (ok(i) ? s[v[i]!]! : null);
    }
    case 'list': throw new ArgumentError('column', 'a column of scalar values (a list column cannot be a key, compared or read row by row here)', String(d.type));
  }
}

/** Validity as one byte per row (1 = valid), or null when the column has no nulls. */
export function validBytes(d: Data): Uint8Array | null {
  if (d.nullCount === 0 || !d.nullBitmap) return null;
  const out = new Uint8Array(d.length);
  const bm = d.nullBitmap;
  for (let i = 0; i < d.length; i++) out[i] = (bm[i >> 3]! >> (i & 7)) & 1;
  return out;
}

/** Packs validity bytes (or a predicate) into a bitmap; returns [bitmap, nullCount]. */
export function packBits(n: number, valid: (i: number) => boolean): [Uint8Array, number] {
  const bm = new Uint8Array(((n + 63) >> 6) << 3);
  let nulls = 0;
  for (let i = 0; i < n; i++) {
    if (valid(i)) bm[i >> 3]! |= 1 << (i & 7);
    else nulls++;
  }
  return [bm, nulls];
}

type ArrayCtor = new (n: number) => { [i: number]: number | bigint; length: number };

/** Rows `idx` of column `d` (an index of -1 gives null). */
export function take(d: Data, idx: Int32Array): Data {
  const n = idx.length;
  const srcNulls = d.nullCount > 0 ? d.nullBitmap : null;
  let anyMissing = false;
  for (let i = 0; i < n; i++) if (idx[i]! < 0) { anyMissing = true; break; }
  let bitmap: Uint8Array | undefined;
  let nullCount = 0;
  if (srcNulls || anyMissing) {
    [bitmap, nullCount] = packBits(n, (i) => idx[i]! >= 0 && isValidAt(srcNulls, idx[i]!));
    if (nullCount === 0) bitmap = undefined;
  }
  const fam = familyOf(d.type);
  switch (fam) {
    case 'fixed':
    case 'dict': {
      const src = d.values as unknown as { [i: number]: number | bigint; constructor: ArrayCtor };
      const out = new src.constructor(n);
      for (let i = 0; i < n; i++) {
        const j = idx[i]!;
        if (j >= 0) out[i] = src[j]!;
      }
      return makeData({ type: d.type as never, length: n, nullCount, nullBitmap: bitmap, data: out as never, dictionary: d.dictionary as never } as never);
    }
    case 'bool': {
      const src = d.values as Uint8Array;
      const [bits] = packBits(n, (i) => idx[i]! >= 0 && ((src[idx[i]! >> 3]! >> (idx[i]! & 7)) & 1) === 1);
      return makeData({ type: new Bool(), length: n, nullCount, nullBitmap: bitmap, data: bits });
    }
    case 'utf8': {
      const o = d.valueOffsets as Int32Array;
      const b = d.values as Uint8Array;
      const offs = new Int32Array(n + 1);
      let total = 0;
      for (let i = 0; i < n; i++) {
        const j = idx[i]!;
        if (j >= 0) total += o[j + 1]! - o[j]!;
        offs[i + 1] = total;
      }
      const bytes = new Uint8Array(total);
      for (let i = 0; i < n; i++) {
        const j = idx[i]!;
        if (j >= 0) bytes.set(b.subarray(o[j]!, o[j + 1]!), offs[i]!);
      }
      return makeData({ type: d.type as Utf8, length: n, nullCount, nullBitmap: bitmap, valueOffsets: offs, data: bytes });
    }
    case 'list': {
      const o = d.valueOffsets as Int32Array;
      const offs = new Int32Array(n + 1);
      for (let i = 0; i < n; i++) offs[i + 1] = offs[i]! + (idx[i]! >= 0 ? o[idx[i]! + 1]! - o[idx[i]!]! : 0);
      const items = new Int32Array(offs[n]!);
      for (let i = 0, at = 0; i < n; i++) for (let j = idx[i]! >= 0 ? o[idx[i]!]! : 0, e = idx[i]! >= 0 ? o[idx[i]! + 1]! : 0; j < e; j++) items[at++] = j;
      return makeData({ type: d.type as never, length: n, nullCount, nullBitmap: bitmap, valueOffsets: offs, child: take(normalize(d.children[0]!), items) } as never);
    }
  }
}

/** Concatenates chunks of one column type into one chunk (dictionaries are unified). */
export function concat(type: DataType, parts: readonly Data[]): Data {
  if (parts.length === 1) return normalize(parts[0]!);
  const ps = parts.map(normalize);
  const n = ps.reduce((s, p) => s + p.length, 0);
  const anyNull = ps.some((p) => p.nullCount > 0);
  let bitmap: Uint8Array | undefined;
  let nullCount = 0;
  if (anyNull) {
    bitmap = new Uint8Array(((n + 63) >> 6) << 3);
    let at = 0;
    for (const p of ps) {
      for (let i = 0; i < p.length; i++) {
        if (isValid(p, i)) bitmap[(at + i) >> 3]! |= 1 << ((at + i) & 7);
        else nullCount++;
      }
      at += p.length;
    }
  }
  const fam = familyOf(type);
  if (fam === 'fixed') {
    const C = (ps[0]?.values as unknown as { constructor: ArrayCtor } | undefined)?.constructor ?? (type as unknown as { ArrayType: ArrayCtor }).ArrayType;
    const out = new C(n) as unknown as { set(a: ArrayLike<unknown>, o: number): void };
    let at = 0;
    for (const p of ps) {
      out.set((p.values as unknown as { subarray(a: number, b: number): ArrayLike<unknown> }).subarray(0, p.length), at);
      at += p.length;
    }
    return makeData({ type: type as never, length: n, nullCount, nullBitmap: bitmap, data: out as never } as never);
  }
  if (fam === 'bool') {
    const bits = new Uint8Array(((n + 63) >> 6) << 3);
    let at = 0;
    for (const p of ps) {
      const v = p.values as Uint8Array;
      for (let i = 0; i < p.length; i++) if ((v[i >> 3]! >> (i & 7)) & 1) bits[(at + i) >> 3]! |= 1 << ((at + i) & 7);
      at += p.length;
    }
    return makeData({ type: new Bool(), length: n, nullCount, nullBitmap: bitmap, data: bits });
  }
  if (fam === 'utf8') {
    const offs = new Int32Array(n + 1);
    const total = ps.reduce((s, p) => s + (p.valueOffsets as Int32Array)[p.length]! - (p.valueOffsets as Int32Array)[0]!, 0);
    const bytes = new Uint8Array(total);
    let at = 0;
    let bat = 0;
    for (const p of ps) {
      const o = p.valueOffsets as Int32Array;
      const base = o[0]!;
      for (let i = 1; i <= p.length; i++) offs[at + i] = bat + o[i]! - base;
      bytes.set((p.values as Uint8Array).subarray(base, o[p.length]!), bat);
      bat += o[p.length]! - base;
      at += p.length;
    }
    return makeData({ type: type as Utf8, length: n, nullCount, nullBitmap: bitmap, valueOffsets: offs, data: bytes });
  }
  if (fam === 'list') {
    // Each part's items, in order, under offsets shifted by the items before it.
    const offs = new Int32Array(n + 1);
    const items: Data[] = [];
    let at = 0;
    for (const p of ps) {
      const o = p.valueOffsets as Int32Array;
      for (let i = 1; i <= p.length; i++) offs[at + i] = offs[at]! + o[i]! - o[0]!;
      items.push(take(normalize(p.children[0]!), Int32Array.from({ length: o[p.length]! - o[0]! }, (_, j) => o[0]! + j)));
      at += p.length;
    }
    const itemType = (type as unknown as { valueType: DataType }).valueType;
    return makeData({ type: type as never, length: n, nullCount, nullBitmap: bitmap, valueOffsets: offs, child: items.length > 0 ? concat(itemType, items) : emptyData(itemType) } as never);
  }
  // Dictionary: one union dictionary (first occurrence order), indices remapped.
  const union: string[] = [];
  const pos = new Map<string, number>();
  const maps = ps.map((p) => dictStrings(p).map((s) => {
    const k = s ?? '';
    let j = pos.get(k);
    if (j === undefined) {
      j = union.length;
      union.push(k);
      pos.set(k, j);
    }
    return j;
  }));
  const dt = type as Dictionary;
  const C = dt.indices.ArrayType as unknown as ArrayCtor;
  const out = new C(n);
  let at = 0;
  ps.forEach((p, k) => {
    const v = p.values as unknown as { [i: number]: number };
    const m = maps[k]!;
    for (let i = 0; i < p.length; i++) out[at + i] = m[v[i]!] ?? 0;
    at += p.length;
  });
  return makeData({ type: dt, length: n, nullCount, nullBitmap: bitmap, data: out as never, dictionary: vectorFromArray(union, new Utf8()) as never });
}

/**
 * Column `d` of a dictionary type with its nulls replaced by `value`, still of that type: the
 * value's index in this chunk's own dictionary, appended to it when absent. (Every rank's
 * chunk has its own dictionary, so the index is looked up per chunk, never taken from another.)
 */
export function fillDict(d: Data, value: string, rank: number): Data {
  const dt = d.type as Dictionary;
  const strings = dictStrings(d);
  let j = strings.indexOf(value);
  const dictionary = j >= 0 ? d.dictionary : vectorFromArray([...strings, value], new Utf8());
  if (j < 0) j = strings.length;
  const C = dt.indices.ArrayType as unknown as ArrayCtor;
  const bits = (dt.indices as unknown as { bitWidth: number; isSigned: boolean });
  if (j > 2 ** (bits.bitWidth - (bits.isSigned ? 1 : 0)) - 1) {
    throw new ArgumentError('value', `a fill value that fits the column's ${bits.bitWidth}-bit dictionary indices (it has ${strings.length} entries)`, value, rank);
  }
  const src = d.values as unknown as { [i: number]: number };
  const out = new C(d.length) as unknown as { [i: number]: number };
  const nulls = d.nullCount > 0 ? d.nullBitmap : null;
  for (let i = 0; i < d.length; i++) out[i] = isValidAt(nulls, i) ? src[i]! : j;
  return makeData({ type: dt, length: d.length, nullCount: 0, data: out as never, dictionary: dictionary as never });
}

/**
 * Column `d` of a fixed-width type (ints, floats, timestamps, dates) with its nulls replaced
 * by `value`, still of that type, the others copied as they are (64-bit ints exactly, not
 * through a float64). Stored as a typed array's element would store it: a fraction truncates
 * in an int column.
 */
export function fillFixed(d: Data, value: number | bigint): Data {
  const src = d.values as unknown as { [i: number]: number | bigint; constructor: ArrayCtor; subarray(a: number, b: number): ArrayLike<number | bigint> };
  const out = new src.constructor(d.length) as unknown as { [i: number]: number | bigint; set(a: ArrayLike<number | bigint>): void };
  out.set(src.subarray(0, d.length));
  const big = out instanceof BigInt64Array || out instanceof BigUint64Array;
  const v = big ? (typeof value === 'bigint' ? value : BigInt(Number.isFinite(value) ? Math.trunc(value) : 0)) : Number(value);
  const nulls = d.nullBitmap;
  for (let i = 0; i < d.length; i++) if (!isValidAt(nulls, i)) out[i] = v;
  return makeData({ type: d.type as never, length: d.length, nullCount: 0, data: out as never } as never);
}

/** Column `d` of a utf8 or binary type with its nulls replaced by the bytes of `value`, still of that type. */
export function fillBytes(d: Data, value: string): Data {
  const fill = new TextEncoder().encode(value);
  const o = d.valueOffsets as Int32Array;
  const src = d.values as Uint8Array;
  const nulls = d.nullCount > 0 ? d.nullBitmap : null;
  const offs = new Int32Array(d.length + 1);
  let total = 0;
  for (let i = 0; i < d.length; i++) total += isValidAt(nulls, i) ? o[i + 1]! - o[i]! : fill.byteLength;
  const bytes = new Uint8Array(total);
  let at = 0;
  for (let i = 0; i < d.length; i++) {
    if (isValidAt(nulls, i)) {
      bytes.set(src.subarray(o[i]!, o[i + 1]!), at);
      at += o[i + 1]! - o[i]!;
    } else {
      bytes.set(fill, at);
      at += fill.byteLength;
    }
    offs[i + 1] = at;
  }
  return makeData({ type: d.type as Utf8, length: d.length, nullCount: 0, valueOffsets: offs, data: bytes });
}

/** An empty chunk of `type`. */
export function emptyData(type: DataType): Data {
  return vectorFromArray([], type).data[0] as Data;
}

// Hashing and ordering of key values
// ----------------------------------

const f64 = new Float64Array(1);
const u32 = new Uint32Array(f64.buffer);

/** A 32-bit hash of a key value, equal on every rank for equal values (ints of any width alike). */
export function hashValue(v: KeyValue, h = 0x811c9dc5): number {
  if (v === null) return Math.imul(h ^ 0x9e3779b9, 16777619) >>> 0;
  if (typeof v === 'bigint') v = Number.isSafeInteger(Number(v)) ? Number(v) : v.toString();
  if (typeof v === 'number') {
    f64[0] = v === 0 ? 0 : v; // -0 and 0 hash alike
    h = Math.imul(h ^ u32[0]!, 16777619);
    h = Math.imul(h ^ u32[1]!, 16777619);
    return (h ^ (h >>> 15)) >>> 0;
  }
  h = Math.imul(h ^ 0x27d4eb2d, 16777619);
  for (let i = 0; i < v.length; i++) h = Math.imul(h ^ v.charCodeAt(i), 16777619);
  return (h ^ (h >>> 13)) >>> 0;
}

/**
 * Total order on key values: nulls last, NaN after every number, numbers and bigints by
 * value, strings by UTF-16 code units.
 */
export function compareValues(a: KeyValue, b: KeyValue): number {
  if (a === null || b === null) return a === null ? (b === null ? 0 : 1) : -1;
  if (typeof a === 'string' || typeof b === 'string') {
    const x = String(a);
    const y = String(b);
    return x < y ? -1 : x > y ? 1 : 0;
  }
  const an = typeof a === 'number' && Number.isNaN(a);
  const bn = typeof b === 'number' && Number.isNaN(b);
  if (an || bn) return an ? (bn ? 0 : 1) : -1;
  return a < b ? -1 : a > b ? 1 : 0;
}

/** A composite key string for hash maps (type-tagged, so null, 1 and '1' stay distinct). */
export function keyString(vals: readonly KeyValue[]): string {
  let s = '';
  for (const v of vals) {
    if (v === null) s += '\u0000n';
    else if (typeof v === 'string') s += '\u0000s' + v;
    else if (typeof v === 'bigint') s += '\u0000i' + (Number.isSafeInteger(Number(v)) ? Number(v) : v.toString());
    else s += '\u0000i' + (Object.is(v, -0) ? 0 : v);
  }
  return s;
}
