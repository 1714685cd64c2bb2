// --hosts FILE through a real ssh: a private sshd on a loopback port (own config, host key and
// authorized key in a temp dir; the machine's /etc/ssh and ~/.ssh are never touched), and
// hosts 127.0.0.1 and localhost with two slots each. Checks that ranks run with the right
// rank and size, that failures end the job, and that no remote rank outlives its job.
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { freePort, runProcs } from './procs.js';

vi.setConfig({ testTimeout: 60_000, hookTimeout: 30_000 });

const root = fileURLToPath(new URL('../../', import.meta.url));
const SSHD = '/usr/sbin/sshd';
const onPath = (cmd: string) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
const missing = [existsSync(SSHD) ? '' : `${SSHD} (apt-get install openssh-server)`, ...['ssh', 'ssh-keygen'].map((c) => (onPath(c) ? '' : `${c} (apt-get install openssh-client)`))].filter(Boolean);
if (missing.length) console.warn(`skipping the real-ssh --hosts tests: not installed: ${missing.join(', ')}`);

/** Pids of processes whose command line contains `tag` (ranks, remote shells, ssh clients). */
const tagged = (tag: string): number[] => {
  const r = spawnSync('pgrep', ['-f', tag], { encoding: 'utf8' });
  return r.stdout.split('\n').filter(Boolean).map(Number).filter((pid) => pid !== process.pid);
};

/** Waits (bounded) for every process carrying `tag` to end; returns the survivors, killed. */
async function survivors(tag: string, withinMs = 10_000): Promise<string[]> {
  const until = Date.now() + withinMs;
  while (tagged(tag).length && Date.now() < until) await new Promise((r) => setTimeout(r, 200));
  const left = tagged(tag).map((pid) => {
    let args = '';
    try {
      args = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
    } catch {}
    return `${pid} ${args}`;
  });
  for (const pid of tagged(tag)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {}
  }
  return left;
}

describe.skipIf(missing.length > 0)('--hosts through a real ssh', () => {
  let dir = '';
  let sshd: ChildProcess | undefined;
  let sshdLog = '';
  let hostsFile = '';
  let env: Record<string, string> = {};

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'superstep-sshd-'));
    for (const name of ['host_key', 'id']) execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'superstep-test', '-f', join(dir, name)]);
    writeFileSync(join(dir, 'authorized_keys'), readFileSync(join(dir, 'id.pub')));
    const port = await freePort();
    writeFileSync(
      join(dir, 'sshd_config'),
      [
        `Port ${port}`,
        'ListenAddress 127.0.0.1',
        `HostKey ${join(dir, 'host_key')}`,
        `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`,
        `PidFile ${join(dir, 'sshd.pid')}`,
        'PermitRootLogin prohibit-password',
        'PasswordAuthentication no',
        'KbdInteractiveAuthentication no',
        'UsePAM no',
        'StrictModes no',
        'X11Forwarding no',
        'AllowTcpForwarding no',
        '',
      ].join('\n'),
    );
    // sshd refuses to start without its privilege-separation directory (made by its init script).
    mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
    sshd = spawn(SSHD, ['-D', '-e', '-f', join(dir, 'sshd_config')], { stdio: ['ignore', 'ignore', 'pipe'] });
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`sshd did not start within 10 s: ${sshdLog}`)), 10_000);
      sshd!.stderr!.on('data', (d) => {
        sshdLog += d;
        if (/Server listening/.test(sshdLog)) {
          clearTimeout(t);
          resolve();
        }
      });
      sshd!.once('exit', (code) => {
        clearTimeout(t);
        reject(new Error(`sshd exited with code ${code}: ${sshdLog}`));
      });
    });
    hostsFile = join(dir, 'hosts');
    writeFileSync(hostsFile, '127.0.0.1:2\nlocalhost:2\n');
    env = {
      SUPERSTEP_RSH: `ssh -F /dev/null -p ${port} -i ${join(dir, 'id')} -o IdentitiesOnly=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o BatchMode=yes -o LogLevel=ERROR`,
    };
  });

  afterAll(async () => {
    if (sshd && sshd.exitCode === null && sshd.signalCode === null) {
      const gone = new Promise((r) => sshd!.once('exit', r));
      sshd.kill('SIGTERM');
      const hard = setTimeout(() => sshd!.kill('SIGKILL'), 3000);
      await gone;
      clearTimeout(hard);
    }
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const run = (args: string[], tag: string, timeoutMs = 40_000) =>
    runProcs([{ argv: ['bin/superstep.mjs', 'run', '--backend', 'tcp', '--hosts', hostsFile, ...args, tag], env }], timeoutMs, root).then((r) => r[0]!);

  it('starts 4 ranks over ssh on two hosts; each has its rank, the size and the secret, and the output arrives', async () => {
    const tag = `ssh-ok-${randomBytes(4).toString('hex')}`;
    const r = await run(['-n', '4', 'test/fixtures/ssh-rank.ts'], tag);
    expect(r.code, r.stderr + sshdLog).toBe(0);
    const lines = r.stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { rank: number; size: number; viaSsh: boolean; secretLength: number; secretInPs: boolean; left: number });
    expect(lines.map((l) => l.rank).sort()).toEqual([0, 1, 2, 3]);
    for (const l of lines) {
      expect(l).toEqual({ rank: l.rank, size: 4, viaSsh: true, secretLength: 64, secretInPs: false, left: (l.rank + 3) % 4 });
    }
    expect(await survivors(tag)).toEqual([]);
  });

  it('a rank that throws ends the job non-zero with its message, and leaves no process behind', async () => {
    const tag = `ssh-throw-${randomBytes(4).toString('hex')}`;
    const r = await run(['-n', '4', 'test/fixtures/throw-on-2.ts'], tag);
    expect(r.timedOut).toBe(false);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/boom on rank 2/);
    expect(await survivors(tag)).toEqual([]);
  });

  it('a job that times out leaves no remote rank running', async () => {
    const tag = `ssh-timeout-${randomBytes(4).toString('hex')}`;
    const r = await run(['-n', '4', '--timeout', '5', 'test/fixtures/spin-forever.ts'], tag);
    expect(r.timedOut).toBe(false);
    expect(r.code).toBe(124); // as on the local launcher
    expect(r.stderr).toMatch(/did not finish within 5000 ms/);
    expect(await survivors(tag)).toEqual([]);
  });

  it('a launcher killed with SIGKILL leaves no remote rank running', async () => {
    const tag = `ssh-kill-${randomBytes(4).toString('hex')}`;
    const launcher = spawn(process.execPath, ['bin/superstep.mjs', 'run', '--backend', 'tcp', '--hosts', hostsFile, '-n', '4', 'test/fixtures/spin-forever.ts', tag], { cwd: root, env: { ...process.env, ...env }, stdio: 'ignore' });
    const exited = new Promise((r) => launcher.once('exit', r));
    try {
      // Wait (bounded) until all four ranks run on the "remote" hosts.
      const ranks = () => spawnSync('pgrep', ['-f', `^${process.execPath} --import tsx .*${tag}`], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean).length;
      const until = Date.now() + 30_000;
      while (ranks() < 4 && Date.now() < until) await new Promise((r) => setTimeout(r, 200));
      expect(ranks()).toBe(4);
    } finally {
      launcher.kill('SIGKILL');
      await exited;
    }
    expect(await survivors(tag)).toEqual([]);
  });
});
