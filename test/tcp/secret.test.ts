// #22 items 1, 2, 7: no job secret anyone can compute, the secret kept from subprocesses, and a
// flood of strangers logged at a bounded rate.
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it, vi } from 'vitest';
import { jobSecret, readSecretFile } from '../../comm/backends/tcp/env.js';
import { createTcpTransport } from '../../comm/backends/tcp/transport.js';
import { SecretError } from '../../util/errors.js';
import { rateLimited } from '../../util/rate-log.js';
import { freePort, runProcs } from './procs.js';

vi.setConfig({ testTimeout: 120_000 });
const root = fileURLToPath(new URL('../../', import.meta.url));

describe('the job secret', () => {
  it('a multi-rank job without one refuses to start, saying how to pass one; one rank needs none', () => {
    expect(() => jobSecret({ SUPERSTEP_RANK: '0', SUPERSTEP_SIZE: '2' }, 2, 0)).toThrow(SecretError);
    expect(() => jobSecret({}, 2, 0)).toThrow(/SUPERSTEP_SECRET=.*SUPERSTEP_SECRET_FILE=.*chmod 600.*superstep run --backend tcp/);
    expect(jobSecret({}, 1).secret.byteLength).toBe(32);
    expect(Buffer.from(jobSecret({ SUPERSTEP_SECRET: 'abc' }, 4).secret).toString()).toBe('abc');
    // Under mpirun: the job's random key, which only its processes' environments hold.
    const a = jobSecret({ OMPI_MCA_orte_precondition_transports: 'c45180dcc7bc9376-6f42a5ce73f045a7' }, 4).secret;
    const b = jobSecret({ OMPI_MCA_orte_precondition_transports: 'c45180dcc7bc9376-6f42a5ce73f045a8' }, 4).secret;
    expect(a.byteLength).toBe(32);
    expect(Buffer.compare(a, b)).not.toBe(0);
    // A job id is no secret: Slurm's alone is refused.
    expect(() => jobSecret({ SLURM_JOB_ID: '42', SLURM_PROCID: '0', SLURM_NTASKS: '4' }, 4, 0)).toThrow(SecretError);
  });

  it('a secret file must be this user\'s alone', () => {
    const dir = mkdtempSync(join(tmpdir(), 'superstep-secret-'));
    const file = join(dir, 'secret');
    writeFileSync(file, 'a-long-enough-secret-string\n', { mode: 0o600 });
    expect(readSecretFile(file)).toBe('a-long-enough-secret-string');
    expect(Buffer.from(jobSecret({ SUPERSTEP_SECRET_FILE: file }, 4).secret).toString()).toBe('a-long-enough-secret-string');
    chmodSync(file, 0o644);
    expect(() => readSecretFile(file)).toThrow(/readable or writable by other users \(mode 644\): chmod 600/);
    writeFileSync(join(dir, 'short'), 'x', { mode: 0o600 });
    expect(() => readSecretFile(join(dir, 'short'))).toThrow(/at least 16/);
    expect(() => readSecretFile(join(dir, 'none'))).toThrow(SecretError);
  });

  it('ranks started by hand without a secret exit non-zero with that one error, and accept nobody', async () => {
    const port = await freePort();
    const env = (rank: number) => ({ SUPERSTEP_RANK: String(rank), SUPERSTEP_SIZE: '2', SUPERSTEP_COORD: `127.0.0.1:${port}`, SUPERSTEP_SECRET: '' });
    const res = await runProcs([0, 1].map((rank) => ({ argv: ['--import', 'tsx', 'test/fixtures/engine-job.ts'], env: env(rank) })), 60_000, root);
    for (const r of res) {
      expect(r.timedOut).toBe(false);
      expect(r.code).not.toBe(0);
      expect(r.stderr).toMatch(/SecretError: \[rank [01]\] a 2-rank tcp job needs a job secret/);
      expect(r.stdout).toBe('');
    }
  });

  it('is taken out of process.env: a process a rank starts does not inherit it (launcher and by hand)', async () => {
    const [launched] = await runProcs([{ argv: ['bin/superstep.mjs', 'run', '-n', '2', '--backend', 'tcp', 'test/fixtures/secret-env.ts'] }], 90_000, root);
    expect(launched!.code, launched!.stderr).toBe(0);
    const port = await freePort();
    const env = (rank: number) => ({ SUPERSTEP_RANK: String(rank), SUPERSTEP_SIZE: '2', SUPERSTEP_COORD: `127.0.0.1:${port}`, SUPERSTEP_SECRET: 'by-hand-secret-0123456789' });
    const byHand = await runProcs([0, 1].map((rank) => ({ argv: ['--import', 'tsx', 'test/fixtures/secret-env.ts'], env: env(rank) })), 60_000, root);
    const lines = [launched!, ...byHand].flatMap((r) => r.stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l)));
    expect(lines).toHaveLength(4);
    for (const l of lines) expect(l).toMatchObject({ inEnv: false, inChild: false });
  });
});

describe('refused strangers', () => {
  it('the refusal log is rate-limited: a count per interval', () => {
    let t = 0;
    const lines: string[] = [];
    const log = rateLimited((l) => lines.push(l), 'p: ', { burst: 5, intervalMs: 10_000, what: 'refused connections', now: () => t });
    for (let i = 0; i < 3556; i++) {
      log(`refused ${i}`);
      t += 5;
    }
    t += 10_000;
    log('later');
    expect(lines.slice(0, 5)).toEqual(['refused 0', 'refused 1', 'refused 2', 'refused 3', 'refused 4']);
    // 17.8 s of flood: two intervals of 5 lines and a count each, then the next line.
    expect(lines.length).toBeLessThanOrEqual(2 * (5 + 1) + 1);
    expect(lines.some((l) => /^p: \d+ more refused connections in the last \d+ s/.test(l))).toBe(true);
    expect(lines.at(-1)).toBe('later');
  });

  it('a flood of strangers on a rank writes a handful of lines, and the job goes on', async () => {
    const lines: string[] = [];
    const t = createTcpTransport({ rank: 0, size: 2, secret: new TextEncoder().encode('flood-test-secret'), peerTimeoutMs: 0, log: (l) => lines.push(l), handshakeTimeoutMs: 2000 });
    const addr = await t.listen('127.0.0.1');
    await Promise.all(
      Array.from({ length: 300 }, () =>
        new Promise<void>((resolve) => {
          const s = net.connect(addr.port, '127.0.0.1', () => s.write(Buffer.alloc(80, 7)));
          s.resume();
          s.on('error', () => resolve());
          s.on('close', () => resolve());
        }),
      ),
    );
    await t.close();
    expect(lines.filter((l) => /refused a connection/.test(l))).toHaveLength(5);
    expect(lines.length).toBeLessThanOrEqual(6);
  });
});
