/**
 * The mpi backend as a user meets it (issue 15): the error where no MPI is installed, a script
 * under the machine's own mpirun with SUPERSTEP_BACKEND=mpi, `superstep run --backend mpi`
 * (which starts mpirun itself), and whole failure (a throwing rank ends the job, the exit code
 * is non-zero, no process is left). The conformance suites run on mpi through backends().
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { addonPath, whyUnbuildable } from '../../comm/backends/mpi/build.js';
import { mpi } from '../../comm/backends/mpi/index.js';
import { mpirunCommand } from '../../comm/backends/mpi/mpirun.js';
import { BackendUnavailableError } from '../../util/errors.js';
import { runProcs } from '../tcp/procs.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
/** A PATH with node and nothing else (node may live beside mpicc, as in Debian's /usr/bin). */
function nodeOnlyPath(): string {
  const dir = mkdtempSync(join(tmpdir(), 'superstep-nompi-'));
  symlinkSync(process.execPath, join(dir, 'node'));
  return dir;
}

describe('without MPI', () => {
  it('asking for mpi is one typed error naming what to install', () => {
    const env = { ...process.env, PATH: '/nonexistent', MPICC: undefined, MPI_HOME: undefined };
    expect(whyUnbuildable(env)).toMatch(/no MPI compiler wrapper.*libopenmpi-dev.*libmpich-dev/);
    expect(() => addonPath(env)).toThrow(BackendUnavailableError);
    expect(() => addonPath(env)).toThrow(/backend 'mpi' is not available here: .*apt-get install libopenmpi-dev/);
  });

  it('superstep run --backend mpi says so and exits 2, and the other backends still run', () => {
    const path = nodeOnlyPath();
    const env: NodeJS.ProcessEnv = { ...process.env, PATH: path };
    delete env.MPICC;
    delete env.MPI_HOME;
    const r = spawnSync(process.execPath, ['bin/superstep.mjs', 'run', '-n', '2', '--backend', 'mpi', 'examples/hello.ts'], { cwd: root, env, encoding: 'utf8', timeout: 60_000 });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/backend 'mpi' is not available here: no MPI compiler wrapper \(mpicc\) found; install .*libopenmpi-dev/);
    const ok = spawnSync(process.execPath, ['bin/superstep.mjs', 'run', '-n', '2', 'examples/hello.ts'], { cwd: root, env, encoding: 'utf8', timeout: 60_000 });
    expect(ok.status, ok.stderr).toBe(0);
    rmSync(path, { recursive: true, force: true });
  }, 130_000);
});

const why = mpi.unavailable();
if (why) console.warn(`test/mpi: the tests that start MPI jobs did not run: ${why}`);

/** Command lines of processes whose arguments contain `tag` (none must outlive a test). */
function survivors(tag: string): string[] {
  const ps = spawnSync('ps', ['-eo', 'pid,args'], { encoding: 'utf8' }).stdout;
  return ps.split('\n').filter((l) => l.includes(tag) && !l.includes('ps -eo'));
}

// Defined only where MPI is installed (otherwise the line above says why they did not run).
if (why === undefined) describe("on the machine's MPI", () => {
  const mpirun = (procs: number, script: string, args: string[]) => {
    const { command, args: argv, env } = mpirunCommand(procs, ['node', '--import', 'tsx', script, ...args]);
    return { command, argv, env: { ...env, SUPERSTEP_BACKEND: 'mpi' } };
  };

  it('a script under mpirun with SUPERSTEP_BACKEND=mpi joins the MPI job', async () => {
    const [r] = await runProcs([mpirun(3, 'examples/hello.ts', [])], 120_000, root);
    expect(r!.timedOut).toBe(false);
    expect(r!.code, r!.stderr).toBe(0);
    for (let q = 0; q < 3; q++) expect(r!.stdout).toContain(`hello from rank ${q} of 3`);
  }, 130_000);

  it('a rank that throws prints its rank, message and stack, MPI_Abort ends the job non-zero, no process is left', async () => {
    const tag = `mpi-fail-${randomBytes(4).toString('hex')}`;
    const [r] = await runProcs([mpirun(3, 'test/fixtures/throw-on-2.ts', [tag])], 120_000, root);
    expect(r!.timedOut).toBe(false);
    expect(r!.code).not.toBe(0);
    expect(r!.stderr).toMatch(/superstep: rank 2 failed: Error: boom on rank 2\n\s+at .*throw-on-2\.ts/);
    // Open MPI's own MPI_ABORT banner is not asserted: its help printer can itself fail
    // ("ORTE_ERROR_LOG: Out of resource ... show_help.c") while the abort still ends the job.
    expect(survivors(tag)).toEqual([]);
  }, 130_000);

  it("long allreduce, allgather and alltoall of the world run on MPI's own collectives, right and bit-identical; mismatches and refused arguments behave as on every backend", () => {
    const run = (mode: string) => spawnSync(process.execPath, ['bin/superstep.mjs', 'run', '-n', '3', '--backend', 'mpi', 'test/fixtures/mpi-native.ts', '20000', mode], { cwd: root, encoding: 'utf8', timeout: 120_000 });
    const ok = run('results');
    expect(ok.status, ok.stderr).toBe(0);
    for (let q = 0; q < 3; q++) expect(ok.stdout).toContain(`rank ${q}: engine mpi, split messages, all right`);
    const bad = run('mismatch');
    expect(bad.status).toBe(1);
    expect(bad.stderr).toMatch(/CollectiveMismatchError: \[rank \d\] collective mismatch on a communicator of 3: at call #0 rank \d called (allreduce\(float64 x 20000, SUM\)|allgather\(float64 x 20000\)), rank \d called (allgather|allreduce)/);
    expect(bad.stdout).not.toContain('the mismatch was not seen');
    // Every rank's error is the launcher's summary: no raw stack of an unhandled rejection.
    expect(bad.stderr).not.toMatch(/^AbortedError|rank\.ts:\d+\n/m);
    const refused = run('refuse');
    expect(refused.status, refused.stderr).toBe(0);
    expect(refused.stdout).toContain('rank 1: refused ArgumentError, retry right');
    for (const q of [0, 2]) expect(refused.stdout).toContain(`rank ${q}: refused CollectiveArgumentError, retry right`);
  }, 400_000);

  it('superstep run --backend mpi starts mpirun itself; a throwing rank fails the run and leaves nothing', () => {
    const ok = spawnSync(process.execPath, ['bin/superstep.mjs', 'run', '-n', '3', '--backend', 'mpi', 'examples/hello.ts'], { cwd: root, encoding: 'utf8', timeout: 120_000 });
    expect(ok.status, ok.stderr).toBe(0);
    for (let q = 0; q < 3; q++) expect(ok.stdout).toContain(`hello from rank ${q} of 3`);
    const tag = `mpi-run-${randomBytes(4).toString('hex')}`;
    const bad = spawnSync(process.execPath, ['bin/superstep.mjs', 'run', '-n', '3', '--backend', 'mpi', 'test/fixtures/throw-on-2.ts', tag], { cwd: root, encoding: 'utf8', timeout: 120_000 });
    expect(bad.status).toBe(1);
    expect(bad.stderr).toMatch(/superstep: rank 2 failed: Error: boom on rank 2/);
    expect(survivors(tag)).toEqual([]);
  }, 250_000);
});

/** MPICH beside the default MPI (Debian: libmpich-dev mpich), picked by MPICC and MPIRUN. */
const mpich = { MPICC: '/usr/bin/mpicc.mpich', MPIRUN: '/usr/bin/mpirun.mpich' };
const noMpich = spawnSync(mpich.MPICC, ['-show'], { encoding: 'utf8' }).status === 0 && spawnSync(mpich.MPIRUN, ['--version'], { encoding: 'utf8' }).status === 0
  ? undefined
  : `${mpich.MPICC} or ${mpich.MPIRUN} is missing (Debian: apt-get install libmpich-dev mpich)`;
if (noMpich) console.warn(`test/mpi: the MPICH tests did not run: ${noMpich}`);

if (noMpich === undefined) describe('on MPICH (MPICC and MPIRUN pick it)', () => {
  const env = { ...process.env, ...mpich };
  it('superstep run --backend mpi builds against MPICH, runs collectives (its own too) right at P = 1, 3, 4 and ends quietly', () => {
    for (const [p, layout] of [[1, 'rows'], [3, 'rows'], [4, '2d']] as const) {
      const r = spawnSync(process.execPath, ['bin/superstep.mjs', 'run', '-n', String(p), '--backend', 'mpi', 'examples/matvec.ts', '96', '2', layout], { cwd: root, env, encoding: 'utf8', timeout: 120_000 });
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout).toMatch(new RegExp(`matvec 96 x 96 float64 on ${p} ranks`));
      // UCX's mmap hooks crash Node (native.ts); unmatched messages at MPI_Finalize make UCX
      // warn; an MPI call after MPI_Finalize makes MPICH complain.
      expect(r.stderr).not.toMatch(/UCX +WARN|Segmentation|after finalizing/);
    }
    const native = spawnSync(process.execPath, ['bin/superstep.mjs', 'run', '-n', '3', '--backend', 'mpi', 'test/fixtures/mpi-native.ts', '20000'], { cwd: root, env, encoding: 'utf8', timeout: 120_000 });
    expect(native.status, native.stderr).toBe(0);
    for (let q = 0; q < 3; q++) expect(native.stdout).toContain(`rank ${q}: engine mpi, split messages, all right`);
  }, 400_000);

  it('a throwing rank fails the run with its rank named, and leaves nothing', () => {
    const tag = `mpich-run-${randomBytes(4).toString('hex')}`;
    const bad = spawnSync(process.execPath, ['bin/superstep.mjs', 'run', '-n', '3', '--backend', 'mpi', 'test/fixtures/throw-on-2.ts', tag], { cwd: root, env, encoding: 'utf8', timeout: 120_000 });
    expect(bad.status).toBe(1);
    expect(bad.stderr).toMatch(/superstep: rank 2 failed: Error: boom on rank 2/);
    expect(survivors(tag)).toEqual([]);
  }, 130_000);
});
