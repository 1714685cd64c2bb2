// #20: ending the process the user started (npx, node_modules/.bin, npm exec, a package.json
// script, a shell wrapper) with SIGKILL or SIGTERM ends the launcher and every rank within
// 2 s, on sab and tcp; 5 s after the kill no process of the job is left.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { procStat } from '../util/parent-watch.js';

vi.setConfig({ testTimeout: 120_000 });

const root = fileURLToPath(new URL('../', import.meta.url));
const job = join(root, 'test/fixtures/long-job.ts');

/** A project that depends on superstep (a link to this checkout), as a user's would. */
const project = mkdtempSync(join(tmpdir(), 'superstep-launch-'));
mkdirSync(join(project, 'node_modules/.bin'), { recursive: true });
symlinkSync(root, join(project, 'node_modules/superstep'));
symlinkSync('../superstep/bin/superstep.mjs', join(project, 'node_modules/.bin/superstep'));
afterAll(() => rmSync(project, { recursive: true, force: true }));

/** Pids of live processes whose environment holds `mark` (zombies have none). */
export function processesWith(mark: string): number[] {
  const out: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d) || Number(d) === process.pid) continue;
    try {
      if (readFileSync(`/proc/${d}/environ`, 'latin1').includes(mark) && procStat(Number(d))?.state !== 'Z') out.push(Number(d));
    } catch {
      /* gone or not ours */
    }
  }
  return out;
}

type Form = 'npx' | 'bin' | 'npm exec' | 'npm run' | 'shell wrapper';

function start(form: Form, backend: string, env: Record<string, string>): ChildProcess {
  const args = ['run', '-n', '2', '--backend', backend, job, '60'];
  const quoted = args.map((a) => JSON.stringify(a)).join(' ');
  let command: string;
  let argv: string[];
  if (form === 'npx') [command, argv] = ['npx', ['--no-install', 'superstep', ...args]];
  else if (form === 'bin') [command, argv] = [join(project, 'node_modules/.bin/superstep'), args];
  else if (form === 'npm exec') [command, argv] = ['npm', ['exec', '--no', '--', 'superstep', ...args]];
  else if (form === 'npm run') {
    writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'user-project', private: true, scripts: { job: `superstep ${quoted}` } }));
    [command, argv] = ['npm', ['run', '--silent', 'job']];
  } else {
    // Not `exec`: the shell stays the parent, as most wrapper scripts leave it.
    writeFileSync(join(project, 'job.sh'), `#!/bin/sh\nnode_modules/.bin/superstep ${quoted}\necho "job ended with $?"\n`);
    chmodSync(join(project, 'job.sh'), 0o755);
    [command, argv] = [join(project, 'job.sh'), []];
  }
  // Its own process group, so that the test can clean up whatever happens.
  return spawn(command, argv, { cwd: project, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
}

async function until(cond: () => boolean, ms: number, every = 50): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (cond()) return true;
    await new Promise((r) => setTimeout(r, every));
  }
  return cond();
}

/** At most two jobs at a time: each is 4-6 processes on a shared 2-core machine. */
let slots = 2;
const waiting: (() => void)[] = [];
async function slot<T>(f: () => Promise<T>): Promise<T> {
  while (slots === 0) await new Promise<void>((r) => waiting.push(r));
  slots--;
  try {
    return await f();
  } finally {
    slots++;
    waiting.shift()?.();
  }
}

const forms: Form[] = ['npx', 'bin', 'npm exec', 'npm run', 'shell wrapper'];
const signals = ['SIGKILL', 'SIGTERM'] as const;

describe.concurrent('ending the command that started the job ends the whole job', () => {
  forms.forEach((form, i) =>
    signals.forEach((sig, j) => {
      // Both backends for each signal, and each start form, across the 10 cases.
      const backend = (i + j) % 2 === 0 ? 'sab' : 'tcp';
      it(`${form}, ${sig}, ${backend}: nothing left 5 s after the kill, all gone within 2 s`, () => slot(async () => {
        const mark = `SUPERSTEP_LAUNCH_MARK=${process.pid}-${i}-${j}-${Date.now()}`;
        const [k, v] = mark.split('=') as [string, string];
        const child = start(form, backend, { [k]: v });
        let out = '';
        child.stdout!.on('data', (d) => (out += d));
        child.stderr!.on('data', (d) => (out += d));
        try {
          expect(await until(() => out.includes('running'), 60_000, 100), `the job did not start: ${out}`).toBe(true);
          // The launcher and both ranks are running under the started process: on tcp the launcher
          // and two rank processes; on sab the launcher re-executed under the malloc settings
          // (util/malloc-tuning.ts) with its rank threads.
          expect(processesWith(mark).length).toBeGreaterThanOrEqual(backend === 'tcp' ? 3 : 2);
          const t0 = Date.now();
          process.kill(child.pid!, sig);
          const gone = await until(() => processesWith(mark).length === 0, 5000);
          const took = Date.now() - t0;
          await new Promise((r) => setTimeout(r, Math.max(0, 5000 - took)));
          expect(gone).toBe(true);
          expect(processesWith(mark)).toEqual([]);
          expect(took, `${form} ${sig}: the job took ${took} ms to end`).toBeLessThan(2000);
        } finally {
          try {
            process.kill(-child.pid!, 'SIGKILL');
          } catch {
            /* all gone */
          }
          for (const pid of processesWith(mark)) process.kill(pid, 'SIGKILL');
        }
      }));
    }),
  );

  it('SIGTERM and SIGINT to the launcher stop the job: ranks say they were stopped, exit 128 + signal', () => slot(async () => {
    for (const [sig, code, backend] of [['SIGTERM', 143, 'tcp'], ['SIGINT', 130, 'sab']] as const) {
      const child = spawn(process.execPath, [join(root, 'bin/superstep.mjs'), 'run', '-n', '2', '--backend', backend, job, '60'], {
        cwd: root,
        env: { ...process.env, SUPERSTEP_MALLOC_TUNING: '0' },
        stdio: ['ignore', 'pipe', 'pipe'],
        detached: true,
      });
      let out = '';
      child.stdout!.on('data', (d) => (out += d));
      child.stderr!.on('data', (d) => (out += d));
      const exited = new Promise<number | null>((r) => child.on('close', (c) => r(c)));
      try {
        expect(await until(() => out.includes('running'), 60_000, 100)).toBe(true);
        process.kill(child.pid!, sig);
        expect(await exited).toBe(code);
        expect(out).toMatch(new RegExp(`superstep: job stopped: the launcher got ${sig}`));
        expect(out).toMatch(/rank [01] stopped: .*job stopped/);
      } finally {
        try {
          process.kill(-child.pid!, 'SIGKILL');
        } catch {
          /* gone */
        }
      }
    }
  }));
});
