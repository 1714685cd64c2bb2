/**
 * The message algorithms at their switch points (docs/comm.md, "Algorithms on messages"):
 * allreduce around reduce-scatter + allgather (64 KiB) and its ring segments (256 KiB),
 * bcast around the tree / chain split (64 KiB) and the chain's segments (128 KiB),
 * allgather(v) parts around the ring (16 KiB), alltoall received in place; at P = 1..5 and 8,
 * with lengths that P does not divide, zero lengths, every dtype and op, against the
 * sequential reference (test/comm/cases.ts), on tcp and on sab with the arena off.
 */
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { backends, callAll, closeWorlds } from '../harness.js';
import { DTYPES, encodeResult, expected, opsFor, rng, type Case } from './cases.js';
import { kDTypes, type DType } from '../../util/dtype.js';
import { MatchQueue, place } from '../../comm/matching.js';
import { segmentsOf } from '../../comm/collectives/ring.js';

afterAll(closeWorlds);

const kTimeout = 60_000;
const kTestTimeout = 240_000;
const host = (p: number) => (p <= 4 ? 4 : 8);

/** Switch points (bytes) of the algorithms in comm/collectives/engine.ts and ring.ts. */
const kPoints: Record<'allreduce' | 'bcast' | 'allgather' | 'allgatherv' | 'alltoall', number[]> = {
  allreduce: [64 << 10, (64 << 10) * 4, 256 << 10],
  bcast: [64 << 10, (64 << 10) + 2 * (128 << 10)],
  allgather: [16 << 10],
  allgatherv: [16 << 10],
  alltoall: [8 << 10],
};
type Coll = keyof typeof kPoints;

const caseArb: fc.Arbitrary<Case> =
  fc
    .record({
      coll: fc.constantFrom(...(Object.keys(kPoints) as Coll[])),
      dtype: fc.constantFrom(...DTYPES),
      point: fc.nat(),
      // Around the point, by a few elements either way (odd counts, not multiples of P); or zero.
      delta: fc.oneof({ arbitrary: fc.integer({ min: -3, max: 3 }), weight: 6 }, { arbitrary: fc.constant(null), weight: 1 }),
      opIndex: fc.nat(),
      root: fc.nat({ max: 7 }),
      seed: fc.nat({ max: 1e6 }),
      out: fc.boolean(),
      every: fc.integer({ min: 1, max: 3 }),
    })
    .map(({ coll, dtype, point, delta, opIndex, root, seed, out, every }): Case => {
      const ops = opsFor(dtype);
      const op = coll === 'allreduce' ? ops[opIndex % ops.length]! : 'SUM';
      const bpe = kDTypes[dtype as DType].bytes;
      const pts = kPoints[coll];
      const at = pts[point % pts.length]!;
      // allreduce and bcast: the whole array; allgather(v) and alltoall: one part.
      const len = delta === null ? 0 : Math.max(0, Math.floor(at / bpe) + delta);
      if (coll === 'allgatherv') {
        // Parts (w + seed) % every === 0 about the switch point, the others small.
        return { coll, comm: { kind: 'world' }, dtype, len: 5, op, root, seed, out, big: { every, bytes: Math.max(0, len * bpe) } };
      }
      // MINLOC/MAXLOC take pairs: blockLen rounds the length up to even.
      return { coll, comm: { kind: 'world' }, dtype, len, op, root, seed, out };
    });

function check(p: number, cases: Case[], results: unknown[][]): void {
  for (let w = 0; w < p; w++) {
    for (let i = 0; i < cases.length; i++) {
      const c = cases[i]!;
      const want = encodeResult(expected(c, p, w));
      expect(results[w]![i], `case ${i} (${c.coll} ${c.dtype} x ${c.len} ${c.op}) on rank ${w} of ${p}`).toEqual(want);
    }
  }
}

describe.each(backends())('message algorithms at their switch points on %s', (backend) => {
  it.each([1, 2, 3, 4, 5, 8])('P = %i: results equal the sequential reference', async (p) => {
    await fc.assert(
      fc.asyncProperty(fc.array(caseArb, { minLength: 4, maxLength: 6 }), async (cases) => {
        // shm false: the message engine on sab too (its receives without recvSplit copy instead).
        const results = await callAll<unknown[]>(backend, host(p), 'comm-cases.ts', 'runCasesWith', [false, p, cases], kTimeout);
        check(p, cases, results);
      }),
      { numRuns: p === 8 ? 2 : 3 },
    );
  }, kTestTimeout);

  it('a long allreduce in place (out is the input) is right at P = 2, 3 and 8', async () => {
    for (const p of [2, 3, 8]) {
      const res = await callAll<string>(backend, host(p), 'comm-cases.ts', 'inPlaceAllreduce', [p, 70_001, false], kTimeout);
      expect(res).toEqual(new Array(host(p)).fill('ok'));
    }
  }, kTestTimeout);

  it('a float ring allreduce is bit-identical on every rank', async () => {
    // 8190..8194 doubles straddle 64 KiB; 70001 doubles make blocks of several segments.
    for (const [p, len] of [[2, 8193], [3, 70_001], [5, 8191], [8, 70_001]] as const) {
      const seed = 1 + p * len;
      const res = (await callAll<string | null>(backend, host(p), 'comm-cases.ts', 'floatAllreduce', [p, seed, len], kTimeout)).slice(0, p);
      for (const r of res) expect(r).toBe(res[0]);
      const got = new Float64Array(Uint8Array.from(Buffer.from(res[0]!, 'base64')).buffer);
      const inputs = Array.from({ length: p }, (_, w) => {
        const r = rng(seed * 7 + w);
        return Float64Array.from({ length: len }, () => (r() - 0.5) * 10 ** Math.floor(r() * 12 - 6));
      });
      for (let i = 0; i < len; i += 97) {
        let s = 0;
        let mag = 0;
        for (const a of inputs) {
          s += a[i]!;
          mag += Math.abs(a[i]!);
        }
        expect(Math.abs(got[i]! - s)).toBeLessThanOrEqual(mag * 1e-14);
      }
    }
  }, kTestTimeout);
});

describe('the pieces of receiving in place', () => {
  it('a split receive of a queued (unexpected) message lands as the streamed one does, or whole when it does not fit', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 40 }), fc.nat({ max: 10 }), fc.integer({ min: -2, max: 2 }), (bytes, h, slack) => {
        const q = new MatchQueue();
        q.deliver({ source: 1, context: 5, tag: 9, data: bytes.slice() });
        const head = new Uint8Array(h);
        const into = new Uint8Array(Math.max(0, bytes.byteLength - h + slack));
        const m = q.receiveNow(1, 5, 9, into, head)!;
        if (bytes.byteLength >= h && bytes.byteLength - h <= into.byteLength) {
          expect(m.head).toBe(head);
          expect([...head, ...m.data]).toEqual([...bytes]);
          expect(m.data.buffer).toBe(into.buffer);
        } else {
          expect(m.head).toBeUndefined();
          expect([...m.data]).toEqual([...bytes]);
        }
        // Without a head it is the plain `into` receive.
        const plain = place({ source: 1, context: 5, tag: 9, data: bytes }, new Uint8Array(bytes.byteLength), undefined);
        expect([...plain.data]).toEqual([...bytes]);
      }),
    );
  });

  it('segments cover a region in order, cut at multiples of the alignment', () => {
    fc.assert(
      fc.property(fc.nat({ max: 5000 }), fc.integer({ min: 1, max: 700 }), fc.constantFrom(1, 2, 8, 16), (n, seg, align) => {
        const region = new Uint8Array(n);
        const segs = segmentsOf(region, seg, align);
        expect(segs.reduce((s, x) => s + x.byteLength, 0)).toBe(n);
        let at = 0;
        for (const [i, x] of segs.entries()) {
          expect(x.byteOffset).toBe(at);
          if (i < segs.length - 1) expect(x.byteLength % align).toBe(0);
          at += x.byteLength;
        }
      }),
    );
  });
});
