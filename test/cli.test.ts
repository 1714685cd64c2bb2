// The `superstep` command as a user runs it: real child processes, exit codes, output.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('..', import.meta.url));
const cli = (args: string[], timeout = 60_000) =>
  spawnSync(process.execPath, ['bin/superstep.mjs', ...args], { cwd: root, encoding: 'utf8', timeout, killSignal: 'SIGKILL' });

describe('superstep run', () => {
  it('runs examples/hello.ts on 4 ranks', () => {
    const r = cli(['run', '-n', '4', 'examples/hello.ts']);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    for (let q = 0; q < 4; q++) {
      expect(r.stdout).toContain(`hello from rank ${q} of 4`);
      expect(r.stdout).toContain(`rank ${q} got "greetings from ${(q + 3) % 4}" from rank ${(q + 3) % 4}`);
    }
  });

  it('runs examples/pybsp-tutorial.ts on 4 ranks (the README walkthrough)', () => {
    const r = cli(['run', '-n', '4', 'examples/pybsp-tutorial.ts']);
    expect(r.status, r.stderr).toBe(0);
    for (let q = 0; q < 4; q++) {
      const prev = (q + 3) % 4;
      expect(r.stdout).toContain(`[${q}/4] trace of arr.a1 from rank ${prev}: ${(prev + 1) * 10}`);
      expect(r.stdout).toContain(`[${q}/4] packages left: name2`);
    }
  });

  it('runs a plain JavaScript script too', () => {
    const r = cli(['run', '-n', '3', 'test/fixtures/hello-js.mjs']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe('js ranks: 0,1,2');
  });

  it('passes script arguments through as process.argv', () => {
    const r = cli(['run', '-n', '2', '--backend', 'sab', 'test/fixtures/print-args.ts', 'a', '--flag', 'b c']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout.trim().split('\n').sort()).toEqual(['0 ["a","--flag","b c"]', '1 ["a","--flag","b c"]']);
  });

  it('a throwing rank: non-zero exit, the rank, its message and stack on stderr', () => {
    const t0 = Date.now();
    const r = cli(['run', '-n', '4', 'test/fixtures/throw-on-2.ts']);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('superstep: rank 2 failed: Error: boom on rank 2');
    expect(r.stderr).toMatch(/at .*throw-on-2\.ts:3/);
    expect(Date.now() - t0).toBeLessThan(30_000);
  });

  it('process.exit(3) in a rank: the launcher exits with 3', () => {
    const r = cli(['run', '-n', '3', 'test/fixtures/exit-on-1.ts']);
    expect(r.status).toBe(3);
    expect(r.stderr).toContain('rank 1 exited with code 3');
  });

  it('a hung job is stopped by --timeout', () => {
    const r = cli(['run', '-n', '2', '--timeout', '2', 'test/fixtures/spin-forever.ts']);
    expect(r.status).toBe(124);
    expect(r.stderr).toMatch(/did not finish within 2000 ms/);
  });

  it.each([
    [['run'], /no script given/],
    [['run', '-n', '0', 'examples/hello.ts'], /-n must be a positive integer; got '0'/],
    [['run', '-n', '2', '--backend', 'mpi', 'examples/hello.ts'], /--backend must be 'sab' or 'tcp'; got 'mpi'/],
    [['run', '-n', '2', 'examples/missing.ts'], /script not found: examples\/missing\.ts/],
    [['run', '--bogus', 'examples/hello.ts'], /Unknown option '--bogus'/],
    [['frobnicate'], /unknown command 'frobnicate'/],
  ])('rejects bad usage %j with exit 2 and a clear message', (args, message) => {
    const r = cli(args as string[]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(message);
  });
});
