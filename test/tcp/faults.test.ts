// Faults on real processes: a rank killed or frozen mid-superstep, a rank that throws; with the
// superstep launcher (World and CLI) and without one (processes started as an engine would).
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { startWorld, type World } from '../../core/launch/world.js';
import type { TcpWorld } from '../../comm/backends/tcp/launcher.js';
import { closeWorlds, fixture, tryCall } from '../harness.js';
import { freePort, runProcs } from './procs.js';

// Starting processes is slow on a loaded 2-core machine; each test bounds its own processes.
vi.setConfig({ testTimeout: 120_000 });

const root = fileURLToPath(new URL('../../', import.meta.url));
const worlds: World[] = [];
afterAll(async () => {
  await Promise.all(worlds.map((w) => w.close()));
  await closeWorlds();
});

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Pids of processes whose environment holds `mark` (to prove nothing of ours outlives a run). */
function processesWith(mark: string): number[] {
  const out: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d) || Number(d) === process.pid) continue;
    try {
      if (readFileSync(`/proc/${d}/environ`, 'latin1').includes(mark)) out.push(Number(d));
    } catch {
      /* gone or not ours */
    }
  }
  return out;
}

describe('tcp faults under the launcher', () => {
  it('a rank killed with SIGKILL mid-superstep fails every rank, naming it, and leaves no process', async () => {
    const w = (await startWorld({ procs: 4, backend: 'tcp', graceMs: 3000 })) as TcpWorld;
    worlds.push(w);
    const pids = [...w.pids];
    expect((await w.job({ kind: 'call', url: fixture('tcp-faults.ts'), fn: 'warm', args: [] }, { timeoutMs: 60_000 })).ok).toBe(true);
    // The job is bounded by 10 s: a hang shows up as 'timeout' statuses.
    const out = await w.job<string>({ kind: 'call', url: fixture('tcp-faults.ts'), fn: 'signalMidSuperstep', args: [2, 'SIGKILL'] }, { timeoutMs: 10_000 });
    expect(out.ok).toBe(false);
    expect(out.failure?.rank).toBe(2);
    expect(out.failure?.error.message).toMatch(/rank 2 was killed by SIGKILL/);
    for (const s of out.statuses) {
      expect(s.state).not.toBe('timeout');
      expect(s.exitCode).not.toBe(0);
      if (s.rank !== 2) expect(s.error?.message).toMatch(/rank 2/);
    }
    expect(w.alive).toBe(false);
    expect(pids.filter(alive)).toEqual([]);
  });

  it('a rank busy (not awaiting) for longer than the peer timeout survives; SIGSTOP and SIGKILL are still detected', async () => {
    // Heartbeats come from each process's heartbeat worker, so a stalled event loop is not death.
    const env = { SUPERSTEP_PEER_TIMEOUT_MS: '1500' };
    const w = (await startWorld({ procs: 3, backend: 'tcp', graceMs: 1000, env })) as TcpWorld;
    worlds.push(w);
    const pids = [...w.pids];
    expect((await w.job({ kind: 'call', url: fixture('tcp-faults.ts'), fn: 'warm', args: [] }, { timeoutMs: 60_000 })).ok).toBe(true);
    const busy = await w.job<number>({ kind: 'call', url: fixture('tcp-faults.ts'), fn: 'busyMidSuperstep', args: [1, 4000] }, { timeoutMs: 30_000 });
    expect(busy.failure?.error.message).toBeUndefined();
    expect(busy.results).toEqual([6, 6, 6]);
    // A frozen process stops its heartbeat worker too: gone after the peer timeout, and killed.
    const out = await w.job({ kind: 'call', url: fixture('tcp-faults.ts'), fn: 'signalMidSuperstep', args: [1, 'SIGSTOP'] }, { timeoutMs: 10_000 });
    expect(out.ok).toBe(false);
    expect(out.failure?.error.message).toMatch(/rank 1 is gone: no word from it for \d+ ms/);
    expect(out.statuses.every((s) => s.state !== 'timeout')).toBe(true);
    expect(pids.filter(alive)).toEqual([]);

    // The same short timeout, after a busy spell: a killed rank still fails the job at once.
    const w2 = (await startWorld({ procs: 3, backend: 'tcp', graceMs: 1000, env })) as TcpWorld;
    worlds.push(w2);
    const pids2 = [...w2.pids];
    expect((await w2.job({ kind: 'call', url: fixture('tcp-faults.ts'), fn: 'busyMidSuperstep', args: [2, 3000] }, { timeoutMs: 60_000 })).results).toEqual([6, 6, 6]);
    const killed = await w2.job({ kind: 'call', url: fixture('tcp-faults.ts'), fn: 'signalMidSuperstep', args: [2, 'SIGKILL'] }, { timeoutMs: 10_000 });
    expect(killed.ok).toBe(false);
    expect(killed.failure?.error.message).toMatch(/rank 2 was killed by SIGKILL/);
    expect(killed.statuses.every((s) => s.state !== 'timeout')).toBe(true);
    expect(pids2.filter(alive)).toEqual([]);
  });

  it('a rank that throws ends the job on every rank with its message and stack', async () => {
    await tryCall('tcp', 3, 'tcp-faults.ts', 'warm', [], 60_000);
    const out = await tryCall('tcp', 3, 'tcp-faults.ts', 'throwMidSuperstep', [1], 10_000);
    expect(out.ok).toBe(false);
    expect(out.failure?.rank).toBe(1);
    expect(out.failure?.error).toMatchObject({ name: 'RangeError', message: 'rank 1 cannot go on' });
    expect(out.failure?.error.stack).toMatch(/tcp-faults\.ts/);
    for (const s of out.statuses.filter((s) => s.rank !== 1)) {
      expect(s.state).toBe('aborted');
      expect(s.error?.message).toMatch(/rank 1/);
    }
  });

  it('superstep run --backend tcp exits non-zero naming the killed rank, leaving no orphan', async () => {
    const mark = `SUPERSTEP_TEST_MARK=${process.pid}-${Date.now()}`;
    const [k, v] = mark.split('=') as [string, string];
    const [r] = await runProcs([{ argv: ['bin/superstep.mjs', 'run', '-n', '3', '--backend', 'tcp', 'test/fixtures/kill-mid-superstep.ts', '1'], env: { [k]: v } }], 90_000, root);
    expect(r!.code).not.toBe(0);
    expect(r!.stderr).toMatch(/rank 1 failed: ExitError: rank 1 was killed by SIGKILL/);
    expect(processesWith(mark)).toEqual([]);
  });
});

describe('tcp faults without a launcher (engine-started processes)', () => {
  it('SIGKILL of one rank makes every other rank exit non-zero within the bound, naming it', async () => {
    const port = await freePort();
    const env = (rank: number) => ({ SUPERSTEP_RANK: String(rank), SUPERSTEP_SIZE: '3', SUPERSTEP_COORD: `127.0.0.1:${port}`, SUPERSTEP_SECRET: 'faults' });
    const res = await runProcs([0, 1, 2].map((rank) => ({ argv: ['--import', 'tsx', 'test/fixtures/kill-mid-superstep.ts', '1'], env: env(rank) })), 90_000, root);
    expect(res[1]!.signal).toBe('SIGKILL');
    for (const r of [res[0]!, res[2]!]) {
      expect(r.timedOut).toBe(false);
      // The bound the issue sets (default <= 10 s), counted from the death (not from start-up).
      expect(r.endedAt - res[1]!.endedAt).toBeLessThan(10_000);
      expect(r.code).not.toBe(0);
      expect(r.stderr).toMatch(/PeerGoneError|rank 1 is gone/);
      expect(r.stderr).toMatch(/rank 1/);
    }
  });

  it('a throwing rank makes the others fail fast with its message', async () => {
    const port = await freePort();
    const env = (rank: number) => ({ SUPERSTEP_RANK: String(rank), SUPERSTEP_SIZE: '3', SUPERSTEP_COORD: `127.0.0.1:${port}`, SUPERSTEP_SECRET: 'faults' });
    const res = await runProcs([0, 1, 2].map((rank) => ({ argv: ['--import', 'tsx', 'test/fixtures/throw-on-2.ts'], env: env(rank) })), 90_000, root);
    expect(res[2]!.code).not.toBe(0);
    expect(res[2]!.stderr).toMatch(/boom on rank 2/);
    for (const r of [res[0]!, res[1]!]) {
      expect(r.timedOut).toBe(false);
      expect(r.endedAt - res[2]!.endedAt).toBeLessThan(10_000);
      expect(r.code).not.toBe(0);
      expect(r.stderr).toMatch(/job aborted by rank 2: Error: boom on rank 2/);
    }
  });
});
