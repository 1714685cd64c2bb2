/**
 * Distributed matrix product C = A B by SUMMA (van de Geijn and Watts): A and B are brought
 * to block layouts on one pr x pc process grid (summa.ts); for each k-panel the process
 * column owning A's panel broadcasts it along each process row and the process row owning
 * B's panel broadcasts it along each process column, and every rank adds the product of
 * the two panels into its block of C.
 *
 * SUMMA rather than Cannon: it works on every grid shape (dimsCreate gives non-square grids
 * for most P, e.g. 2 x 1, 3 x 1, 5 x 1), where Cannon needs a square one; Cannon is not built.
 */
import { ArgumentError } from '../util/errors.js';
import type { DType } from '../util/dtype.js';
import { world, type Communicator } from '../comm/comm.js';
import { jobSlot } from '../comm/context.js';
import type { Distribution } from './distribution.js';
import { DistArray } from './distarray.js';
import { gemm } from './kernels.js';
import { gemmSpace, gemmWasm, wasmEnabled, type GemmSpace } from './wasm.js';
import { matmulCost } from './cost.js';
import { summaPlan } from './summa.js';
import { astype, promoteTypes } from './ufunc.js';
import { team } from './team.js';

/** Options of `matmul`. */
export interface MatmulOptions {
  /** Write C here: a 2-D DistArray of shape [m, n], any layout and number dtype (values converted). */
  out?: DistArray;
}

/**
 * Collective: C = A B for 2-D DistArrays A (m x k) and B (k x n) of any layouts and number
 * dtypes (numpy's matmul; result dtype `promoteTypes(A.dtype, B.dtype)`). `matmul.cost(A, B)`
 * gives its counts per superstep, for bsp.predict({ steps }).
 * @example const C = await matmul(A, B);
 */
export const matmul = Object.assign(matmulProduct, { cost: matmulCost });

type Float = Float64Array | Float32Array;

/** Blocks of C from this many elements use the WebAssembly kernel (smaller ones: the plain loop, no workspace). */
const kWasmMinBlock = 4096;

async function matmulProduct(A: DistArray, B: DistArray, options: MatmulOptions = {}): Promise<DistArray> {
  const rank = team().rank;
  checkOperands(A, B, rank);
  const [m, k] = A.shape as [number, number];
  const n = B.shape[1]!;
  const rdt = promoteTypes(A.dtype, B.dtype);
  // Integer and bool products are computed in float64 and cast (exact while sums stay below 2^53).
  const wdt: DType = rdt === 'float32' ? 'float32' : 'float64';
  const out = options.out;
  if (out !== undefined && (!(out instanceof DistArray) || out.ndim !== 2 || out.shape[0] !== m || out.shape[1] !== n || out.dtype === 'int64' || out.dtype === 'uint64')) {
    throw new ArgumentError('options.out', `a 2-D DistArray of shape [${m}, ${n}] with a number dtype`, out?.toString?.() ?? out, rank);
  }
  const plan = summaPlan(m, k, n, A.size);
  const a = await toLayout(A, plan.a, wdt);
  const b = await toLayout(B, plan.b, wdt);
  const direct = out !== undefined && out.dtype === wdt && isPlain(out, plan.c);
  const c = direct ? out.fill(0) : await DistArray.zeros([m, n], { dtype: wdt, dist: plan.c });
  await summa(a, b, c, plan);
  if (direct) return out;
  if (out !== undefined) return astype(c, out.dtype, { out });
  return rdt === wdt ? c : astype(c, rdt);
}

function checkOperands(A: DistArray, B: DistArray, rank: number): void {
  for (const [x, name] of [[A, 'A'], [B, 'B']] as const) {
    if (!(x instanceof DistArray) || x.ndim !== 2) throw new ArgumentError(name, 'a 2-D DistArray', x?.toString?.() ?? x, rank);
    if (x.dtype === 'int64' || x.dtype === 'uint64') throw new ArgumentError(name, `a DistArray of number elements (not ${x.dtype}, whose elements are bigints)`, x.dtype, rank);
  }
  if (A.shape[1] !== B.shape[0]) {
    throw new ArgumentError('B', `a matrix with A.shape[1] = ${A.shape[1]} rows (A is [${A.shape.join(', ')}])`, `shape [${B.shape.join(', ')}]`, rank);
  }
}

/** A dense block of `dist` without halo or view: the kernels read it in place. */
function isPlain(x: DistArray, dist: Distribution): boolean {
  return x.halo === 0 && x.view === undefined && x.dist.equals(dist);
}

/** x itself if it is laid out as `dist` in `dtype`, else a converted copy in that layout (one transfer). */
async function toLayout(x: DistArray, dist: Distribution, dtype: DType): Promise<DistArray> {
  if (x.dtype === dtype && isPlain(x, dist)) return x;
  const y = await DistArray.zeros([...x.shape], { dtype, dist });
  await astype(x, dtype, { out: y });
  return y;
}

/** C += A B with a, b, c laid out by `plan`: one broadcast of each panel per superstep. */
async function summa(a: DistArray, b: DistArray, c: DistArray, plan: ReturnType<typeof summaPlan>): Promise<void> {
  const [i, j] = plan.c.coords(c.rank) as [number, number];
  const [mr, nc] = c.localShape as [number, number];
  const kA = a.localShape[1]!;
  const aStart = plan.a.axes[1]!.start(j);
  const bStart = plan.b.axes[0]!.start(i);
  const { row, col } = await gridComms(plan.pr, plan.pc, i, j);
  const widest = plan.panels.reduce((w, p) => Math.max(w, p.kb), 0);
  const space = c.dtype === 'float64' && mr * nc >= kWasmMinBlock && wasmEnabled() ? gemmSpace(mr, nc, widest) : undefined;
  if (space) return summaWasm(a, b, c, plan, space, i, j, row, col);
  const Ctor = c.data.constructor as new (n: number) => Float;
  const aBuf = row ? new Ctor(mr * widest) : undefined;
  const bBuf = col ? new Ctor(widest * nc) : undefined;
  const A = a.data as Float;
  const B = b.data as Float;
  for (const p of plan.panels) {
    // A's panel: this rank's own columns when pc = 1, else packed by its owner and broadcast along the row.
    let ap: Float = A;
    let aOff = p.k0 - aStart;
    let lda = kA;
    if (row) {
      ap = aBuf!.subarray(0, mr * p.kb);
      if (j === p.aCol) for (let r = 0; r < mr; r++) ap.set(A.subarray(r * kA + p.k0 - aStart, r * kA + p.k0 - aStart + p.kb), r * p.kb);
      if (mr > 0) await bcast(row, ap, p.aCol);
      aOff = 0;
      lda = p.kb;
    }
    // B's panel: kb whole rows of the owner's block, contiguous; broadcast along the column.
    let bp: Float = B;
    let bOff = (p.k0 - bStart) * nc;
    if (col) {
      bp = i === p.bRow ? B.subarray(bOff, bOff + p.kb * nc) : bBuf!.subarray(0, p.kb * nc);
      if (nc > 0) await bcast(col, bp, p.bRow);
      bOff = 0;
    }
    gemm(ap, aOff, lda, bp, bOff, nc, c.data as Float, 0, nc, mr, p.kb, nc);
  }
}

/**
 * summa's loop with the WebAssembly SIMD kernel: each panel is packed (zero-padded to the
 * kernel's multiples) into the workspace by its owner, broadcast there whole, multiplied
 * into the workspace's C, which is copied into c's block at the end.
 */
async function summaWasm(a: DistArray, b: DistArray, c: DistArray, plan: ReturnType<typeof summaPlan>, s: GemmSpace, i: number, j: number, row: Communicator | null, col: Communicator | null): Promise<void> {
  const [mr, nc] = c.localShape as [number, number];
  const kA = a.localShape[1]!;
  const aStart = plan.a.axes[1]!.start(j);
  const bStart = plan.b.axes[0]!.start(i);
  const A = a.data as Float64Array;
  const B = b.data as Float64Array;
  s.c.fill(0);
  for (const p of plan.panels) {
    const k4 = (p.kb + 3) & ~3;
    const ap = s.a.subarray(0, s.m2 * k4);
    const bp = s.b.subarray(0, k4 * s.n2);
    if (!row || j === p.aCol) packRows(A, p.k0 - aStart, kA, mr, p.kb, ap, k4, s.m2);
    if (row && mr > 0) await bcast(row, ap, p.aCol);
    if (!col || i === p.bRow) packRows(B, (p.k0 - bStart) * nc, nc, p.kb, nc, bp, s.n2, k4);
    if (col && nc > 0) await bcast(col, bp, p.bRow);
    gemmWasm(s, k4);
  }
  const C = c.data as Float64Array;
  for (let r = 0; r < mr; r++) C.set(s.c.subarray(r * s.n2, r * s.n2 + nc), r * nc);
}

/** Copies rows x cols from src (row stride ld) into dst (row stride dld), zeros up to dld columns and dRows rows. */
function packRows(src: Float64Array, off: number, ld: number, rows: number, cols: number, dst: Float64Array, dld: number, dRows: number): void {
  for (let r = 0; r < rows; r++) {
    dst.set(src.subarray(off + r * ld, off + r * ld + cols), r * dld);
    if (dld > cols) dst.fill(0, r * dld + cols, (r + 1) * dld);
  }
  if (dRows > rows) dst.fill(0, rows * dld, dRows * dld);
}

/**
 * Process rows and columns of the pr x pc grid as communicators (rank within a row is j,
 * within a column i), made by the first matmul on that grid and kept for the job: every
 * rank calls matmul in the same order, so every rank makes them at the same point.
 */
function gridComms(pr: number, pc: number, i: number, j: number): Promise<{ row: Communicator | null; col: Communicator | null }> {
  return jobSlot(`distarray.matmul.${pr}x${pc}`, async () => ({
    row: pc > 1 ? await world.split(i, j) : null,
    col: pr > 1 ? await world.split(j, i) : null,
  }));
}

async function bcast(comm: Communicator, buf: Float, root: number): Promise<void> {
  if (comm.rank === root) await comm.bcast(buf, root);
  else await comm.bcast(null, root, { out: buf });
}
