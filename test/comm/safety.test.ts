/**
 * Collectives called inconsistently across ranks fail on every rank with a typed error that
 * names what each rank called, fast, instead of hanging or giving a silent wrong result
 * (#13 items 2-4, #22 item 5), on every backend and every path: the shared-memory engine
 * (sab), the message engine (tcp, and sab with SUPERSTEP_COMM_SHM=0), with the engine set up
 * before the bad call (warm) or by it. And a fuzz: random wrong arguments on random ranks
 * never hang.
 */
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { backends, closeWorlds, fixture, tryCall, world as harnessWorld } from '../harness.js';
import type { FuzzCall, Outcome } from '../fixtures/coll-safety.js';

afterAll(closeWorlds);

const kJobMs = 20_000;
/** Longest a rank may take to fail (the guard's slow path ticks every 20 ms). */
const kFailMs = 5_000;

async function run<T>(backend: string, p: number, fn: string, args: unknown[]): Promise<T[]> {
  const out = await tryCall<T>(backend as never, p, 'coll-safety.ts', fn, args, kJobMs);
  if (!out.ok) throw new Error(`${fn}: the job failed: ${out.failure?.error.name}: ${out.failure?.error.message}`);
  return out.results as T[];
}

function expectAll(res: Outcome[], re: RegExp, what: string): void {
  res.forEach((r, w) => {
    expect(r.what, `${what} on rank ${w}`).toMatch(re);
    expect(r.ms, `${what}: time to fail on rank ${w}`).toBeLessThan(kFailMs);
  });
}

const paths = (backend: string) => (backend === 'sab' ? [true, false] : [false]);

describe.each(backends())('collective mismatches on %s', (backend) => {
  for (const shm of paths(backend)) {
    for (const warm of [true, false]) {
      const tag = `(shm ${shm}, engine ${warm ? 'set up' : 'set up by the call'})`;

      it(`a skipped collective fails on every rank with CollectiveMismatchError ${tag}`, async () => {
        const res = await run<Outcome>(backend, 3, 'skippedCollective', [shm, warm]);
        expectAll(res, /^CollectiveMismatchError: .*(bcastObject\(root 0\).*allreduce\(float64 x 1, SUM\)|allreduce\(float64 x 1, SUM\).*bcastObject\(root 0\)|rank \d is at call #\d+ .*while rank \d is at call #\d+)/, 'skipped bcastObject');
      });

      it(`mixed dtypes of the same byte length are rejected on every rank ${tag}`, async () => {
        const res = await run<Outcome>(backend, 3, 'mixedDtypes', [shm, warm]);
        expectAll(res, /^CollectiveMismatchError: .*allreduce\((float64 x 4|int32 x 8), SUM\).*allreduce\((float64 x 4|int32 x 8), SUM\)/, 'Float64Array(4) vs Int32Array(8)');
      });

      it(`barrier against allreduce, another root, another op: every rank fails ${tag}`, async () => {
        expectAll(await run<Outcome>(backend, 3, 'barrierVsAllreduce', [shm, warm]), /^CollectiveMismatchError: .*(barrier\(\).*allreduce|allreduce.*barrier\(\))/, 'barrier vs allreduce');
        // Ranks 0 and 1 agree (root 0) and may finish; rank 2 waits for root 1 and fails.
        const roots = await run<Outcome>(backend, 3, 'rootMismatch', [shm, warm]);
        expectAll(roots.slice(2), /^CollectiveMismatchError: .*bcast\(root [01]\).*bcast\(root [01]\)/, 'bcast roots (rank 2)');
        for (const r of roots.slice(0, 2)) expect(r.what).toMatch(/^ok$|^CollectiveMismatchError: /);
        expectAll(await run<Outcome>(backend, 3, 'opMismatch', [shm, warm]), /^CollectiveMismatchError: .*allreduce\(int32 x 1, (SUM|MAX)\).*allreduce\(int32 x 1, (SUM|MAX)\)/, 'SUM vs MAX');
      });

      it(`invalid arguments on some ranks raise on every rank; catching and retrying works ${tag}`, async () => {
        const res = await run<string[]>(backend, 3, 'argumentRetry', [shm, warm]);
        res.forEach((r, w) => {
          expect(r[0], `bcast, junk data on the root, rank ${w}`).toMatch(w === 0 ? /^ArgumentError: .*`data` must be a typed array/ : /^CollectiveArgumentError: .*rank 0 passed invalid arguments.*`data` must be a typed array/);
          expect(r[1], `bcast retried, rank ${w}`).toBe('ok');
          expect(r[2], `scatterObject, short list on the root, rank ${w}`).toMatch(w === 0 ? /^ArgumentError: .*`values` must be/ : /^CollectiveArgumentError: .*rank 0 passed invalid arguments/);
          expect(r[3], `scatterObject retried, rank ${w}`).toBe('ok');
          // Rank 1's partners raise it; in a recursive doubling every rank is one (P = 3).
          expect(r[4], `allreduce, unknown op on rank 1, rank ${w}`).toMatch(w === 1 ? /^ArgumentError: .*`op` must be/ : /^CollectiveArgumentError: .*rank 1 passed invalid arguments/);
          expect(r[5], `allreduce retried, rank ${w}`).toBe('ok');
        });
      });
    }
  }

  for (const shm of paths(backend)) {
    const call = (op: string, root: number, junk = false) => ({ op, dtype: 'float64', len: 2, root, junk, rop: 'SUM' });
    const fuzz = async (p: number, warm: boolean, calls: unknown[]) => {
      const out = await tryCall<Outcome>(backend, p, 'coll-safety.ts', 'fuzzCall', [shm, warm, calls], kJobMs);
      if (!out.ok) throw new Error(`the job failed: ${out.failure?.error.name}: ${out.failure?.error.message}`);
      return out.results as Outcome[];
    };

    it(`every rank refusing its rooted call raises its own ArgumentError, after a job that gave up on a receive (shm ${shm})`, async () => {
      // The arena's creation fails on a mismatch (reduce against bcast) and leaves a receive
      // posted: it must not take the next job's message of the same envelope (it hung there).
      await fuzz(2, false, [call('reduce', 2), call('bcast', 3)]);
      for (const warm of [true, false]) {
        expectAll(await fuzz(2, warm, [call('reduce', 2), call('reduce', 2)]), /^ArgumentError: \[rank \d\] .*`root` must be a rank in 0\.\.1/, `reduce(x, SUM, 2) at P = 2, warm ${warm}`);
        expectAll(await fuzz(3, warm, [call('bcast', 3), call('bcastObject', 3), call('scatter', 4, true)]), /^ArgumentError: \[rank \d\] .*`root` must be a rank in 0\.\.2/, `bcast, bcastObject, scatter with roots out of range, warm ${warm}`);
      }
    });

    it(`at P = 4 a refusal reaches the ranks that wait for a rank that saw it, and a retry works (shm ${shm})`, async () => {
      // A binomial bcast from rank 0: rank 3 waits for rank 2, which hears rank 0's refusal;
      // a recursive doubling: rank 2 meets rank 1 (the refuser) only through rank 0 or 3.
      const res = await run<string[]>(backend, 4, 'argumentRetry', [shm, true]);
      res.forEach((r, w) => {
        expect(r[0], `bcast, junk data on the root, rank ${w}`).toMatch(w === 0 ? /^ArgumentError: / : /^CollectiveArgumentError: .*rank 0 passed invalid arguments.*`data` must be a typed array/);
        expect(r[1], `bcast retried, rank ${w}`).toBe('ok');
        expect(r[2], `scatterObject, rank ${w}`).toMatch(w === 0 ? /^ArgumentError: / : /^CollectiveArgumentError: .*rank 0 passed invalid arguments/);
        expect(r[3], `scatterObject retried, rank ${w}`).toBe('ok');
        expect(r[4], `allreduce, unknown op on rank 1, rank ${w}`).toMatch(w === 1 ? /^ArgumentError: .*`op` must be/ : /^CollectiveArgumentError: .*rank 1 passed invalid arguments/);
        expect(r[5], `allreduce retried, rank ${w}`).toBe('ok');
      });
    });
  }

  it('DistFrame.fromArrow with a non-Table on the root: every rank raises, and a retry works (P = 3)', async () => {
    const res = await run<string[]>(backend, 3, 'fromArrowRetry', []);
    res.forEach((r, w) => {
      expect(r[0], `rank ${w}`).toMatch(w === 0 ? /^ArgumentError: .*`table` must be an apache-arrow Table/ : /^CollectiveArgumentError: .*rank 0 passed invalid arguments.*`table` must be an apache-arrow Table/);
      expect(r[1], `retry on rank ${w}`).toBe('ok');
    });
  });

  it('bsp.fromObject rejects functions and symbols, naming the path inside the value', async () => {
    for (const r of await run<string[]>(backend, 2, 'fromObjectMisuse', [])) {
      expect(r[0]).toMatch(/^ArgumentError: \[rank \d\] invalid argument. `obj` must be a value msgpack can encode .*a function/);
      expect(r[1]).toMatch(/`obj\.a\[1\]\.cb` must be/);
      expect(r[2]).toMatch(/`obj\.s` must be .*Symbol\(x\)/);
      expect(r[3]).toMatch(/`obj\.get\("k"\)` must be/);
    }
  });

  it('the documented pool example: { module: import.meta.url, name } from the running script', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'superstep-pool-'));
    try {
      const w = await harnessWorld(backend, 3);
      const out = await w.job({ kind: 'script', url: fixture('pool-self.ts'), args: [join(dir, 'out.json')] }, { timeoutMs: kJobMs });
      expect(out.failure?.error.message).toBeUndefined();
      const got = JSON.parse(await readFile(join(dir, 'out.json'), 'utf8')) as { one: number; many: number[]; viaModule: number; bad: string; badMs: number };
      expect([got.one, got.many, got.viaModule]).toEqual([9, [1, 4, 9, 16, 25, 36], 16]);
      expect(got.bad).toMatch(/^ArgumentError: .*is the script being run, still in its top-level code.*registerTask\(unregistered\)/);
      expect(got.badMs).toBeLessThan(1000);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it.each(paths(backend))('a rank in barrier while the others are in bsp.sync: every rank fails (shm %s)', async (shm) => {
    try {
      const res = await run<Outcome>(backend, 3, 'barrierVsSync', [shm]);
      expectAll(res, /^CollectiveMismatchError: .*rank \d called bsp\.sync\(\).*barrier\(\)/, 'barrier vs bsp.sync');
    } finally {
      // The job's ranks no longer agree on the world's calls or supersteps: start afresh.
      await closeWorlds();
    }
  });

  it('fuzz: collectives with random wrong arguments on random ranks never hang', async () => {
    const callArb: fc.Arbitrary<FuzzCall> = fc.record({
      op: fc.constantFrom('barrier', 'allreduce', 'bcast', 'bcastObject', 'gather', 'allgather', 'scatter', 'reduce', 'alltoall', 'scan'),
      dtype: fc.constantFrom('float64', 'int32'),
      len: fc.integer({ min: 0, max: 6 }),
      root: fc.integer({ min: 0, max: 3 }),
      junk: fc.boolean(),
      rop: fc.constantFrom('SUM', 'MAX', 'BAND', 'NOPE'),
    });
    const caseArb = fc.record({
      p: fc.integer({ min: 2, max: 3 }),
      base: callArb,
      // Which ranks deviate from the base call, and how.
      changes: fc.array(fc.record({ rank: fc.nat({ max: 2 }), call: callArb }), { maxLength: 2 }),
      shm: fc.boolean(),
      warm: fc.boolean(),
    });
    await fc.assert(
      fc.asyncProperty(caseArb, async ({ p, base, changes, shm, warm }) => {
        const calls = Array.from({ length: p }, () => ({ ...base, junk: false, rop: base.rop === 'NOPE' ? 'SUM' : base.rop }));
        for (const ch of changes) if (ch.rank < p) calls[ch.rank] = ch.call;
        const out = await tryCall<Outcome>(backend, p, 'coll-safety.ts', 'fuzzCall', [shm && backend === 'sab', warm, calls], kJobMs);
        // Never a hang (the job's timeout) and never anything but superstep's own errors.
        if (!out.ok) {
          expect(out.failure?.error.name, JSON.stringify(calls)).not.toBe('TimeoutError');
          return;
        }
        for (const r of out.results as Outcome[]) {
          expect(r.what, JSON.stringify(calls)).toMatch(/^(ok|undefined)$|^(ArgumentError|CollectiveArgumentError|CollectiveMismatchError|PeerGoneError): /);
          expect(r.ms, JSON.stringify(calls)).toBeLessThan(kJobMs);
        }
      }),
      { numRuns: backend === 'tcp' ? 10 : 20 },
    );
  }, 240_000);
});
