/**
 * The model decides which collective algorithm runs (comm/collectives/choose.ts): the cost
 * formulas against hand-computed cases, the defaults against the switch points of before,
 * every forced algorithm against the sequential reference (so any choice is right), the
 * bcast root's choice against the others', the model handed down by the launcher, and the
 * algorithm in the profile.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { backends, callAll, closeWorlds } from '../harness.js';
import { encodeResult, expected, type Case } from './cases.js';
import { algorithmCost, choose, forceCollectiveAlgorithms, kAlgorithms, kDefaultSwitch, parseModel, predictCollective, type CollectiveModel } from '../../comm/collectives/choose.js';
import { collectiveModelFor, hostName } from '../../core/cost/params.js';
import { mergeCollectiveRecords, type CollectiveRecord, type CollectiveRow } from '../../core/cost/profile.js';
import { collectivesMarkdown } from '../../core/cost/report.js';
import { startWorld } from '../../core/launch/world.js';
import { main } from '../../core/launch/cli.js';
import { ArgumentError } from '../../util/errors.js';

afterAll(closeWorlds);

const kTimeout = 60_000;
const model = (p: number, g: number, l: number, b?: number): CollectiveModel => ({ entries: [{ p, g, l, ...(b ? { b } : {}) }] });

describe('the cost formulas', () => {
  // g = 8 ns/word (1 ns per byte), l = 10 µs, b = 1 GB/s (1 ns per byte copied or folded).
  const m = { p: 2, g: 8e-9, l: 1e-5, b: 1e9 };

  it('allreduce: recursive doubling against the ring, by hand', () => {
    // P = 2: RD = L + N·G + 3N·C = 10 µs + 4N ns; ring = 2(L + N/2·G) + 3·N/2·C = 20 µs + 2.5N ns: the ring from N > 6667 B.
    expect(algorithmCost('allreduce', 'recursive-doubling', 2, 4096, m)).toBeCloseTo(1e-5 + 4 * 4096e-9, 12);
    expect(algorithmCost('allreduce', 'ring', 2, 4096, m)).toBeCloseTo(2e-5 + 2.5 * 4096e-9, 12);
    expect(choose('allreduce', 2, 6000, model(2, m.g, m.l, m.b))).toBe('recursive-doubling');
    expect(choose('allreduce', 2, 7000, model(2, m.g, m.l, m.b))).toBe('ring');
    // P = 4: RD = 2(L + 4N) = 20 µs + 8N; ring = 6(L + N/4) + 9N/4 = 60 µs + 3.75N: the ring from N > 9412 B.
    expect(choose('allreduce', 4, 9000, model(4, m.g, m.l, m.b))).toBe('recursive-doubling');
    expect(choose('allreduce', 4, 10_000, model(4, m.g, m.l, m.b))).toBe('ring');
    // P = 3 (not a power of two): RD takes 1 + 2 steps.
    expect(algorithmCost('allreduce', 'recursive-doubling', 3, 1000, m)).toBeCloseTo(3 * (1e-5 + 4 * 1000e-9), 12);
    // Without b (no fold cost) the ring never wins at P = 2: its extra step buys nothing.
    expect(choose('allreduce', 2, 8 << 20, model(2, m.g, m.l))).toBe('recursive-doubling');
  });

  it('bcast: binomial against tree head + chain, by hand', () => {
    // P = 4, N = 1 MiB: binomial 2(L + N·G) = 2117 µs; chain 2(L + 64 KiB·G) + (2 + 8)(L + 120 KiB·G) = 1480 µs.
    const n = 1 << 20;
    expect(algorithmCost('bcast', 'binomial', 4, n, m)).toBeCloseTo(2 * (1e-5 + n * 1e-9), 12);
    expect(algorithmCost('bcast', 'chain', 4, n, m)).toBeCloseTo(2 * (1e-5 + 65536e-9) + 10 * (1e-5 + 122880e-9), 12);
    expect(choose('bcast', 4, n, model(4, m.g, m.l))).toBe('chain');
    // With l = 1 ms the chain's 10 steps cost more than the bytes the tree sends twice.
    expect(choose('bcast', 4, n, model(4, m.g, 1e-3))).toBe('binomial');
    // At P = 2 the chain is one hop in segments: never cheaper; up to the head, both the same (the first listed wins).
    expect(choose('bcast', 2, 8 << 20, model(2, m.g, m.l))).toBe('binomial');
    expect(choose('bcast', 4, 1000, model(4, m.g, 0))).toBe('binomial');
  });

  it('allgather: direct against the ring, by hand', () => {
    // P = 3: direct L + 2N·G + 4N·C = 10 µs + 6N ns; ring 2(L + N·G) = 20 µs + 2N ns: the ring from N > 2500 B.
    expect(algorithmCost('allgather', 'direct', 3, 1024, m)).toBeCloseTo(1e-5 + 6 * 1024e-9, 12);
    expect(algorithmCost('allgather', 'ring', 3, 1024, m)).toBeCloseTo(2 * (1e-5 + 1024e-9), 12);
    expect(choose('allgather', 3, 2400, model(3, m.g, m.l, m.b))).toBe('direct');
    expect(choose('allgather', 3, 2600, model(3, m.g, m.l, m.b))).toBe('ring');
  });

  it('takes the entry of the communicator\'s P, else the nearest', () => {
    const two: CollectiveModel = { entries: [{ p: 2, g: 8e-9, l: 1e-5, b: 1e9 }, { p: 4, g: 8e-9, l: 1e-3, b: 1e9 }] };
    expect(predictCollective('bcast', 'binomial', 4, 0, two)).toBeCloseTo(2e-3, 12);
    expect(predictCollective('bcast', 'binomial', 5, 0, two)).toBeCloseTo(3e-3, 12);
    expect(predictCollective('bcast', 'binomial', 2, 0, two)).toBeCloseTo(1e-5, 12);
    expect(predictCollective('bcast', 'binomial', 2, 0, null)).toBeNull();
  });
});

describe('without a model', () => {
  it('reproduces the switch points of before exactly, at every P', () => {
    const { allreduceRing: ar, bcastChain: bc, allgatherDirect: ag } = kDefaultSwitch;
    expect([ar, bc, ag]).toEqual([64 << 10, 64 << 10, 16 << 10]);
    for (let p = 1; p <= 8; p++) {
      for (const n of [0, 8, ar - 1, ar, ar + 1, 8 << 20]) expect(choose('allreduce', p, n, null)).toBe(n >= 64 << 10 ? 'ring' : 'recursive-doubling');
      for (const n of [0, 8, bc - 1, bc, bc + 1, 8 << 20]) expect(choose('bcast', p, n, null)).toBe(p >= 3 && n > 64 << 10 ? 'chain' : 'binomial');
      for (const n of [0, 8, ag - 1, ag, ag + 1, 8 << 20]) expect(choose('allgather', p, n, null)).toBe(n <= 16 << 10 ? 'direct' : 'ring');
    }
  });

  it('a forced algorithm wins over both; a wrong one is an ArgumentError naming the choices', () => {
    try {
      forceCollectiveAlgorithms('allreduce:ring,allgather:direct');
      expect(choose('allreduce', 4, 8, null)).toBe('ring');
      expect(choose('allgather', 4, 8 << 20, model(4, 1e-9, 1e-3))).toBe('direct');
      expect(choose('bcast', 4, 8 << 20, null)).toBe('chain');
    } finally {
      forceCollectiveAlgorithms(undefined);
    }
    expect(() => forceCollectiveAlgorithms('allreduce:tree')).toThrow(ArgumentError);
    expect(() => forceCollectiveAlgorithms('allreduce:tree')).toThrow(/allreduce:recursive-doubling, allreduce:ring, bcast:binomial/);
    expect(() => parseModel('{"entries":[{"p":2,"g":-1,"l":0}]}')).toThrow(/g, l, b finite numbers >= 0/);
    expect(parseModel('{"entries":[{"p":2,"g":1e-9,"l":2e-6}]}')).toEqual(model(2, 1e-9, 2e-6));
  });
});

/** Cases of every collective that has a choice, short and long, integer data (bit-identical whatever the algorithm). */
function casesFor(): Case[] {
  const c = (coll: Case['coll'], len: number, op: Case['op'] = 'SUM', dtype: Case['dtype'] = 'int32', root = 0): Case => ({ coll, comm: { kind: 'world' }, dtype, len, op, root, seed: len + root, out: len % 2 === 0 });
  return [
    c('allreduce', 5), c('allreduce', 20_003), c('allreduce', 20_003, 'LAST'), c('allreduce', 6000, 'BXOR', 'uint16'), c('allreduce', 4001, 'MINLOC', 'int32'),
    c('bcast', 7, 'SUM', 'int32', 1), c('bcast', 20_001, 'SUM', 'float64', 2),
    c('allgather', 3), c('allgather', 5000, 'SUM', 'float32'),
    { coll: 'allgatherv', comm: { kind: 'world' }, dtype: 'int32', len: 5, op: 'SUM', root: 0, seed: 11, out: false, big: { every: 2, bytes: 20_000 } },
  ];
}

const kForces = ['allreduce:recursive-doubling,bcast:binomial,allgather:direct', 'allreduce:ring,bcast:chain,allgather:ring'];

describe.each(backends())('every algorithm is right whichever is chosen, on %s', (backend) => {
  it('forced algorithms give the reference (bit-identical) results at P = 2, 3 and 4', async () => {
    const cases = casesFor();
    for (const p of [2, 3, 4]) {
      const runs: unknown[][][] = [];
      for (const force of kForces) {
        const out = await callAll<{ result: unknown[]; ran: string[] }>(backend, 4, 'choose.ts', 'runForced', [force, p, cases], kTimeout);
        // The forced algorithms ran (allreduce with a non-commutative op: the ring's rank-order form).
        const ring = force.includes('ring');
        const want = ring ? ['allgather:ring', 'allgatherv:direct+ring', 'allreduce:pairwise', 'allreduce:ring', 'bcast:chain'] : ['allgather:direct', 'allgatherv:direct', 'allreduce:recursive-doubling', 'bcast:binomial'];
        expect(out[0]!.ran).toEqual(want);
        runs.push(out.map((o) => o.result));
      }
      for (const res of runs) {
        for (let w = 0; w < p; w++) {
          for (const [i, c] of cases.entries()) expect(res[w]![i], `${c.coll} ${c.dtype} x ${c.len} ${c.op}, rank ${w} of ${p}`).toEqual(encodeResult(expected(c, p, w)));
        }
      }
      expect(runs[1]).toEqual(runs[0]);
    }
    // Without a model or a force the engine runs what the switch points of before say.
    const none = await callAll<{ result: unknown[]; ran: string[] }>(backend, 4, 'choose.ts', 'runForced', ['', 4, cases], kTimeout);
    expect(none.map((o) => o.result)).toEqual(none.map((_, w) => cases.map((c) => encodeResult(expected(c, 4, w)))));
    expect(none[0]!.ran).toEqual(['allgather:direct', 'allgather:ring', 'allgatherv:direct+ring', 'allreduce:pairwise', 'allreduce:recursive-doubling', 'allreduce:ring', 'bcast:binomial', 'bcast:chain']);
  }, 4 * kTimeout);

  it('the bcast root\'s choice travels with the data (ranks that would choose otherwise follow it)', async () => {
    const out = await callAll<{ result: string; ran: string[] }>(backend, 4, 'choose.ts', 'bcastMixedForce', [70_000], kTimeout);
    expect(out.map((o) => o.result)).toEqual(['ok', 'ok', 'ok', 'ok']);
    // Every rank ran both: the chain of the even roots, the tree of the odd ones.
    for (const o of out) expect(o.ran).toEqual(['bcast:binomial', 'bcast:chain']);
  }, 2 * kTimeout);

  it('the profile records each collective call with its algorithm and the model\'s time', async () => {
    const m: CollectiveModel = { entries: [2, 3, 4].map((p) => ({ p, g: 8e-9, l: 1e-5, b: 1e9 })) };
    const rows = (await callAll<CollectiveRow[]>(backend, 4, 'choose.ts', 'profiledCollectives', [m, 10_000], kTimeout)).slice(0, 3);
    for (const mine of rows) {
      expect(mine.map((r) => [r.superstep, r.collective, r.p])).toEqual([[0, 'allreduce', 4], [0, 'bcast', 4], [1, 'allgather', 4], [1, 'allgatherv', 4]]);
      // 80 000 bytes at P = 4: the ring (6(L + N/4·G) + 3·N/4·3C = 240 µs against RD 2(L + 4N) = 660 µs),
      // the tree (2(L + N·G) = 180 µs against the chain's 2(L + 64 KiB·G) + 2(L + 14464·G) = 200 µs).
      expect(mine[0]!.algorithm).toBe('ring');
      expect(mine[1]!.algorithm).toBe('binomial');
      expect(mine[0]!.predicted).toBeCloseTo(algorithmCost('allreduce', 'ring', 4, 80_000, m.entries[2]!), 12);
      expect(mine[0]!.predicted).toBeCloseTo(6 * (1e-5 + 20_000e-9) + 3 * 20_000 * 3e-9, 12);
      expect(mine[2]!).toMatchObject({ algorithm: 'direct', bytes: 32 });
      expect(mine[3]!.algorithm).toBe('direct');
      for (const r of mine) expect(r.t).toBeGreaterThan(0);
    }
    const md = collectivesMarkdown(rows[0]!);
    expect(md).toContain('| allreduce | 4 | 80000 | ring | 1 |');
    expect(md).toContain('| allgather | 4 | 32 | direct | 1 |');
  }, kTimeout);

  it('the launcher hands every rank the model from the params file (none for a host it does not know)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'superstep-choose-'));
    const file = join(dir, 'params.json');
    const entry = (p: number, l: number) => ({ host: hostName(), backend, p, g: 2e-9, l, r: 1e9, b: 4e9, measuredAt: '2026-12-07T00:00:00.000Z' });
    writeFileSync(file, JSON.stringify({ version: 1, entries: { a: entry(2, 5e-6), b: entry(4, 9e-5) } }));
    const before = process.env.SUPERSTEP_PARAMS;
    process.env.SUPERSTEP_PARAMS = file;
    const w = await startWorld({ procs: 2, backend, graceMs: 2000 });
    try {
      const out = await w.job<CollectiveModel | null>({ kind: 'call', url: new URL('../fixtures/choose.ts', import.meta.url).href, fn: 'modelInUse', args: [] }, { timeoutMs: kTimeout });
      expect(out.ok).toBe(true);
      const want = collectiveModelFor(2, backend, hostName(), file)!;
      expect(want).toEqual({ backend, entries: [{ p: 2, g: 2e-9, l: 5e-6, b: 4e9 }] });
      expect(out.results).toEqual([want, want]);
      // P = 3 between the probed 2 and 4: l fitted on log2 P, g flat.
      const three = collectiveModelFor(3, backend, hostName(), file)!.entries[1]!;
      expect(three.p).toBe(3);
      expect(three.l).toBeGreaterThan(5e-6);
      expect(three.l).toBeLessThan(9e-5);
    } finally {
      await w.close();
      if (before === undefined) delete process.env.SUPERSTEP_PARAMS;
      else process.env.SUPERSTEP_PARAMS = before;
      rmSync(dir, { recursive: true, force: true });
    }
    expect(collectiveModelFor(3, backend, 'no-such-host', file)).toBeUndefined();
  }, kTimeout);
});

describe('superstep run --profile', () => {
  it('lists each collective call with the algorithm that ran and the model\'s time, merged over ranks', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'superstep-choose-'));
    const saved = { params: process.env.SUPERSTEP_PARAMS, profile: process.env.SUPERSTEP_PROFILE };
    const entry = { host: hostName(), backend: 'sab', p: 2, g: 8e-9, l: 1e-5, r: 1e9, b: 1e9, measuredAt: '2026-12-07T00:00:00.000Z' };
    writeFileSync(join(dir, 'params.json'), JSON.stringify({ version: 1, entries: { a: entry } }));
    process.env.SUPERSTEP_PARAMS = join(dir, 'params.json');
    const err: string[] = [];
    vi.spyOn(console, 'error').mockImplementation((...a) => void err.push(a.join(' ')));
    try {
      const script = fileURLToPath(new URL('../fixtures/choose-script.ts', import.meta.url));
      expect(await main(['run', '-n', '2', '--profile', '--report', join(dir, 'report'), script])).toBe(0);
      const md = readFileSync(join(dir, 'report', 'profile.md'), 'utf8');
      // 80 000 bytes at P = 2 with b: the ring (2(L + N/2·G) + N/2·3C = 220 µs against L + N·G + 3N·C = 330 µs).
      const m = { p: 2, g: 8e-9, l: 1e-5, b: 1e9 };
      expect(choose('allreduce', 2, 80_000, { entries: [m] })).toBe('ring');
      const ring = algorithmCost('allreduce', 'ring', 2, 80_000, m);
      expect(md).toContain(`| allreduce | 2 | 80000 | ring | 2 | `);
      expect(md).toMatch(new RegExp(`\\| bcast \\| 2 \\| 8 \\| binomial \\| 1 \\| [^|]+ \\| ${(1e-5 * 1e6).toPrecision(3)} µs \\|`));
      expect(err.join('\n')).toContain('Collectives on messages (3 calls;');
      const json = JSON.parse(readFileSync(join(dir, 'report', 'profile.json'), 'utf8')) as { collectives: CollectiveRow[] };
      expect(json.collectives.map((c) => [c.collective, c.algorithm, c.bytes])).toEqual([['allreduce', 'ring', 80_000], ['allreduce', 'ring', 80_000], ['bcast', 'binomial', 8]]);
      expect(json.collectives[0]!.predicted).toBeCloseTo(ring, 12);
    } finally {
      vi.restoreAllMocks();
      for (const [k, v] of [['SUPERSTEP_PARAMS', saved.params], ['SUPERSTEP_PROFILE', saved.profile]] as const) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
      rmSync(dir, { recursive: true, force: true });
    }
  }, kTimeout);
});

describe('merging collective records', () => {
  it('one row per call: the max of time and bytes over ranks, rank 0\'s order', () => {
    const rec = (key: string, collective: string, t: number, bytes = 8): CollectiveRecord => ({ key, collective, algorithm: 'direct', p: 2, bytes, t, predicted: null, superstep: 0 });
    const rows = mergeCollectiveRecords([[rec('1/0', 'allgather', 1), rec('1/1', 'allgatherv', 5, 4)], [rec('1/0', 'allgather', 3), rec('1/1', 'allgatherv', 2, 16)]]);
    expect(rows.map((r) => [r.collective, r.t, r.bytes])).toEqual([['allgather', 3, 8], ['allgatherv', 5, 16]]);
    expect(Object.keys(kAlgorithms)).toEqual(['allreduce', 'bcast', 'allgather']);
  });
});
