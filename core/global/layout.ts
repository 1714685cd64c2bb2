/**
 * Where each element of a merged global array lives. Ranks form a process grid (row-major
 * rank order); along every axis, the blocks of one grid coordinate share an extent, and the
 * global extent is the sum. Blocks may differ in size, and may be empty.
 */
import type { Box } from './region.js';

/** One owner's part of a region. */
export interface Piece {
  /** The owning rank. */
  readonly rank: number;
  /** The part, in global coordinates. */
  readonly box: Box;
}

export class BlockLayout {
  /** Global shape. */
  readonly shape: readonly number[];
  /** Ranks per axis; their product is the number of ranks. */
  readonly grid: readonly number[];
  /** Per axis, the grid coordinate's start offsets (length grid[d] + 1; last = extent). */
  readonly starts: readonly (readonly number[])[];

  /** @param extents per axis, the extent of each grid coordinate's blocks */
  constructor(grid: readonly number[], extents: readonly (readonly number[])[]) {
    this.grid = [...grid];
    this.starts = extents.map((ext) => {
      const s = [0];
      for (const e of ext) s.push(s[s.length - 1]! + e);
      return s;
    });
    this.shape = this.starts.map((s) => s[s.length - 1]!);
  }

  get size(): number {
    return this.grid.reduce((a, b) => a * b, 1);
  }

  /** Grid coordinates of a rank (row-major). */
  coordsOf(rank: number): number[] {
    const c = new Array<number>(this.grid.length);
    for (let d = this.grid.length - 1; d >= 0; d--) {
      c[d] = rank % this.grid[d]!;
      rank = Math.floor(rank / this.grid[d]!);
    }
    return c;
  }

  /** Rank at grid coordinates. */
  rankOf(coords: readonly number[]): number {
    let r = 0;
    for (let d = 0; d < this.grid.length; d++) r = r * this.grid[d]! + coords[d]!;
    return r;
  }

  /** The global box a rank's block covers. */
  blockBox(rank: number): Box {
    const c = this.coordsOf(rank);
    return { lo: c.map((k, d) => this.starts[d]![k]!), hi: c.map((k, d) => this.starts[d]![k + 1]!) };
  }

  /** Shape of a rank's block. */
  blockShape(rank: number): number[] {
    const b = this.blockBox(rank);
    return b.lo.map((l, d) => b.hi[d]! - l);
  }

  /** The grid coordinate owning position `i` on axis `d` (the last one whose start is <= i). */
  coordAt(d: number, i: number): number {
    const s = this.starts[d]!;
    let lo = 0;
    let hi = s.length - 2;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (s[mid]! <= i) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  /** The rank owning a (valid) global index. */
  owner(index: readonly number[]): number {
    let r = 0;
    for (let d = 0; d < this.grid.length; d++) r = r * this.grid[d]! + this.coordAt(d, index[d]!);
    return r;
  }

  /** The owners of a (valid, non-empty) box and their parts, in rank order. */
  locate(box: Box): Piece[] {
    const nd = this.grid.length;
    for (let d = 0; d < nd; d++) if (box.hi[d]! <= box.lo[d]!) return [];
    const first = box.lo.map((l, d) => this.coordAt(d, l));
    const last = box.hi.map((h, d) => this.coordAt(d, h - 1));
    const out: Piece[] = [];
    const c = [...first];
    for (;;) {
      const lo: number[] = [];
      const hi: number[] = [];
      let empty = false;
      for (let d = 0; d < nd; d++) {
        const l = Math.max(box.lo[d]!, this.starts[d]![c[d]!]!);
        const h = Math.min(box.hi[d]!, this.starts[d]![c[d]! + 1]!);
        if (h <= l) empty = true;
        lo.push(l);
        hi.push(h);
      }
      if (!empty) out.push({ rank: this.rankOf(c), box: { lo, hi } });
      let d = nd - 1;
      for (; d >= 0; d--) {
        if (c[d]! < last[d]!) {
          c[d]!++;
          break;
        }
        c[d] = first[d]!;
      }
      if (d < 0) return out;
    }
  }
}

/**
 * Derives a layout from every rank's block shape and a grid, or lists what is inconsistent.
 * Along each axis d, every rank at grid coordinate k on that axis must have the same extent.
 */
export function layoutFromBlocks(blockShapes: readonly (readonly number[])[], grid: readonly number[]): BlockLayout | string {
  const nd = grid.length;
  const extents: (number | undefined)[][] = grid.map((g) => new Array<number | undefined>(g).fill(undefined));
  const firstRank: number[][] = grid.map((g) => new Array<number>(g).fill(-1));
  const probe = new BlockLayout(grid, grid.map((g) => new Array<number>(g).fill(0)));
  for (let r = 0; r < blockShapes.length; r++) {
    const shp = blockShapes[r]!;
    if (shp.length !== nd) return `rank ${r}'s block has ${shp.length} axes; rank 0's has ${nd}`;
    const c = probe.coordsOf(r);
    for (let d = 0; d < nd; d++) {
      const e = extents[d]![c[d]!];
      if (e === undefined) {
        extents[d]![c[d]!] = shp[d]!;
        firstRank[d]![c[d]!] = r;
      } else if (e !== shp[d]) {
        return `rank ${r}'s block has extent ${shp[d]} on axis ${d} but rank ${firstRank[d]![c[d]!]} (same grid column on that axis) has ${e}: blocks [${blockShapes.map((s) => `[${s.join(',')}]`).join(' ')}] do not tile grid [${grid.join(', ')}]`;
      }
    }
  }
  return new BlockLayout(grid, extents.map((ext) => ext.map((e) => e ?? 0)));
}
