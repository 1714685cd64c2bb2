/**
 * Conformance of communicators and collectives on every backend: fast-check properties
 * compare every rank's result with a sequential reference computed here (test/comm/cases.ts).
 * Random P in 1..8, communicators (world, dup, split), roots, dtypes, lengths (0 included,
 * and a > 1 MiB case), ops. A failure prints the seed and the shrunk batch of cases.
 */
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { backends, callAll, closeWorlds, tryCall, world as harnessWorld } from '../harness.js';
import { toModuleUrl } from '../../core/launch/job.js';
import { DTYPES, encodeResult, expected, kObjectColls, kTypedColls, opsFor, rng, type Case, type CommSpec } from './cases.js';
import type { P2PMsg } from '../fixtures/comm-cases.js';
import { kDTypes } from '../../util/dtype.js';

afterAll(closeWorlds);

const kTimeout = 60_000;
/** Whole-test bound for the property runs (they start the worlds; a loaded machine is slow). */
const kTestTimeout = 240_000;
/** World size hosting a case of p ranks: starting worlds dominates the cost, so two sizes host all P. */
const host = (p: number) => (p <= 4 ? 4 : 8);

/** Collectives drawn with parts above a shared-memory slot too (the v forms mixed with tiny parts). */
const kVColls: readonly Case['coll'][] = ['gatherv', 'allgatherv', 'scatterv'];
const kBigColls: readonly Case['coll'][] = [...kVColls, 'gather', 'allgather', 'scatter'];

const commArb: fc.Arbitrary<CommSpec> = fc.oneof(
  fc.constant({ kind: 'world' as const }),
  fc.constant({ kind: 'dup' as const }),
  fc.record({ kind: fc.constant('split' as const), colors: fc.integer({ min: 1, max: 3 }), keyMul: fc.integer({ min: 0, max: 4 }) }),
);

const caseArb: fc.Arbitrary<Case> = fc
  .record({
    coll: fc.constantFrom(...kTypedColls, ...kObjectColls),
    comm: commArb,
    dtype: fc.constantFrom(...DTYPES),
    len: fc.oneof({ arbitrary: fc.integer({ min: 0, max: 24 }), weight: 16 }, { arbitrary: fc.constant(0), weight: 1 }, { arbitrary: fc.integer({ min: 8200, max: 8400 }), weight: 1 }),
    opIndex: fc.nat(),
    root: fc.nat({ max: 7 }),
    seed: fc.nat({ max: 1e6 }),
    out: fc.boolean(),
    // Parts above a shared-memory slot (64 KiB .. 1 MiB a rank): mixed with tiny ones for the v forms.
    big: fc.option(fc.record({ every: fc.integer({ min: 1, max: 4 }), bytes: fc.constantFrom(300_000, 1_100_000, 2_200_000) }), { freq: 2 }),
  })
  .map(({ opIndex, big, ...c }): Case => {
    const allowed = opsFor(c.dtype);
    const op = allowed[opIndex % allowed.length]!;
    if (!big || !kBigColls.includes(c.coll)) return { ...c, op };
    if (kVColls.includes(c.coll)) return { ...c, op, big };
    const unit = op === 'MINLOC' || op === 'MAXLOC' ? 2 : 1;
    return { ...c, op, len: unit * Math.floor(big.bytes / kDTypes[c.dtype].bytes / unit / (c.coll === 'gather' || c.coll === 'scatter' ? 1 : 4)) };
  });

// shm: the shared-memory collectives (sab) or the message algorithms (SUPERSTEP_COMM_SHM=0 on the ranks).
const batchArb = fc.record({ p: fc.integer({ min: 1, max: 8 }), cases: fc.array(caseArb, { minLength: 1, maxLength: 6 }), shm: fc.boolean() });

function check(p: number, cases: Case[], results: unknown[][]): void {
  for (let w = 0; w < p; w++) {
    for (let i = 0; i < cases.length; i++) {
      const want = encodeResult(expected(cases[i]!, p, w));
      expect(results[w]![i], `case ${i} (${cases[i]!.coll}) on world rank ${w} of ${p}`).toEqual(want);
    }
  }
}

describe.each(backends())('communicators and collectives on %s', (backend) => {
  it('every collective equals the sequential reference (typed and object forms)', async () => {
    await fc.assert(
      fc.asyncProperty(batchArb, async ({ p, cases, shm }) => {
        const results = await callAll<unknown[]>(backend, host(p), 'comm-cases.ts', 'runCasesWith', [shm, p, cases], kTimeout);
        check(p, cases, results);
      }),
      // tcp ranks are processes and slower per message: fewer runs keep the suite in budget.
      { numRuns: backend === 'tcp' ? 8 : 30 },
    );
  }, kTestTimeout);

  it.each([true, false])('handles messages larger than 1 MiB (shm %s) (allreduce long path, bcast, alltoall, allgatherv)', async (shm) => {
    const big = (coll: Case['coll'], dtype: Case['dtype'], len: number, comm: CommSpec = { kind: 'world' }): Case => ({ coll, comm, dtype, len, op: 'SUM', root: 1, seed: 42, out: false });
    const cases = [
      big('allreduce', 'float64', 140_000, { kind: 'split', colors: 1, keyMul: 3 }),
      { ...big('bcast', 'uint8', 1_100_000), out: true },
      // Larger than a shared-memory bank: the bcast takes several steps.
      big('bcast', 'float64', 400_000),
      big('alltoall', 'float32', 30_000),
      big('allgatherv', 'int16', 60_000),
      big('reduceScatterBlock', 'int64', 20_000),
    ];
    const p = 3;
    const results = await callAll<unknown[]>(backend, host(p), 'comm-cases.ts', 'runCasesWith', [shm, p, cases], kTimeout);
    check(p, cases, results);
    // On the whole world (the shared-memory path on sab), with user and MINLOC ops, twice in a row.
    const worldCases = [
      { ...big('allreduce', 'int64', 20_000), op: 'MINLOC' as const, out: true },
      { ...big('allreduce', 'float64', 140_001), op: 'LAST' as const },
      { ...big('allreduce', 'float32', 100_000), op: 'MAX' as const },
      { ...big('bcast', 'int32', 1_300_000), out: true },
    ];
    const res4 = await callAll<unknown[]>(backend, 4, 'comm-cases.ts', 'runCasesWith', [shm, 4, worldCases], kTimeout);
    check(4, worldCases, res4);
  }, kTestTimeout);

  it.each([true, false])('v-collectives with one part above a shared-memory slot and the others tiny, and every collective above a slot (shm %s)', async (shm) => {
    const one = (coll: Case['coll'], dtype: Case['dtype'], bytes: number, every: number, seed: number): Case => ({ coll, comm: { kind: 'world' }, dtype, len: 5, op: 'SUM', root: 2, seed, out: seed % 2 === 0, big: { every, bytes } });
    // (w + j + seed) % 3 picks exactly one big part of three (gatherv, allgatherv: rank w; scatterv: block j).
    const cases: Case[] = [
      one('gatherv', 'float64', 1_500_000, 3, 7),
      one('gatherv', 'uint8', 3_000_000, 3, 8),
      one('allgatherv', 'int32', 1_200_000, 3, 9),
      one('allgatherv', 'int16', 2_500_000, 1, 10),
      one('scatterv', 'float32', 2_000_000, 3, 11),
      one('scatterv', 'uint8', 4_500_000, 1, 12),
      { ...one('scatter', 'float64', 0, 1, 13), len: 200_000 },
      { ...one('gather', 'int32', 0, 1, 14), len: 300_000 },
      { ...one('allgather', 'uint8', 0, 1, 15), len: 900_000 },
      { ...one('gatherv', 'int8', 0, 1, 16), big: undefined, len: 0 },
    ];
    const p = 3;
    const results = await callAll<unknown[]>(backend, host(p), 'comm-cases.ts', 'runCasesWith', [shm, p, cases], kTimeout);
    check(p, cases, results);
  }, kTestTimeout);

  it.each([true, false])('lengths that differ across ranks (one above a slot) raise CollectiveMismatchError, bad displs or out ArgumentError, not a hang (shm %s)', async (shm) => {
    const res = await callAll<string[]>(backend, 4, 'comm-cases.ts', 'lengthMismatch', [shm], kTimeout);
    res.forEach((r, w) => {
      const counts = (op: string) => new RegExp(`^CollectiveMismatchError: .*rank \\d called ${op}\\(.*x (300000|3|1200000|12)\\b.*rank \\d called ${op}\\(.*x (300000|3|1200000|12)\\b`);
      expect(r[0], `allgather on rank ${w}`).toMatch(counts('allgather'));
      if (w === 0) expect(r[1], 'gather on the root').toMatch(counts('gather'));
      // The others have sent their part (on shared memory they also read every length: they raise it too).
      else expect(r[1], `gather on rank ${w}`).toMatch(new RegExp(`^undefined$|${counts('gather').source}`));
      expect(r[2], `alltoall on rank ${w}`).toMatch(counts('alltoall'));
      // The root refuses the call: the others have sent their part (on shared memory they wait for the root's step: they raise it too).
      expect(r[3], `gatherv with bad displs on rank ${w}`).toMatch(w === 0 ? /^ArgumentError: .*`displs` must be/ : /^(undefined|CollectiveArgumentError: .*rank 0 passed invalid arguments.*`displs` must be.*)$/);
      expect(r[4], `allgatherv with a short out on rank ${w}`).toMatch(w === 2 ? /^ArgumentError: .*`out` must be a float64 array of at least 300009 elements/ : /^ok$/);
      if (shm && backend === 'sab') {
        // reduce to 0, scan, exscan: the rank above a slot, and every rank reading its part, reject.
        const reads = (op: string, readers: boolean) => (readers ? counts(op) : /^(ok|undefined)$/);
        expect(r[5], `reduce on rank ${w}`).toMatch(reads('reduce', w <= 1));
        expect(r[6], `scan on rank ${w}`).toMatch(reads('scan', w >= 1));
        expect(r[7], `exscan on rank ${w}`).toMatch(reads('exscan', w >= 1));
      }
      expect(r.at(-1)).toBe('allreduce 6');
    });
  }, kTestTimeout);

  it('float allreduce is bit-identical on every rank and close to the sum', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 8 }), fc.nat({ max: 1e6 }), fc.constantFrom(1, 7, 100, 9000), async (p, seed, len) => {
        const res = (await callAll<string | null>(backend, host(p), 'comm-cases.ts', 'floatAllreduce', [p, seed, len], kTimeout)).slice(0, p);
        for (const r of res) expect(r).toBe(res[0]);
        const got = new Float64Array(Uint8Array.from(Buffer.from(res[0]!, 'base64')).buffer);
        const inputs = Array.from({ length: p }, (_, w) => {
          const r = rng(seed * 7 + w);
          return Float64Array.from({ length: len }, () => (r() - 0.5) * 10 ** Math.floor(r() * 12 - 6));
        });
        for (let i = 0; i < len; i++) {
          let s = 0;
          let mag = 0;
          for (const a of inputs) {
            s += a[i]!;
            mag += Math.abs(a[i]!);
          }
          expect(Math.abs(got[i]! - s)).toBeLessThanOrEqual(mag * 1e-14);
        }
      }),
      { numRuns: 8 },
    );
  }, kTestTimeout);

  it.each([[2, true], [4, true], [8, true], [4, false]])('collectives in flight at once on several communicators, and long back-to-back runs (P=%i, shm %s)', async (p, shm) => {
    const res = await callAll<string[]>(backend, p, 'comm-cases.ts', 'collStress', [p === 8 ? 3 : 6, shm], kTimeout);
    for (const r of res) expect(r).toEqual([]);
  }, kTestTimeout);

  it.each([
    ['barrier', false],
    ['allreduce', false],
    ['bcast', false],
    ['barrier', true],
  ] as const)('a rank failing while the others wait in a collective (%s, leaves %s) ends the job everywhere', async (kind, leave) => {
    const p = 4;
    const out = await tryCall<string>(backend, p, 'comm-cases.ts', 'failInCollective', [2, kind, leave], kTimeout);
    expect(out.ok).toBe(false);
    if (leave) {
      expect(out.statuses[2]!.state).toBe('ok');
      expect(out.failure?.error.name).toBe('PeerGoneError');
      expect(out.failure?.error.message).toMatch(/rank 2 has finished/);
    } else {
      expect(out.failure?.rank).toBe(2);
      expect(out.failure?.error.message).toBe('boom on rank 2');
      expect(out.statuses.map((s) => s.state)).toEqual(['aborted', 'aborted', 'failed', 'aborted']);
    }
  });

  it('nonblocking point-to-point matches in MPI order for random schedules and tags', async () => {
    const schedArb = fc.integer({ min: 1, max: 8 }).chain((p) =>
      fc.record({
        p: fc.constant(p),
        seed: fc.nat({ max: 1e6 }),
        onDup: fc.boolean(),
        msgs: fc.array(
          fc.record({ src: fc.nat({ max: p - 1 }), dst: fc.nat({ max: p - 1 }), tag: fc.nat({ max: 3 }), len: fc.oneof(fc.nat({ max: 40 }), fc.constant(0)) }),
          { maxLength: 30 },
        ),
      }),
    );
    await fc.assert(
      fc.asyncProperty(schedArb, async ({ p, seed, onDup, msgs }) => {
        const res = await callAll<string[]>(backend, host(p), 'comm-cases.ts', 'p2pSchedule', [p, seed, msgs as P2PMsg[], onDup], kTimeout);
        for (let w = 0; w < p; w++) {
          const mine = msgs.filter((m) => m.dst === w).length;
          expect(res[w]).toHaveLength(mine);
          for (const line of res[w]!) expect(line).toMatch(/:ok$/);
        }
      }),
      { numRuns: 20 },
    );
  }, kTestTimeout);

  it.each(['barrier', 'allreduce'] as const)('a %s completes while a peer is blocked sending this rank a message larger than a ring', async (kind) => {
    const res = await callAll<string>(backend, 3, 'comm-cases.ts', 'sendThenCollective', [kind, (6 << 20) + 5], kTimeout);
    expect(res).toEqual(['ok', 'ok', 'ok']);
  });

  it.each([[4, 2], [8, 3]])('messages on split communicators never leak (P=%i, %i colors)', async (p, colors) => {
    const res = await callAll<{ sub: string[]; dup: string[]; probeEmpty: boolean }>(backend, p, 'comm-cases.ts', 'noLeak', [colors], kTimeout);
    for (let w = 0; w < p; w++) {
      const subSize = Array.from({ length: p }, (_, i) => i).filter((i) => i % colors === w % colors).length;
      expect(res[w]!.sub).toEqual(new Array(subSize - 1).fill('ok'));
      expect(res[w]!.dup).toEqual(new Array(p - 1).fill('ok'));
      expect(res[w]!.probeEmpty).toBe(true);
    }
  });
});

describe.each(backends())('communicator API on %s', (backend) => {
  const p = 4;

  it('p2p: probe, status, requests, PROC_NULL, in place, MINLOC, user ops, typed errors', async () => {
    const res = await callAll<any>(backend, p, 'comm-api.ts', 'p2pApi', [], kTimeout);
    res.forEach((r, w) => {
      const prev = (w + p - 1) % p;
      expect(r.probe).toEqual({ source: prev, tag: 9, byteLength: 8, iprobe: prev });
      expect(r.recv).toEqual({ data: [prev, prev], type: 'Float32Array', source: prev, count: 2 });
      expect(r.firstIndex).toBe(1);
      expect(r.firstValue).toEqual({ hello: prev });
      expect(r.statusB).toBe(prev);
      expect(r.nullRecv).toEqual({ length: 0, source: -2 });
      expect(r.inPlace).toEqual({ same: true, values: [p - 1, 10] });
      expect(r.loc).toEqual([0, 1]);
      expect(r.userOp).toBe(p);
      expect(r.exscan0).toBe(w * 5);
      expect(r.errors).toEqual(new Array(6).fill('ArgumentError'));
      expect(r.same).toBe(true);
      expect(r.undefinedColor).toBe(true);
    });
  });

  it('cart: coords, shift, sub; groups: include, exclude, create, translateRanks', async () => {
    const topo = await callAll<any>(backend, p, 'comm-api.ts', 'topology', [], kTimeout);
    topo.forEach((t, w) => {
      expect(t.dims).toEqual([2, 2]);
      expect(t.coords).toEqual([w >> 1, w & 1]);
      const right = (w & ~1) | ((w & 1) + 1 < 2 ? (w & 1) + 1 : -1);
      expect(t.shift.dest).toBe((w & 1) === 0 ? right : -2);
      expect(t.got).toEqual((w & 1) === 1 ? [w - 1] : []);
      expect(t.up).toEqual({ source: w ^ 2, dest: w ^ 2 });
      expect(t.rowSize).toBe(2);
      expect(t.rowCoords).toEqual([w & 1]);
      expect(t.rowSum).toBe(2 * (w & ~1) + 1);
      expect(t.back).toBe(w);
      expect(t.noneIsNull).toBe(true);
    });
    const gs = await callAll<any>(backend, p, 'comm-api.ts', 'groups', [], kTimeout);
    gs.forEach((g, w) => {
      const even = w % 2 === 0;
      expect(g.evensRank).toBe(even ? w / 2 : -32766);
      expect(g.commRank).toBe(even ? w / 2 : null);
      expect(g.commSize).toBe(even ? 2 : null);
      expect(g.sum).toBe(even ? 2 : null);
      expect(g.noFirstRank).toBe(w === 0 ? -32766 : w - 1);
      expect(g.translated).toEqual([-32766, 1]);
    });
  });

  it('PoolExecutor: submit, map with chunks, module refs, remote errors with stack, shutdown', async () => {
    const res = await callAll<any>(backend, p, 'comm-api.ts', 'pool', [], kTimeout);
    for (const r of res) expect(r.alone).toEqual([16, 25]);
    const root = res[0].out;
    expect(root.one).toBe(49);
    expect(root.many).toEqual(Array.from({ length: 20 }, (_, i) => i * i));
    expect(root.byRef).toBe(25);
    expect(root.byName).toBe(36);
    expect(root.error).toMatchObject({ name: 'TaskError', code: 'ERR_TASK_FAILED', stackHasBoom: true });
    expect(root.error.message).toMatch(/rank [123]: RangeError: boom 3/);
    expect(root.ranks).toEqual([1, 2, 3]);
    expect(root.unregistered).toBe('ArgumentError');
    expect(root.late).toBe(81);
    for (const r of res.slice(1)) expect(r.out).toBe('ArgumentError');
  });
});

describe.each(backends())('pyMPI examples on %s', (backend) => {
  // The same script job `npx superstep run -n 4 examples/<x>.ts` runs, on the cached world.
  const runExample = async (name: string, args: string[]) => {
    const w = await harnessWorld(backend, 4);
    const url = toModuleUrl(new URL(`../../examples/${name}`, import.meta.url).pathname);
    const out = await w.job({ kind: 'script', url, args }, { timeoutMs: kTimeout });
    expect(out.failure?.error.message).toBeUndefined();
    expect(out.ok).toBe(true);
  };

  it('parameter-study: scatter parameters, run a command per parameter, gather results', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'superstep-ps-'));
    try {
      await runExample('parameter-study.ts', ['4', join(dir, 'out.json')]);
      const got = JSON.parse(await readFile(join(dir, 'out.json'), 'utf8')) as { x: number; y: number; rank: number }[];
      expect(got).toEqual(Array.from({ length: 4 }, (_, i) => ({ x: i / 2, y: (i / 2) ** 2 + 1, rank: i })));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('service-rank: workers on a sub-communicator, the last rank archives on request until done', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'superstep-sr-'));
    try {
      await runExample('service-rank.ts', ['2', dir]);
      const left = (await readdir(dir)).filter((f) => f.startsWith('dump-'));
      expect(left).toEqual([]);
      const archived = (await readdir(join(dir, 'archive'))).sort();
      expect(archived).toEqual(['dump-0-0.json.gz', 'dump-0-1.json.gz', 'dump-0-2.json.gz', 'dump-1-0.json.gz', 'dump-1-1.json.gz', 'dump-1-2.json.gz']);
      const last = JSON.parse(gunzipSync(await readFile(join(dir, 'archive', 'dump-1-2.json.gz'))).toString());
      // state 3 -> 3 + (1+2+3) = 9 -> 9 + (7+8+9) = 33
      expect(last).toEqual({ step: 1, rank: 2, value: 33 });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
