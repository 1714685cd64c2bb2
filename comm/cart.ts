/**
 * Cartesian topologies: `cart(comm, dims, periods)` arranges the first prod(dims) ranks of
 * a communicator on a row-major grid (the last dimension varies fastest, as MPI's).
 */
import { ArgumentError } from '../util/errors.js';
import { Communicator } from './comm.js';
import { PROC_NULL, UNDEFINED } from './request.js';

/** A communicator with a Cartesian grid over its ranks. */
export class CartComm extends Communicator {
  /** Extent of each dimension. */
  readonly dims: readonly number[];
  /** Whether each dimension wraps around. */
  readonly periods: readonly boolean[];

  /** @internal */
  constructor(base: Communicator, dims: readonly number[], periods: readonly boolean[]) {
    super((base as unknown as { core(): never }).core());
    this.dims = dims;
    this.periods = periods;
  }

  /** Number of dimensions. */
  get ndim(): number {
    return this.dims.length;
  }

  /** This rank's grid coordinates. */
  get coords(): number[] {
    return this.coordsOf(this.rank);
  }

  /** The grid coordinates of `rank`. */
  coordsOf(rank: number): number[] {
    if (!Number.isInteger(rank) || rank < 0 || rank >= this.size) throw new ArgumentError('rank', `a rank in 0..${this.size - 1}`, rank, this.rank);
    const out = new Array<number>(this.dims.length);
    let r = rank;
    for (let d = this.dims.length - 1; d >= 0; d--) {
      out[d] = r % this.dims[d]!;
      r = Math.floor(r / this.dims[d]!);
    }
    return out;
  }

  /** The rank at `coords` (periodic dimensions wrap; others must be in range, else PROC_NULL). */
  rankOf(coords: readonly number[]): number {
    if (!Array.isArray(coords) || coords.length !== this.dims.length || !coords.every(Number.isInteger)) {
      throw new ArgumentError('coords', `an array of ${this.dims.length} integers`, coords, this.rank);
    }
    let r = 0;
    for (let d = 0; d < this.dims.length; d++) {
      const n = this.dims[d]!;
      let x = coords[d]!;
      if (this.periods[d]) x = ((x % n) + n) % n;
      else if (x < 0 || x >= n) return PROC_NULL;
      r = r * n + x;
    }
    return r;
  }

  /**
   * Neighbours for a shift by `disp` along `dim`: `dest` is the rank `disp` steps ahead, `source`
   * the one `disp` steps behind (PROC_NULL off the edge of a non-periodic dimension), so
   * `sendrecv(buf, dest, 0, source)` shifts data along the grid.
   */
  shift(dim: number, disp = 1): { source: number; dest: number } {
    if (!Number.isInteger(dim) || dim < 0 || dim >= this.dims.length) throw new ArgumentError('dim', `a dimension in 0..${this.dims.length - 1}`, dim, this.rank);
    if (!Number.isInteger(disp)) throw new ArgumentError('disp', 'an integer', disp, this.rank);
    const me = this.coords;
    const at = (delta: number) => {
      const c = [...me];
      c[dim] = c[dim]! + delta;
      return this.rankOf(c);
    };
    return { source: at(-disp), dest: at(disp) };
  }

  /**
   * The sub-grids that keep the dimensions where `remainDims` is true: ranks that share
   * their coordinates in the dropped dimensions form one. Collective.
   */
  async sub(remainDims: readonly boolean[]): Promise<CartComm> {
    if (!Array.isArray(remainDims) || remainDims.length !== this.dims.length) {
      throw new ArgumentError('remainDims', `an array of ${this.dims.length} booleans`, remainDims, this.rank);
    }
    const me = this.coords;
    let color = 0;
    let key = 0;
    for (let d = 0; d < this.dims.length; d++) {
      if (remainDims[d]) key = key * this.dims[d]! + me[d]!;
      else color = color * this.dims[d]! + me[d]!;
    }
    const comm = (await this.split(color, key))!;
    return new CartComm(comm, this.dims.filter((_, d) => remainDims[d]), this.periods.filter((_, d) => remainDims[d]));
  }
}

/**
 * Makes a Cartesian communicator of `comm`'s first prod(dims) ranks (the others get null).
 * Collective over `comm`.
 */
export async function cart(comm: Communicator, dims: readonly number[], periods?: readonly boolean[]): Promise<CartComm | null> {
  if (!Array.isArray(dims) || dims.length === 0 || !dims.every((d) => Number.isInteger(d) && d >= 1)) {
    throw new ArgumentError('dims', 'a non-empty array of positive integers', dims, comm.rank);
  }
  const total = dims.reduce((a, b) => a * b, 1);
  if (total > comm.size) throw new ArgumentError('dims', `a grid of at most ${comm.size} ranks (the communicator size)`, dims, comm.rank);
  const per = periods ?? dims.map(() => false);
  if (!Array.isArray(per) || per.length !== dims.length) throw new ArgumentError('periods', `an array of ${dims.length} booleans`, periods, comm.rank);
  const sub = await comm.split(comm.rank < total ? 0 : UNDEFINED, comm.rank);
  return sub && new CartComm(sub, [...dims], per.map(Boolean));
}

/**
 * Balanced grid dimensions for `nnodes` ranks in `ndims` dimensions (MPI_Dims_create):
 * extents as close to each other as possible, in non-increasing order.
 */
export function computeDims(nnodes: number, ndims: number): number[] {
  if (!Number.isInteger(nnodes) || nnodes < 1) throw new ArgumentError('nnodes', 'a positive integer', nnodes);
  if (!Number.isInteger(ndims) || ndims < 1) throw new ArgumentError('ndims', 'a positive integer', ndims);
  const dims = new Array<number>(ndims).fill(1);
  // Prime factors, largest first, each to the currently smallest dimension.
  const factors: number[] = [];
  let n = nnodes;
  for (let f = 2; f * f <= n; f++) while (n % f === 0) {
    factors.push(f);
    n /= f;
  }
  if (n > 1) factors.push(n);
  factors.sort((a, b) => b - a);
  for (const f of factors) {
    let i = 0;
    for (let d = 1; d < ndims; d++) if (dims[d]! < dims[i]!) i = d;
    dims[i]! *= f;
  }
  return dims.sort((a, b) => b - a);
}
