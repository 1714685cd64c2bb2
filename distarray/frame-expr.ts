/**
 * Column expressions for DistFrame: `col('x').gt(3).and(col('s').eq('a'))`. An expression is a
 * small tree; it is evaluated over a rank's whole columns at once (typed-array loops, one per
 * node, no closure per row), in filter, withColumn and groupBy, and the Parquet reader reads
 * its comparisons against row-group min/max statistics (canMatch) to skip row groups.
 *
 * Values: numbers (every int, float, timestamp and date column; computed as float64), bools,
 * strings (utf8 and dictionary columns). Nulls propagate through arithmetic, comparisons and
 * string functions; `and`/`or` follow SQL's three-valued logic; a filter keeps rows whose
 * predicate is true (not null).
 */
import type { DataType } from 'apache-arrow';
import {
  Bool, Data, Float32, Float64, Int8, Int16, Int32, Int64, Schema, Uint8, Uint16, Uint32, Uint64, Utf8, makeData, vectorFromArray,
} from '../util/arrow.js';
import { ArgumentError } from '../util/errors.js';
import { familyOf, packBits, validBytes, valueGetter } from './frame-kernels.js';

export type Scalar = number | string | boolean | bigint | null;
export type CastType = 'float64' | 'float32' | 'int8' | 'int16' | 'int32' | 'int64' | 'uint8' | 'uint16' | 'uint32' | 'uint64' | 'bool' | 'utf8';
type BinOp = '+' | '-' | '*' | '/' | '%' | '==' | '!=' | '<' | '<=' | '>' | '>=' | 'and' | 'or';
type StrOp = 'startsWith' | 'endsWith' | 'contains' | 'lower' | 'upper' | 'length';

export type ExprNode =
  | { k: 'col'; name: string }
  | { k: 'lit'; value: Scalar }
  | { k: 'bin'; op: BinOp; a: ExprNode; b: ExprNode }
  | { k: 'not'; a: ExprNode }
  | { k: 'neg'; a: ExprNode }
  | { k: 'isNull'; a: ExprNode; negate: boolean }
  | { k: 'fillNull'; a: ExprNode; b: ExprNode }
  | { k: 'cast'; a: ExprNode; to: CastType }
  | { k: 'str'; op: StrOp; a: ExprNode; arg?: string }
  | { k: 'when'; branches: [ExprNode, ExprNode][]; otherwise: ExprNode };

const kCasts: readonly CastType[] = ['float64', 'float32', 'int8', 'int16', 'int32', 'int64', 'uint8', 'uint16', 'uint32', 'uint64', 'bool', 'utf8'];

type ExprLike = Expr | Scalar;
const nodeOf = (x: ExprLike): ExprNode => (x instanceof Expr ? x.node : { k: 'lit', value: x });

/** A column expression. Build with `col(name)`, `lit(value)`, `when(cond)`. */
export class Expr {
  /** The output name set by `alias` (groupBy keys use it). */
  readonly name: string | undefined;
  constructor(readonly node: ExprNode, name?: string) {
    this.name = name;
  }

  /** The same expression with an output name (for groupBy keys). */
  alias(name: string): Expr {
    if (typeof name !== 'string' || name.length === 0) throw new ArgumentError('alias(name)', 'a non-empty name', name);
    return new Expr(this.node, name);
  }

  private bin(op: BinOp, other: ExprLike): Expr {
    return new Expr({ k: 'bin', op, a: this.node, b: nodeOf(other) });
  }

  add(o: ExprLike): Expr { return this.bin('+', o); }
  sub(o: ExprLike): Expr { return this.bin('-', o); }
  mul(o: ExprLike): Expr { return this.bin('*', o); }
  div(o: ExprLike): Expr { return this.bin('/', o); }
  mod(o: ExprLike): Expr { return this.bin('%', o); }
  neg(): Expr { return new Expr({ k: 'neg', a: this.node }); }
  eq(o: ExprLike): Expr { return this.bin('==', o); }
  ne(o: ExprLike): Expr { return this.bin('!=', o); }
  lt(o: ExprLike): Expr { return this.bin('<', o); }
  le(o: ExprLike): Expr { return this.bin('<=', o); }
  gt(o: ExprLike): Expr { return this.bin('>', o); }
  ge(o: ExprLike): Expr { return this.bin('>=', o); }
  and(o: ExprLike): Expr { return this.bin('and', o); }
  or(o: ExprLike): Expr { return this.bin('or', o); }
  not(): Expr { return new Expr({ k: 'not', a: this.node }); }
  isNull(): Expr { return new Expr({ k: 'isNull', a: this.node, negate: false }); }
  isNotNull(): Expr { return new Expr({ k: 'isNull', a: this.node, negate: true }); }
  fillNull(v: ExprLike): Expr { return new Expr({ k: 'fillNull', a: this.node, b: nodeOf(v) }); }
  cast(to: CastType): Expr {
    if (!kCasts.includes(to)) throw new ArgumentError('cast(to)', `one of ${kCasts.join(', ')}`, to);
    return new Expr({ k: 'cast', a: this.node, to });
  }
  startsWith(s: string): Expr { return this.strOp('startsWith', s); }
  endsWith(s: string): Expr { return this.strOp('endsWith', s); }
  contains(s: string): Expr { return this.strOp('contains', s); }
  lower(): Expr { return this.strOp('lower'); }
  upper(): Expr { return this.strOp('upper'); }
  /** Length of a string in UTF-16 code units (JavaScript's `length`). */
  length(): Expr { return this.strOp('length'); }

  private strOp(op: StrOp, arg?: string): Expr {
    if (arg !== undefined && typeof arg !== 'string') throw new ArgumentError(`${op}(pattern)`, 'a string', arg);
    return new Expr({ k: 'str', op, a: this.node, arg });
  }

  /** Column names the expression reads. */
  columns(): string[] {
    const out = new Set<string>();
    const walk = (n: ExprNode): void => {
      switch (n.k) {
        case 'col': out.add(n.name); return;
        case 'lit': return;
        case 'bin': case 'fillNull': walk(n.a); walk(n.b); return;
        case 'when': n.branches.forEach(([c, v]) => { walk(c); walk(v); }); walk(n.otherwise); return;
        default: walk(n.a);
      }
    };
    walk(this.node);
    return [...out];
  }

  toString(): string {
    return show(this.node);
  }
}

function show(n: ExprNode): string {
  switch (n.k) {
    case 'col': return `col(${JSON.stringify(n.name)})`;
    case 'lit': return typeof n.value === 'bigint' ? `${n.value}n` : JSON.stringify(n.value);
    case 'bin': return `(${show(n.a)} ${n.op} ${show(n.b)})`;
    case 'not': return `not ${show(n.a)}`;
    case 'neg': return `-${show(n.a)}`;
    case 'isNull': return `${show(n.a)}.${n.negate ? 'isNotNull' : 'isNull'}()`;
    case 'fillNull': return `${show(n.a)}.fillNull(${show(n.b)})`;
    case 'cast': return `${show(n.a)}.cast(${n.to})`;
    case 'str': return `${show(n.a)}.${n.op}(${n.arg === undefined ? '' : JSON.stringify(n.arg)})`;
    case 'when': return `when ${n.branches.map(([c, v]) => `${show(c)} then ${show(v)}`).join(' when ')} otherwise ${show(n.otherwise)}`;
  }
}

/** A column reference. */
export function col(name: string): Expr {
  if (typeof name !== 'string' || name.length === 0) throw new ArgumentError('col(name)', 'a non-empty column name', name);
  return new Expr({ k: 'col', name });
}

/** A literal (numbers, strings, booleans, bigints, null). */
export function lit(value: Scalar): Expr {
  return new Expr({ k: 'lit', value });
}

/** `when(cond).then(a).when(cond2).then(b).otherwise(c)`: the first true condition's value. */
export function when(cond: ExprLike): { then(v: ExprLike): When } {
  return { then: (v) => new When([[nodeOf(cond), nodeOf(v)]]) };
}

export class When extends Expr {
  constructor(readonly branches: [ExprNode, ExprNode][]) {
    super({ k: 'when', branches, otherwise: { k: 'lit', value: null } });
  }
  when(cond: ExprLike): { then(v: ExprLike): When } {
    return { then: (v) => new When([...this.branches, [nodeOf(cond), nodeOf(v)]]) };
  }
  otherwise(v: ExprLike): Expr {
    return new Expr({ k: 'when', branches: this.branches, otherwise: nodeOf(v) });
  }
}

// Evaluation
// ----------

/** A column of evaluated values: valid is 1 per non-null row, or null when no row is null. */
export type Vec =
  | { kind: 'num'; v: Float64Array; valid: Uint8Array | null; type?: DataType; src?: Data }
  | { kind: 'bool'; v: Uint8Array; valid: Uint8Array | null; src?: Data }
  | { kind: 'str'; v: (string | null)[]; src?: Data };

/** What expressions are evaluated against: a rank's columns. */
export interface ExprInput {
  schema: Schema;
  columns: readonly Data[];
  rows: number;
}

/** Evaluates `e` over every row of `input`. @throws {ArgumentError} for a missing column or mismatched types */
export function evaluate(e: Expr, input: ExprInput): Vec {
  return new Evaluator(input, e).run(e.node);
}

/** The rows where `e` is true (not false, not null), as ascending row indices. */
export function maskIndices(e: Expr, input: ExprInput): Int32Array {
  const m = evaluate(e, input);
  if (m.kind !== 'bool') throw new ArgumentError('filter expression', 'a boolean expression (a comparison, and/or, isNull, ...)', `${e} of ${m.kind === 'num' ? 'numbers' : 'strings'}`);
  let k = 0;
  const keep = (i: number) => m.v[i] === 1 && (!m.valid || m.valid[i] === 1);
  for (let i = 0; i < input.rows; i++) if (keep(i)) k++;
  const idx = new Int32Array(k);
  for (let i = 0, j = 0; i < input.rows; i++) if (keep(i)) idx[j++] = i;
  return idx;
}

/** An evaluated column as Arrow data (numbers float64 unless a column or a cast fixed the type). */
export function vecToData(v: Vec, n: number): Data {
  if (v.src) return v.src;
  if (v.kind === 'str') return vectorFromArray(v.v, new Utf8()).data[0] as Data;
  const nulls = v.valid ? packBits(n, (i) => v.valid![i] === 1) : null;
  const validity = nulls && nulls[1] > 0 ? { nullCount: nulls[1], nullBitmap: nulls[0] } : {};
  if (v.kind === 'bool') return makeData({ type: new Bool(), length: n, data: packBits(n, (i) => v.v[i] === 1)[0], ...validity });
  const type = v.type ?? new Float64();
  const Ctor = (type as unknown as { ArrayType: new (n: number) => ArrayLike<number | bigint> & { [i: number]: number | bigint } }).ArrayType;
  let data: unknown = v.v;
  if (Ctor !== Float64Array) {
    const out = new Ctor(n);
    const big = out instanceof BigInt64Array || out instanceof BigUint64Array;
    for (let i = 0; i < n; i++) {
      const x = v.v[i]!;
      out[i] = big ? BigInt(Number.isFinite(x) ? Math.trunc(x) : 0) : x;
    }
    data = out;
  }
  return makeData({ type: type as never, length: n, data: data as never, ...validity } as never);
}

const castTypes: Record<Exclude<CastType, 'bool' | 'utf8'>, () => DataType> = {
  float64: () => new Float64(), float32: () => new Float32(), int8: () => new Int8(), int16: () => new Int16(), int32: () => new Int32(), int64: () => new Int64(),
  uint8: () => new Uint8(), uint16: () => new Uint16(), uint32: () => new Uint32(), uint64: () => new Uint64(),
};

function andValid(a: Uint8Array | null, b: Uint8Array | null, n: number): Uint8Array | null {
  if (!a) return b;
  if (!b) return a;
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = a[i]! & b[i]!;
  return out;
}

class Evaluator {
  private readonly n: number;
  constructor(private readonly input: ExprInput, private readonly whole: Expr) {
    this.n = input.rows;
  }

  private bad(what: string, got: string): never {
    throw new ArgumentError(`expression ${this.whole}`, what, got);
  }

  run(node: ExprNode): Vec {
    const n = this.n;
    switch (node.k) {
      case 'col': return this.column(node.name);
      case 'lit': return this.literal(node.value);
      case 'neg': {
        const a = this.num(node.a);
        const v = new Float64Array(n);
        for (let i = 0; i < n; i++) v[i] = -a.v[i]!;
        return { kind: 'num', v, valid: a.valid };
      }
      case 'not': {
        const a = this.bool(node.a);
        const v = new Uint8Array(n);
        for (let i = 0; i < n; i++) v[i] = 1 - a.v[i]!;
        return { kind: 'bool', v, valid: a.valid };
      }
      case 'isNull': {
        const a = this.run(node.a);
        const v = new Uint8Array(n);
        const yes = node.negate ? 0 : 1;
        if (a.kind === 'str') for (let i = 0; i < n; i++) v[i] = a.v[i] === null ? yes : 1 - yes;
        else for (let i = 0; i < n; i++) v[i] = !a.valid || a.valid[i] ? 1 - yes : yes;
        return { kind: 'bool', v, valid: null };
      }
      case 'fillNull': return this.fillNull(this.run(node.a), this.run(node.b));
      case 'cast': return this.cast(this.run(node.a), node.to);
      case 'str': return this.strOp(node.op, this.str(node.a), node.arg);
      case 'bin': return this.binary(node.op, node.a, node.b);
      case 'when': return this.when(node.branches, node.otherwise);
    }
  }

  private column(name: string): Vec {
    const k = this.input.schema.fields.findIndex((f) => f.name === name);
    if (k < 0) throw new ArgumentError(`column '${name}' in expression ${this.whole}`, `one of ${this.input.schema.fields.map((f) => f.name).join(', ') || '(no columns)'}`, name);
    const d = this.input.columns[k]!;
    const fam = familyOf(d.type, name);
    const n = this.n;
    if (fam === 'utf8' || fam === 'dict') {
      const get = valueGetter(d);
      const v: (string | null)[] = new Array(n);
      for (let i = 0; i < n; i++) v[i] = get(i) as string | null;
      return { kind: 'str', v, src: d };
    }
    const valid = validBytes(d);
    if (fam === 'bool') {
      const bits = d.values as Uint8Array;
      const v = new Uint8Array(n);
      for (let i = 0; i < n; i++) v[i] = (bits[i >> 3]! >> (i & 7)) & 1;
      return { kind: 'bool', v, valid, src: d };
    }
    const raw = d.values as unknown as ArrayLike<number | bigint>;
    let v: Float64Array;
    if (raw instanceof Float64Array) v = raw.subarray(0, n);
    else {
      v = new Float64Array(n);
      if (raw instanceof BigInt64Array || raw instanceof BigUint64Array) for (let i = 0; i < n; i++) v[i] = Number(raw[i]!);
      else for (let i = 0; i < n; i++) v[i] = raw[i] as number;
    }
    return { kind: 'num', v, valid, type: d.type, src: d };
  }

  private literal(x: Scalar): Vec {
    const n = this.n;
    if (x === null) return { kind: 'num', v: new Float64Array(n), valid: new Uint8Array(n) };
    if (typeof x === 'string') return { kind: 'str', v: new Array<string | null>(n).fill(x) };
    if (typeof x === 'boolean') return { kind: 'bool', v: new Uint8Array(n).fill(x ? 1 : 0), valid: null };
    if (typeof x === 'number' || typeof x === 'bigint') return { kind: 'num', v: new Float64Array(n).fill(Number(x)), valid: null };
    return this.bad('built from numbers, strings, booleans, bigints or null', String(x));
  }

  private num(node: ExprNode): Extract<Vec, { kind: 'num' }> {
    const a = this.run(node);
    if (a.kind === 'num') return a;
    if (a.kind === 'bool') return { kind: 'num', v: Float64Array.from(a.v), valid: a.valid };
    return this.bad(`numbers where ${show(node)} is`, 'strings');
  }

  private bool(node: ExprNode): Extract<Vec, { kind: 'bool' }> {
    const a = this.run(node);
    if (a.kind === 'bool') return a;
    if (a.kind === 'num' && a.valid && a.v.every((_, i) => !a.valid![i])) return { kind: 'bool', v: new Uint8Array(this.n), valid: a.valid }; // lit(null)
    return this.bad(`a boolean where ${show(node)} is`, a.kind === 'num' ? 'numbers' : 'strings');
  }

  private str(node: ExprNode): Extract<Vec, { kind: 'str' }> {
    const a = this.run(node);
    if (a.kind === 'str') return a;
    return this.bad(`strings where ${show(node)} is`, a.kind === 'num' ? 'numbers' : 'booleans');
  }

  private binary(op: BinOp, an: ExprNode, bn: ExprNode): Vec {
    const n = this.n;
    if (op === 'and' || op === 'or') {
      const a = this.bool(an);
      const b = this.bool(bn);
      const v = new Uint8Array(n);
      const valid = a.valid || b.valid ? new Uint8Array(n) : null;
      const isAnd = op === 'and';
      for (let i = 0; i < n; i++) {
        const av = !a.valid || a.valid[i] === 1;
        const bv = !b.valid || b.valid[i] === 1;
        const x = a.v[i]!;
        const y = b.v[i]!;
        // Kleene: false and null = false, true or null = true.
        const dominant = isAnd ? 0 : 1;
        if ((av && x === dominant) || (bv && y === dominant)) { v[i] = dominant; if (valid) valid[i] = 1; }
        else if (av && bv) { v[i] = isAnd ? x & y : x | y; if (valid) valid[i] = 1; }
      }
      return { kind: 'bool', v, valid };
    }
    const a = this.run(an);
    const b = this.run(bn);
    if (a.kind === 'str' || b.kind === 'str') {
      if (a.kind !== 'str' || b.kind !== 'str' || !['==', '!=', '<', '<=', '>', '>='].includes(op)) {
        return this.bad(`operands of one kind for ${op} (strings compare only with strings)`, `${show(an)} ${op} ${show(bn)}`);
      }
      const v = new Uint8Array(n);
      const valid = new Uint8Array(n);
      let nulls = 0;
      for (let i = 0; i < n; i++) {
        const x = a.v[i]!;
        const y = b.v[i]!;
        if (x === null || y === null) { nulls++; continue; }
        valid[i] = 1;
        v[i] = +(op === '==' ? x === y : op === '!=' ? x !== y : op === '<' ? x < y : op === '<=' ? x <= y : op === '>' ? x > y : x >= y);
      }
      return { kind: 'bool', v, valid: nulls > 0 ? valid : null };
    }
    const x = a.kind === 'num' ? a : { v: Float64Array.from(a.v), valid: a.valid };
    const y = b.kind === 'num' ? b : { v: Float64Array.from(b.v), valid: b.valid };
    const valid = andValid(x.valid, y.valid, n);
    const xv = x.v;
    const yv = y.v;
    if (op === '+' || op === '-' || op === '*' || op === '/' || op === '%') {
      const v = new Float64Array(n);
      if (op === '+') for (let i = 0; i < n; i++) v[i] = xv[i]! + yv[i]!;
      else if (op === '-') for (let i = 0; i < n; i++) v[i] = xv[i]! - yv[i]!;
      else if (op === '*') for (let i = 0; i < n; i++) v[i] = xv[i]! * yv[i]!;
      else if (op === '/') for (let i = 0; i < n; i++) v[i] = xv[i]! / yv[i]!;
      else for (let i = 0; i < n; i++) v[i] = xv[i]! % yv[i]!;
      return { kind: 'num', v, valid };
    }
    const v = new Uint8Array(n);
    if (op === '==') for (let i = 0; i < n; i++) v[i] = +(xv[i] === yv[i]);
    else if (op === '!=') for (let i = 0; i < n; i++) v[i] = +(xv[i] !== yv[i]);
    else if (op === '<') for (let i = 0; i < n; i++) v[i] = +(xv[i]! < yv[i]!);
    else if (op === '<=') for (let i = 0; i < n; i++) v[i] = +(xv[i]! <= yv[i]!);
    else if (op === '>') for (let i = 0; i < n; i++) v[i] = +(xv[i]! > yv[i]!);
    else for (let i = 0; i < n; i++) v[i] = +(xv[i]! >= yv[i]!);
    return { kind: 'bool', v, valid };
  }

  private fillNull(a: Vec, b: Vec): Vec {
    const n = this.n;
    if (a.kind === 'str') {
      if (b.kind !== 'str') return this.bad('a string fill value for a string column', b.kind);
      return { kind: 'str', v: a.v.map((x, i) => x ?? b.v[i]!) };
    }
    if (b.kind === 'str') return this.bad(`a ${a.kind === 'num' ? 'number' : 'boolean'} fill value`, 'a string');
    if (!a.valid) return a;
    if (a.kind === 'bool') {
      const v = a.v.slice();
      for (let i = 0; i < n; i++) if (!a.valid[i]) v[i] = b.v[i]! ? 1 : 0;
      return { kind: 'bool', v, valid: b.valid ? andValid(null, mergeValid(a.valid, b.valid, n), n) : null };
    }
    const v = a.v.slice();
    for (let i = 0; i < n; i++) if (!a.valid[i]) v[i] = b.v[i]!;
    return { kind: 'num', v, valid: b.valid ? mergeValid(a.valid, b.valid, n) : null, type: a.type };
  }

  private cast(a: Vec, to: CastType): Vec {
    const n = this.n;
    if (to === 'utf8') {
      if (a.kind === 'str') return { kind: 'str', v: a.v };
      const out: (string | null)[] = new Array(n);
      for (let i = 0; i < n; i++) out[i] = a.valid && !a.valid[i] ? null : a.kind === 'bool' ? String(a.v[i] === 1) : String(a.v[i]);
      return { kind: 'str', v: out };
    }
    if (to === 'bool') {
      if (a.kind === 'bool') return { kind: 'bool', v: a.v, valid: a.valid };
      if (a.kind === 'str') return this.bad('numbers or booleans to cast to bool', 'strings');
      const v = new Uint8Array(n);
      for (let i = 0; i < n; i++) v[i] = +(a.v[i] !== 0);
      return { kind: 'bool', v, valid: a.valid };
    }
    const type = castTypes[to]();
    if (a.kind === 'str') {
      const v = new Float64Array(n);
      const valid = new Uint8Array(n);
      for (let i = 0; i < n; i++) {
        const s = a.v[i];
        const x = s === null || s === undefined || s.trim() === '' ? NaN : Number(s);
        if (!Number.isNaN(x)) { v[i] = x; valid[i] = 1; }
      }
      return { kind: 'num', v: integerize(v, to), valid, type };
    }
    return { kind: 'num', v: integerize(a.kind === 'bool' ? Float64Array.from(a.v) : a.v.slice(), to), valid: a.valid, type };
  }

  private strOp(op: StrOp, a: Extract<Vec, { kind: 'str' }>, arg?: string): Vec {
    const n = this.n;
    if (op === 'lower' || op === 'upper') return { kind: 'str', v: a.v.map((s) => (s === null ? null : op === 'lower' ? s.toLowerCase() : s.toUpperCase())) };
    const valid = new Uint8Array(n);
    let nulls = 0;
    if (op === 'length') {
      const v = new Float64Array(n);
      for (let i = 0; i < n; i++) {
        const s = a.v[i];
        if (s === null || s === undefined) nulls++;
        else { v[i] = s.length; valid[i] = 1; }
      }
      return { kind: 'num', v, valid: nulls > 0 ? valid : null, type: new Int32() };
    }
    if (arg === undefined) return this.bad(`a pattern for ${op}`, 'none');
    const v = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      const s = a.v[i];
      if (s === null || s === undefined) { nulls++; continue; }
      valid[i] = 1;
      v[i] = +(op === 'startsWith' ? s.startsWith(arg) : op === 'endsWith' ? s.endsWith(arg) : s.includes(arg));
    }
    return { kind: 'bool', v, valid: nulls > 0 ? valid : null };
  }

  private when(branches: [ExprNode, ExprNode][], otherwise: ExprNode): Vec {
    const n = this.n;
    const conds = branches.map(([c]) => this.bool(c));
    const vals = [...branches.map(([, v]) => this.run(v)), this.run(otherwise)];
    // The kind of the result: the first branch that is not a null literal.
    const isNullLit = (k: number) => (k < branches.length ? branches[k]![1] : otherwise).k === 'lit' && (k < branches.length ? (branches[k]![1] as { value?: Scalar }) : (otherwise as { value?: Scalar })).value === null;
    const kind = vals.find((_, k) => !isNullLit(k))?.kind ?? 'num';
    vals.forEach((v, k) => {
      if (v.kind !== kind && !isNullLit(k)) this.bad(`branches of one kind in when/then/otherwise`, `${kind} and ${v.kind}`);
    });
    const pick = new Int32Array(n).fill(vals.length - 1);
    for (let i = 0; i < n; i++) {
      for (let k = 0; k < conds.length; k++) {
        const c = conds[k]!;
        if (c.v[i] === 1 && (!c.valid || c.valid[i] === 1)) { pick[i] = k; break; }
      }
    }
    if (kind === 'str') {
      const v: (string | null)[] = new Array(n);
      for (let i = 0; i < n; i++) {
        const src = vals[pick[i]!]!;
        v[i] = src.kind === 'str' ? src.v[i]! : null;
      }
      return { kind: 'str', v };
    }
    const valid = new Uint8Array(n);
    let nulls = 0;
    const v = kind === 'bool' ? new Uint8Array(n) : new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const src = vals[pick[i]!]! as Extract<Vec, { kind: 'num' | 'bool' }>;
      if (src.valid && !src.valid[i]) { nulls++; continue; }
      valid[i] = 1;
      v[i] = src.v[i]!;
    }
    return kind === 'bool' ? { kind: 'bool', v: v as Uint8Array, valid: nulls > 0 ? valid : null } : { kind: 'num', v: v as Float64Array, valid: nulls > 0 ? valid : null };
  }
}

function mergeValid(a: Uint8Array, b: Uint8Array, n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = a[i]! | b[i]!;
  return out;
}

function integerize(v: Float64Array, to: CastType): Float64Array {
  if (to === 'float64' || to === 'float32') return v;
  for (let i = 0; i < v.length; i++) v[i] = Number.isFinite(v[i]!) ? Math.trunc(v[i]!) : 0;
  return v;
}

// Row-group pruning
// -----------------

/** What a row group's statistics say of one column (undefined fields: unknown). */
export interface ColumnStats {
  min?: number | string;
  max?: number | string;
  nulls?: number;
  rows: number;
}

/**
 * False only when no row of a row group with these statistics can make `e` true (so the
 * row group need not be read); true whenever it cannot tell.
 */
export function canMatch(e: Expr, stats: (column: string) => ColumnStats | undefined): boolean {
  const lit = (n: ExprNode): Scalar | undefined => (n.k === 'lit' ? n.value : undefined);
  const flip: Record<string, BinOp> = { '<': '>', '<=': '>=', '>': '<', '>=': '<=', '==': '==', '!=': '!=' };
  const walk = (n: ExprNode): boolean => {
    if (n.k === 'bin' && n.op === 'and') return walk(n.a) && walk(n.b);
    if (n.k === 'bin' && n.op === 'or') return walk(n.a) || walk(n.b);
    if (n.k === 'isNull' && n.a.k === 'col') {
      const s = stats(n.a.name);
      if (!s || s.nulls === undefined) return true;
      return n.negate ? s.nulls < s.rows : s.nulls > 0;
    }
    if (n.k !== 'bin' || !(n.op in flip)) return true;
    let c: ExprNode = n.a;
    let v = lit(n.b);
    let op = n.op;
    if (c.k !== 'col') {
      c = n.b;
      v = lit(n.a);
      op = flip[op]!;
    }
    if (c.k !== 'col' || v === undefined) return true;
    const s = stats(c.name);
    if (!s) return true;
    if (v === null) return false; // a comparison with null is never true
    if (s.nulls !== undefined && s.nulls >= s.rows) return false; // only nulls
    const x = typeof v === 'bigint' ? Number(v) : typeof v === 'boolean' ? +v : v;
    const { min, max } = s;
    if (min === undefined || max === undefined || typeof min !== typeof x || typeof max !== typeof x) return true;
    switch (op) {
      case '==': return !(x < min || x > max);
      case '!=': return !(min === max && min === x);
      case '<': return min < x;
      case '<=': return min <= x;
      case '>': return max > x;
      case '>=': return max >= x;
      default: return true;
    }
  };
  return walk(e.node);
}
