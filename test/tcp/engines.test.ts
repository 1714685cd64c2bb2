// Scripts started by the engines people already use: mpirun (real, when installed), and the
// environments of MPICH/Hydra, Slurm and Kubernetes Indexed Jobs reproduced on local processes.
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it, vi } from 'vitest';
import { coordinatorAddress, detectEngine, firstSlurmHost, jobSecret, kDefaultCoordPort } from '../../comm/backends/tcp/env.js';
import { parseAddress } from '../../comm/backends/tcp/rendezvous.js';
import { freePort, runProcs } from './procs.js';

// Starting processes is slow on a loaded 2-core machine; each test bounds its own processes.
vi.setConfig({ testTimeout: 120_000 });

const root = fileURLToPath(new URL('../../', import.meta.url));

function hasMpirun(): boolean {
  try {
    execFileSync('mpirun', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

function parseLines(out: string): { rank: number; size: number; sum: number; engine: string }[] {
  return out
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => {
      const { addresses: _, ...rest } = JSON.parse(l);
      return rest;
    })
    .sort((a, b) => a.rank - b.rank);
}

describe('engine environments', () => {
  it('recognises each engine by its variables', () => {
    expect(detectEngine({})).toBeUndefined();
    expect(detectEngine({ OMPI_COMM_WORLD_RANK: '2', OMPI_COMM_WORLD_SIZE: '4' })).toEqual({ engine: 'openmpi', rank: 2, size: 4 });
    expect(detectEngine({ PMI_RANK: '1', PMI_SIZE: '3' })).toEqual({ engine: 'pmi', rank: 1, size: 3 });
    expect(detectEngine({ SLURM_PROCID: '5', SLURM_NTASKS: '8' })).toEqual({ engine: 'slurm', rank: 5, size: 8 });
    expect(detectEngine({ JOB_COMPLETION_INDEX: '0', SUPERSTEP_SIZE: '2' })).toEqual({ engine: 'kubernetes', rank: 0, size: 2 });
    expect(detectEngine({ JOB_COMPLETION_INDEX: '0' })).toBeUndefined(); // no size: not a job superstep can join
    // superstep's own variables win.
    expect(detectEngine({ SUPERSTEP_RANK: '1', SUPERSTEP_SIZE: '2', SLURM_PROCID: '0', SLURM_NTASKS: '1' })?.engine).toBe('superstep');
    expect(() => detectEngine({ PMI_RANK: '3', PMI_SIZE: '3' })).toThrow(/PMI_RANK.*below PMI_SIZE=3.*Value: `3`/);
    expect(() => detectEngine({ PMI_RANK: 'x', PMI_SIZE: '3' })).toThrow(/non-negative integer/);
  });

  it('finds the coordinator: SUPERSTEP_COORD, else rank 0 host at the fixed port', () => {
    expect(coordinatorAddress({ SUPERSTEP_COORD: 'node7:9000' })).toEqual({ host: 'node7', port: 9000 });
    expect(coordinatorAddress({ SUPERSTEP_COORD: '[::1]:9000' })).toEqual({ host: '::1', port: 9000 });
    expect(coordinatorAddress({})).toEqual({ host: '127.0.0.1', port: kDefaultCoordPort });
    expect(coordinatorAddress({ SLURM_PROCID: '3', SLURM_JOB_NODELIST: 'cn[04-07,12],gpu1', SUPERSTEP_PORT: '7000' })).toEqual({ host: 'cn04', port: 7000 });
    expect(firstSlurmHost('gpu1,gpu2')).toBe('gpu1');
    expect(() => parseAddress('nohost')).toThrow(/SUPERSTEP_COORD.*'host:port'/);
    expect(jobSecret({ SUPERSTEP_SECRET: 'x' })).toMatchObject({ derived: false });
    const a = jobSecret({ SLURM_JOB_ID: '1' });
    expect(a.derived).toBe(true);
    expect(Buffer.compare(a.secret, jobSecret({ SLURM_JOB_ID: '2' }).secret)).not.toBe(0);
  });

  const engines: [string, (rank: number, size: number, port: number) => Record<string, string>][] = [
    ['pmi', (r, n, port) => ({ PMI_RANK: String(r), PMI_SIZE: String(n), SUPERSTEP_COORD: `127.0.0.1:${port}`, SUPERSTEP_SECRET: 's' })],
    ['slurm', (r, n, port) => ({ SLURM_PROCID: String(r), SLURM_NTASKS: String(n), SLURM_JOB_NODELIST: 'localhost', SLURM_JOB_ID: '42', SUPERSTEP_PORT: String(port) })],
    ['kubernetes', (r, n, port) => ({ JOB_COMPLETION_INDEX: String(r), SUPERSTEP_SIZE: String(n), SUPERSTEP_COORD: `localhost:${port}`, SUPERSTEP_SECRET: 'k8s' })],
  ];
  it.each(engines)('a script joins its job from a %s environment, with no launcher', async (engine, env) => {
    const port = await freePort();
    const res = await runProcs([0, 1, 2].map((r) => ({ argv: ['--import', 'tsx', 'test/fixtures/engine-job.ts'], env: env(r, 3, port) })), 90_000, root);
    for (const r of res) expect(r, r.stderr).toMatchObject({ code: 0, timedOut: false });
    expect(parseLines(res.map((r) => r.stdout).join('\n'))).toEqual([0, 1, 2].map((rank) => ({ rank, size: 3, sum: 3, engine })));
  });
});

describe('under a real mpirun', () => {
  const mpirun = hasMpirun();
  if (!mpirun) console.warn('skipping the mpirun tests: mpirun is not installed (Debian: apt-get install openmpi-bin)');
  it.skipIf(!mpirun)('mpirun -n 4 --oversubscribe node --import tsx script.ts runs one tcp job', async () => {
    const port = await freePort();
    const env = { OMPI_ALLOW_RUN_AS_ROOT: '1', OMPI_ALLOW_RUN_AS_ROOT_CONFIRM: '1', SUPERSTEP_COORD: `127.0.0.1:${port}`, SUPERSTEP_SECRET: 'mpi' };
    const [r] = await runProcs([{ command: 'mpirun', argv: ['-n', '4', '--oversubscribe', '-x', 'SUPERSTEP_COORD', '-x', 'SUPERSTEP_SECRET', 'node', '--import', 'tsx', 'test/fixtures/engine-job.ts'], env }], 90_000, root);
    expect(r!.code, r!.stderr).toBe(0);
    expect(parseLines(r!.stdout)).toEqual([0, 1, 2, 3].map((rank) => ({ rank, size: 4, sum: 6, engine: 'openmpi' })));
  });

  it.skipIf(!mpirun)('the documented hello example runs under mpirun', async () => {
    const env = { OMPI_ALLOW_RUN_AS_ROOT: '1', OMPI_ALLOW_RUN_AS_ROOT_CONFIRM: '1', SUPERSTEP_PORT: String(await freePort()) };
    // docs/tcp.md: mpirun -n 4 --oversubscribe node --import tsx examples/hello.ts
    const [r] = await runProcs([{ command: 'mpirun', argv: ['-n', '4', '--oversubscribe', '-x', 'SUPERSTEP_PORT', 'node', '--import', 'tsx', 'examples/hello.ts'], env }], 90_000, root);
    expect(r!.code, r!.stderr).toBe(0);
    for (let k = 0; k < 4; k++) expect(r!.stdout).toContain(`rank ${k} got "greetings from ${(k + 3) % 4}" from rank ${(k + 3) % 4}`);
  });
});
