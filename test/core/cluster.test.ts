// Pydsm's Cluster (issue 7, section 2): createShared, run, lock, barrier, await using, and
// the vector-addition example run as a user runs it.
import { describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Cluster, type ClusterResources } from 'superstep';
import { fixture } from '../harness.js';

const root = fileURLToPath(new URL('../../', import.meta.url));

describe('Cluster', () => {
  it('shares arrays, runs a function with { pid, arrays, lock, barrier }, survives a failing run, closes with await using', async () => {
    let outer: Cluster | undefined;
    {
      await using cluster = await Cluster.start(3, { timeoutMs: 45_000 });
      outer = cluster;
      const total = cluster.createShared('total', [1], 'float64');
      const grid = cluster.createShared('grid', [2, 3], 'int32');
      expect(cluster.createShared('codes', [2], 'i2')).toBeInstanceOf(Int16Array);
      expect(total).toBeInstanceOf(Float64Array);
      expect(grid).toBeInstanceOf(Int32Array);
      expect(Array.from(grid)).toEqual([0, 0, 0, 0, 0, 0]);
      expect(() => cluster.createShared('total', [2])).toThrow(/not used by another shared array/);
      expect(() => cluster.createShared('bad', [-1])).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG' }));

      // 3 processes x 10 locked read-modify-writes of total[0] (+pid+1 each): 60, seen by all after the barrier.
      const res = await cluster.run<{ pid: number; procs: number; after: number }>(fixture('global.ts'), 'clusterCount', 10);
      expect(res.map((r) => r.pid)).toEqual([0, 1, 2]);
      expect(res.map((r) => r.procs)).toEqual([3, 3, 3]);
      expect(res.map((r) => r.after)).toEqual([60, 60, 60]);
      expect(total[0]).toBe(60); // the same memory as the ranks'

      await expect(cluster.run(fixture('global.ts'), 'clusterThrow')).rejects.toThrow(/rank 1 failed: RangeError: pid 1 refuses/);
      await expect(cluster.run(fixture('global.ts'), 'noSuchFunction')).rejects.toThrow(/no exported function 'noSuchFunction'/);
      // Still usable: the ranks are restarted, the arrays kept.
      total[0] = 0;
      const again = await cluster.run<{ after: number }>(fixture('global.ts'), 'clusterCount', 2);
      expect(again.map((r) => r.after)).toEqual([12, 12, 12]);
      expect(Object.keys(cluster.arrays)).toEqual(['total', 'grid', 'codes']);
    }
    await expect(outer!.run(fixture('global.ts'), 'clusterCount', 1)).rejects.toThrow(expect.objectContaining({ code: 'ERR_CLOSED' }));
  }, 120_000);

  it('Cluster.start rejects a bad size', async () => {
    await expect(Cluster.start(0)).rejects.toThrow(/`n` must be a positive integer/);
  });

  it('examples/pydsm-vector-add.ts runs with `npx tsx` and checks C = A + B', async () => {
    const tsx = fileURLToPath(new URL('../../node_modules/.bin/tsx', import.meta.url));
    const out = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      execFile(tsx, ['examples/pydsm-vector-add.ts', '40'], { cwd: root, timeout: 90_000 }, (err, stdout, stderr) =>
        resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
      );
    });
    expect(out.stderr).toBe('');
    expect(out.code).toBe(0);
    expect(out.stdout).toContain('C = A + B on 4 processes: C[0..4] = [0, 3, 6, 9, 12], sum 2340 (expected 2340)');
  }, 120_000);
});

// Type-level check: the resource object the user's function receives.
export type _Check = ClusterResources['lock']['acquire'];
