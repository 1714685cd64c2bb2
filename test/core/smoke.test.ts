import { afterAll, describe, expect, it } from 'vitest';
import { backends, callAll, closeWorlds } from '../harness.js';

afterAll(closeWorlds);

describe.each(backends())('smoke on %s', (backend) => {
  it.each([1, 2, 3])('all-to-all ids at P=%i', async (p) => {
    const res = await callAll<{ before: number; after: number[] }>(backend, p, 'bsp-basic.ts', 'allToAllIds');
    expect(res).toHaveLength(p);
    for (const r of res) {
      expect(r.before).toBe(0);
      expect(r.after).toEqual([...Array(p).keys()]);
    }
  });
});

describe('sab shared buffers', () => {
  it('shareBuffers hands every rank every rank\'s SharedArrayBuffer', async () => {
    const res = await callAll<number[]>('sab', 3, 'bsp-basic.ts', 'shareBuffersRoundTrip');
    for (const r of res) expect(r).toEqual([100, 101, 102]);
  });
});
