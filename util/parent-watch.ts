/**
 * Noticing that the command which started this process is gone. Node has no parent-death
 * signal (Linux's PR_SET_PDEATHSIG), and the process a user or a scheduler ends is often not
 * our parent: `npx superstep` is npm -> sh -c -> node, a package.json script adds npm and a
 * shell, a wrapper script adds its shell. Killing the outer one by its pid (SIGKILL, or a
 * SIGTERM that npm does not pass on) leaves the inner ones running.
 *
 * So we watch the chain of ancestors that belong to this process's process group (the
 * "job" a shell or a scheduler started: npx, its sh, a wrapper script) and our immediate
 * parent, by pid and start time (a pid may be reused), and call `onGone` when one of them
 * ends. An ancestor of another process group (an interactive shell that put us in a job of
 * our own, a terminal, an init) is not watched: logging out of a shell that started a
 * background job with `nohup ... &` keeps the job, as before. On systems without /proc only
 * the immediate parent is watched (a change of `process.ppid`).
 */
import { readFileSync } from 'node:fs';

export interface Ancestor {
  pid: number;
  /** The kernel's start time of the process (field 22 of /proc/<pid>/stat). */
  start: string;
  /** Short command name, for messages. */
  comm: string;
}

interface Stat {
  comm: string;
  state: string;
  ppid: number;
  pgrp: number;
  start: string;
}

/** Parses /proc/<pid>/stat (undefined: no such process, or no /proc). */
export function procStat(pid: number): Stat | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'latin1');
  } catch {
    return undefined;
  }
  const open = text.indexOf('(');
  const close = text.lastIndexOf(')');
  if (open < 0 || close < 0) return undefined;
  const f = text.slice(close + 2).split(' ');
  // After "pid (comm) ": state ppid pgrp session tty_nr tpgid flags minflt cminflt majflt cmajflt
  // utime stime cutime cstime priority nice num_threads itrealvalue starttime
  return { comm: text.slice(open + 1, close), state: f[0]!, ppid: Number(f[1]), pgrp: Number(f[2]), start: f[19]! };
}

/** The ancestors to watch: the parent, and every further one in this process's group. */
export function jobAncestors(pid = process.pid): Ancestor[] {
  const self = procStat(pid);
  if (!self) return [];
  const out: Ancestor[] = [];
  let ppid = self.ppid;
  for (let depth = 0; ppid > 1 && depth < 64; depth++) {
    const s = procStat(ppid);
    if (!s) break;
    if (depth > 0 && s.pgrp !== self.pgrp) break;
    out.push({ pid: ppid, start: s.start, comm: s.comm });
    ppid = s.ppid;
  }
  return out;
}

/**
 * Calls `onGone` once when the parent or a watched ancestor ends (polled every `everyMs`);
 * returns a function that stops watching. The timer never keeps the process alive.
 */
export function watchParent(onGone: (who: { pid: number; comm: string }) => void, everyMs = 200): () => void {
  const ppid = process.ppid;
  const chain = jobAncestors();
  const timer = setInterval(() => {
    let gone: { pid: number; comm: string } | undefined;
    if (process.ppid !== ppid) gone = { pid: ppid, comm: chain[0]?.comm ?? 'parent' };
    else {
      for (const a of chain) {
        const s = procStat(a.pid);
        // A zombie has ended too (its parent did not reap it yet).
        if (!s || s.start !== a.start || s.state === 'Z') {
          gone = a;
          break;
        }
      }
    }
    if (gone) {
      clearInterval(timer);
      onGone(gone);
    }
  }, everyMs);
  timer.unref();
  return () => clearInterval(timer);
}

/** How long a rank process may stay stopped before it fails the job (SUPERSTEP_STOPPED_MS). */
export function stoppedLimitMs(env: NodeJS.ProcessEnv = process.env): number {
  const v = env.SUPERSTEP_STOPPED_MS;
  const n = v === undefined || v === '' ? 2000 : Number(v);
  return Number.isFinite(n) && n >= 0 ? n : 2000;
}

/**
 * Watches rank processes on this host for being stopped (state T or t in /proc): calls
 * `onStopped(rank, ms)` once per rank stopped for at least `limitMs`. If this process was
 * itself stopped (Ctrl-Z stops the whole job, and `fg` resumes it), the clock restarts.
 * Returns a function that stops watching.
 */
export function watchStoppedRanks(pids: () => readonly number[], onStopped: (rank: number, ms: number) => void, limitMs = stoppedLimitMs(), everyMs = 250): () => void {
  if (limitMs <= 0 || process.platform !== 'linux') return () => {};
  const since = new Map<number, number>();
  const reported = new Set<number>();
  let last = Date.now();
  const timer = setInterval(() => {
    const now = Date.now();
    if (now - last > 4 * everyMs) since.clear();
    last = now;
    const list = pids();
    for (let rank = 0; rank < list.length; rank++) {
      const pid = list[rank]!;
      if (pid <= 0 || reported.has(rank)) continue;
      const s = procStat(pid);
      if (!s || (s.state !== 'T' && s.state !== 't')) {
        since.delete(rank);
        continue;
      }
      const t0 = since.get(rank) ?? now;
      since.set(rank, t0);
      if (now - t0 >= limitMs) {
        reported.add(rank);
        onStopped(rank, now - t0);
      }
    }
  }, everyMs);
  timer.unref();
  return () => clearInterval(timer);
}
