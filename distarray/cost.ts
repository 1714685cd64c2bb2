/**
 * The counts of distarray's collective algorithms, for bsp.predict({ steps }) (docs/cost.md §3):
 * `matvec.cost(A, x)`, `matmul.cost(A, B)`, `jacobiStep.cost(u, steps)` (and jacobi7's, jacobi9's) read them off the arrays' distributions
 * for every rank, so a program's time is predicted before it runs. Words are 8 bytes; h is the
 * max over ranks of max(words sent, words received), a rank's own traffic not counted.
 */
import { ArgumentError } from '../util/errors.js';
import type { SuperstepCounts } from '../core/cost/predict.js';
import { block } from './distribution.js';
import { DistArray } from './distarray.js';
import { haloPlan } from './halo.js';
import { plan as transferPlan } from './regions.js';
import { summaPlan } from './summa.js';
import { promoteTypes } from './ufunc.js';

const kWordBytes = 8;

function overlap(a0: number, an: number, b0: number, bn: number): number {
  return Math.max(0, Math.min(a0 + an, b0 + bn) - Math.max(a0, b0));
}

/** max over ranks of max(sent, received) for a list of (src, dst, items) transfers. */
function hOf(size: number, moves: readonly { src: number; dst: number; n: number }[], itemWords = 1): number {
  const sent = new Array<number>(size).fill(0);
  const recv = new Array<number>(size).fill(0);
  for (const m of moves) {
    if (m.src === m.dst) continue;
    sent[m.src]! += m.n;
    recv[m.dst]! += m.n;
  }
  let h = 0;
  for (let r = 0; r < size; r++) h = Math.max(h, sent[r]!, recv[r]!);
  return (h * itemWords);
}

/**
 * Counts of `matvec(A, x)` (matvec.ts): one superstep fetching each rank's columns of x from
 * their owners and multiplying its block (2 flops per element of A: the kernel is a dot
 * product per row, counted in flops); on a 2-D grid [pr, pc] (pc > 1) a second superstep
 * brings each row's pc partial sums to its owner (the copy to row blocks) and adds them
 * (bytes touched: 8 per partial read, 8 per sum written).
 */
export function matvecCost(A: DistArray, x: DistArray): SuperstepCounts[] {
  if (!(A instanceof DistArray) || A.ndim !== 2) throw new ArgumentError('A', 'a 2-D DistArray', A);
  if (!(x instanceof DistArray) || x.ndim !== 1 || x.shape[0] !== A.shape[1]) throw new ArgumentError('x', `a 1-D DistArray of length ${A.shape[1]}`, x);
  const P = A.size;
  const moves: { src: number; dst: number; n: number }[] = [];
  let flops = 0;
  for (let r = 0; r < P; r++) {
    const { start: [, c0], count: [mr, nc] } = A.dist.localRegion(r) as { start: number[]; count: number[] };
    flops = Math.max(flops, 2 * mr! * nc!);
    for (let s = 0; s < P; s++) {
      const xr = x.dist.localRegion(s);
      moves.push({ src: s, dst: r, n: overlap(c0!, nc!, xr.start[0]!, xr.count[0]!) });
    }
  }
  const steps: SuperstepCounts[] = [{ flops, h: hOf(P, moves) }];
  const pc = A.dist.grid[1]!;
  if (pc > 1) {
    const m = A.shape[0]!;
    const rows = block([m], P);
    const fold: { src: number; dst: number; n: number }[] = [];
    let widest = 0;
    for (let r = 0; r < P; r++) {
      const a = A.dist.localRegion(r);
      for (let s = 0; s < P; s++) {
        const b = rows.localRegion(s);
        fold.push({ src: r, dst: s, n: overlap(a.start[0]!, a.count[0]!, b.start[0]!, b.count[0]!) });
      }
      widest = Math.max(widest, rows.localRegion(r).count[0]!);
    }
    steps.push({ bytes: kWordBytes * widest * (pc + 1), h: hOf(P, fold) });
  }
  return steps;
}

/**
 * Counts of `steps` Jacobi sweeps, each `await u.exchangeHalos()` then `jacobiStep(u, v)`:
 * per sweep one superstep filling every rank's halo from its neighbours (the halo plan's
 * boxes, corners included) and sweeping the largest block (16 bytes touched per cell: the
 * sweep streams u in and v out; counted in bytes, at the probe's streaming rate b).
 */
export const jacobiCost = sweepCost(2);

/** Counts of `steps` 3-D sweeps (jacobi7), as jacobiCost's. */
export const jacobi7Cost = sweepCost(3);

/**
 * The counts of `steps` local stencil sweeps over `ndim`-D arrays, each after an exchange:
 * what jacobiCost says, for any dimension (the 5-, 7- and 9-point sweeps all stream u in
 * and v out once, so they are bound by the same 16 bytes per cell).
 */
function sweepCost(ndim: number): (u: DistArray, steps?: number) => SuperstepCounts[] {
  return (u, steps = 1) => {
    if (!(u instanceof DistArray) || u.ndim !== ndim || u.halos.some((w) => w < 1)) throw new ArgumentError('u', `a ${ndim}-D DistArray with a halo of at least 1 along every axis`, u);
    if (!Number.isInteger(steps) || steps < 0) throw new ArgumentError('steps', 'an integer >= 0', steps);
    const boxes = haloPlan(u.dist, u.halos, u.periodic);
    const h = hOf(u.size, boxes.map((b) => ({ src: b.src, dst: b.dst, n: b.count.reduce((a, c) => a * c, 1) })));
    let cells = 0;
    for (let r = 0; r < u.size; r++) cells = Math.max(cells, u.dist.localShape(r).reduce((a, c) => a * c, 1));
    return Array.from({ length: steps }, () => ({ bytes: 16 * cells, h }));
  };
}

/**
 * Counts of `matmul(A, B)` (matmul.ts, SUMMA on the plan of summa.ts): a superstep moving A
 * and one moving B to the grid's block layouts (none if they are laid out so already), then
 * one per k-panel: the panel owners' broadcasts along process rows (A) and columns (B),
 * counted as if the root sent to every member itself, and the largest block's 2 mr kb nc
 * flops. Words are 8 bytes (a float32 element is half a word).
 */
export function matmulCost(A: DistArray, B: DistArray): SuperstepCounts[] {
  if (!(A instanceof DistArray) || A.ndim !== 2) throw new ArgumentError('A', 'a 2-D DistArray', A);
  if (!(B instanceof DistArray) || B.ndim !== 2 || B.shape[0] !== A.shape[1]) throw new ArgumentError('B', `a 2-D DistArray with ${A.shape[1]} rows (A is [${A.shape.join(', ')}])`, B);
  const [m, k] = A.shape as [number, number];
  const n = B.shape[1]!;
  const P = A.size;
  const plan = summaPlan(m, k, n, P);
  const word = promoteTypes(A.dtype, B.dtype) === 'float32' ? 0.5 : 1;
  const steps: SuperstepCounts[] = [];
  for (const [x, dist] of [[A, plan.a], [B, plan.b]] as const) {
    if (x.dist.equals(dist) && x.halo === 0 && x.view === undefined) continue;
    const boxes = transferPlan(x.dist, dist);
    steps.push({ h: hOf(P, boxes.map((b) => ({ src: b.src, dst: b.dst, n: b.count.reduce((s, c) => s * c, 1) })), word) });
  }
  for (const p of plan.panels) {
    const sent = new Array<number>(P).fill(0);
    const recv = new Array<number>(P).fill(0);
    let flops = 0;
    for (let r = 0; r < P; r++) {
      const [i, j] = plan.c.coords(r) as [number, number];
      const [mr, nc] = plan.c.localShape(r) as [number, number];
      flops = Math.max(flops, 2 * mr * p.kb * nc);
      if (plan.pc > 1) {
        if (j === p.aCol) sent[r]! += (plan.pc - 1) * mr * p.kb;
        else recv[r]! += mr * p.kb;
      }
      if (plan.pr > 1) {
        if (i === p.bRow) sent[r]! += (plan.pr - 1) * p.kb * nc;
        else recv[r]! += p.kb * nc;
      }
    }
    let h = 0;
    for (let r = 0; r < P; r++) h = Math.max(h, sent[r]!, recv[r]!);
    steps.push({ flops, h: h * word });
  }
  return steps;
}
