/**
 * The fault soak (#13, #20, #21): a seeded campaign of runs of `superstep run` over backends x
 * P x fault kinds, at random supersteps inside a sync, a collective or a global-array op
 * (test/fixtures/soak-job.ts). Prints a table: runs, hangs, wrong exit codes, failing rank
 * not named in the launcher's first line, orphans 5 s after the end, median and max time from
 * the fault to the launcher's exit.
 *
 *   scripts/soak.sh [--runs 1000] [--seed 1] [--backends sab,tcp] [--procs 2,4,8]
 *                   [--kinds throw,reject,...] [--victim N|last] [--parallel 2] [--json]
 *
 * `--victim` fixes which rank the fault hits (default: a random rank each run); the table then
 * has a row per P as well, e.g. #21's case: `--backends tcp --kinds sigstop --procs 2,4
 * --victim 0 --runs 40` (20 per P).
 *
 * Kinds: throw, reject, unhandled, asyncthrow, exit, loop (with --timeout), sigkill and
 * sigstop of a rank (tcp: a rank is a process; on sab a rank is a thread, so these become the
 * launcher's), sigkill-launcher, sigstop-launcher (stopped 3 s, then continued: the job must
 * finish), skip (a rank skips a collective) and mismatch (mismatched collective arguments: a
 * CollectiveMismatchError on every rank, which names the operations rather than one rank).
 */
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../', import.meta.url));
const arg = (name: string, dflt: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1]! : dflt;
};
const runs = Number(arg('runs', '1000'));
let seed = Number(arg('seed', '1'));
const backends = arg('backends', 'sab,tcp').split(',');
const procsList = arg('procs', '2,4,8').split(',').map(Number);
const allKinds = ['throw', 'reject', 'unhandled', 'asyncthrow', 'exit', 'loop', 'sigkill', 'sigstop', 'sigkill-launcher', 'sigstop-launcher', 'skip', 'mismatch'];
const kinds = arg('kinds', allKinds.join(',')).split(',');
const parallel = Number(arg('parallel', '2'));
// A skipped or mismatched collective is every rank's error (CollectiveMismatchError names the
// operation each rank called), not one failing rank's: the headline need not name the victim.
const kNoVictim = new Set(['skip', 'mismatch']);
const victimArg = arg('victim', 'random');
const kHangMs = Number(arg('hang-ms', '90000'));

const rand = (n: number) => {
  seed = (seed * 1103515245 + 12345) % 2 ** 31;
  return Math.floor((seed / 2 ** 31) * n);
};

interface Result {
  backend: string;
  procs: number;
  kind: string;
  hang: boolean;
  /** The run's command, both streams and (for a hang) its processes' states: written out for a bad run. */
  log: string;
  wrongExit: boolean;
  notNamed: boolean;
  orphans: number;
  faultToExit?: number;
  victim: number;
  detail: string;
}

/** Whether `pid` has exited (gone, or a zombie not yet reaped). */
function exited(pid: number): boolean {
  try {
    return /\) Z /.test(readFileSync(`/proc/${pid}/stat`, 'latin1'));
  } catch {
    return true;
  }
}

/** pid, state and command line of a process, and the syscall it waits in (when readable). */
function describeProcess(pid: number): string {
  const read = (f: string) => {
    try {
      return readFileSync(`/proc/${pid}/${f}`, 'latin1');
    } catch {
      return '';
    }
  };
  const state = /State:\s*(.*)/.exec(read('status'))?.[1] ?? '?';
  const threads = /Threads:\s*(\d+)/.exec(read('status'))?.[1] ?? '?';
  return `${pid} [${state}, ${threads} threads, wchan ${read('wchan') || '?'}] ${read('cmdline').split('\0').join(' ').slice(0, 200)}`;
}

function processesWith(mark: string): number[] {
  const out: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d) || Number(d) === process.pid) continue;
    try {
      if (!readFileSync(`/proc/${d}/environ`, 'latin1').includes(mark)) continue;
      if (/\) Z /.test(readFileSync(`/proc/${d}/stat`, 'latin1'))) continue;
      out.push(Number(d));
    } catch {
      /* gone */
    }
  }
  return out;
}

async function one(i: number, backend: string, procs: number, kind: string): Promise<Result> {
  // On sab a rank is a thread: signals to "a rank" are signals to the launcher.
  const k = backend === 'sab' && (kind === 'sigkill' || kind === 'sigstop') ? `${kind}-launcher` : kind;
  const victim = victimArg === 'random' ? rand(procs) : victimArg === 'last' ? procs - 1 : Number(victimArg);
  const at = 1 + rand(6);
  const where = ['sync', 'collective', 'global'][rand(3)]!;
  const mark = `SUPERSTEP_SOAK_MARK=${process.pid}-${i}`;
  const rankFault = !k.endsWith('-launcher');
  const args = ['bin/superstep.mjs', 'run', '-n', String(procs), '--backend', backend, ...(k === 'loop' ? ['--timeout', '10'] : []), 'test/fixtures/soak-job.ts', rankFault ? k : 'none', String(victim), String(at), where, rankFault ? '12' : '40'];
  const child = spawn(process.execPath, args, { cwd: root, env: { ...process.env, [mark.split('=')[0]!]: mark.split('=')[1]! }, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let out = '';
  let err = '';
  let faultAt: number | undefined;
  child.stdout.on('data', (d) => {
    out += d;
    if (!rankFault && faultAt === undefined && out.includes('SOAK-RUNNING')) {
      // The launcher's fault, at a random moment of the running job (40 supersteps of >= 20 ms:
      // the job outlasts the delay, so the fault lands in it, not in the launcher's exit).
      setTimeout(() => {
        // A job that already ended (its 12 supersteps can take less than the delay) got no
        // fault: that run is judged as a clean one, not as a launcher that ignored SIGKILL.
        if (child.exitCode !== null || child.signalCode !== null || exited(child.pid!)) return;
        try {
          process.kill(child.pid!, k === 'sigkill-launcher' ? 'SIGKILL' : 'SIGSTOP');
          faultAt = Date.now();
        } catch {
          return; /* already gone */
        }
        if (k === 'sigstop-launcher') setTimeout(() => child.pid && process.kill(child.pid, 'SIGCONT'), 3000);
      }, rand(300));
    }
  });
  child.stderr.on('data', (d) => {
    err += d;
    const m = /SOAK-FAULT (\d+)/.exec(err);
    if (m && faultAt === undefined) faultAt = Number(m[1]);
  });
  let hang = false;
  let hangState = '';
  const timer = setTimeout(() => {
    hang = true;
    // What each process of the job was doing when the run was declared hung, for the log.
    hangState = processesWith(mark).map(describeProcess).join('\n');
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      /* gone */
    }
  }, kHangMs);
  const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((r) => child.on('close', (c, s) => r([c, s])));
  const ended = Date.now();
  clearTimeout(timer);
  // After SIGKILL of the launcher its ranks may outlive it by the watch interval: give them 5 s.
  // Once no process carries the mark none can appear (only a marked process could start one),
  // so the wait ends there.
  let left = processesWith(mark);
  for (const until = Date.now() + 5000; left.length > 0 && Date.now() < until; left = processesWith(mark)) await new Promise((r) => setTimeout(r, 100));
  for (const pid of left) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
  let wrongExit: boolean;
  if (!rankFault && faultAt === undefined) wrongExit = code !== 0;
  // SIGKILL cannot be caught: a launcher that still exited 0 had finished the job (SOAK-DONE)
  // and exited between the check above and the kill, which then hit a zombie.
  else if (k === 'sigkill-launcher') wrongExit = signal !== 'SIGKILL' && !(code === 0 && out.includes('SOAK-DONE'));
  else if (k === 'sigstop-launcher') wrongExit = code !== 0;
  else if (k === 'loop') wrongExit = code !== 124;
  else wrongExit = code === 0 || code === null;
  const headline = err.split('\n').find((l) => l.startsWith('superstep:')) ?? '';
  const log = `${args.join(' ')}\nfault at ${faultAt ?? 'never'}; ended ${ended}; code ${code} signal ${signal}\n--- processes at the hang\n${hangState}\n--- stdout\n${out}\n--- stderr\n${err}`;
  const notNamed = rankFault && k !== 'loop' && !kNoVictim.has(k) && !headline.includes(`rank ${victim}`);
  return {
    backend,
    procs,
    kind: k,
    hang,
    wrongExit: !hang && wrongExit,
    notNamed: !hang && notNamed,
    orphans: left.length,
    faultToExit: faultAt !== undefined && k !== 'sigstop-launcher' ? ended - faultAt : undefined,
    log,
    victim,
    detail: `${backend} P=${procs} ${k} victim=${victim} at=${at} ${where}: code=${code} signal=${signal} ${headline.slice(0, 160)}`,
  };
}

const plan: [string, number, string][] = [];
for (let i = 0; i < runs; i++) plan.push([backends[i % backends.length]!, procsList[rand(procsList.length)]!, kinds[rand(kinds.length)]!]);
const results: Result[] = [];
let next = 0;
const started = performance.now();
/** A line on stderr every 5% of the runs (a long campaign is not silent for an hour). */
function progress(): void {
  const n = results.length;
  const step = Math.max(1, Math.round(plan.length / 20));
  if (n % step !== 0 && n !== plan.length) return;
  const perMin = n / ((performance.now() - started) / 60_000);
  const bad = results.filter((r) => r.hang || r.wrongExit || r.notNamed || r.orphans > 0).length;
  const eta = n < plan.length ? `, about ${Math.ceil((plan.length - n) / perMin)} min left` : '';
  process.stderr.write(`soak: ${n}/${plan.length} runs, ${bad} bad, ${perMin.toFixed(1)} runs/min${eta}\n`);
}
await Promise.all(
  Array.from({ length: parallel }, async () => {
    while (next < plan.length) {
      const i = next++;
      const [b, p, k] = plan[i]!;
      const r = await one(i, b, p, k);
      results.push(r);
      const bad = r.hang || r.wrongExit || r.notNamed || r.orphans > 0;
      let saved = '';
      if (bad) {
        saved = join(tmpdir(), `superstep-soak-${process.pid}-run${i}.log`);
        writeFileSync(saved, r.log);
      }
      if (bad || process.argv.includes('--verbose')) process.stderr.write(`${bad ? 'BAD ' : ''}${r.detail}${r.hang ? ' HANG' : ''}${r.orphans ? ` orphans=${r.orphans}` : ''}${saved ? ` (log: ${saved})` : ''}\n`);
      progress();
    }
  }),
);

const median = (xs: number[]) => (xs.length ? [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]! : NaN);
const rows = new Map<string, Result[]>();
for (const r of results) {
  const key = victimArg === 'random' ? `${r.backend} ${r.kind}` : `${r.backend} ${r.kind} P=${r.procs} rank ${r.victim}`;
  rows.set(key, [...(rows.get(key) ?? []), r]);
}
const line = (name: string, rs: Result[]) => {
  const t = rs.map((r) => r.faultToExit).filter((x): x is number => x !== undefined);
  const cols = [name.padEnd(26), rs.length, rs.filter((r) => r.hang).length, rs.filter((r) => r.wrongExit).length, rs.filter((r) => r.notNamed).length, rs.reduce((s, r) => s + r.orphans, 0), t.length ? (median(t) / 1000).toFixed(2) : '-', t.length ? (Math.max(...t) / 1000).toFixed(2) : '-'];
  return `| ${cols.map(String).join(' | ')} |`;
};
console.log('| backend kind               | runs | hangs | wrong exit | rank not named | orphans | median fault->exit s | max s |');
console.log('| --- | --- | --- | --- | --- | --- | --- | --- |');
for (const [k, rs] of [...rows].sort()) console.log(line(k, rs));
console.log(line('total', results));
const bad = results.filter((r) => r.hang || r.wrongExit || r.notNamed || r.orphans > 0);
if (process.argv.includes('--json')) console.log(JSON.stringify({ runs: results.length, bad: bad.length }));
process.exitCode = bad.length ? 1 : 0;
