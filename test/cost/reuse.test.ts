// bsp.reuseReceiveBuffers: opt-in reuse of receive memory (docs/cost.md), on every backend.
import { afterAll, describe, expect, it } from 'vitest';
import { backends, callAll, closeWorlds } from '../harness.js';
import type { ReuseRanksReport } from './reuse-ranks.js';

afterAll(closeWorlds);
const ranks = '../cost/reuse-ranks.ts';

// Known gap (docs/backends.md): the mpi transport receives into a fresh buffer (MPI_Imrecv) and
// does not yet land a message in the caller's `into`, so reuse has nothing to reuse there.
if (backends().includes('mpi')) console.log('reuse.test: not run on mpi: its transport does not receive into the caller\'s buffer yet (docs/backends.md)');

describe.each(backends().filter((b) => b !== 'mpi'))('bsp.reuseReceiveBuffers on %s', (backend) => {
  it.each([2, 3])('P=%i: on, large packages land in one buffer per source and stay correct', async (p) => {
    const reports = await callAll<ReuseRanksReport>(backend, p, ranks, 'reuseRun', [true]);
    for (const r of reports) {
      expect(r.valuesOk).toBe(true);
      expect(r.putsOk).toBe(true);
      // Six package supersteps after the first (largest) one, which sets the buffer: every
      // later message fits in it, the small one and the put-only one included.
      expect(r.sameMemory).toBe(5);
      // The first package's memory was reused: it no longer holds what it held.
      expect(r.firstKept).toBe(false);
    }
  });

  it('off (the default): every received package keeps its own memory and values', async () => {
    const reports = await callAll<ReuseRanksReport>(backend, 2, ranks, 'reuseRun', [false]);
    for (const r of reports) expect(r).toEqual({ valuesOk: true, sameMemory: 0, firstKept: true, putsOk: true });
  });

  it('rejects a non-boolean with an ArgumentError naming the argument', async () => {
    const msgs = await callAll<string>(backend, 1, ranks, 'reuseBadArgument');
    expect(msgs[0]).toMatch(/ArgumentError/);
    expect(msgs[0]).toMatch(/on/);
    expect(msgs[0]).toMatch(/yes/);
  });
});
