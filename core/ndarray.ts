/**
 * @stdlib/ndarray views over typed arrays, without copying.
 *
 * @stdlib/ndarray is an optional peer dependency (its full install is hundreds of MB, and
 * superstep uses one constructor from it): it is loaded the first time a view is made, and
 * its absence is a MissingDependencyError naming the package. @stdlib's directory subpaths
 * break plain Node ESM (ERR_UNSUPPORTED_DIR_IMPORT) and its root import costs ~600 ms, so the
 * constructor is loaded through createRequire.
 */
import { createRequire } from 'node:module';
import { ArgumentError, MissingDependencyError } from '../util/errors.js';
import { dtypeOf, type DType, type TypedArray } from '../util/dtype.js';

/**
 * The @stdlib/ndarray view superstep hands out, typed by the members a caller uses. The object
 * IS @stdlib's ndarray (pass it to any @stdlib function); the type is superstep's own because
 * @stdlib/types' declarations do not compile under a user's `skipLibCheck: false` (they name
 * Float16Array and complex types no TypeScript lib has), and it would be a dependency of its own.
 */
export interface NDArray {
  /** @stdlib's dtype name: 'float64', 'int32', 'uint8', ... */
  readonly dtype: string;
  readonly shape: number[];
  /** Strides in elements. */
  readonly strides: number[];
  /** Index of the first element in `data`. */
  readonly offset: number;
  readonly order: 'row-major' | 'column-major';
  /** The typed array the view reads and writes (no copy). */
  readonly data: TypedArray;
  /** Number of elements. */
  readonly length: number;
  /** Number of dimensions. */
  readonly ndims: number;
  /** The element at the given subscripts. */
  get(...subscripts: number[]): number;
  /** Sets the element at the given subscripts (the value comes last). */
  set(...subscriptsThenValue: number[]): NDArray;
}
type ndarray = NDArray;

const require = createRequire(import.meta.url);

/** The constructor of @stdlib/ndarray (`@stdlib/ndarray/ctor`), as superstep calls it. */
export type NdarrayCtor = new (dtype: string, buffer: TypedArray, shape: number[], strides: number[], offset: number, order: 'row-major') => ndarray;
let ctor: NdarrayCtor | undefined;

/** @stdlib/ndarray's constructor, loaded on first use; `feature` names the caller in the error when it is missing. */
export function ndarrayCtor(feature = 'an @stdlib/ndarray view', rank?: number): NdarrayCtor {
  if (ctor) return ctor;
  // The whole namespace package first; its stand-alone constructor package works too.
  for (const id of ['@stdlib/ndarray/ctor', '@stdlib/ndarray-ctor']) {
    try {
      ctor = require(id) as NdarrayCtor;
      return ctor;
    } catch (err) {
      if ((err as { code?: string }).code !== 'MODULE_NOT_FOUND') throw err;
    }
  }
  throw new MissingDependencyError('@stdlib/ndarray', feature, rank);
}

/** dtypes @stdlib/ndarray can view; int64/uint64 it cannot. */
const kStdlibDType: Partial<Record<DType, string>> = {
  float64: 'float64', float32: 'float32', int8: 'int8', int16: 'int16', int32: 'int32',
  uint8: 'uint8', uint8c: 'uint8c', uint16: 'uint16', uint32: 'uint32', bool: 'uint8',
};

/** Row-major strides of a shape, in elements. */
export function rowMajorStrides(shape: readonly number[]): number[] {
  const strides = new Array<number>(shape.length);
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    strides[i] = s;
    s *= Math.max(1, shape[i]!);
  }
  return strides;
}

/** A row-major @stdlib ndarray over `data` (no copy: writes go into `data`). */
export function ndarrayView(data: TypedArray, shape: readonly number[], dtype: DType = dtypeOf(data) ?? 'float64', rank?: number): ndarray {
  const sdt = kStdlibDType[dtype];
  if (!sdt) throw new ArgumentError('dtype', `one @stdlib/ndarray can view (not int64/uint64: use toArray for those)`, dtype, rank);
  const Ctor = ndarrayCtor('an @stdlib/ndarray view (toNdarray, asNdarray)', rank);
  const shp = shape.length ? [...shape] : [];
  return new Ctor(sdt, data, shp, rowMajorStrides(shp), 0, 'row-major');
}

/** Duck-typing for an @stdlib (or stdlib-like) ndarray. */
export function isNdarrayLike(x: unknown): x is ndarray {
  const o = x as { shape?: unknown; strides?: unknown; data?: unknown; dtype?: unknown; offset?: unknown };
  return typeof o === 'object' && o !== null && Array.isArray(o.shape) && Array.isArray(o.strides) && typeof o.offset === 'number' && o.data !== undefined && o.dtype !== undefined;
}
