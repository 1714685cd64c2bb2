// The `superstep` command as a user runs it: real child processes, exit codes, output.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { closestFlag, peekJob, splitAtScript } from '../core/launch/argv.js';

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

  // util/malloc-tuning.ts: the command restarts itself with glibc settings for its ranks.
  const unsetTuning = { MALLOC_MMAP_THRESHOLD_: undefined, MALLOC_TRIM_THRESHOLD_: undefined, MALLOC_ARENA_MAX: undefined, GLIBC_TUNABLES: undefined, SUPERSTEP_MALLOC_TUNING: undefined };
  it.each(['sab', 'tcp'])('gives %s ranks the malloc tuning, keeps a value the user set, and SUPERSTEP_MALLOC_TUNING=0 turns it off', (backend) => {
    const lines = (env: Record<string, string>) => {
      const r = spawnSync(process.execPath, ['bin/superstep.mjs', 'run', '-n', '2', '--backend', backend, 'test/fixtures/print-malloc-env.ts'], {
        cwd: root, encoding: 'utf8', timeout: 60_000, killSignal: 'SIGKILL', env: { ...process.env, ...unsetTuning, ...env },
      });
      expect(r.status, r.stderr).toBe(0);
      return r.stdout.trim().split('\n').sort();
    };
    const rest = '1 glibc.malloc.hugetlb=1';
    expect(lines({})).toEqual([`0 ${256 << 20} ${1 << 30} ${rest}`, `1 ${256 << 20} ${1 << 30} ${rest}`]);
    expect(lines({ MALLOC_MMAP_THRESHOLD_: '1048576' })).toEqual([`0 1048576 ${1 << 30} ${rest}`, `1 1048576 ${1 << 30} ${rest}`]);
    expect(lines({ SUPERSTEP_MALLOC_TUNING: '0' })).toEqual(['0 unset unset unset unset', '1 unset unset unset unset']);
  });

  it('a 1-rank sab job starts without the malloc re-exec (it exchanges nothing)', () => {
    const r = spawnSync(process.execPath, ['bin/superstep.mjs', 'run', '-n', '1', 'test/fixtures/print-malloc-env.ts'], {
      cwd: root, encoding: 'utf8', timeout: 60_000, killSignal: 'SIGKILL', env: { ...process.env, ...unsetTuning },
    });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe('0 unset unset unset unset');
  });

  it('SIGTERM to the command (which runs the job in a child of itself) stops the job', async () => {
    const { spawn } = await import('node:child_process');
    const child = spawn(process.execPath, ['bin/superstep.mjs', 'run', '-n', '2', 'test/fixtures/spin-forever.ts'], { cwd: root, stdio: 'ignore', env: { ...process.env, MALLOC_MMAP_THRESHOLD_: undefined, MALLOC_TRIM_THRESHOLD_: undefined } });
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    await new Promise((r) => setTimeout(r, 3000));
    child.kill('SIGTERM');
    const killer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    const code = await exited;
    clearTimeout(killer);
    expect(code).not.toBe(0);
    expect(code).not.toBeNull();
  }, 40_000);

  it('SIGKILL to the command leaves no process of the job behind (the re-executed child follows its parent)', async () => {
    const { spawn, execFileSync } = await import('node:child_process');
    const token = `superstep-sigkill-${process.pid}-${Date.now()}`;
    const child = spawn(process.execPath, ['bin/superstep.mjs', 'run', '-n', '2', 'test/fixtures/spin-forever.ts', token], { cwd: root, stdio: 'ignore', env: { ...process.env, MALLOC_MMAP_THRESHOLD_: undefined, MALLOC_TRIM_THRESHOLD_: undefined } });
    const alive = () => execFileSync('ps', ['-eo', 'args'], { encoding: 'utf8' }).split('\n').filter((l) => l.includes(token)).length;
    await new Promise((r) => setTimeout(r, 3000));
    expect(alive()).toBeGreaterThan(1); // the command and the child it re-executed
    child.kill('SIGKILL');
    let left = alive();
    for (let i = 0; i < 50 && left > 0; i++) {
      await new Promise((r) => setTimeout(r, 100));
      left = alive();
    }
    expect(left).toBe(0);
  }, 40_000);

  it('a hung job is stopped by --timeout', () => {
    const r = cli(['run', '-n', '2', '--timeout', '2', 'test/fixtures/spin-forever.ts']);
    expect(r.status).toBe(124);
    expect(r.stderr).toMatch(/did not finish within 2000 ms/);
  });

  it.each([
    [['run'], /no script given/],
    [['run', '-n', '0', 'examples/hello.ts'], /-n must be a positive integer; got '0'/],
    [['run', '-n', '2', '--backend', 'udp', 'examples/hello.ts'], /--backend must be 'sab'[^;]*'tcp'[^;]*; got 'udp'/],
    [['run', '-n', '2', 'examples/missing.ts'], /script not found: examples\/missing\.ts/],
    [['run', '--bogus', 'examples/hello.ts'], /unknown option '--bogus'/],
    [['frobnicate'], /unknown command 'frobnicate'/],
  ])('rejects bad usage %j with exit 2 and a clear message', (args, message) => {
    const r = cli(args as string[]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(message);
  });
});

// The command as mpiexec users expect it (issue 14, item 5).
describe('superstep: help, version, mpiexec spellings, errors', () => {
  it.each([[['--help']], [['-h']], [['help']]])('%j prints the usage and exits 0', (args) => {
    const r = cli(args);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/usage: superstep <command>/);
    expect(r.stdout).toMatch(/superstep run -n P/);
  });

  it.each([[['run', '--help']], [['run', '-h']], [['help', 'run']]])('%j prints the usage of run and exits 0', (args) => {
    const r = cli(args);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/usage: superstep run/);
    expect(r.stdout).toMatch(/-n P, -np P, --n=P/);
  });

  it.each([['-V'], ['--version']])('%s prints the version of package.json', (flag) => {
    const { version } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string };
    const r = cli([flag]);
    expect(r.status).toBe(0);
    expect(r.stdout.trim()).toMatch(new RegExp(`^superstep ${version.replace(/\./g, '\\.')} \\(node v`));
  });

  it.each([[['-np', '2']], [['--n=2']]])('%j is -n 2', (flags) => {
    const r = cli(['run', ...flags, 'test/fixtures/hello-js.mjs']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe('js ranks: 0,1');
  });

  it('reads mpiexec spellings and splits at the script', () => {
    expect(splitAtScript(['-np', '4', 'a.ts', '-n', '1'])).toEqual({ flags: ['-n', '4'], script: 'a.ts', args: ['-n', '1'] });
    expect(splitAtScript(['--n=3', '--backend=tcp', 'a.ts'])).toEqual({ flags: ['-n', '3', '--backend', 'tcp'], script: 'a.ts', args: [] });
    expect(splitAtScript(['-n4', '--', 'x.ts', 'y'])).toEqual({ flags: ['-n', '4'], script: 'x.ts', args: ['y'] });
    expect(splitAtScript(['--procs', '2', '--profile', 's.mjs']).flags).toEqual(['--procs', '2', '--profile']);
    expect(splitAtScript(['--bakend', 'tcp', 's.ts']).unknown).toBe('--bakend');
    expect(peekJob(['run', '-np', '4', '--backend', 'tcp', 's.ts'])).toEqual({ procs: 4, backend: 'tcp' });
    expect(peekJob(['run', 's.ts', '-n', '8'])).toEqual({ procs: 1, backend: 'sab' });
    expect(peekJob(['--version'])).toBeUndefined();
    expect(closestFlag('--bakend')).toBe('--backend');
    expect(closestFlag('--timout')).toBe('--timeout');
    expect(closestFlag('--zzzzzzzzzz')).toBeUndefined();
  });

  it('an unknown flag is named with the closest valid one, in one line', () => {
    const r = cli(['run', '-n', '2', '--bakend', 'tcp', 'examples/hello.ts']);
    expect(r.status).toBe(2);
    expect(r.stderr.trim()).toBe("superstep run: unknown option '--bakend'; did you mean '--backend'? (superstep run --help lists them)");
  });

  it('an unknown command is named with the closest one', () => {
    const r = cli(['rnu', 'examples/hello.ts']);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/unknown command 'rnu'; did you mean 'run'\?/);
  });

  it('a missing script is one clear line, not a stack', () => {
    const r = cli(['run', '-n', '2', 'no/such/script.ts']);
    expect(r.status).toBe(2);
    expect(r.stderr.trim().split('\n')).toEqual([`superstep run: script not found: no/such/script.ts (no file ${join(root, 'no/such/script.ts')})`]);
  });

  describe('a syntax error in the script is reported as file:line:column', () => {
    const dir = mkdtempSync(join(tmpdir(), 'superstep-syntax-'));
    afterAll(() => rmSync(dir, { recursive: true, force: true }));
    it.each([
      ['bad.mjs', 'const a = 1;\nconst b = ;\n', 2, 11, /Unexpected token ';'/],
      ['bad.ts', 'const a: number = 1;\nlet b: string = (;\n', 2, 18, /Unexpected ";"/],
    ])('%s', (name, source, line, column, message) => {
      const file = join(dir, name);
      writeFileSync(file, source);
      const r = cli(['run', '-n', '2', file]);
      expect(r.status).toBe(1);
      const first = r.stderr.split('\n')[0]!;
      expect(first).toContain(`SyntaxError: ${file}:${line}:${column}: `);
      expect(first).toMatch(message);
      expect(r.stderr).not.toMatch(/node:internal/);
    });
  });
});
