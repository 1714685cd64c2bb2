/**
 * Elementwise arithmetic and ufuncs on DistArrays, numpy's way: broadcasting between arrays
 * and with scalars, numpy's result dtypes (within superstep's dtypes), and `{ out }` forms.
 *
 * Collective (every rank calls them, in the same order): operands whose layout differs from
 * the result's are brought to it first by one transfer each (see align.ts; counted in
 * `alignStats`). The result takes the distribution of the first array operand that has the
 * broadcast shape (or `out`'s); otherwise a block distribution over every rank.
 */
import { ArgumentError } from '../util/errors.js';
import { resolveDType, type DType } from '../util/dtype.js';
import { block, type Distribution } from './distribution.js';
import { DistArray } from './distarray.js';
import { align, broadcastShapes } from './align.js';
import { mapLocal, zip3Local, zipLocal, type RowKernel } from './loops.js';
import type { Strided } from './regions.js';
import { team } from './team.js';

/** An operand: a DistArray or a number (a scalar broadcasts to every element). */
export type Operand = DistArray | number;

/** Options of the elementwise functions. */
export interface UfuncOptions {
  /** Write the result here (any layout and dtype, the broadcast shape; may be a slicing view or an operand). */
  out?: DistArray;
}

type Kind = 'int' | 'uint' | 'float' | 'bool';
const kInfo: Record<DType, { kind: Kind; bits: number }> = {
  bool: { kind: 'bool', bits: 1 }, int8: { kind: 'int', bits: 8 }, int16: { kind: 'int', bits: 16 }, int32: { kind: 'int', bits: 32 },
  uint8: { kind: 'uint', bits: 8 }, uint8c: { kind: 'uint', bits: 8 }, uint16: { kind: 'uint', bits: 16 }, uint32: { kind: 'uint', bits: 32 },
  int64: { kind: 'int', bits: 64 }, uint64: { kind: 'uint', bits: 64 }, float32: { kind: 'float', bits: 32 }, float64: { kind: 'float', bits: 64 },
};
const kByKind: Record<string, DType> = { int8: 'int8', int16: 'int16', int32: 'int32', uint8: 'uint8', uint16: 'uint16', uint32: 'uint32', float32: 'float32', float64: 'float64' };

/**
 * numpy's promotion of two array dtypes, within superstep's number dtypes: where numpy would
 * go to int64 (int32 with uint32) the result is float64 (elements are numbers, not bigints).
 */
export function promoteTypes(a: DType, b: DType): DType {
  if (a === b) return a === 'uint8c' ? 'uint8' : a;
  const x = kInfo[a];
  const y = kInfo[b];
  if (x.kind === 'bool') return promoteTypes(b, b);
  if (y.kind === 'bool') return promoteTypes(a, a);
  if (x.kind === 'float' || y.kind === 'float') {
    const f = x.kind === 'float' ? x : y;
    const o = x.kind === 'float' ? y : x;
    if (o.kind === 'float') return f.bits >= o.bits ? (f === x ? a : b) : (o === x ? a : b);
    return f.bits === 32 && o.bits <= 16 ? 'float32' : 'float64';
  }
  if (x.kind === y.kind) return kByKind[`${x.kind}${Math.max(x.bits, y.bits)}`]!;
  const s = x.kind === 'int' ? x : y;
  const u = x.kind === 'int' ? y : x;
  if (s.bits > u.bits) return kByKind[`int${s.bits}`]!;
  return u.bits <= 16 ? kByKind[`int${u.bits * 2}`]! : 'float64';
}

/** The dtype of a float-valued unary function (sqrt, exp ...) of `d`: numpy's, with float32 where numpy has float16. */
function floatOf(d: DType): DType {
  return d === 'float32' ? 'float32' : d === 'float64' ? 'float64' : kInfo[d].bits <= 16 && kInfo[d].kind !== 'bool' ? 'float32' : 'float64';
}

/** numpy's result dtype of arrays and (weak) scalars: an int scalar keeps the arrays' dtype, a float one makes it float. */
function resultType(operands: readonly Operand[]): DType {
  let d: DType | undefined;
  for (const x of operands) if (x instanceof DistArray) d = d === undefined ? (x.dtype === 'uint8c' ? 'uint8' : x.dtype) : promoteTypes(d, x.dtype);
  const dt = d!;
  const floatScalar = operands.some((x) => typeof x === 'number' && !Number.isInteger(x));
  return floatScalar && kInfo[dt].kind !== 'float' ? 'float64' : dt === 'bool' && operands.some((x) => typeof x === 'number') ? 'int32' : dt;
}

function checkOperands(operands: readonly Operand[], names: readonly string[], rank: number): DistArray[] {
  const arrays: DistArray[] = [];
  operands.forEach((x, i) => {
    if (x instanceof DistArray) {
      if (x.dtype === 'int64' || x.dtype === 'uint64') throw new ArgumentError(names[i]!, `a DistArray of number elements (not ${x.dtype}, whose elements are bigints: astype() is not available for them either)`, x.dtype, rank);
      arrays.push(x);
    } else if (typeof x !== 'number') throw new ArgumentError(names[i]!, 'a DistArray or a number', x, rank);
  });
  if (arrays.length === 0) throw new ArgumentError(names[0]!, 'a DistArray (at least one operand must be one)', operands[0], rank);
  return arrays;
}

/** A scalar as storage: every element reads the same cell. */
function scalarStorage(v: number, shape: readonly number[]): Strided {
  return { data: Float64Array.of(v), base: 0, axes: shape.map((m) => new Float64Array(m)) };
}

/**
 * Collective: `fn` applied elementwise to the broadcast operands (1 to 3), into `out` or a
 * new array of `dtype`. The engine under every function below.
 */
export async function elementwise(operands: readonly Operand[], names: readonly string[], fn: (...v: number[]) => number, dtype: DType, options: UfuncOptions = {}, row?: RowKernel): Promise<DistArray> {
  const rank = team().rank;
  if (typeof options !== 'object' || options === null) throw new ArgumentError('options', 'an object ({ out })', options, rank);
  const arrays = checkOperands(operands, names, rank);
  const shape = broadcastShapes(arrays.map((a) => a.shape), operands.flatMap((x, i) => (x instanceof DistArray ? [names[i]!] : [])), rank);
  const out = options.out;
  let target: Distribution;
  if (out !== undefined) {
    if (!(out instanceof DistArray)) throw new ArgumentError('options.out', 'a DistArray', out, rank);
    if (out.shape.length !== shape.length || out.shape.some((n, k) => n !== shape[k])) throw new ArgumentError('options.out', `a DistArray of the broadcast shape [${shape.join(', ')}]`, `shape [${out.shape.join(', ')}]`, rank);
    if (out.dtype === 'int64' || out.dtype === 'uint64') throw new ArgumentError('options.out', 'a DistArray of number elements (not int64/uint64)', out.dtype, rank);
    target = out.dist;
  } else {
    const full = arrays.find((a) => a.ndim === shape.length && a.shape.every((n, k) => n === shape[k]));
    target = full ? full.dist : block(shape, arrays[0]!.size);
  }
  const ls = target.localShape(rank);
  const inputs: Strided[] = [];
  for (const x of operands) inputs.push(x instanceof DistArray ? await align(x, target) : scalarStorage(x, shape));
  const result = out ?? (await DistArray.zeros(shape, { dist: target, dtype }));
  const o = result.storage();
  if (inputs.length === 1) mapLocal(inputs[0]!, o, ls, fn);
  else if (inputs.length === 2) zipLocal(inputs[0]!, inputs[1]!, o, ls, fn, row);
  else zip3Local(inputs[0]!, inputs[1]!, inputs[2]!, o, ls, fn);
  return result;
}

const binary = (fn: (x: number, y: number) => number, float = false, row?: RowKernel) =>
  (a: Operand, b: Operand, options?: UfuncOptions): Promise<DistArray> => {
    const d = resultType(checkTyped([a, b]));
    return elementwise([a, b], ['a', 'b'], fn, float ? (d === 'float32' ? d : 'float64') : d, options, row);
  };

const unary = (fn: (x: number) => number, float = false) =>
  (a: DistArray, options?: UfuncOptions): Promise<DistArray> => {
    const d = resultType(checkTyped([a]));
    return elementwise([a], ['a'], fn, float ? floatOf(d) : d, options);
  };

function checkTyped(ops: Operand[]): Operand[] {
  checkOperands(ops, ops.map((_, i) => (i === 0 ? 'a' : 'b')), team().rank);
  return ops;
}

/** numpy's floor-division-free power: Math.pow, except integer results of integer dtypes wrap on store. */
const pw = (x: number, y: number) => Math.pow(x, y);
/** numpy's minimum/maximum propagate NaN. */
const mn = (x: number, y: number) => (x !== x || y !== y ? NaN : x < y ? x : y);
const mx = (x: number, y: number) => (x !== x || y !== y ? NaN : x > y ? x : y);

/** Collective: a + b (broadcast; `{ out }` writes there). */
export const add = binary((x, y) => x + y, false, (x, i, y, j, z, k, n) => { for (let e = 0; e < n; e++) z[k + e] = x[i + e]! + y[j + e]!; });
/** Collective: a - b. */
export const sub = binary((x, y) => x - y, false, (x, i, y, j, z, k, n) => { for (let e = 0; e < n; e++) z[k + e] = x[i + e]! - y[j + e]!; });
/** Collective: a * b. */
export const mul = binary((x, y) => x * y, false, (x, i, y, j, z, k, n) => { for (let e = 0; e < n; e++) z[k + e] = x[i + e]! * y[j + e]!; });
/** Collective: a / b, true division (integers give float64, as numpy's `/`). */
export const div = binary((x, y) => x / y, true, (x, i, y, j, z, k, n) => { for (let e = 0; e < n; e++) z[k + e] = x[i + e]! / y[j + e]!; });
/** Collective: a ** b. */
export const pow = binary(pw);
/** Collective: elementwise smaller of a and b (NaN if either is NaN, as numpy.minimum). */
export const minimum = binary(mn);
/** Collective: elementwise larger of a and b (NaN if either is NaN). */
export const maximum = binary(mx);
/** Collective: -a. */
export const neg = unary((x) => -x);
/** Collective: |a|. */
export const abs = unary(Math.abs);
/** Collective: square root (integers give float). */
export const sqrt = unary(Math.sqrt, true);
/** Collective: e^a. */
export const exp = unary(Math.exp, true);
/** Collective: natural logarithm. */
export const log = unary(Math.log, true);
/** Collective: sine. */
export const sin = unary(Math.sin, true);
/** Collective: cosine. */
export const cos = unary(Math.cos, true);

/** Collective: x where cond is non-zero (NaN is, as in numpy), else y (all three broadcast; cond may be any number dtype or bool). */
export function where(cond: Operand, x: Operand, y: Operand, options?: UfuncOptions): Promise<DistArray> {
  const rank = team().rank;
  checkOperands([cond, x, y], ['cond', 'x', 'y'], rank);
  if (!(x instanceof DistArray) && !(y instanceof DistArray)) {
    const d: DType = Number.isInteger(x) && Number.isInteger(y) ? 'int32' : 'float64';
    return elementwise([cond, x, y], ['cond', 'x', 'y'], (c, a, b) => (c !== 0 ? a : b), d, options);
  }
  return elementwise([cond, x, y], ['cond', 'x', 'y'], (c, a, b) => (c !== 0 ? a : b), resultType([x, y]), options);
}

/** Collective: minimum(maximum(a, lo), hi) as numpy.clip (lo or hi null: no limit; NaN anywhere gives NaN; lo > hi gives hi). */
export function clip(a: DistArray, lo: Operand | null, hi: Operand | null, options?: UfuncOptions): Promise<DistArray> {
  const rank = team().rank;
  checkOperands([a], ['a'], rank);
  const l = lo ?? -Infinity;
  const h = hi ?? Infinity;
  const d = resultType([a, ...(lo === null ? [] : [lo]), ...(hi === null ? [] : [hi])]);
  return elementwise([a, l, h], ['a', 'lo', 'hi'], (x, p, q) => mn(mx(x, p), q), d, options);
}

/** Collective: a converted to `dtype` (same distribution; float to int truncates toward zero; to bool, non-zero and NaN are true). */
export function astype(a: DistArray, dtype: DType | string, options?: UfuncOptions): Promise<DistArray> {
  const rank = team().rank;
  checkOperands([a], ['a'], rank);
  const d = resolveDType(dtype, 'dtype', rank);
  if (d === 'int64' || d === 'uint64') throw new ArgumentError('dtype', 'a number dtype (not int64/uint64)', d, rank);
  const fn = d === 'bool' ? (x: number) => (x !== 0 ? 1 : 0) : kInfo[d].kind === 'float' ? (x: number) => x : (x: number) => Math.trunc(x);
  return elementwise([a], ['a'], fn, d, options);
}
