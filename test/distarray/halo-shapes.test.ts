// Stencils of any shape (#18 item 7): halos with a width per axis and a boundary rule per
// side (fixed value, periodic, reflect, nearest), mapOverlap, the 3-D 7-point and 2-D 9-point
// sweeps. fast-check properties against a sequential numpy.pad-like reference
// (halo-reference.ts, itself checked against numpy.pad) on random shapes (1-3 D), dtypes,
// block grids and P in 1..4, on every backend (on sab both the shared-memory and the message
// path); bad input is an ArgumentError on every rank.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { backends, callAll, closeWorlds } from '../harness.js';
import { arbBlockDistribution } from './arbitraries.js';
import { boxKernel, indices, padSequential, strides, sweeps, wholeArray, window, type Rule, type Sides } from './halo-reference.js';
import type { Distribution } from '../../distarray/distribution.js';
import type { PaddedBlock } from '../fixtures/halo-shapes.js';

afterAll(closeWorlds);

const F = 'halo-shapes.ts';
const kTimeout = 60_000;
const kTestTimeout = 240_000;
const python = '/usr/bin/python3';
const allDTypes = ['float64', 'float32', 'int8', 'int16', 'int32', 'uint8', 'uint16', 'uint32', 'int64', 'uint64', 'bool'];
const numberDTypes = ['float64', 'float32', 'int16', 'uint8', 'int32'];

type AxisBoundary = Rule | [Rule, Rule];
type BoundaryArg = Rule | AxisBoundary[];

const arbFixed = fc.constantFrom(0, 1, 7, 42);
const arbOneSided: fc.Arbitrary<Rule> = fc.oneof(arbFixed, fc.constantFrom<Rule>('reflect', 'nearest'));
const arbAxisBoundary: fc.Arbitrary<AxisBoundary> = fc.oneof(arbOneSided, fc.constant<Rule>('periodic'), fc.tuple(arbOneSided, arbOneSided));
/** A `boundary` argument for nd axes: one rule for all, or per axis a rule or a pair. */
const arbBoundary = (nd: number): fc.Arbitrary<BoundaryArg> =>
  fc.oneof(fc.oneof(arbOneSided, fc.constant<Rule>('periodic')), fc.array(arbAxisBoundary, { minLength: nd, maxLength: nd }));

/** The [low, high] rules a `boundary` argument gives each axis. */
function sidesOf(b: BoundaryArg, nd: number): Sides {
  if (!Array.isArray(b)) return Array.from({ length: nd }, () => [b, b]);
  return b.map((x) => (Array.isArray(x) ? [x[0], x[1]] : [x, x]));
}

/** Per axis the smallest block of `d`: the widest halo that fits. */
const smallest = (d: Distribution) => d.shape.map((n, k) => Math.floor(n / d.grid[k]!));

/** A block grid over 1..4 ranks with per-axis widths (0..2, each fitting its axis) and boundaries. */
const arbHaloCase = (minWidth: 0 | 1, nds = [1, 2, 3]) =>
  fc.integer({ min: 1, max: 4 }).chain((p) =>
    fc.constantFrom(...nds).chain((nd) =>
      fc.tuple(
        arbBlockDistribution(p, nd, 1),
        fc.array(fc.integer({ min: minWidth, max: 2 }), { minLength: nd, maxLength: nd }),
        arbBoundary(nd),
        fc.boolean(),
      ).map(([d, w, boundary, asNumber]) => {
        const widths = w.map((x, k) => Math.min(x, smallest(d)[k]!));
        const uniform = widths.every((x) => x === widths[0]);
        return { d, widths, width: uniform && asNumber ? widths[0]! : widths, boundary };
      }),
    ),
  );

describe('the sequential reference', () => {
  it('pads as numpy.pad does (symmetric, edge, wrap, constant; one axis after the other)', () => {
    const cases = fc.sample(
      fc.integer({ min: 1, max: 3 }).chain((nd) =>
        fc.tuple(fc.array(fc.integer({ min: 2, max: 5 }), { minLength: nd, maxLength: nd }), fc.nat(100)).chain(([shape, seed]) =>
          fc.tuple(fc.constant(shape), fc.constant(seed), fc.tuple(...shape.map((n) => fc.integer({ min: 0, max: Math.min(2, n) }))), arbBoundary(nd)),
        ),
      ),
      { numRuns: 30, seed: 18 },
    );
    const inputs = cases.map(([shape, seed, widths, boundary]) => ({ x: wholeArray(shape, 'float64', seed), widths, sides: sidesOf(boundary, shape.length) }));
    try {
      execFileSync(python, ['-c', 'import numpy'], { stdio: 'ignore' });
    } catch {
      console.log('numpy check of the reference skipped: python3 with numpy is not available');
      return;
    }
    // numpy pads one side of one axis at a time (a periodic axis both sides at once, as a
    // wrap's period is the unpadded length); the constants go in with mode='constant'.
    const script = `
import json, sys, numpy as np
out = []
for c in json.load(sys.stdin):
    a = np.array(c['x']['data'], dtype=float).reshape(c['x']['shape'])
    for k, (w, (lo, hi)) in enumerate(zip(c['widths'], c['sides'])):
        if w == 0:
            continue
        def pad(a, side, rule):
            pw = [(0, 0)] * a.ndim
            pw[k] = side
            modes = {'periodic': 'wrap', 'reflect': 'symmetric', 'nearest': 'edge'}
            if isinstance(rule, str):
                return np.pad(a, pw, mode=modes[rule])
            return np.pad(a, pw, mode='constant', constant_values=rule)
        if lo == 'periodic':
            a = pad(a, (w, w), 'periodic')
        else:
            a = pad(pad(a, (w, 0), lo), (0, w), hi)
    out.append({'shape': list(a.shape), 'data': a.ravel().tolist()})
print(json.dumps(out))`;
    const want = JSON.parse(execFileSync(python, ['-c', script], { input: JSON.stringify(inputs) }).toString()) as { shape: number[]; data: number[] }[];
    expect(want).toHaveLength(inputs.length);
    inputs.forEach((c, i) => expect(padSequential(c.x, c.widths, c.sides), JSON.stringify(c)).toEqual(want[i]));
  });
});

describe.each(backends())('halos of any shape on %s', (backend) => {
  const arbPath = fc.constantFrom(...(backend === 'sab' ? [false, true] : [true]));
  // Fewer runs where every job is a round of messages between processes (tcp, mpi): the file stays quick.
  const runs = (n: number) => (backend === 'sab' ? n : Math.ceil(n / 2));

  it('exchangeHalos fills per-axis widths and per-side boundaries as the sequential pad (1-3 D, every dtype, P in 1..4)', async () => {
    await fc.assert(
      fc.asyncProperty(arbHaloCase(0), fc.constantFrom(...allDTypes), fc.nat(50), arbPath, async (c, dtype, seed, messages) => {
        const res = await callAll<PaddedBlock>(backend, c.d.size, F, 'haloShapes', [[...c.d.shape], [...c.d.grid], c.width, c.boundary, dtype, seed, messages], kTimeout);
        const sides = sidesOf(c.boundary, c.d.ndim);
        res.forEach((blk, rank) => {
          blk.rounds.forEach((got, round) => {
            const whole = padSequential(wholeArray([...c.d.shape], dtype, seed + round), c.widths, sides);
            expect(got, `rank ${rank}, round ${round}, widths [${c.widths}], boundary ${JSON.stringify(c.boundary)}, grid [${c.d.grid}], shape [${c.d.shape}]`).toEqual(window(whole, blk.start, blk.paddedShape));
          });
        });
      }),
      { numRuns: runs(12) },
    );
  }, kTestTimeout);

  it('jacobiStep, jacobi9 (2-D) and jacobi7 (3-D) sweeps equal the sequential sweeps exactly; .cost counts them', async () => {
    const arb = fc.constantFrom<'5' | '7' | '9'>('5', '7', '9').chain((stencil) =>
      fc.tuple(fc.constant(stencil), arbHaloCase(1, [stencil === '7' ? 3 : 2]), fc.integer({ min: 0, max: 4 }), fc.nat(50)),
    );
    await fc.assert(
      fc.asyncProperty(arb, arbPath, async ([stencil, c, k, seed], messages) => {
        const res = await callAll<{ got: number[] | null; cost: { bytes?: number; h: number }[] }>(backend, c.d.size, F, 'sweepsCheck', [stencil, [...c.d.shape], [...c.d.grid], c.widths, c.boundary, k, seed, messages], kTimeout);
        const want = sweeps(wholeArray([...c.d.shape], 'float64', seed), stencil, k, sidesOf(c.boundary, c.d.ndim));
        expect(res[0]!.got, `${stencil}-point, widths [${c.widths}], boundary ${JSON.stringify(c.boundary)}, grid [${c.d.grid}]`).toEqual(want.data);
        // Two sweeps: 16 bytes per cell of the largest block each.
        const cells = Math.max(...Array.from({ length: c.d.size }, (_, r) => c.d.localSize(r)));
        expect(res[0]!.cost.map((s) => s.bytes)).toEqual([16 * cells, 16 * cells]);
        if (c.d.size === 1) expect(res[0]!.cost[0]!.h).toBe(0);
      }),
      { numRuns: runs(12) },
    );
  }, kTestTimeout);

  it('jacobi7.cost: the words of the halo plan (periodic wrap-around included) and 16 bytes per cell of the largest block', async () => {
    // [4, 4, 4] over [2, 1, 1]: each rank gets from the other its face (16 words) and, along
    // the periodic axis 1, the two wrapped edges (4 words each); axis 2's sides are fixed.
    const res = await callAll<{ cost: { bytes?: number; h: number }[] }>(backend, 2, F, 'sweepsCheck', ['7', [4, 4, 4], [2, 1, 1], [1, 1, 1], [0, 'periodic', 0], 0, 0, false], kTimeout);
    expect(res[0]!.cost).toEqual([{ bytes: 512, h: 24 }, { bytes: 512, h: 24 }]);
  });

  it('mapOverlap equals the kernel over the sequentially padded array (every result form; a kept padded copy is refreshed)', async () => {
    const arb = fc.tuple(arbHaloCase(0), fc.constantFrom(...numberDTypes), fc.constantFrom('padded', 'block', 'ndarray', 'out'), fc.boolean(), fc.nat(50));
    await fc.assert(
      fc.asyncProperty(arb, arbPath, async ([c, dtype, form, own, seed], messages) => {
        const res = await callAll<(number[] | null)[]>(backend, c.d.size, F, 'overlapCheck', [[...c.d.shape], [...c.d.grid], c.width, c.boundary, dtype, form, own, seed, messages], kTimeout);
        const sides = sidesOf(c.boundary, c.d.ndim);
        [seed, seed + 3].forEach((s, i) => {
          const p = padSequential(wholeArray([...c.d.shape], dtype, s), c.widths, sides);
          const st = strides(p.shape);
          const get = (idx: number[]) => p.data[idx.reduce((o, v, k) => o + v * st[k]!, 0)]!;
          const want = Array.from(indices([...c.d.shape]), (g) => boxKernel(get, g.map((v, k) => v + c.widths[k]!), c.widths));
          expect(res[0]![i], `call ${i}, ${form}, own ${own}, depth [${c.widths}], boundary ${JSON.stringify(c.boundary)}, grid [${c.d.grid}]`).toEqual(want);
        });
      }),
      { numRuns: runs(10) },
    );
  }, kTestTimeout);

  it('bad widths, boundaries and depths: an ArgumentError on every rank naming the argument', async () => {
    const p = backend === 'sab' ? 3 : 2;
    const got = await callAll<string[]>(backend, p, F, 'badHalos', [], kTimeout);
    expect(got).toHaveLength(p);
    got.forEach((msgs, r) => {
      const at = `^ArgumentError: \\[rank ${r}\\] invalid argument\\. `;
      expect(msgs[0]).toMatch(new RegExp(`${at}\`halo\` must be at most 2 for this distribution: along axis 0 the smallest block \\(rank \\d's\\) has 2 elements.*Value: \`\\[3,1,0\\]\``));
      expect(msgs[1]).toMatch(new RegExp(`${at}\`halo\` must be 3 non-negative integers \\(one per axis of the 3-D array\\)`));
      expect(msgs[2]).toMatch(new RegExp(`${at}\`halo\` must be at most 5 .*along axis 1 .*its 'reflect' side would mirror 6 cells of one block`));
      expect(msgs[3]).toMatch(new RegExp(`${at}\`boundary\` must be a number \\(a fixed value\\), 'periodic', 'reflect' or 'nearest'.*Value: \`"?mirror"?\``));
      expect(msgs[4]).toMatch(new RegExp(`${at}\`boundary\\[1\\]\` must be 'periodic' on both sides of the axis or on neither`));
      expect(msgs[5]).toMatch(new RegExp(`${at}\`halo\` must be 3 non-negative integers`));
      expect(msgs[6]).toMatch(new RegExp(`${at}\`depth\` must be 3 non-negative integers`));
      expect(msgs[7]).toMatch(new RegExp(`${at}\`fn\` must be a kernel returning the padded shape \\[4, 7, 5\\] or the block's \\[2, 5, 3\\]`));
      expect(msgs[8]).toMatch(new RegExp(`${at}\`u\` must be a 3-D float64 DistArray with a halo of at least 1`));
    });
  });
});

describe.each(backends())('docs/distarray.md on %s', (backend) => {
  it("the worked example (jacobi7, mapOverlap) computes the sequential sweeps and flux", async () => {
    const p = backend === 'sab' ? 4 : 2;
    const [res] = await callAll<{ total: number; u: number[] | null }>(backend, p, F, 'docsExample', [], kTimeout);
    const n = 12;
    const sides: Sides = [[1, 0], ['periodic', 'periodic'], ['reflect', 'reflect']];
    const u = sweeps({ data: new Array<number>(n * n * n).fill(0), shape: [n, n, n] }, '7', 20, sides);
    expect(res!.u).toEqual(u.data);
    const pad = padSequential(u, [1, 0, 0], sides);
    let total = 0;
    for (const [i, j, l] of indices([n, n, n])) total += (pad.data[(i! * n + j!) * n + l!]! - pad.data[((i! + 2) * n + j!) * n + l!]!) / 2;
    expect(Math.abs(res!.total - total)).toBeLessThan(1e-9);
    expect(total).toBeGreaterThan(0); // heat flows from the hot wall
  });

  it("the worked example's code is the fixture's", () => {
    const root = fileURLToPath(new URL('../..', import.meta.url));
    const doc = readFileSync(`${root}/docs/distarray.md`, 'utf8');
    const fixture = readFileSync(`${root}/test/fixtures/halo-shapes.ts`, 'utf8');
    const code = fixture.slice(fixture.indexOf('// docs:begin\n') + 14, fixture.indexOf('  // docs:end')).replace(/^ {2}/gm, '');
    expect(code.length).toBeGreaterThan(100);
    expect(doc).toContain(code);
  });
});
