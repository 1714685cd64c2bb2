// Many hosts for real: every rank in its own Linux network namespace with its own address
// (scripts/netns-test.sh), so nothing can depend on a shared loopback or shared memory.
import { fileURLToPath } from 'node:url';
import { describe, expect, it, vi } from 'vitest';
import { runProcs } from './procs.js';

// Starting processes is slow on a loaded 2-core machine; each test bounds its own processes.
vi.setConfig({ testTimeout: 120_000 });

const root = fileURLToPath(new URL('../../', import.meta.url));

describe('tcp across network namespaces', () => {
  it('4 ranks, one per namespace, run one job over the virtual network', async (ctx) => {
    const [r] = await runProcs([{ command: 'bash', argv: ['scripts/netns-test.sh', '4', 'test/fixtures/engine-job.ts'] }], 90_000, root);
    if (r!.code === 77) {
      console.warn(`skipping the network-namespace test: ${r!.stdout.trim()} (run scripts/netns-test.sh by hand as root)`);
      ctx.skip();
    }
    expect(r!.code, r!.stdout + r!.stderr).toBe(0);
    const lines = r!.stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { rank: number; sum: number; addresses: string[] });
    expect(lines.map((l) => l.rank).sort()).toEqual([0, 1, 2, 3]);
    for (const l of lines) {
      expect(l.sum).toBe(6);
      // Each rank sees exactly one address of its own: its namespace's.
      expect(l.addresses).toHaveLength(1);
    }
    expect(new Set(lines.map((l) => l.addresses[0])).size).toBe(4);
  });
});
