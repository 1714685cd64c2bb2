/**
 * The Transport contract, one suite for every backend (sab and tcp) at P = 1, 2, 3, 4, 8:
 * random message patterns against the non-overtaking rule (also received into caller buffers
 * that fit or do not, and as a ping-pong of tiny and large messages), probe and barrier, a
 * > 1 MiB message, messages larger than a ring that arrive before their receive (through a
 * barrier, a probe, a late receive), and a receive from a rank that has finished.
 */
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { backends, callAll, closeWorlds } from '../harness.js';
import type { IntoMode, PlannedMsg } from '../fixtures/transport-patterns.js';

afterAll(closeWorlds);

const kTimeout = 30_000;

function planArb(p: number): fc.Arbitrary<PlannedMsg[]> {
  const msg = fc.record({
    src: fc.nat({ max: p - 1 }),
    dst: fc.nat({ max: p - 1 }),
    tag: fc.nat({ max: 3 }),
    n: fc.oneof({ arbitrary: fc.nat({ max: 64 }), weight: 6 }, { arbitrary: fc.constant(0), weight: 1 }, { arbitrary: fc.integer({ min: 60_000, max: 70_000 }), weight: 1 }),
    seed: fc.nat({ max: 255 }),
  });
  return fc.array(msg, { maxLength: 4 * p });
}

/** What each rank must receive: "src:tag:n" of every message sent to it, sorted. */
function reference(p: number, plan: PlannedMsg[]): string[][] {
  return Array.from({ length: p }, (_, r) => plan.filter((m) => m.dst === r).map((m) => `${m.src}:${m.tag}:${m.n}`).sort());
}

describe.each(backends())('transport contract on %s', (backend) => {
  describe.each([1, 2, 3, 4, 8])('P=%i', (p) => {
    it('random message patterns arrive whole, matched in send order per (source, tag)', async () => {
      await fc.assert(
        fc.asyncProperty(planArb(p), fc.nat({ max: 3 }), async (plan, anyEvery) => {
          const got = await callAll<string[]>(backend, p, 'transport-patterns.ts', 'runPattern', [plan, anyEvery], kTimeout);
          expect(got).toEqual(reference(p, plan));
        }),
        { numRuns: p === 8 ? 3 : 6 },
      );
    });

    it('receives into caller buffers (fitting, one byte short, roomy) get the right message in the right place', async () => {
      await fc.assert(
        fc.asyncProperty(planArb(p), fc.array(fc.constantFrom<IntoMode>(0, 1, 2, 3), { minLength: 1, maxLength: 4 }), async (plan, modes) => {
          const got = await callAll<string[]>(backend, p, 'transport-patterns.ts', 'runPatternInto', [plan, modes], kTimeout);
          expect(got).toEqual(reference(p, plan));
        }),
        { numRuns: p === 8 ? 2 : 4 },
      );
    });

    if (p > 1) {
      it('a ping-pong of tiny and large messages, receives posted first, arrives whole and in place', async () => {
        const size = fc.oneof({ arbitrary: fc.nat({ max: 64 }), weight: 4 }, { arbitrary: fc.integer({ min: 1000, max: 300_000 }), weight: 1 });
        await fc.assert(
          fc.asyncProperty(fc.array(size, { minLength: 1, maxLength: 24 }), fc.array(fc.constantFrom<IntoMode>(0, 1, 2, 3), { minLength: 1, maxLength: 4 }), fc.nat({ max: 3 }), async (sizes, modes, anyEvery) => {
            const got = await callAll<number>(backend, p, 'transport-patterns.ts', 'pingPongSizes', [sizes, modes, anyEvery], kTimeout);
            expect(got.slice(0, 2)).toEqual([Math.floor(sizes.length / 2), Math.ceil(sizes.length / 2)]);
          }),
          { numRuns: p === 8 ? 2 : 4 },
        );
      });
    }

    it('probe sees a message without taking it; barriers complete', async () => {
      const got = await callAll<{ probed: number; after: number; barrier: boolean }>(backend, p, 'transport-patterns.ts', 'probeAndBarrier', [], kTimeout);
      got.forEach((g, r) => expect(g).toEqual({ probed: ((r + p - 1) % p) + 3, after: ((r + p - 1) % p) + 3, barrier: true }));
    });

    // Needs a second rank to finish first: defined for P > 1 only.
    if (p > 1) {
      it('a receive from a rank that has finished fails with PeerGoneError naming it', async () => {
        const got = await callAll<string>(backend, p, 'transport-patterns.ts', 'receiveFromFinished', [], kTimeout);
        expect(got).toEqual(['done', ...Array(p - 1).fill('PeerGoneError:0')]);
      });
    }
  });

  it('large messages that arrive before their receive is posted: delivered through a barrier, a probe and a late receive', async () => {
    // Larger than a sab ring (4 MiB): a send completes only once its receiver drains it.
    const n = (5 << 20) + 3;
    const got = await callAll<number[]>(backend, 3, 'transport-patterns.ts', 'lateLargeReceives', [n, 20], kTimeout);
    expect(got).toEqual([[n, n], [n, n], [n, n]]);
  });

  it('pairs exchange messages larger than a ring (sends posted before receives) intact, into buffers or not', async () => {
    for (const into of [true, false]) {
      const got = await callAll<number>(backend, 4, 'transport-patterns.ts', 'exchangeLarge', [(5 << 20) + 3, 4, into], kTimeout);
      expect(got).toEqual([4, 4, 4, 4]);
    }
  });

  it('long and short messages of one envelope, sent back to back, arrive in send order', async () => {
    // A short message completes before a long one sent earlier (eager against rendezvous on
    // MPI); the long one must still be matched first.
    const sizes = [1 << 20, 8, 300_000, 0, 8, 1 << 20, 1, 70_000, 64];
    const plan: PlannedMsg[] = sizes.map((n, i) => ({ src: 0, dst: 1, tag: 1, n, seed: i + 1 }));
    const got = await callAll<string[]>(backend, 2, 'transport-patterns.ts', 'runPattern', [plan, 0], kTimeout);
    expect(got).toEqual(reference(2, plan));
  });

  it('a 3 MiB message crosses every pair of a 3-rank ring intact', async () => {
    const plan: PlannedMsg[] = [0, 1, 2].map((r) => ({ src: r, dst: (r + 1) % 3, tag: 1, n: 3 << 20, seed: r + 1 }));
    const got = await callAll<string[]>(backend, 3, 'transport-patterns.ts', 'runPattern', [plan, 0], kTimeout);
    expect(got).toEqual(reference(3, plan));
  });
});
