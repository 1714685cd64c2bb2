/**
 * @internal The plan SUMMA follows, shared by matmul (matmul.ts) and its cost (cost.ts): one
 * pr x pc process grid (MPI_Dims_create's), block layouts of A (m x k), B (k x n) and C
 * (m x n) on it, and the k-panels: the k axis cut at every block edge of A's columns and of
 * B's rows (and at most kMaxPanel wide), so each panel has one owning process column of A
 * and one owning process row of B.
 */
import { dimsCreate, grid, type Distribution } from './distribution.js';

/** Widest k-panel: a panel of A (rows x 256) and of B (256 x columns) per superstep. */
const kMaxPanel = 256;

export interface Panel {
  /** First k index and width. */
  k0: number;
  kb: number;
  /** Process column owning A[:, k0:k0+kb] and process row owning B[k0:k0+kb, :]. */
  aCol: number;
  bRow: number;
}

export interface SummaPlan {
  pr: number;
  pc: number;
  a: Distribution;
  b: Distribution;
  c: Distribution;
  panels: Panel[];
}

export function summaPlan(m: number, k: number, n: number, procs: number): SummaPlan {
  const [pr, pc] = dimsCreate(procs, 2) as [number, number];
  const a = grid([m, k], [pr, pc]);
  const b = grid([k, n], [pr, pc]);
  const c = grid([m, n], [pr, pc]);
  const cuts = new Set<number>([0, k]);
  for (let j = 0; j < pc; j++) cuts.add(a.axes[1]!.start(j));
  for (let i = 0; i < pr; i++) cuts.add(b.axes[0]!.start(i));
  const edges = [...cuts].sort((x, y) => x - y);
  const panels: Panel[] = [];
  for (let e = 0; e + 1 < edges.length; e++) {
    for (let k0 = edges[e]!; k0 < edges[e + 1]!; k0 += kMaxPanel) {
      const kb = Math.min(kMaxPanel, edges[e + 1]! - k0);
      panels.push({ k0, kb, aCol: a.axes[1]!.owner(k0), bRow: b.axes[0]!.owner(k0) });
    }
  }
  return { pr, pc, a, b, c, panels };
}
