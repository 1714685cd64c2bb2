// Slicing's index arithmetic against Python's own slice.indices, derived distributions
// against their definition (every view element on the rank that holds it in the root), and
// dtype promotion against numpy's. (numpy recomputing results from .npy: distarray.test.ts.)
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { composeSpec, sliceIndices, viewDistribution, wholeSpec } from '../../distarray/view.js';
import { arbDistribution, arbSliceArgs } from './arbitraries.js';

const python = '/usr/bin/python3';

describe('sliceIndices', () => {
  it('matches Python slice.indices / len(range(...)) for every lo, hi, step in -7..7 over n in 0..5', () => {
    const vals: (number | null)[] = [null, ...Array.from({ length: 15 }, (_, i) => i - 7)];
    const cases: [number, number | null, number | null, number | null][] = [];
    for (let n = 0; n <= 5; n++) for (const lo of vals) for (const hi of vals) for (const st of vals) if (st !== 0) cases.push([n, lo, hi, st]);
    const ours = cases.map(([n, lo, hi, st]) => {
      const s = sliceIndices([lo, hi, st], n, 'index');
      return Array.from({ length: s.length }, (_, v) => s.start + v * s.step);
    });
    if (!existsSync(python)) {
      console.log(`sliceIndices vs Python skipped: ${python} is absent`);
      expect(ours.length).toBe(cases.length);
      return;
    }
    const script = 'import json,sys\ncases=json.load(sys.stdin)\nprint(json.dumps([list(range(n))[slice(lo,hi,st)] for n,lo,hi,st in cases]))';
    const theirs = JSON.parse(execFileSync(python, ['-c', script], { input: JSON.stringify(cases) }).toString()) as number[][];
    expect(ours).toEqual(theirs);
  });

  it('rejects a zero step and out-of-range integers, naming the argument', () => {
    expect(() => sliceIndices([0, 3, 0], 5, 'index[0]')).toThrow(/`index\[0\]\.step` must be a non-zero integer/);
    expect(() => composeSpec(wholeSpec([4, 3]), [null, 3])).toThrow(/`index\[1\]` must be an integer in -3\.\.2/);
    expect(() => composeSpec(wholeSpec([4]), [1])).toThrow(/`index` must be at least one axis left as a slice/);
  });
});

describe('viewDistribution', () => {
  it('places every view element on the rank that owns it in the root, views of views included', () => {
    const arb = arbDistribution().chain((d) => arbSliceArgs(d.shape).chain((a1) => {
      const s1 = composeSpec(wholeSpec(d.shape), a1);
      return fc.tuple(fc.constant(d), fc.constant(a1), arbSliceArgs(s1.axes.map((x) => x.length)));
    }));
    fc.assert(
      fc.property(arb, ([d, a1, a2]) => {
        for (const spec of [composeSpec(wholeSpec(d.shape), a1), composeSpec(composeSpec(wholeSpec(d.shape), a1), a2)]) {
          const v = viewDistribution(d, spec);
          expect(v.size).toBe(d.size);
          expect([...v.shape]).toEqual(spec.axes.map((x) => x.length));
          const n = v.shape.reduce((a, b) => a * b, 1);
          let held = 0;
          for (let r = 0; r < v.size; r++) held += v.localSize(r);
          expect(held).toBe(n);
          for (let i = 0; i < n; i++) {
            const idx: number[] = [];
            let q = i;
            for (let k = v.ndim - 1; k >= 0; k--) { idx.unshift(q % v.shape[k]!); q = Math.floor(q / v.shape[k]!); }
            const rootIdx = spec.fixed.map((f) => f ?? 0);
            spec.axes.forEach((ax, j) => { rootIdx[ax.axis] = ax.start + idx[j]! * ax.step; });
            const { rank, index } = v.toLocal(idx);
            expect(rank).toBe(d.owner(rootIdx));
            expect(v.toGlobal(rank, index)).toEqual(idx);
          }
        }
      }),
      { numRuns: 300 },
    );
  });
});

describe('promoteTypes', () => {
  it("agrees with numpy.promote_types wherever numpy's answer is one of superstep's number dtypes", async () => {
    const { promoteTypes } = await import('../../distarray/ufunc.js');
    const ts = ['float64', 'float32', 'int8', 'int16', 'int32', 'uint8', 'uint16', 'uint32', 'bool'] as const;
    const pairs = ts.flatMap((a) => ts.map((b) => [a, b] as const));
    const ours = pairs.map(([a, b]) => promoteTypes(a, b));
    let numpy: string[] | undefined;
    try {
      numpy = JSON.parse(execFileSync(python, ['-c', `import json,sys,numpy as np\nprint(json.dumps([str(np.promote_types(a,b)) for a,b in json.load(sys.stdin)]))`], { input: JSON.stringify(pairs), stdio: ['pipe', 'pipe', 'ignore'] }).toString()) as string[];
    } catch {
      console.log('promoteTypes vs numpy skipped: python3 with numpy is not available');
    }
    if (!numpy) return;
    pairs.forEach(([a, b], i) => {
      // bool with bool stays bool in numpy; int64 (int32 with uint32) is float64 here (number elements).
      const want = numpy![i] === 'int64' ? 'float64' : numpy![i];
      expect(`${a}+${b}=${ours[i]}`).toBe(`${a}+${b}=${want}`);
    });
  });
});

