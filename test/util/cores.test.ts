// The usable core count: bounded by what the scheduler allows, overridable, and what oversubscription means.
import { spawnSync } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { describe, expect, it } from 'vitest';
import { hostCores, oversubscribed, usableCores } from '../../util/cores.js';

const probe = (env: Record<string, string>) =>
  spawnSync(process.execPath, ['--import', 'tsx', '-e', "import('./util/cores.ts').then((m) => console.log(m.usableCores()))"], { env: { ...process.env, ...env }, encoding: 'utf8' });

describe('usable cores', () => {
  it('is at least 1 and at most what the affinity mask allows; ranks beyond it oversubscribe', () => {
    const n = usableCores();
    expect(n).toBeGreaterThanOrEqual(1);
    expect(n).toBeLessThanOrEqual(availableParallelism());
    expect(oversubscribed(n)).toBe(false);
    expect(oversubscribed(n + 1)).toBe(true);
  });

  it('follows the affinity a process is started with (taskset) and SUPERSTEP_CORES', () => {
    const forced = probe({ SUPERSTEP_CORES: '7' });
    expect(forced.stdout.trim()).toBe('7');
    const pinned = spawnSync('taskset', ['-c', '0', process.execPath, '--import', 'tsx', '-e', "import('./util/cores.ts').then((m) => console.log(m.usableCores()))"], { encoding: 'utf8' });
    // Without taskset on this machine, nothing to compare.
    if (pinned.error) return;
    expect(pinned.stdout.trim()).toBe('1');
  });

  it("counts the host's cores for ranks an MPI launcher bound to one core each (the mask says 1)", () => {
    const script = "import('./util/cores.ts').then((m) => console.log(m.usableCores(), m.hostCores(), m.oversubscribed(2, true)))";
    const pinned = spawnSync('taskset', ['-c', '0', process.execPath, '--import', 'tsx', '-e', script], { encoding: 'utf8', env: { ...process.env, SUPERSTEP_CORES: '' } });
    if (pinned.error) return;
    const [usable, host, over] = pinned.stdout.trim().split(' ');
    expect(usable).toBe('1');
    expect(Number(host)).toBe(hostCores());
    expect(Number(host)).toBeGreaterThanOrEqual(usableCores());
    expect(over).toBe(String(2 > hostCores()));
  });
});
