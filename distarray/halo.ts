/**
 * @internal Halos (ghost cells): what a DistArray's halo is (a width per axis, a rule per side
 * of every axis), checked once where an array gets one, and the plans that fill it.
 *
 * Cells inside the global domain come from the neighbouring blocks: for every rank and every
 * neighbour direction along the axes with a halo (3^d - 1 of them for d such axes, diagonals
 * included, so corners are right in one superstep), the box of the neighbour's interior that
 * fills this rank's halo there. Along a periodic axis the neighbour wraps around (it may be
 * the rank itself). Cells outside the domain along any other axis follow that side's rule,
 * as numpy.pad pads one axis after the other (so in a corner the later axis's rule wins):
 * a number is a fixed value, written when the array is made and never touched by an exchange
 * (so values written there by hand stay); 'reflect' and 'nearest' are copies inside the
 * rank's own block, made after the neighbours' boxes have arrived.
 */
import { ArgumentError } from '../util/errors.js';
import type { Distribution } from './distribution.js';
import type { Box } from './regions.js';

/**
 * What fills the halo cells outside the global domain on one side of an axis: a number (that
 * fixed value), 'periodic' (the other end of the axis; both sides of the axis), 'reflect' (the
 * edge cells mirrored, the edge repeated: Dask's 'reflect', numpy.pad's 'symmetric'), or
 * 'nearest' (the edge cell repeated: numpy.pad's 'edge').
 */
export type BoundaryRule = number | 'periodic' | 'reflect' | 'nearest';

/** The `boundary` option: one rule for every side, or per axis a rule or a [low, high] pair. */
export type Boundary = BoundaryRule | readonly (BoundaryRule | readonly [BoundaryRule, BoundaryRule])[];

/** The `halo` option (and withHalo's width, mapOverlap's depth): one width for every axis, or one per axis. */
export type HaloWidth = number | readonly number[];

/** @internal A resolved halo: widths and [low, high] rules per axis. */
export interface HaloSpec {
  readonly widths: readonly number[];
  readonly sides: readonly (readonly [BoundaryRule, BoundaryRule])[];
  /** The fixed value when `boundary` was given as one number (else inherited, or 0). */
  readonly fixed: number;
}

/** The halo options a factory, withHalo or redistribute takes. */
export interface HaloRequest {
  halo?: HaloWidth;
  periodic?: boolean | boolean[];
  boundary?: Boundary;
}

const kRules = "a number (a fixed value), 'periodic', 'reflect' or 'nearest'";

/** No halo on any axis. */
export function noHalo(ndim: number): HaloSpec {
  return { widths: new Array<number>(ndim).fill(0), sides: Array.from({ length: ndim }, () => [0, 0] as const), fixed: 0 };
}

/** The widest halo (0 if none): the number `DistArray.halo` shows. */
export function widest(spec: HaloSpec): number {
  return spec.widths.reduce((a, b) => Math.max(a, b), 0);
}

/** True if two halos have the same widths and rules. */
export function sameHalo(a: HaloSpec, b: HaloSpec): boolean {
  return a.widths.every((w, k) => w === b.widths[k]) && a.sides.every((s, k) => Object.is(s[0], b.sides[k]![0]) && Object.is(s[1], b.sides[k]![1]));
}

/** Per axis: both sides wrap around. */
export function periodicAxes(spec: HaloSpec): boolean[] {
  return spec.sides.map((s) => s[0] === 'periodic');
}

/**
 * The halo `request` asks for on `dist`, checked on every rank alike (every rank raises the
 * same ArgumentError). Options left out are taken from `inherit` (withHalo, redistribute),
 * else no halo and fixed 0. `periodic` (kept from before per-side rules) makes its axes wrap;
 * false on an axis whose rule is 'periodic' makes that axis fixed.
 */
export function resolveHalo(dist: Distribution, request: HaloRequest, rank: number, inherit?: HaloSpec): HaloSpec {
  const nd = dist.ndim;
  const widths = request.halo === undefined ? [...(inherit?.widths ?? noHalo(nd).widths)] : haloWidths(request.halo, nd, 'halo', rank);
  const fixed = typeof request.boundary === 'number' ? request.boundary : inherit?.fixed ?? 0;
  let sides = request.boundary === undefined ? (inherit?.sides ?? noHalo(nd).sides).map((s) => [...s] as [BoundaryRule, BoundaryRule]) : boundarySides(request.boundary, nd, rank);
  // A number `boundary` keeps the periodic axes the array had (as before per-side rules).
  const p = request.periodic ?? (typeof request.boundary === 'number' && inherit ? periodicAxes(inherit) : undefined);
  if (p !== undefined) {
    const periodic = Array.isArray(p) ? p.map(Boolean) : new Array<boolean>(nd).fill(Boolean(p));
    if (periodic.length !== nd) throw new ArgumentError('periodic', `a boolean or ${nd} booleans (one per axis)`, p, rank);
    sides = sides.map((s, k) => (periodic[k] ? ['periodic', 'periodic'] : s[0] === 'periodic' ? [fixed, fixed] : s));
  }
  const spec: HaloSpec = { widths, sides, fixed };
  if (widths.some((w) => w > 0)) checkHaloDistribution(dist, widths, rank);
  checkHaloWidth(dist, spec, 'halo', rank, request.halo ?? widths);
  return spec;
}

/** Per-axis widths of a `halo` (or `depth`) argument: a non-negative integer, or one per axis. */
export function haloWidths(width: unknown, ndim: number, argument: string, rank: number): number[] {
  const ok = (w: unknown): w is number => Number.isSafeInteger(w) && (w as number) >= 0;
  if (ok(width)) return new Array<number>(ndim).fill(width);
  if (Array.isArray(width) && width.length === ndim && width.every(ok)) return [...width];
  if (typeof width === 'number' || !Array.isArray(width)) throw new ArgumentError(argument, `a non-negative integer (every axis) or ${ndim} of them (one per axis)`, width, rank);
  throw new ArgumentError(argument, `${ndim} non-negative integers (one per axis of the ${ndim}-D array)`, width, rank);
}

function boundaryRule(v: unknown, argument: string, rank: number): BoundaryRule {
  if (typeof v === 'number' || v === 'periodic' || v === 'reflect' || v === 'nearest') return v;
  throw new ArgumentError(argument, kRules, v, rank);
}

/** Per axis [low, high] rules of a `boundary` argument. */
export function boundarySides(boundary: unknown, ndim: number, rank: number): [BoundaryRule, BoundaryRule][] {
  if (!Array.isArray(boundary)) {
    const r = boundaryRule(boundary, 'boundary', rank);
    return Array.from({ length: ndim }, () => [r, r]);
  }
  if (boundary.length !== ndim) {
    throw new ArgumentError('boundary', `${kRules} for every side, or ${ndim} entries (one per axis: a rule, or a [low, high] pair of rules)`, boundary, rank);
  }
  return boundary.map((b: unknown, k) => {
    let pair: [BoundaryRule, BoundaryRule];
    if (Array.isArray(b)) {
      if (b.length !== 2) throw new ArgumentError(`boundary[${k}]`, `a rule or a [low, high] pair of rules (${kRules})`, b, rank);
      pair = [boundaryRule(b[0], `boundary[${k}][0]`, rank), boundaryRule(b[1], `boundary[${k}][1]`, rank)];
    } else {
      const r = boundaryRule(b, `boundary[${k}]`, rank);
      pair = [r, r];
    }
    if ((pair[0] === 'periodic') !== (pair[1] === 'periodic')) {
      throw new ArgumentError(`boundary[${k}]`, "'periodic' on both sides of the axis or on neither (a wrap joins its two ends)", b, rank);
    }
    return pair;
  });
}

/**
 * Every halo box of every rank, for the halo `width` (every axis's, or each axis's): from the neighbours' interiors. Starts
 * are in unpadded local indices, which may be negative (-width .. -1) or past the block
 * (m .. m + width - 1) on the destination side: the caller adds the widths as padding.
 */
export function haloPlan(dist: Distribution, width: HaloWidth, periodic: readonly boolean[]): Box[] {
  const nd = dist.ndim;
  const widths = typeof width === 'number' ? new Array<number>(nd).fill(width) : width;
  const boxes: Box[] = [];
  if (widths.every((w) => w === 0)) return boxes;
  const shapes = Array.from({ length: dist.size }, (_, r) => dist.localShape(r));
  // Directions: -1, 0, 1 along axes with a halo, 0 along the others.
  const lo = widths.map((w) => (w > 0 ? -1 : 0));
  const hi = widths.map((w) => (w > 0 ? 1 : 0));
  for (let r = 0; r < dist.size; r++) {
    const shp = shapes[r]!;
    if (shp.some((m) => m === 0)) continue;
    const c = dist.coords(r);
    const dir = [...lo];
    for (;;) {
      if (dir.some((v) => v !== 0)) {
        const nc: number[] = [];
        let ok = true;
        for (let k = 0; k < nd && ok; k++) {
          let q = c[k]! + dir[k]!;
          if (q < 0 || q >= dist.grid[k]!) {
            if (!periodic[k]) ok = false;
            q = (q + dist.grid[k]!) % dist.grid[k]!;
          }
          nc.push(q);
        }
        if (ok) {
          const s = dist.rankOf(nc);
          const sshp = shapes[s]!;
          const srcStart: number[] = [];
          const dstStart: number[] = [];
          const count: number[] = [];
          for (let k = 0; k < nd; k++) {
            const d = dir[k]!;
            const w = widths[k]!;
            if (d !== 0 && sshp[k]! < w) {
              throw new ArgumentError('halo', `at most ${sshp[k]} (rank ${s}'s block has ${sshp[k]} elements along axis ${k})`, w);
            }
            count.push(d === 0 ? shp[k]! : w);
            dstStart.push(d < 0 ? -w : d > 0 ? shp[k]! : 0);
            srcStart.push(d < 0 ? sshp[k]! - w : 0);
          }
          boxes.push({ src: s, dst: r, srcStart, dstStart, global: dstStart, count });
        }
      }
      let k = nd - 1;
      while (k >= 0 && ++dir[k]! > hi[k]!) {
        dir[k] = lo[k]!;
        k--;
      }
      if (k < 0) break;
    }
  }
  return boxes;
}

/**
 * One step of filling the cells outside the domain inside a rank's own block, in padded
 * indices: `value` into the box, or the box copied from `from` (the same extent).
 */
export interface EdgeFill {
  start: number[];
  count: number[];
  value?: number;
  from?: number[];
}

/**
 * The steps that fill `rank`'s halo cells outside the global domain, in axis order (as
 * numpy.pad: a later axis overwrites an earlier one's corners): `fixed` the values written
 * when the array is made, `copies` the reflect/nearest copies made after every exchange.
 * A copy spans the whole padded block along the other axes (so it carries the halo cells the
 * neighbours sent, and an earlier axis's edge cells, into the corners) except their fixed
 * sides, which only `fixed` writes.
 */
export function edgeFills(dist: Distribution, spec: HaloSpec, rank: number): { fixed: EdgeFill[]; copies: EdgeFill[] } {
  const nd = dist.ndim;
  const m = dist.localShape(rank);
  const c = dist.coords(rank);
  const w = spec.widths;
  const fixed: EdgeFill[] = [];
  const copies: EdgeFill[] = [];
  if (m.some((x) => x === 0)) return { fixed, copies };
  const atEdge = (k: number, side: 0 | 1) => (side === 0 ? c[k] === 0 : c[k] === dist.grid[k]! - 1);
  for (let k = 0; k < nd; k++) {
    const wk = w[k]!;
    if (wk === 0) continue;
    for (const side of [0, 1] as const) {
      const rule = spec.sides[k]![side];
      if (rule === 'periodic' || !atEdge(k, side)) continue;
      const at = side === 0 ? 0 : wk + m[k]!;
      if (typeof rule === 'number') {
        const start = m.map(() => 0);
        const count = m.map((x, j) => x + 2 * w[j]!);
        start[k] = at;
        count[k] = wk;
        fixed.push({ start, count, value: rule });
        continue;
      }
      // Along the other axes: everything but their fixed sides at the domain's edge.
      const start = m.map((_, j) => (j !== k && atEdge(j, 0) && typeof spec.sides[j]![0] === 'number' ? w[j]! : 0));
      const count = m.map((x, j) => x + 2 * w[j]! - start[j]! - (j !== k && atEdge(j, 1) && typeof spec.sides[j]![1] === 'number' ? w[j]! : 0));
      count[k] = 1;
      for (let t = 0; t < wk; t++) {
        // Halo cell t away from the edge (t = 0 next to it) <- interior cell t from the edge.
        const dst = side === 0 ? wk - 1 - t : wk + m[k]! + t;
        const src = rule === 'nearest' ? (side === 0 ? wk : wk + m[k]! - 1) : side === 0 ? wk + t : wk + m[k]! - 1 - t;
        const s = [...start];
        const d = [...start];
        s[k] = src;
        d[k] = dst;
        copies.push({ start: d, count: [...count], from: s });
      }
    }
  }
  return { fixed, copies };
}

/**
 * Checks that the halo fits every block: along every axis with a halo each rank's block must
 * have at least that axis's width (a neighbour's halo is cut from it, and a 'reflect' or
 * 'nearest' side copies from the edge block's own cells; checked along fixed or
 * undistributed axes too, so the answer does not depend on P or on the boundaries). The same
 * on every rank: every rank raises it. `shown` is the value the error shows (as given).
 */
export function checkHaloWidth(dist: Distribution, spec: HaloSpec, argument: string, rank: number, shown: unknown): void {
  for (let k = 0; k < dist.ndim; k++) {
    const width = spec.widths[k]!;
    if (width === 0) continue;
    let smallest = Infinity;
    let at = 0;
    for (let r = 0; r < dist.size; r++) {
      const m = dist.localShape(r)[k]!;
      if (m < smallest) [smallest, at] = [m, r];
    }
    if (width > smallest) {
      const reflect = spec.sides[k]!.includes('reflect') ? ` (its 'reflect' side would mirror ${width} cells of one block)` : '';
      throw new ArgumentError(argument, `at most ${smallest} for this distribution: along axis ${k} the smallest block (rank ${at}'s) has ${smallest} elements, and a halo of ${width} would need ${width}${reflect}`, shown, rank);
    }
  }
}

/** Checks that every distributed axis with a halo is a block axis (halos need contiguous blocks). */
export function checkHaloDistribution(dist: Distribution, widths: readonly number[], rank?: number): void {
  dist.axes.forEach((a, k) => {
    if (widths[k]! > 0 && !a.contiguous) throw new ArgumentError('dist', `block or undistributed along every axis with a halo (axis ${k} is ${a.kind})`, dist.toString(), rank);
  });
}
