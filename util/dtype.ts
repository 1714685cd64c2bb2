/**
 * Data types: one table from dtype name to typed-array constructor, element size and the
 * numpy codes users coming from PyBSP know (`f8`, `i4`, `u1`, ...).
 */
import { ArgumentError } from './errors.js';

export interface DTypeMap {
  float64: { array: Float64Array; value: number };
  float32: { array: Float32Array; value: number };
  int8: { array: Int8Array; value: number };
  int16: { array: Int16Array; value: number };
  int32: { array: Int32Array; value: number };
  uint8: { array: Uint8Array; value: number };
  uint8c: { array: Uint8ClampedArray; value: number };
  uint16: { array: Uint16Array; value: number };
  uint32: { array: Uint32Array; value: number };
  int64: { array: BigInt64Array; value: bigint };
  uint64: { array: BigUint64Array; value: bigint };
  bool: { array: Uint8Array; value: number };
}

export type DType = keyof DTypeMap;
export type TypedArray = DTypeMap[DType]['array'];
type TypedArrayCtor = {
  new (length: number): TypedArray;
  new (buffer: ArrayBufferLike, byteOffset: number, length: number): TypedArray;
  readonly BYTES_PER_ELEMENT: number;
};

/** @internal The table every dtype dispatch goes through. */
export const kDTypes: Readonly<Record<DType, { ctor: TypedArrayCtor; bytes: number; npy: string }>> = {
  float64: { ctor: Float64Array as unknown as TypedArrayCtor, bytes: 8, npy: '<f8' },
  float32: { ctor: Float32Array as unknown as TypedArrayCtor, bytes: 4, npy: '<f4' },
  int8: { ctor: Int8Array as unknown as TypedArrayCtor, bytes: 1, npy: '|i1' },
  int16: { ctor: Int16Array as unknown as TypedArrayCtor, bytes: 2, npy: '<i2' },
  int32: { ctor: Int32Array as unknown as TypedArrayCtor, bytes: 4, npy: '<i4' },
  uint8: { ctor: Uint8Array as unknown as TypedArrayCtor, bytes: 1, npy: '|u1' },
  uint8c: { ctor: Uint8ClampedArray as unknown as TypedArrayCtor, bytes: 1, npy: '|u1' },
  uint16: { ctor: Uint16Array as unknown as TypedArrayCtor, bytes: 2, npy: '<u2' },
  uint32: { ctor: Uint32Array as unknown as TypedArrayCtor, bytes: 4, npy: '<u4' },
  int64: { ctor: BigInt64Array as unknown as TypedArrayCtor, bytes: 8, npy: '<i8' },
  uint64: { ctor: BigUint64Array as unknown as TypedArrayCtor, bytes: 8, npy: '<u8' },
  bool: { ctor: Uint8Array as unknown as TypedArrayCtor, bytes: 1, npy: '|b1' },
};

/** Every dtype name, in a stable order (used by tests and error messages). */
export const DTYPES = Object.keys(kDTypes) as DType[];

const kAliases: Record<string, DType> = {
  f8: 'float64', f4: 'float32', d: 'float64', f: 'float32', double: 'float64', float: 'float32',
  i1: 'int8', i2: 'int16', i4: 'int32', i8: 'int64', b: 'int8', h: 'int16', i: 'int32', l: 'int64', q: 'int64',
  u1: 'uint8', u2: 'uint16', u4: 'uint32', u8: 'uint64', B: 'uint8', H: 'uint16', I: 'uint32', L: 'uint64', Q: 'uint64',
  b1: 'bool', '?': 'bool',
};

/**
 * Resolves a dtype given by name (`float64`) or numpy code (`f8`, `<i4`, `|u1`).
 * @throws {ArgumentError} for an unknown dtype
 */
export function resolveDType(dtype: unknown, argument = 'dtype', rank?: number): DType {
  if (typeof dtype === 'string') {
    if (dtype in kDTypes) return dtype as DType;
    const code = dtype.replace(/^[<|=]/, '');
    if (code in kAliases) return kAliases[code]!;
    if (code in kDTypes) return code as DType;
  }
  throw new ArgumentError(argument, `a dtype name (${DTYPES.join(', ')}) or a numpy code (f8, f4, i1, i2, i4, i8, u1, u2, u4, u8, b1)`, dtype, rank);
}

/** The dtype of a typed array. */
export function dtypeOf(array: ArrayBufferView): DType | undefined {
  switch (array.constructor) {
    case Float64Array: return 'float64';
    case Float32Array: return 'float32';
    case Int8Array: return 'int8';
    case Int16Array: return 'int16';
    case Int32Array: return 'int32';
    case Uint8Array: return 'uint8';
    case Uint8ClampedArray: return 'uint8c';
    case Uint16Array: return 'uint16';
    case Uint32Array: return 'uint32';
    case BigInt64Array: return 'int64';
    case BigUint64Array: return 'uint64';
    default:
      // Node's Buffer is a Uint8Array subclass.
      return array instanceof Uint8Array ? 'uint8' : undefined;
  }
}

/** A typed array of `dtype` viewing `length` elements of `buffer` at `byteOffset` (no copy). */
export function viewOf<D extends DType>(dtype: D, buffer: ArrayBufferLike, byteOffset: number, length: number): DTypeMap[D]['array'] {
  return new kDTypes[dtype].ctor(buffer, byteOffset, length) as DTypeMap[D]['array'];
}

/** A zeroed typed array of `dtype`, in shared memory when `shared` (the default). */
export function allocArray<D extends DType>(dtype: D, length: number, shared = true): DTypeMap[D]['array'] {
  const bytes = kDTypes[dtype].bytes * length;
  const buffer = shared ? new SharedArrayBuffer(bytes) : new ArrayBuffer(bytes);
  return viewOf(dtype, buffer, 0, length);
}

/** The bytes of a typed array, as a Uint8Array over the same memory. */
export function bytesOf(array: ArrayBufferView): Uint8Array {
  return new Uint8Array(array.buffer, array.byteOffset, array.byteLength);
}

/** Product of a shape's extents. */
export function shapeSize(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/**
 * Checks a shape: an array of non-negative safe integers.
 * @throws {ArgumentError}
 */
export function checkShape(shape: unknown, argument = 'shape', rank?: number): number[] {
  const ok = Array.isArray(shape) && shape.every((d) => Number.isSafeInteger(d) && d >= 0);
  if (!ok) throw new ArgumentError(argument, 'an array of non-negative integers', shape, rank);
  return [...(shape as number[])];
}
