// Global arrays (issue 7, sections 1 and 4): layout, merge, one-sided get/put/acc against a
// sequential model, DRMA at sync, locks, a busy owner still answering, and error paths.
import { afterAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { BlockLayout } from '../../core/global/layout.js';
import { copyBox, toBox } from '../../core/global/region.js';
import { bindAddress } from '../../core/global/service/host.js';
import { kDTypes, type DType } from '../../util/dtype.js';
import { fileURLToPath } from 'node:url';
import { runDetailed } from '../../core/launch/run.js';
import { backends, callAll, closeWorlds, tryCall } from '../harness.js';
import { initial, type GaOp, type ModelSpec } from '../fixtures/global.js';

afterAll(closeWorlds);

// Sequential model
// ----------------

const coordsOf = (r: number, grid: readonly number[]) => {
  const c = new Array<number>(grid.length);
  for (let d = grid.length - 1; d >= 0; d--) {
    c[d] = r % grid[d]!;
    r = Math.floor(r / grid[d]!);
  }
  return c;
};

/** Every multi-index of a region, row-major. */
function* indices(region: readonly (readonly [number, number])[]): Generator<number[]> {
  const ext = region.map(([l, h]) => h - l);
  if (ext.some((e) => e <= 0)) return;
  const n = ext.reduce((a, b) => a * b, 1);
  for (let k = 0; k < n; k++) {
    const idx = new Array<number>(ext.length);
    let rem = k;
    for (let d = ext.length - 1; d >= 0; d--) {
      idx[d] = region[d]![0] + (rem % ext[d]!);
      rem = Math.floor(rem / ext[d]!);
    }
    yield idx;
  }
}

const flat = (idx: readonly number[], shape: readonly number[]) => idx.reduce((o, i, d) => o * shape[d]! + i, 0);
const isBig = (d: DType) => d === 'int64' || d === 'uint64';

function runModel(spec: ModelSpec, shape: number[]): { gets: number[][]; final: number[] } {
  const n = shape.reduce((a, b) => a * b, 1);
  const m = new kDTypes[spec.dtype].ctor(n) as unknown as (number | bigint)[];
  const big = isBig(spec.dtype);
  const cv = (v: number) => (big ? BigInt(v) : v);
  for (let g = 0; g < n; g++) m[g] = cv(initial(g));
  const gets: number[][] = [];
  for (const op of spec.ops) {
    const cells = op.indices ? op.indices.map((i) => flat(i, shape)) : [...indices(op.region)].map((i) => flat(i, shape));
    if (op.kind === 'get' || op.kind === 'getAt') gets.push(cells.map((g) => Number(m[g])));
    else {
      cells.forEach((g, k) => {
        const x = cv(op.data![k]!) as number & bigint;
        const o = m[g] as number & bigint;
        if (op.kind === 'put' || op.kind === 'putAt') m[g] = x;
        else if (op.op === 'sum' || op.op === undefined) m[g] = (o + x) as number;
        else if (op.op === 'prod') m[g] = (o * x) as number;
        else if (op.op === 'min') m[g] = x < o ? x : o;
        else m[g] = x > o ? x : o;
      });
    }
  }
  return { gets, final: Array.from(m, Number) };
}

// Generators
// ----------

const kDtypes: DType[] = ['float64', 'float32', 'int32', 'int16', 'uint8', 'int64'];

/** Splits p into `nd` factors, one per axis. */
function gridFor(p: number, nd: number, picks: number[]): number[] {
  const grid = new Array<number>(nd).fill(1);
  let rest = p;
  let k = 0;
  for (let f = 2; rest > 1; ) {
    if (rest % f === 0) {
      grid[picks[k++ % picks.length]! % nd]! *= f;
      rest /= f;
    } else f++;
  }
  return grid;
}

const regionArb = (shape: number[]) =>
  fc.tuple(...shape.map((s) => fc.tuple(fc.nat(s), fc.nat(s)).map(([a, b]) => [Math.min(a, b), Math.max(a, b)] as [number, number])));

const specArb = (procs: number, paths: ('direct' | 'served')[]) =>
  fc
    .record({
      dtype: fc.constantFrom(...kDtypes),
      nd: fc.integer({ min: 1, max: 3 }),
      useGrid: fc.boolean(),
      axis: fc.nat(2),
      picks: fc.array(fc.nat(2), { minLength: 1, maxLength: 4 }),
      path: fc.constantFrom(...paths),
      extSeed: fc.array(fc.nat(3), { minLength: 15, maxLength: 15 }),
    })
    .chain(({ dtype, nd, useGrid, axis, picks, path, extSeed }) => {
      const grid = useGrid ? gridFor(procs, nd, picks) : Array.from({ length: nd }, (_, d) => (d === axis % nd ? procs : 1));
      // Extent of each grid coordinate on each axis (uneven, possibly empty); >= 1 overall.
      let s = 0;
      const extents: number[][] = grid.map((g) => Array.from({ length: g }, (): number => extSeed[s++ % extSeed.length]!));
      extents.forEach((e) => {
        if (Math.max(...e) === 0) e[0] = 1;
      });
      const blocks = Array.from({ length: procs }, (_, r) => coordsOf(r, grid).map((c, d) => extents[d]![c]!));
      const shape = extents.map((e) => e.reduce((a, b) => a + b, 0));
      const opArb: fc.Arbitrary<GaOp> = fc
        .record({
          by: fc.nat(procs - 1),
          kind: fc.constantFrom('get', 'put', 'acc', 'getAt', 'putAt') as fc.Arbitrary<GaOp['kind']>,
          region: regionArb(shape),
          indices: fc.array(fc.tuple(...shape.map((s) => fc.nat(s - 1))), { minLength: 1, maxLength: 6 }),
          op: fc.constantFrom('sum', 'prod', 'min', 'max') as fc.Arbitrary<'sum'>,
        })
        .chain(({ indices: idx, ...o }) => {
          const scattered = o.kind === 'getAt' || o.kind === 'putAt';
          const size = scattered ? idx.length : o.region.reduce((a, [l, h]) => a * (h - l), 1);
          return fc
            .array(fc.integer({ min: 0, max: 20 }), { minLength: size, maxLength: size })
            .map((data): GaOp => ({ ...o, indices: scattered ? idx : undefined, data: o.kind === 'get' || o.kind === 'getAt' ? undefined : data }));
        });
      return fc.array(opArb, { minLength: 2, maxLength: 6 }).map((ops) => ({ spec: { dtype, blocks, merge: useGrid ? { grid, path } : { axis: axis % nd, path }, ops } as ModelSpec, shape, grid }));
    });

// Pure parts (no ranks)
// ---------------------

describe('BlockLayout', () => {
  it('owner and locate agree with a brute-force scan (random grids, uneven and empty blocks)', () => {
    fc.assert(
      fc.property(fc.array(fc.array(fc.nat(3), { minLength: 1, maxLength: 3 }), { minLength: 1, maxLength: 3 }), (extents) => {
        const grid = extents.map((e) => e.length);
        const L = new BlockLayout(grid, extents);
        const p = grid.reduce((a, b) => a * b, 1);
        const whole = L.shape.map((s) => [0, s] as [number, number]);
        const count = new Map<number, number>();
        for (const idx of indices(whole)) {
          // Brute force: the block containing idx.
          let found = -1;
          for (let r = 0; r < p; r++) {
            const b = L.blockBox(r);
            if (idx.every((i, d) => i >= b.lo[d]! && i < b.hi[d]!)) found = r;
          }
          expect(L.owner(idx)).toBe(found);
          count.set(found, (count.get(found) ?? 0) + 1);
        }
        const pieces = L.locate({ lo: whole.map(() => 0), hi: L.shape });
        for (const pc of pieces) {
          const b = L.blockBox(pc.rank);
          const size = pc.box.lo.reduce((a, l, d) => a * (pc.box.hi[d]! - l), 1);
          expect(pc.box.lo.every((l, d) => l >= b.lo[d]! && pc.box.hi[d]! <= b.hi[d]!)).toBe(true);
          expect(size).toBe(count.get(pc.rank));
        }
        expect(pieces.length).toBe(count.size);
      }),
      { numRuns: 60 },
    );
  });

  it('copyBox copies a sub-box like an index-by-index loop', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 5 }), { minLength: 1, maxLength: 3 }), fc.nat(), (shape, seed) => {
        const n = shape.reduce((a, b) => a * b, 1);
        const src = Float64Array.from({ length: n }, (_, i) => i + seed);
        const lo = shape.map((s, d) => (seed >> d) % s);
        const ext = shape.map((s, d) => s - lo[d]!);
        const dst = new Float64Array(ext.reduce((a, b) => a * b, 1));
        copyBox(src, shape, lo, dst, ext, ext.map(() => 0), ext);
        const want = [...indices(lo.map((l, d) => [l, shape[d]!] as [number, number]))].map((i) => src[flat(i, shape)]);
        expect(Array.from(dst)).toEqual(want);
      }),
      { numRuns: 60 },
    );
  });

  it('the communication worker binds where the tcp backend does', async () => {
    expect(await bindAddress({})).toBe('127.0.0.1');
    expect(await bindAddress({ SUPERSTEP_BIND: '10.1.2.3', SUPERSTEP_COORD: '10.9.9.9:7650' })).toBe('10.1.2.3');
    expect(await bindAddress({ SUPERSTEP_COORD: 'localhost:7650' })).toBe('127.0.0.1');
    expect(await bindAddress({ SUPERSTEP_COORD: '127.0.0.1:7650' })).toBe('127.0.0.1');
  });

  it('regions: out of bounds or malformed is an ArgumentError naming the shape', () => {
    expect(() => toBox([[0, 5]], [4])).toThrow(/within bounds on axis 0: 0 <= lo <= hi <= 4/);
    expect(() => toBox([[2, 1]], [4])).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG' }));
    expect(() => toBox([[0, 1]], [4, 4])).toThrow(/one range \[lo, hi\] or index per axis \(2 axes/);
    expect(toBox([1, 3], [4])).toEqual({ lo: [1], hi: [3] });
    expect(toBox([2, [0, 4]], [4, 4])).toEqual({ lo: [2, 0], hi: [3, 4] });
  });
});

// On every backend
// ----------------

describe.each(backends())('global arrays on %s', (backend) => {
  const paths: ('direct' | 'served')[] = backend === 'sab' ? ['direct', 'served'] : ['served'];

  it('random get/put/acc/getAt/putAt sequences equal a sequential model; owner/locate match (P = 1..5, uneven blocks)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 5 }).chain((p) => specArb(p, paths).map((s) => ({ p, ...s }))), async ({ p, spec, shape, grid }) => {
        const res = await callAll<{ gets: number[][]; final: number[]; shape: number[]; owners: number[]; locate: number[][] }>(backend, p, 'global.ts', 'modelOps', [spec], 45_000);
        const want = runModel(spec, shape);
        const byRank = res.flatMap((r) => r.gets);
        // Gets were issued in op order by their ranks; collect them in op order.
        const got: number[][] = [];
        const cursor = new Array<number>(p).fill(0);
        for (const op of spec.ops) if (op.kind === 'get' || op.kind === 'getAt') got.push(res[op.by]!.gets[cursor[op.by]!++]!);
        expect(byRank.length).toBe(want.gets.length);
        expect(got).toEqual(want.gets);
        for (const r of res) {
          expect(r.shape).toEqual(shape);
          expect(r.final).toEqual(want.final);
        }
        // Owners, independently: per axis, the grid coordinate whose extent range holds i.
        const extents = grid.map((g, d) => Array.from({ length: g }, (_, c) => spec.blocks[[...Array(p).keys()].find((r) => coordsOf(r, grid)[d] === c)!]![d]!));
        const coordAt = (d: number, i: number) => {
          let start = 0;
          for (let c = 0; c < grid[d]!; c++) {
            start += extents[d]![c]!;
            if (i < start) return c;
          }
          return -1;
        };
        const owners = [...indices(shape.map((s) => [0, s] as [number, number]))].map((i) => i.reduce((r, x, d) => r * grid[d]! + coordAt(d, x), 0));
        expect(res[0]!.owners).toEqual(owners);
        // locate(whole array): one part per non-empty block, in rank order, covering every element,
        // each part's local region the same size as its global one and starting at the block's origin.
        const nd = shape.length;
        const parts = res[0]!.locate;
        expect(parts.map((q) => q[0])).toEqual([...new Set(owners)].sort((a, b) => a - b));
        const size = (q: number[], at: number) => Array.from({ length: nd }, (_, d) => q[at + 2 * d + 1]! - q[at + 2 * d]!).reduce((a, b) => a * b, 1);
        expect(parts.reduce((a, q) => a + size(q, 1), 0)).toBe(owners.length);
        for (const q of parts) {
          expect(size(q, 1 + 2 * nd)).toBe(size(q, 1));
          expect(Array.from({ length: nd }, (_, d) => q[1 + 2 * nd + 2 * d])).toEqual(new Array(nd).fill(0));
        }
      }),
      { numRuns: backend === 'sab' ? 6 : 4 },
    );
  }, 240_000);

  it.each(paths)('locks give mutual exclusion (path %s): 3 ranks x 15 locked increments', async (path) => {
    const res = await callAll<number>(backend, 3, 'global.ts', 'lockedIncrements', [15, path], 45_000);
    expect(res).toEqual([45, 45, 45]);
  }, 90_000);

  it.each(paths)('concurrent acc from every rank loses no update (path %s)', async (path) => {
    const res = await callAll<number[]>(backend, 3, 'global.ts', 'concurrentAcc', [10, path], 45_000);
    for (const r of res) expect(r).toEqual(new Array(15).fill(30));
  }, 90_000);

  it('a region costs one request per remote owner, not one per element (served path)', async () => {
    const res = await callAll<number[]>(backend, 3, 'global.ts', 'requestCounts', [], 45_000);
    // Whole array of 9 x 2 elements: ranks 1 and 2 are remote; the put spans ranks 0 (local) and 1.
    expect(res[0]).toEqual([2, 1, 1, 4]); // getAt and putAt of 6 scattered elements: 2 requests each
  }, 90_000);

  it('DRMA: bsp.put / bsp.get take effect exactly at sync', async () => {
    const res = await callAll<{ beforePut: number[]; beforeGet: number[]; after: number[]; got: number[]; got2: number[] }>(backend, 3, 'global.ts', 'drmaRing', [], 45_000);
    res.forEach((r, me) => {
      const left = (me + 2) % 3;
      expect(r.beforePut).toEqual([10 * me, 10 * me + 1, 10 * me + 2, 10 * me + 3]);
      expect(r.beforeGet).toEqual([0, 0, 0, 0]);
      expect(r.after).toEqual([10 * me, 100 + left, 200 + left, 10 * me + 3]);
      // The get of the same superstep sees the values from before the puts.
      expect(r.got).toEqual([10 * left, 10 * left + 1, 10 * left + 2, 10 * left + 3]);
      expect(r.got2).toEqual([100 + ((left + 2) % 3), 200 + ((left + 2) % 3)]);
    });
  }, 90_000);

  it('a get completes while the owner spins 2 s in a tight loop (served path)', async () => {
    const res = await callAll<{ spinEnd?: number; getDone?: number; got?: number[] }>(backend, 2, 'global.ts', 'busyOwner', [2000, 'served'], 45_000);
    expect(res[0]!.got).toEqual([1.5, 1.5, 1.5, 1.5]);
    expect(res[0]!.getDone!).toBeLessThan(res[1]!.spinEnd!);
  }, 90_000);

  it('dtype or shape mismatch in merge, unknown package in share: the same typed error on every rank; bad regions reject', async () => {
    const dtype = await callAll<string>(backend, 3, 'global.ts', 'mergeErrorCaught', ['dtype'], 45_000);
    for (const m of dtype) expect(m).toMatch(/^CollectiveArgumentError: .*ranks disagree on the dtype: ranks 0, 1: "float64"; rank 2: "int32"/);
    const shape = await callAll<string>(backend, 3, 'global.ts', 'mergeErrorCaught', ['shape'], 45_000);
    for (const m of shape) expect(m).toMatch(/^CollectiveArgumentError: .*rank 2's block has extent 3 on axis 1/);
    const share = await callAll<string>(backend, 3, 'global.ts', 'mergeErrorCaught', ['share-missing'], 45_000);
    for (const m of share) expect(m).toMatch(/^CollectiveArgumentError: .*share\("s"\): rank 2: unknown package 's'/);
    const oob = await callAll<string>(backend, 3, 'global.ts', 'mergeErrorCaught', ['oob'], 45_000);
    for (const m of oob) expect(m).toBe('ArgumentError,ArgumentError,ArgumentError,ArgumentError');
  }, 90_000);

  // Last: a failed job tears the world down, and a restart costs seconds.
  it('merge with a package missing on one rank fails with CollectiveArgumentError on every rank', async () => {
    const out = await tryCall(backend, 3, 'global.ts', 'mergeError', ['missing'], 45_000);
    expect(out.ok).toBe(false);
    for (const s of out.statuses) {
      expect(s.error?.name).toBe('CollectiveArgumentError');
      expect(s.error?.message).toMatch(/merge\("m"\): rank 2: unknown package 'm'/);
    }
  }, 90_000);
});

// The docs' example (its features are covered on every backend above; tcp runs it by hand).
describe('docs example', () => {
  it('examples/global-array.ts (docs/global.md) runs on 3 ranks', async () => {
    const script = fileURLToPath(new URL('../../examples/global-array.ts', import.meta.url));
    const out = await runDetailed({ procs: 3, backend: 'sab', timeoutMs: 60_000 }, script);
    expect(out.failure?.error.message).toBeUndefined();
    expect(out.ok).toBe(true);
  }, 90_000);
});
