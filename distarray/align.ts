/**
 * @internal Bringing an operand to the layout of an operation: the elements of `x` that
 * each rank needs to combine with its block of a target distribution, with numpy's
 * broadcasting (x's shape right-aligned with the target's; missing axes and axes of length
 * 1 repeat). When x already has the target's distribution this is x's own storage (no
 * copy); otherwise one transfer (redistribute's plan and executor, with every process
 * coordinate along a broadcast axis receiving a copy).
 */
import { allocArray, shapeSize } from '../util/dtype.js';
import { ArgumentError } from '../util/errors.js';
import { AxisMap, type Distribution } from './distribution.js';
import type { DistArray } from './distarray.js';
import { plan, stridesOf, type Box, type Layout, type Strided } from './regions.js';
import { execute } from './transfer.js';

/** numpy's broadcast shape of `shapes` (right-aligned; equal extents or 1). */
export function broadcastShapes(shapes: readonly (readonly number[])[], names: readonly string[], rank?: number): number[] {
  const nd = Math.max(...shapes.map((s) => s.length));
  const out = new Array<number>(nd).fill(1);
  shapes.forEach((s, i) => {
    for (let j = 0; j < s.length; j++) {
      const k = nd - s.length + j;
      const n = s[j]!;
      if (n === out[k] || n === 1) continue;
      if (out[k] !== 1) throw new ArgumentError(names[i]!, `broadcastable with shape [${out.join(', ')}] (axis ${k}: ${n} vs ${out[k]}; extents must be equal or 1)`, `shape [${s.join(', ')}]`, rank);
      out[k] = n;
    }
  });
  return out;
}

/** Statistics of automatic redistribution (for tests and profiles): transfers and elements moved in. */
export const alignStats = { transfers: 0, elements: 0 };

/**
 * Collective: storage of x's elements matching this rank's block of `target` (whose shape is
 * x's broadcast to it). Every rank calls it for the same operands in the same order.
 */
export async function align(x: DistArray, target: Distribution): Promise<Strided> {
  const me = x.rank;
  const nd = target.ndim;
  const lead = nd - x.ndim;
  const bc = target.shape.map((n, k) => k < lead || (x.shape[k - lead] === 1 && n !== 1));
  if (lead === 0 && !bc.some(Boolean) && x.dist.equals(target)) return x.storage();
  const ls = target.localShape(me);
  const dshape = x.shape.map((_, i) => (bc[i + lead] ? 1 : ls[i + lead]!));
  const buf = allocArray(x.dtype, shapeSize(dshape), false);
  // One plan per combination of process coordinates along the broadcast axes.
  const bAxes = bc.flatMap((b, k) => (b ? [k] : []));
  const combos = bAxes.reduce((p, k) => p * target.grid[k]!, 1);
  const boxes: Box[] = [];
  const coords = new Array<number>(nd).fill(0);
  for (let c = 0; c < combos; c++) {
    let q = c;
    for (let j = bAxes.length - 1; j >= 0; j--) {
      const k = bAxes[j]!;
      coords[k] = q % target.grid[k]!;
      q = Math.floor(q / target.grid[k]!);
    }
    const layout: Layout = {
      axes: x.shape.map((n, i) => (bc[i + lead] ? new AxisMap(n, 1, 'block') : target.axes[i + lead]!)),
      rankOf: (xc) => {
        for (let i = 0; i < xc.length; i++) if (!bc[i + lead]) coords[i + lead] = xc[i]!;
        return target.rankOf(coords);
      },
    };
    boxes.push(...plan(x.dist, layout, undefined, me));
  }
  await x.sharePeers();
  const dst = { data: (r: number) => (r === me ? buf : undefined), shape: () => dshape, pad: () => 0 };
  await execute(x.team, x.dtype, boxes, x.side(), dst, x.peers ? 'pull' : 'messages');
  alignStats.transfers++;
  alignStats.elements += buf.length;
  const st = stridesOf(dshape);
  return {
    data: buf,
    base: 0,
    axes: target.shape.map((_, k) => {
      const m = ls[k]!;
      const i = k - lead;
      return i < 0 || bc[k] ? new Float64Array(m) : Float64Array.from({ length: m }, (_, l) => l * st[i]!);
    }),
  };
}
