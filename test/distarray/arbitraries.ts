// fast-check generators of distributions, shared by the distarray suites.
import fc from 'fast-check';
import type { SliceArg } from '../../distarray/view.js';
import { block, blockCyclic, cyclic, dimsCreate, grid, irregularBlock, type AxisRule, type Distribution } from '../../distarray/distribution.js';

/** Random counts of p ranks summing to n (some may be 0). */
const arbCounts = (n: number, p: number): fc.Arbitrary<number[]> =>
  fc.array(fc.integer({ min: 0, max: n }), { minLength: p - 1, maxLength: p - 1 }).map((cuts) => {
    const at = [0, ...cuts.sort((a, b) => a - b), n];
    return at.slice(1).map((x, r) => x - at[r]!);
  });

const arbShape = (ndim?: number) =>
  (ndim ? fc.constant(ndim) : fc.integer({ min: 1, max: 3 })).chain((nd) => fc.array(fc.integer({ min: 0, max: nd === 1 ? 20 : nd === 2 ? 9 : 5 }), { minLength: nd, maxLength: nd }));

/** Factorisations of p over nd axes. */
const arbDims = (p: number, nd: number): fc.Arbitrary<number[]> => {
  if (nd === 1) return fc.constant([p]);
  const divisors = [...Array(p).keys()].map((i) => i + 1).filter((d) => p % d === 0);
  return fc.constantFrom(...divisors).chain((d) => arbDims(p / d, nd - 1).map((rest) => [d, ...rest]));
};

const arbRule: fc.Arbitrary<AxisRule> = fc.oneof(
  fc.constant('block' as const),
  fc.constant('cyclic' as const),
  fc.integer({ min: 1, max: 3 }).map((b) => ({ kind: 'block-cyclic' as const, blockSize: b })),
);

/** Any distribution over p ranks (random p in 1..5 if omitted), optionally of a given shape. */
export function arbDistribution(p?: number, shape?: readonly number[]): fc.Arbitrary<Distribution> {
  const arbP = p ? fc.constant(p) : fc.integer({ min: 1, max: 5 });
  return fc.tuple(arbP, shape ? fc.constant([...shape]) : arbShape()).chain(([procs, s]) =>
    fc.oneof(
      fc.integer({ min: 0, max: s.length - 1 }).chain((axis) =>
        fc.oneof(
          fc.constant(block(s, procs, axis)),
          fc.constant(cyclic(s, procs, axis)),
          fc.integer({ min: 1, max: 4 }).map((b) => blockCyclic(s, procs, b, axis)),
          arbCounts(s[axis]!, procs).map((counts) => irregularBlock(s, counts, axis)),
        ),
      ),
      fc.tuple(arbDims(procs, s.length), fc.array(arbRule, { minLength: s.length, maxLength: s.length })).map(([dims, rules]) => grid(s, dims, rules)),
    ),
  );
}

/** Block (or undistributed) on every axis: the layouts halos need. */
export function arbBlockDistribution(p: number, ndim?: number, minExtent = 0): fc.Arbitrary<Distribution> {
  return (ndim ? fc.constant(ndim) : fc.integer({ min: 1, max: 3 })).chain((nd) =>
    fc.tuple(arbDims(p, nd), fc.array(fc.integer({ min: 0, max: nd === 1 ? 12 : nd === 2 ? 5 : 3 }), { minLength: nd, maxLength: nd })).map(([dims, extra]) =>
      grid(dims.map((d, k) => Math.max(minExtent, d + extra[k]!)), dims),
    ),
  );
}

/** Random slice arguments for a shape: ranges with random steps, integers, nulls. */
export const arbSliceArgs = (shape: readonly number[]): fc.Arbitrary<SliceArg[]> =>
  fc.tuple(
    ...shape.map((n) =>
      fc.oneof(
        fc.constant(null),
        fc.tuple(fc.option(fc.integer({ min: -n - 2, max: n + 2 })), fc.option(fc.integer({ min: -n - 2, max: n + 2 })), fc.option(fc.constantFrom(1, 2, 3, -1, -2))).map((t) => t as SliceArg),
        ...(n > 0 ? [fc.integer({ min: -n, max: n - 1 })] : []),
      ),
    ),
  ).filter((args) => args.some((a) => typeof a !== 'number'));

export { dimsCreate };
