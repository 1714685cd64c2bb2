// #13 item 1: an unhandled rejection or an async throw from a timer while the rank waits in its
// last bsp.sync() (or after its last line) fails the run naming the rank, on every backend.
import { fileURLToPath } from 'node:url';
import { describe, expect, it, vi } from 'vitest';
import { runDetailed } from '../core/launch/run.js';
import { backends } from './harness.js';

vi.setConfig({ testTimeout: 120_000 });
const script = fileURLToPath(new URL('./fixtures/late-rejection.ts', import.meta.url));

describe.each(backends().filter((b) => b === 'sab' || b === 'tcp'))('%s', (backend) => {
  // [how, the victim's timer (ms), how long the others wait before their last sync (ms)]
  const cases: [string, number, number][] = [
    ['reject', 100, 0], // fires after every rank's last sync: while the job winds down
    ['throw', 100, 150], // fires while the victim waits in its last sync
    ['reject', 100, 100], // the same moment: the race that used to exit 0
  ];
  it.each(cases)('%s from a timer at %i ms, the others sync at %i ms: the run fails, naming rank 1', async (how, at, others) => {
    const out = await runDetailed({ procs: 3, backend: backend as 'sab' | 'tcp', timeoutMs: 60_000 }, script, ['1', how, String(at), String(others)]);
    expect(out.ok).toBe(false);
    expect(out.failure?.rank).toBe(1);
    expect(out.failure?.error.message).toMatch(how === 'throw' ? /async throw on rank 1|rank 1 exited with code 1/ : /unhandled rejection on rank 1|rank 1 exited with code 1/);
    expect(out.statuses.find((s) => s.rank === 1)?.exitCode).not.toBe(0);
  });
});
