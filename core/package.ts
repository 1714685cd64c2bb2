/**
 * Named packages: the unit of data in a BSP program. A package holds either an object
 * (msgpackr bytes) or a typed array with a dtype and a shape. Array packages own
 * 8-byte-aligned memory, so typed-array and ndarray views of them never copy.
 */
import { ArgumentError } from '../util/errors.js';
import { kDTypes, viewOf, type DType, type TypedArray } from '../util/dtype.js';

export { packr } from '../comm/packr.js';

export type PackageKind = 'object' | 'array';

export class Package {
  /** @internal */
  constructor(
    readonly name: string,
    readonly kind: PackageKind,
    /** The package's bytes (array data, or msgpackr-encoded object). */
    readonly bytes: Uint8Array,
    readonly dtype: DType | undefined,
    readonly shape: readonly number[] | undefined,
  ) {}

  get byteLength(): number {
    return this.bytes.byteLength;
  }

  /** Number of elements (arrays), or 1 (objects). */
  get length(): number {
    return this.kind === 'array' ? this.bytes.byteLength / kDTypes[this.dtype!].bytes : 1;
  }

  /** @internal Typed-array view on the package memory. */
  view(): TypedArray {
    return viewOf(this.dtype!, this.bytes.buffer, this.bytes.byteOffset, this.length);
  }
}

/** Largest package, in bytes (the largest single message). */
export const kMaxPackageBytes = 2 ** 32 - 1 - 4096;

/**
 * Checks a package name: a non-empty string of dot-separated non-empty parts ('arr.a1').
 * @throws {ArgumentError}
 */
export function checkName(name: unknown, rank?: number, argument = 'name'): string {
  if (typeof name !== 'string' || name === '' || name.split('.').some((p) => p === '')) {
    throw new ArgumentError(argument, "a non-empty package name of dot-separated parts (e.g. 'arr.a1')", name, rank);
  }
  return name;
}

/** True if `name` is `prefix` or lies under it ('arr' covers 'arr.a1', not 'array'). */
export function underPrefix(name: string, prefix: string): boolean {
  return name === prefix || name.startsWith(prefix + '.');
}

/** Allocates zeroed, aligned package memory, shared between threads. */
export function allocBytes(byteLength: number, rank?: number): Uint8Array {
  if (byteLength > kMaxPackageBytes) {
    throw new ArgumentError('shape', `small enough for a package of at most ${kMaxPackageBytes} bytes (package too large)`, `${byteLength} bytes`, rank);
  }
  return new Uint8Array(new SharedArrayBuffer(byteLength));
}
