/**
 * Communicator contexts come from a registry and free() gives them back (issue 15): 100,000
 * communicators created and freed in a loop keep their contexts within a small bound, every
 * live one still talks, a freed one rejects; and the registry's own rules.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { ContextRegistry, kDrmaContext, kFirstPairContext, kGlobalContext, kWindowPairs } from '../../comm/contexts.js';
import { backends, callAll, closeWorlds } from '../harness.js';
import type { ChurnResult } from '../fixtures/comm-contexts.js';

afterAll(closeWorlds);

describe('ContextRegistry', () => {
  it('offers the first pair free on every member, and a pair again once it is released', () => {
    const a = new ContextRegistry();
    const b = new ContextRegistry();
    const or = (w: number) => a.window(w).map((x, i) => x | b.window(w)[i]!);
    const c0 = a.firstFree(0, or(0))!;
    expect(c0).toBe(kFirstPairContext);
    a.take(c0);
    b.take(c0);
    a.take(kFirstPairContext + 2); // held by a only: not offered to a and b together
    expect(a.firstFree(0, or(0))).toBe(kFirstPairContext + 4);
    a.release(c0);
    expect(a.firstFree(0, or(0))).toBe(kFirstPairContext + 4); // b still holds it
    b.release(c0);
    expect(a.firstFree(0, or(0))).toBe(kFirstPairContext);
    expect(a.inUse).toBe(1);
  });

  it('moves to the next window when one is full, and never hands out the reserved contexts', () => {
    const r = new ContextRegistry();
    for (let i = 0; i < kWindowPairs; i++) r.take(r.firstFree(0, r.window(0))!);
    expect(r.firstFree(0, r.window(0))).toBeUndefined();
    expect(r.firstFree(1, r.window(1))).toBe(kFirstPairContext + 2 * kWindowPairs);
    expect(kGlobalContext).toBeLessThan(kFirstPairContext);
    expect(kDrmaContext).toBeLessThan(kFirstPairContext);
  });
});

/** What rank r of P must see on the live communicators of churn(n, keep). */
function expected(p: number, r: number, n: number, keep: number): [number, number][] {
  const out: [number, number][] = [];
  let j = 0;
  for (let i = 0; i < n; i += keep, j++) {
    const members = i % 7 === 3 ? Array.from({ length: p }, (_, k) => k).filter((k) => k % 2 === r % 2) : Array.from({ length: p }, (_, k) => k);
    const me = members.indexOf(r);
    const size = members.length;
    const left = (me + size - 1) % size;
    out.push([(size * (size + 1)) / 2, left * 10 + j]);
  }
  return out;
}

describe.each(backends())('communicator contexts on %s', (backend) => {
  // P = 3 (more ranks than this machine's cores: waiting ranks sleep) for the full count; P = 2
  // spins while waiting, which on a loaded 2-core machine made 100,000 tcp dups take minutes.
  // The registry is the same on every backend: the full 100,000 runs once (sab), the others
  // churn 20,000 (more than twice the ~9,100 dups that used to collide).
  it.each([
    [3, backend === 'sab' ? 100_000 : 20_000],
    [2, 20_000],
  ])('P=%i: %i communicators created and freed in a loop; every live one talks; contexts stay bounded', async (p, n) => {
    const keep = 997;
    const got = await callAll<ChurnResult>(backend, p, 'comm-contexts.ts', 'churn', [n, keep], 240_000);
    got.forEach((res, r) => {
      expect(res.talks).toEqual(expected(p, r, n, keep));
      expect(res.freedRejects).toBe(true);
      // Live ones (about n / keep) plus the one in hand: far below the ~9,100 dups that used to collide with global arrays' contexts.
      expect(res.maxContext).toBeLessThan(kFirstPairContext + 2 * (res.live + 2));
    });
    console.log(`${backend} P=${p}: ${n} communicators in ${Math.round(got[0]!.ms)} ms`);
  }, 250_000);

  it('the world cannot be freed', async () => {
    const got = await callAll<string>(backend, 2, 'comm-contexts.ts', 'freeWorld', []);
    expect(got).toEqual([expect.stringMatching(/world cannot be freed/), expect.stringMatching(/world cannot be freed/)]);
  });
});
