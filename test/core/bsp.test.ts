// The BSP conformance suite: PyBSP semantics, random programs against a sequential model,
// and error paths, on every backend and P in {1, 2, 3, 4, 8} (8 is above this machine's cores).
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { DTYPES } from '../../util/dtype.js';
import { backends, callAll, closeWorlds, tryCall } from '../harness.js';
import { model, type Observation, type Program, type Send } from '../fixtures/bsp-programs.js';
import type { ReuseReport, SemanticsReport } from '../fixtures/bsp-semantics.js';

afterAll(closeWorlds);

const PS = [1, 2, 3, 4, 8];

/** Random programs for P ranks: a few supersteps, each rank sending a few named packages. */
function programArb(p: number, maxLength: number): fc.Arbitrary<Program> {
  const send = (from: number, i: number, k: number): fc.Arbitrary<Send> =>
    fc.record({
      from: fc.constant(from),
      to: fc.uniqueArray(fc.integer({ min: 0, max: p - 1 }), { minLength: 1, maxLength: p }),
      name: fc.constant(`s${k}.r${from}.p${i}`),
      kind: fc.constantFrom('object' as const, 'array' as const),
      dtype: fc.constantFrom(...DTYPES),
      length: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 16 }), fc.integer({ min: 0, max: maxLength })),
      seed: fc.integer({ min: 1, max: 2 ** 31 - 1 }),
    });
  const step = (k: number) =>
    fc.tuple(...Array.from({ length: p }, (_, from) => fc.integer({ min: 0, max: 3 }).chain((n) => fc.tuple(...Array.from({ length: n }, (_, i) => send(from, i, k)))))).map((perRank) => perRank.flat());
  return fc.integer({ min: 1, max: 4 }).chain((steps) => fc.tuple(...Array.from({ length: steps }, (_, k) => step(k))));
}

describe.each(backends())('BSP on %s', (backend) => {
  describe.each(PS)('P=%i', (p) => {
    it('follows PyBSP semantics: visibility after sync, self-send, empty supersteps, dotted names, aliasing views', async () => {
      const reports = await callAll<SemanticsReport>(backend, p, 'bsp-semantics.ts', 'semantics');
      expect(reports.map((r) => r.rank)).toEqual([...Array(p).keys()]);
      for (const r of reports) {
        expect(r.size).toBe(p);
        expect(r.beforeSync).toBe(0);
        // Superstep 0: every source sent obj.hello; self also sent arr.self.
        expect(r.seen[0]).toEqual([...Array(p).keys()].map((s) => (s === r.rank ? ['arr.self', 'obj.hello'] : ['obj.hello'])));
        expect(r.objects).toEqual([...Array(p).keys()].map((s) => ({ from: s, list: [s, 'x', { deep: s * 2 }] })));
        expect(r.selfArray).toEqual([r.rank, r.rank + 0.5, -r.rank]);
        // Superstep 1 was empty.
        expect(r.seen[1]).toEqual([...Array(p).keys()].map(() => []));
        expect(r.emptyAfterEmpty).toBe(true);
        // Superstep 2: the ring, sent by prefix.
        const left = (r.rank + p - 1) % p;
        expect(r.seen[2]).toEqual([...Array(p).keys()].map((s) => (s === left ? ['arr.ring.a', 'arr.ring.b'] : [])));
        expect(r.aliasOk).toBe(true);
        expect(r.afterDelete).toEqual(['alias', 'o'].filter((n) => n !== 'o').concat(['obj.hello']).sort());
      }
    });

    it('random programs: every rank observes exactly the sequential model', async () => {
      await fc.assert(
        fc.asyncProperty(programArb(p, 2048), async (program) => {
          const obs = await callAll<Observation>(backend, p, 'bsp-programs.ts', 'runProgram', [program]);
          for (let r = 0; r < p; r++) expect(obs[r]).toEqual(model(program, p, r));
        }),
        { numRuns: p >= 8 ? 8 : 15 },
      );
    });
  });

  it('moves packages of several MiB (larger than the rings) between many ranks', async () => {
    const p = 3;
    const program: Program = [[
      { from: 0, to: [1, 2], name: 'big.f64', kind: 'array', dtype: 'float64', length: 1_200_000, seed: 7 },
      { from: 1, to: [0], name: 'big.u8', kind: 'array', dtype: 'uint8', length: 5_000_001, seed: 9 },
      { from: 2, to: [2, 0], name: 'big.i64', kind: 'array', dtype: 'int64', length: 700_001, seed: 11 },
    ], []];
    const obs = await callAll<Observation>(backend, p, 'bsp-programs.ts', 'runProgram', [program], 60_000);
    for (let r = 0; r < p; r++) expect(obs[r]).toEqual(model(program, p, r));
  });

  it.each([2, 3])('received packages stay the receiver\'s: reused receive buffers never reach them (P=%i)', async (p) => {
    const reports = await callAll<ReuseReport>(backend, p, 'bsp-semantics.ts', 'reuseIsolation', [], 30_000);
    expect(reports).toEqual(Array.from({ length: p }, () => ({ putsOk: true, keptOk: true, selfOk: true })));
  });

  it('rejects bad arguments with typed errors naming the argument', async () => {
    const [errors] = await callAll<Array<[string, string]>>(backend, 2, 'bsp-semantics.ts', 'badArguments');
    const expected: Array<[string, RegExp]> = [
      ['ERR_UNKNOWN_PACKAGE', /unknown package 'nope'/],
      ['ERR_INVALID_ARG', /`pid` must be a rank in 0\.\.1\. Value: `2`/],
      ['ERR_INVALID_ARG', /`dtype` must be a dtype name.*Value: `complex256`/],
      ['ERR_INVALID_ARG', /`shape` must be an array of non-negative integers/],
      ['ERR_INVALID_ARG', /package too large/],
      ['ERR_UNKNOWN_PACKAGE', /unknown package 'missing\.name'/],
      ['ERR_INVALID_ARG', /`array` must be a typed array/],
      ['ERR_INVALID_ARG', /`name` must be a non-empty package name/],
      ['ERR_INVALID_ARG', /`pid` must be a rank in 0\.\.1\. Value: `-1`/],
      ['ERR_UNKNOWN_PACKAGE', /unknown package 'nothing\.here'/],
      ['ERR_INVALID_ARG', /`pkg` must be an array package \('o' holds an object; use toObject\)/],
      ['ERR_INVALID_ARG', /`passPhrase` must be a string/],
    ];
    expect(errors).toHaveLength(expected.length);
    errors!.forEach(([code, message], i) => {
      expect(code).toBe(expected[i]![0]);
      expect(message).toMatch(expected[i]![1]);
      expect(message).toMatch(/^\[rank 0\]/);
    });
  });
});

describe.each(backends())('failures on %s end the job on every rank', (backend) => {
  const P = 4;
  it('a rank that throws: its message and stack, the others aborted', async () => {
    const t0 = Date.now();
    const out = await tryCall(backend, P, 'bsp-semantics.ts', 'throwOn', [2], 20_000);
    expect(out.ok).toBe(false);
    expect(out.failure?.rank).toBe(2);
    expect(out.failure?.error.message).toBe('boom on rank 2');
    expect(out.failure?.error.stack).toMatch(/bsp-semantics\.ts/);
    expect(out.statuses.map((s) => s.state)).toEqual(['aborted', 'aborted', 'failed', 'aborted']);
    expect(Date.now() - t0).toBeLessThan(15_000);
  });

  it('a pass-phrase mismatch fails the sync on every rank, naming both phrases and ranks', async () => {
    const out = await tryCall(backend, P, 'bsp-semantics.ts', 'phraseMismatch', [], 20_000);
    expect(out.ok).toBe(false);
    for (const s of out.statuses) {
      expect(s.state).toBe('failed');
      expect(s.error?.name).toBe('SyncMismatchError');
      expect(s.error?.message).toMatch(/ranks 0, 2, 3 called sync\("right"\); rank 1 called sync\("left"\)/);
    }
  });

  it('process.exit in a rank fails the job with the rank and its exit code', async () => {
    const out = await tryCall(backend, P, 'bsp-semantics.ts', 'exitOn', [1, 7], 20_000);
    expect(out.ok).toBe(false);
    expect(out.failure?.rank).toBe(1);
    expect(out.failure?.error.message).toMatch(/rank 1 exited with code 7/);
    expect(out.statuses[1]!.exitCode).toBe(7);
  });

  it('a rank that leaves early makes the others fail (PeerGoneError), not hang', async () => {
    const out = await tryCall(backend, P, 'bsp-semantics.ts', 'leaveEarly', [3], 20_000);
    expect(out.ok).toBe(false);
    expect(out.statuses[3]!.state).toBe('ok');
    expect(out.failure?.error.name).toBe('PeerGoneError');
    expect(out.failure?.error.message).toMatch(/rank 3 has finished/);
  });
});
