/**
 * @internal The kernels of DistFrame.groupBy: dense group ids by an open-addressing hash table
 * over typed arrays (no per-row object, string, closure or Map), and the per-group partial
 * aggregates (rows; per column: non-null count, sum, min, max) the shuffle carries.
 *
 * Every key column becomes one or two 32-bit words per row (ints as they are, floats and
 * 64-bit ints by their bits, canonicalised so -0 = 0 and NaN = NaN; dictionary indices
 * mapped to one index per distinct string; utf8 interned by its bytes), plus a 0/1 word when
 * it has nulls. A row's key is its tuple of words; one word (the common case: one int key)
 * gets a loop of its own.
 */
import type { Data } from 'apache-arrow';
import { ArgumentError } from '../util/errors.js';
import { dictStrings, familyOf } from './frame-kernels.js';

/** Dense group ids of rows: `gid[i]` in 0..count-1, numbered by first appearance. */
export interface Groups {
  gid: Int32Array;
  /** First row of each group. */
  first: Int32Array;
  count: number;
}

/** One key column as hashable words: 1 or 2 value words, and a validity bitmap if it has nulls. */
interface KeyWords {
  words: Int32Array[];
  nulls: Uint8Array | null;
  /** The words are the column's own values (never written). */
  shared: boolean;
}

const kGolden = 0x9e3779b1;
/** Most key values a direct table spans (256 KiB of group ids). */
const kLutMax = 1 << 16;

/** Dense group ids of the rows [0, n) of `keys` (nulls form a group of their own). */
export function groupIds(keys: readonly Data[], n: number): Groups {
  const t = new GroupTable(keys, n);
  const gid = new Int32Array(n);
  t.ids(0, n, gid);
  return { gid, first: t.firstRows(), count: t.count };
}

/**
 * The groups of a frame's rows by its key columns, numbered densely by first appearance; it
 * assigns ids a range of rows at a time, so callers can work through the rows in blocks that
 * stay in cache.
 */
export class GroupTable {
  /** Groups seen so far. */
  count = 0;
  private first = new Int32Array(64);
  private bits = 6;
  /** Slot -> the key word (one-word keys) or the tuple hash (tuples). */
  private tkey = new Int32Array(1 << 6);
  /** Slot -> group id, -1 for an empty slot. */
  private tgid = new Int32Array(1 << 6).fill(-1);
  private nullGroup = -1;
  /**
   * One-word keys start in direct mode: group id = lut[key - lutBase], no hashing, while the
   * keys seen span at most kLutMax values; past that the table switches to hashing (null).
   */
  private lut: Int32Array | null = new Int32Array(0);
  private lutBase = 0;
  private readonly words: Int32Array[];
  private readonly nulls: Uint8Array | null;

  constructor(keys: readonly Data[], n: number) {
    const cols = keys.map((d) => keyWords(d, n));
    if (cols.length === 1 && cols[0]!.words.length === 1) {
      this.words = cols[0]!.words;
      this.nulls = cols[0]!.nulls;
    } else {
      this.words = [];
      for (const c of cols) {
        // Null rows may hold any bytes: make them 0 so they never split a tuple's null group.
        if (c.nulls) for (const w of c.shared ? (c.words = c.words.map((x) => x.slice())) : c.words) zeroNulls(w, c.nulls, n);
        this.words.push(...c.words);
        if (c.nulls) this.words.push(validWord(c.nulls, n));
      }
      this.nulls = null;
    }
  }

  /** Writes the group ids of rows [start, end) to out[0 .. end - start). */
  ids(start: number, end: number, out: Int32Array): void {
    if (this.words.length === 1) this.oneWord(start, end, out);
    else this.tuples(start, end, out);
  }

  /** First row of each group. */
  firstRows(): Int32Array {
    return this.first.slice(0, this.count);
  }

  private newGroup(row: number): number {
    if (this.count === this.first.length) this.first = grow(this.first);
    this.first[this.count] = row;
    return this.count++;
  }

  private oneWord(start: number, end: number, out: Int32Array): void {
    const w = this.words[0]!;
    const nulls = this.nulls;
    let i = start;
    while (i < end) {
      if (nulls !== null && ((nulls[i >> 3]! >> (i & 7)) & 1) === 0) {
        if (this.nullGroup < 0) this.nullGroup = this.newGroup(i);
        out[i - start] = this.nullGroup;
        i++;
        continue;
      }
      // Runs of rows whose keys are already in the table take the tight loop.
      const lut = this.lut;
      if (lut !== null) i = nulls === null ? lutRun(w, i, end, out, start, lut, this.lutBase) : lutValidRun(w, nulls, i, end, out, start, lut, this.lutBase);
      else i = nulls === null ? probeRun(w, i, end, out, start, this.tkey, this.tgid, this.bits) : probeValidRun(w, nulls, i, end, out, start, this.tkey, this.tgid, this.bits);
      if (i < end && (nulls === null || ((nulls[i >> 3]! >> (i & 7)) & 1) === 1)) {
        out[i - start] = this.insert(w[i]!, i);
        i++;
      }
    }
  }

  /** Whether idsAccumulate applies: a one-word key without nulls. */
  get fusable(): boolean {
    return this.words.length === 1 && this.nulls === null;
  }

  /**
   * ids() (into `out` unless it is null), and in the same pass adds the float64 values
   * v[start, end) into `a` (n, sum, min, max per group, side by side), which must have room
   * for end - start new groups.
   */
  idsAccumulate(start: number, end: number, out: Int32Array | null, a: Float64Array, v: Float64Array): void {
    const w = this.words[0]!;
    let i = start;
    while (i < end) {
      const lut = this.lut;
      if (lut !== null) i = lutRunAccumulate(w, i, end, out, start, lut, this.lutBase, a, v);
      else i = probeRunAccumulate(w, i, end, out, start, this.tkey, this.tgid, this.bits, a, v);
      if (i < end) {
        const g = this.insert(w[i]!, i);
        if (out !== null) out[i - start] = g;
        accumulateF64(a, Int32Array.of(g), 1, v, i);
        i++;
      }
    }
  }

  /** A new group for the one-word key k first seen at `row` (the table grows past a quarter full). */
  private insert(k: number, row: number): number {
    if (this.lut !== null) {
      const d = (k - this.lutBase) >>> 0;
      if (d < this.lut.length) {
        let g = this.lut[d]!;
        if (g < 0) g = this.lut[d] = this.newGroup(row);
        return g;
      }
      if (this.widenLut(k)) return this.insert(k, row);
      this.lutToHash();
    }
    const mask = (1 << this.bits) - 1;
    let h = Math.imul(k, kGolden) >>> (32 - this.bits);
    while (this.tgid[h]! >= 0) h = (h + 1) & mask;
    const g = this.newGroup(row);
    this.tkey[h] = k;
    this.tgid[h] = g;
    if (4 * this.count > 1 << this.bits) {
      // At most a quarter full: probes stay short and predictable.
      const tkey = this.tkey;
      this.rehash(this.bits + 1, (s) => Math.imul(tkey[s]!, kGolden));
    }
    return g;
  }

  /** Makes the direct table cover key k too, if the keys then span at most kLutMax values. */
  private widenLut(k: number): boolean {
    const old = this.lut!;
    const lo = old.length === 0 ? k : Math.min(this.lutBase, k);
    const hi = old.length === 0 ? k : Math.max(this.lutBase + old.length - 1, k);
    if (hi - lo + 1 > kLutMax) return false;
    // Room to grow past the new key, in the direction it came from.
    const len = Math.min(kLutMax, Math.max(hi - lo + 1, 2 * old.length, 64));
    const base = old.length > 0 && k < this.lutBase ? hi - len + 1 : lo;
    const lut = new Int32Array(len).fill(-1);
    if (old.length > 0) lut.set(old, this.lutBase - base);
    this.lut = lut;
    this.lutBase = base;
    return true;
  }

  /** Moves the direct table's keys into the hash table and hashes from now on. */
  private lutToHash(): void {
    const lut = this.lut!;
    let bits = 6;
    while (4 * this.count > 1 << bits) bits++;
    const mask = (1 << bits) - 1;
    this.bits = bits;
    this.tkey = new Int32Array(1 << bits);
    this.tgid = new Int32Array(1 << bits).fill(-1);
    for (let d = 0; d < lut.length; d++) {
      if (lut[d]! < 0) continue;
      const k = this.lutBase + d;
      let h = Math.imul(k, kGolden) >>> (32 - bits);
      while (this.tgid[h]! >= 0) h = (h + 1) & mask;
      this.tkey[h] = k;
      this.tgid[h] = lut[d]!;
    }
    this.lut = null;
  }

  private tuples(start: number, end: number, out: Int32Array): void {
    const words = this.words;
    const m = words.length;
    const first = () => this.first;
    const same = (a: number, b: number): boolean => {
      for (let j = 0; j < m; j++) if (words[j]![a] !== words[j]![b]) return false;
      return true;
    };
    for (let i = start; i < end; i++) {
      let x = 0x811c9dc5;
      for (let j = 0; j < m; j++) x = Math.imul(x ^ words[j]![i]!, 16777619);
      x = Math.imul(x ^ (x >>> 15), kGolden);
      const bits = this.bits;
      const mask = (1 << bits) - 1;
      let h = x >>> (32 - bits);
      let g = this.tgid[h]!;
      while (g >= 0 && !(this.tkey[h] === x && same(first()[g]!, i))) {
        h = (h + 1) & mask;
        g = this.tgid[h]!;
      }
      if (g < 0) {
        g = this.newGroup(i);
        this.tkey[h] = x;
        this.tgid[h] = g;
        if (4 * this.count > 1 << bits) this.rehash(bits + 1, (s) => this.tkey[s]!);
      }
      out[i - start] = g;
    }
  }

  /** Moves every entry into a table of 2^bits slots; `hash(slot)` is the entry's 32-bit hash. */
  private rehash(bits: number, hash: (slot: number) => number): void {
    const mask = (1 << bits) - 1;
    const nk = new Int32Array(1 << bits);
    const ng = new Int32Array(1 << bits).fill(-1);
    for (let s = 0; s < this.tgid.length; s++) {
      if (this.tgid[s]! < 0) continue;
      let q = hash(s) >>> (32 - bits);
      while (ng[q]! >= 0) q = (q + 1) & mask;
      nk[q] = this.tkey[s]!;
      ng[q] = this.tgid[s]!;
    }
    this.bits = bits;
    this.tkey = nk;
    this.tgid = ng;
  }
}

/** Direct-mode probeRun: stops at the first key outside the table or not in it yet. */
function lutRun(w: Int32Array, start: number, end: number, out: Int32Array, base: number, lut: Int32Array, lo: number): number {
  const len = lut.length;
  for (let i = start; i < end; i++) {
    const d = (w[i]! - lo) >>> 0;
    if (d >= len) return i;
    const g = lut[d]!;
    if (g < 0) return i;
    out[i - base] = g;
  }
  return end;
}

/** lutRun that also stops at the first null row. */
function lutValidRun(w: Int32Array, nulls: Uint8Array, start: number, end: number, out: Int32Array, base: number, lut: Int32Array, lo: number): number {
  const len = lut.length;
  for (let i = start; i < end; i++) {
    if (((nulls[i >> 3]! >> (i & 7)) & 1) === 0) return i;
    const d = (w[i]! - lo) >>> 0;
    if (d >= len) return i;
    const g = lut[d]!;
    if (g < 0) return i;
    out[i - base] = g;
  }
  return end;
}

/**
 * Adds one value into group g's (n, sum, min, max) slots of `a`; a NaN poisons min and max as
 * in the sequential reference. Small enough that V8 inlines it into the probe loops.
 */
function accumulate(a: Float64Array, g: number, y: number): void {
  const x = g << 2;
  a[x]!++;
  a[x + 1]! += y;
  if (y < a[x + 2]!) a[x + 2] = y;
  else if (y !== y) a[x + 2] = y;
  if (y > a[x + 3]!) a[x + 3] = y;
  else if (y !== y) a[x + 3] = y;
}

/** Direct-mode probeRunAccumulate. */
function lutRunAccumulate(w: Int32Array, start: number, end: number, out: Int32Array | null, base: number, lut: Int32Array, lo: number, a: Float64Array, v: Float64Array): number {
  const len = lut.length;
  for (let i = start; i < end; i++) {
    const d = (w[i]! - lo) >>> 0;
    if (d >= len) return i;
    const g = lut[d]!;
    if (g < 0) return i;
    if (out !== null) out[i - base] = g;
    accumulate(a, g, v[i]!);
  }
  return end;
}

/**
 * Group ids of rows start.. from the one-word table, up to the first row whose key is not
 * in it (returned; `end` when there is none).
 */
function probeRun(w: Int32Array, start: number, end: number, out: Int32Array, base: number, tkey: Int32Array, tgid: Int32Array, bits: number): number {
  const mask = (1 << bits) - 1;
  const shift = 32 - bits;
  for (let i = start; i < end; i++) {
    const k = w[i]!;
    let h = Math.imul(k, kGolden) >>> shift;
    let g = tgid[h]!;
    while (g >= 0 && tkey[h] !== k) {
      h = (h + 1) & mask;
      g = tgid[h]!;
    }
    if (g < 0) return i;
    out[i - base] = g;
  }
  return end;
}

/** probeRun that also adds each row's float64 value into its group's n, sum, min, max. */
function probeRunAccumulate(w: Int32Array, start: number, end: number, out: Int32Array | null, base: number, tkey: Int32Array, tgid: Int32Array, bits: number, a: Float64Array, v: Float64Array): number {
  const mask = (1 << bits) - 1;
  const shift = 32 - bits;
  for (let i = start; i < end; i++) {
    const k = w[i]!;
    let h = Math.imul(k, kGolden) >>> shift;
    let g = tgid[h]!;
    while (g >= 0 && tkey[h] !== k) {
      h = (h + 1) & mask;
      g = tgid[h]!;
    }
    if (g < 0) return i;
    if (out !== null) out[i - base] = g;
    accumulate(a, g, v[i]!);
  }
  return end;
}

/** probeRun that also stops at the first null row. */
function probeValidRun(w: Int32Array, nulls: Uint8Array, start: number, end: number, out: Int32Array, base: number, tkey: Int32Array, tgid: Int32Array, bits: number): number {
  const mask = (1 << bits) - 1;
  const shift = 32 - bits;
  for (let i = start; i < end; i++) {
    if (((nulls[i >> 3]! >> (i & 7)) & 1) === 0) return i;
    const k = w[i]!;
    let h = Math.imul(k, kGolden) >>> shift;
    let g = tgid[h]!;
    while (g >= 0 && tkey[h] !== k) {
      h = (h + 1) & mask;
      g = tgid[h]!;
    }
    if (g < 0) return i;
    out[i - base] = g;
  }
  return end;
}

function grow(a: Int32Array): Int32Array<ArrayBuffer> {
  const b = new Int32Array(a.length * 2);
  b.set(a);
  return b;
}

/** 1 for valid rows, 0 for null rows. */
function validWord(bm: Uint8Array, n: number): Int32Array {
  const w = new Int32Array(n);
  for (let i = 0; i < n; i++) w[i] = (bm[i >> 3]! >> (i & 7)) & 1;
  return w;
}

/** A key column as words equal exactly when the values are equal (null rows hold word 0). */
function keyWords(d: Data, n: number): KeyWords {
  const nulls = d.nullCount > 0 && d.nullBitmap ? d.nullBitmap : null;
  const fam = familyOf(d.type);
  if (fam === 'list') throw new ArgumentError('keys', 'key columns of scalar values (not a list column)', String(d.type));
  let words: Int32Array[];
  if (fam === 'dict') words = [dictWords(d, n)];
  else if (fam === 'utf8') words = [utf8Words(d, n)];
  else if (fam === 'bool') {
    const v = d.values as Uint8Array;
    const w = new Int32Array(n);
    for (let i = 0; i < n; i++) w[i] = (v[i >> 3]! >> (i & 7)) & 1;
    words = [w];
  } else words = fixedWords(d.values as unknown as ArrayBufferView, n);
  return { words, nulls, shared: d.values instanceof Int32Array };
}

function zeroNulls(w: Int32Array, bm: Uint8Array, n: number): void {
  for (let i = 0; i < n; i++) if (((bm[i >> 3]! >> (i & 7)) & 1) === 0) w[i] = 0;
}

function fixedWords(v: ArrayBufferView, n: number): Int32Array[] {
  if (v instanceof Int32Array) return [v.subarray(0, n)];
  if (v instanceof Float64Array) {
    const bitsOf = new Int32Array(v.buffer, v.byteOffset, 2 * n);
    const lo = new Int32Array(n);
    const hi = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      const x = v[i]!;
      if (x === 0) continue; // 0 and -0 alike
      if (x !== x) { hi[i] = 0x7ff80000; continue; } // every NaN alike
      lo[i] = bitsOf[2 * i]!;
      hi[i] = bitsOf[2 * i + 1]!;
    }
    return [lo, hi];
  }
  if (v instanceof Float32Array) {
    const bitsOf = new Int32Array(v.buffer, v.byteOffset, n);
    const w = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      const x = v[i]!;
      w[i] = x === 0 ? 0 : x !== x ? 0x7fc00000 : bitsOf[i]!;
    }
    return [w];
  }
  if (v instanceof BigInt64Array || v instanceof BigUint64Array) {
    const bitsOf = new Int32Array(v.buffer, v.byteOffset, 2 * n);
    const lo = new Int32Array(n);
    const hi = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      lo[i] = bitsOf[2 * i]!;
      hi[i] = bitsOf[2 * i + 1]!;
    }
    return [lo, hi];
  }
  // int8, int16, uint8, uint16, uint32 (by its bits): one word each, copied.
  const src = v as unknown as { [i: number]: number };
  const w = new Int32Array(n);
  for (let i = 0; i < n; i++) w[i] = src[i]!;
  return [w];
}

/** Dictionary indices mapped so that equal strings (at several indices) get one word. */
function dictWords(d: Data, n: number): Int32Array {
  const strings = dictStrings(d);
  const canon = new Map<string | null, number>();
  const alias = new Int32Array(strings.length);
  strings.forEach((s, j) => {
    const c = canon.get(s);
    if (c === undefined) canon.set(s, j);
    alias[j] = c ?? j;
  });
  const idx = d.values as unknown as { [i: number]: number };
  const w = new Int32Array(n);
  for (let i = 0; i < n; i++) w[i] = alias[idx[i]!] ?? 0;
  return w;
}

/** One id per distinct byte string, by a hash table over the utf8 bytes (no string decoding). */
function utf8Words(d: Data, n: number): Int32Array {
  const o = d.valueOffsets as Int32Array;
  const b = d.values as Uint8Array;
  const w = new Int32Array(n);
  let bits = 6;
  let cap = 1 << bits;
  let thash = new Int32Array(cap);
  let trow = new Int32Array(cap).fill(-1);
  let tid = new Int32Array(cap);
  let count = 0;
  const same = (r: number, i: number): boolean => {
    const a0 = o[r]!, a1 = o[r + 1]!, b0 = o[i]!, b1 = o[i + 1]!;
    if (a1 - a0 !== b1 - b0) return false;
    for (let k = 0; k < a1 - a0; k++) if (b[a0 + k] !== b[b0 + k]) return false;
    return true;
  };
  for (let i = 0; i < n; i++) {
    let x = 0x811c9dc5;
    for (let k = o[i]!; k < o[i + 1]!; k++) x = Math.imul(x ^ b[k]!, 16777619);
    x = Math.imul(x ^ (x >>> 15), kGolden);
    let h = x >>> (32 - bits);
    while (trow[h]! >= 0 && !(thash[h] === x && same(trow[h]!, i))) h = (h + 1) & (cap - 1);
    if (trow[h]! >= 0) {
      w[i] = tid[h]!;
      continue;
    }
    thash[h] = x;
    trow[h] = i;
    tid[h] = count;
    w[i] = count++;
    if (2 * count > cap) {
      bits++;
      cap = 1 << bits;
      const nh = new Int32Array(cap);
      const nr = new Int32Array(cap).fill(-1);
      const ni = new Int32Array(cap);
      for (let s = 0; s < thash.length; s++) {
        if (trow[s]! < 0) continue;
        let q = thash[s]! >>> (32 - bits);
        while (nr[q]! >= 0) q = (q + 1) & (cap - 1);
        nh[q] = thash[s]!;
        nr[q] = trow[s]!;
        ni[q] = tid[s]!;
      }
      thash = nh;
      trow = nr;
      tid = ni;
    }
  }
  return w;
}

// Partial aggregates
// ------------------

/** Per group of one column: non-null count, sum, min, max (NaN is sticky in min and max). */
export interface Partial {
  n: Float64Array;
  s: Float64Array;
  lo: Float64Array;
  hi: Float64Array;
}

export function emptyPartial(m: number): Partial {
  return { n: new Float64Array(m), s: new Float64Array(m), lo: new Float64Array(m).fill(Infinity), hi: new Float64Array(m).fill(-Infinity) };
}

/** A column to aggregate: numbers (null for a column only counted) and its validity bitmap. */
export interface AggInput {
  values: ArrayLike<number> | null;
  nulls: Uint8Array | null;
}

/** Rows per block of the local pass: the block's group ids stay in L1. */
const kBlock = 4096;

/**
 * One pass over the rows [0, n), a block at a time: group ids from `table`, then every
 * column's partial aggregates of the block. Returns rows per group and one Partial per column.
 */
export function aggregateLocal(table: GroupTable, inputs: readonly AggInput[], n: number): { rows: Float64Array; partials: Partial[] } {
  const gid = new Int32Array(Math.min(kBlock, n));
  let cap = 64;
  // Per column, one group's n, sum, min, max side by side (one cache line per group).
  let acc: Float64Array[] = inputs.map(() => emptyAoS(cap));
  let rows: Float64Array = new Float64Array(cap);
  // A column without nulls counts every row: its n is the row count.
  const counter = inputs.findIndex((c) => c.nulls === null);
  // The common case, a one-word key and a float64 column without nulls, is one fused pass.
  const fused = table.fusable ? inputs.findIndex((c) => c.nulls === null && c.values instanceof Float64Array) : -1;
  for (let s = 0; s < n; s += kBlock) {
    const e = Math.min(n, s + kBlock);
    const len = e - s;
    if (table.count + len > cap) {
      // Room for every row of the block to start a group.
      while (table.count + len > cap) cap *= 2;
      acc = acc.map((a) => growAoS(a, cap));
      rows = growF64(rows, cap);
    }
    if (fused >= 0) table.idsAccumulate(s, e, inputs.length > 1 ? gid : null, acc[fused]!, inputs[fused]!.values as Float64Array);
    else table.ids(s, e, gid);
    if (counter < 0) for (let j = 0; j < len; j++) rows[gid[j]!]!++;
    inputs.forEach((c, k) => {
      if (k === fused) return;
      const a = acc[k]!;
      if (c.values === null) countValid(a, gid, len, s, c.nulls);
      else if (c.nulls === null && c.values instanceof Float64Array) accumulateF64(a, gid, len, c.values, s);
      else accumulateAny(a, gid, len, c.values, s, c.nulls);
    });
  }
  const m = table.count;
  const partials = acc.map((a) => splitAoS(a, m));
  return { rows: counter >= 0 ? partials[counter]!.n.slice() : rows.slice(0, m), partials };
}

function emptyAoS(cap: number): Float64Array {
  const a = new Float64Array(4 * cap);
  for (let x = 0; x < cap; x++) {
    a[4 * x + 2] = Infinity;
    a[4 * x + 3] = -Infinity;
  }
  return a;
}

function growAoS(a: Float64Array, cap: number): Float64Array {
  const b = emptyAoS(cap);
  b.set(a);
  return b;
}

function growF64(a: Float64Array, cap: number): Float64Array {
  const b = new Float64Array(cap);
  b.set(a);
  return b;
}

function splitAoS(a: Float64Array, m: number): Partial {
  const p = emptyPartial(m);
  for (let x = 0; x < m; x++) {
    p.n[x] = a[4 * x]!;
    p.s[x] = a[4 * x + 1]!;
    p.lo[x] = a[4 * x + 2]!;
    p.hi[x] = a[4 * x + 3]!;
  }
  return p;
}

// NaN is sticky in min and max: once there, no number replaces it.
// The (n, sum, min, max) update is written out in each row loop on purpose: folded into one
// helper function, groupBy at P = 2 measured 8-10% slower (bench/io.bench.ts, 2026-12-01).
function accumulateF64(a: Float64Array, gid: Int32Array, len: number, v: Float64Array, s: number): void {
  for (let j = 0; j < len; j++) {
    accumulate(a, gid[j]!, v[s + j]!);
  }
}

function accumulateAny(a: Float64Array, gid: Int32Array, len: number, v: ArrayLike<number>, s: number, nulls: Uint8Array | null): void {
  for (let j = 0; j < len; j++) {
    const i = s + j;
    if (nulls !== null && ((nulls[i >> 3]! >> (i & 7)) & 1) === 0) continue;
    accumulate(a, gid[j]!, v[i]!);
  }
}

function countValid(a: Float64Array, gid: Int32Array, len: number, s: number, nulls: Uint8Array | null): void {
  for (let j = 0; j < len; j++) {
    const i = s + j;
    if (nulls === null || ((nulls[i >> 3]! >> (i & 7)) & 1) === 1) a[gid[j]! << 2]!++;
  }
}

/** Merges partial `b` (row i belongs to group gid[i]) into `a`. */
export function mergePartial(a: Partial, gid: Int32Array, b: Partial): void {
  for (let i = 0; i < gid.length; i++) {
    const x = gid[i]!;
    a.n[x]! += b.n[i]!;
    a.s[x]! += b.s[i]!;
    const l = b.lo[i]!;
    const h = b.hi[i]!;
    if (l < a.lo[x]!) a.lo[x] = l;
    else if (l !== l) a.lo[x] = l;
    if (h > a.hi[x]!) a.hi[x] = h;
    else if (h !== h) a.hi[x] = h;
  }
}
