// The commands docs/tcp.md tells users to run (the mpirun, --hosts and network-namespace ones
// run in engines.test.ts, hosts.test.ts and netns.test.ts).
import { fileURLToPath } from 'node:url';
import { describe, expect, it, vi } from 'vitest';
import { runProcs } from './procs.js';

// Starting processes is slow on a loaded 2-core machine; each test bounds its own processes.
vi.setConfig({ testTimeout: 120_000 });

const root = fileURLToPath(new URL('../../', import.meta.url));

describe('docs/tcp.md', () => {
  it('npx superstep run -n 4 --backend tcp examples/hello.ts, and examples/run-tcp.ts', async () => {
    const [cli, api] = await runProcs(
      [
        { command: 'npx', argv: ['superstep', 'run', '-n', '4', '--backend', 'tcp', 'examples/hello.ts'] },
        { argv: ['--import', 'tsx', 'examples/run-tcp.ts'] },
      ],
      90_000,
      root,
    );
    for (const r of [cli!, api!]) {
      expect(r.code, r.stderr).toBe(0);
      for (let k = 0; k < 4; k++) expect(r.stdout).toContain(`rank ${k} got "greetings from ${(k + 3) % 4}"`);
    }
    expect(api!.stdout).toMatch(/rank 3: ok \(exit 0\)/);
  });
});
