/**
 * `superstep run --backend tcp --hosts FILE`: ranks on other hosts, started through ssh the
 * way mpirun's hostfile does. Each rank runs the script as an engine-started process
 * (comm/tcp/env.ts) with SUPERSTEP_RANK/SIZE; the launcher hosts the coordinator. The job
 * secret goes to each rank on its stdin, never on a command line that `ps` would show.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { startCoordinator } from './rendezvous.js';
import { ArgumentError } from '../../../util/errors.js';
import { mallocTuningEnv } from '../../../util/malloc-tuning.js';

/** One line of a hostfile. */
export interface HostSlots {
  host: string;
  slots: number;
}

/**
 * Parses a hostfile: one `host[:slots]` per line (mpirun's `host slots=N` is accepted too);
 * blank lines and `#` comments are skipped. Slots default to 1.
 */
export function parseHostfile(text: string): HostSlots[] {
  const out: HostSlots[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.replace(/#.*/, '').trim();
    if (!line) return;
    const m = /^([^\s:]+|\[[^\]]+\])(?::(\d+)|\s+slots\s*=\s*(\d+))?$/.exec(line);
    const slots = m ? Number(m[2] ?? m[3] ?? 1) : NaN;
    if (!m || !(slots >= 1)) throw new ArgumentError(`hosts line ${i + 1}`, "'host', 'host:slots' or 'host slots=N' with slots >= 1", raw);
    out.push({ host: m[1]!.replace(/^\[|\]$/g, ''), slots });
  });
  if (!out.length) throw new ArgumentError('hosts', 'a file naming at least one host', text);
  return out;
}

/** Places ranks on hosts in order, filling each host's slots (mpirun --map-by slot). */
export function placeRanks(hosts: readonly HostSlots[], procs: number): string[] {
  const total = hosts.reduce((n, h) => n + h.slots, 0);
  if (procs > total) throw new ArgumentError('-n', `at most ${total} (the slots in the hostfile)`, procs);
  const out: string[] = [];
  for (const h of hosts) for (let s = 0; s < h.slots && out.length < procs; s++) out.push(h.host);
  return out;
}

/** Quotes one word for a POSIX shell. */
export function shellQuote(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

export interface RankCommandOptions {
  /** Remote shell, e.g. ['ssh', '-o', 'BatchMode=yes'] (SUPERSTEP_RSH overrides; default ssh). */
  rsh: string[];
  host: string;
  rank: number;
  size: number;
  coord: string;
  cwd: string;
  node: string;
  /** Arguments after `node`: loader, script, script arguments. */
  argv: string[];
  /** Extra environment for the rank. */
  env?: Record<string, string>;
}

/**
 * The script the remote host runs for one rank, in POSIX sh. It reads the secret from stdin
 * (never a command line `ps` would show), starts the rank in the background, and watches the
 * rest of its stdin: the launcher holds that pipe open for the rank's whole life, so EOF means
 * the launcher, its ssh or the connection is gone, and the rank is terminated (SIGTERM, then
 * SIGKILL 3 s later). ssh forwards no signal to a remote command without a tty, so without this
 * a killed or timed-out job leaves its ranks running on the remote hosts.
 */
export function rankScript(o: RankCommandOptions): string {
  const env = { ...o.env, SUPERSTEP_RANK: String(o.rank), SUPERSTEP_SIZE: String(o.size), SUPERSTEP_COORD: o.coord, SUPERSTEP_COORD_EXTERNAL: '1' };
  const assigns = Object.entries(env).map(([k, v]) => `${k}=${shellQuote(v)}`);
  const rank = ['env', ...assigns, ...[o.node, ...o.argv].map(shellQuote)].join(' ');
  return [
    `cd ${shellQuote(o.cwd)} || exit 127`,
    'read -r SUPERSTEP_SECRET || exit 1',
    'export SUPERSTEP_SECRET',
    // An asynchronous list's stdin is /dev/null in sh: hand the watcher the pipe as fd 3.
    'exec 3<&0',
    `${rank} </dev/null 3<&- & rank=$!`,
    '{ while read -r _; do :; done; kill -TERM $rank; sleep 3; kill -KILL $rank; } <&3 >/dev/null 2>&1 & watch=$!',
    'exec 3<&-',
    'wait $rank; code=$?',
    'kill $watch 2>/dev/null',
    'exit $code',
  ].join('; ');
}

/**
 * The command that starts one rank: `rsh host "sh -c SCRIPT"` (rankScript). Running the
 * script under `sh -c` keeps it independent of the remote account's login shell.
 */
export function rankCommand(o: RankCommandOptions): string[] {
  return [...o.rsh, o.host, `sh -c ${shellQuote(rankScript(o))}`];
}

export interface HostsRunOptions {
  hosts: readonly HostSlots[];
  procs: number;
  script: string;
  args: readonly string[];
  /** Address the coordinator listens on (default: all interfaces if any host is remote, else loopback). */
  coordBind?: string;
  /** Name ranks use to reach the coordinator (default: this host's name, or 127.0.0.1 when all are local). */
  coordHost?: string;
  timeoutMs?: number;
}

const isLocal = (h: string) => h === 'localhost' || h === '127.0.0.1' || h === '::1';

/** Runs `script` on ranks placed over `hosts`; resolves with the exit code for the shell. */
export async function runOnHosts(o: HostsRunOptions): Promise<number> {
  const placement = placeRanks(o.hosts, o.procs);
  const allLocal = placement.every(isLocal);
  const rsh = (process.env.SUPERSTEP_RSH ?? 'ssh -o BatchMode=yes').split(/\s+/).filter(Boolean);
  const secret = randomBytes(32).toString('hex');
  const coordinator = await startCoordinator({ size: o.procs, secret: new Uint8Array(Buffer.from(secret, 'utf8')), host: o.coordBind ?? (allLocal ? '127.0.0.1' : '0.0.0.0') });
  const coord = `${o.coordHost ?? (allLocal ? '127.0.0.1' : hostname())}:${coordinator.address.port}`;
  const children: ChildProcess[] = [];
  const codes: Promise<{ rank: number; code: number; signal: string | null }>[] = [];
  let failed = false;
  let timedOut = false;
  const running = (c: ChildProcess) => c.exitCode === null && c.signalCode === null;
  // Closing a rank's stdin tells its remote script to end it (rankScript); the ssh itself is
  // terminated only if that does not end it in time (say, a host that never answered).
  const killAll = () => {
    for (const c of children) c.stdin?.end();
    setTimeout(() => {
      for (const c of children) if (running(c)) c.kill('SIGTERM');
    }, 5_000).unref();
  };
  placement.forEach((host, rank) => {
    // How many ranks share this host: a waiting rank spins only if they do not outnumber its cores.
    const env = { ...mallocTuningEnv(), SUPERSTEP_LOCAL_SIZE: String(placement.filter((h) => h === host).length) };
    const cmd = rankCommand({ rsh, host, rank, size: o.procs, coord, cwd: process.cwd(), node: process.execPath, argv: ['--import', 'tsx', o.script, ...o.args], env });
    const child = spawn(cmd[0]!, cmd.slice(1), { stdio: ['pipe', 'inherit', 'inherit'] });
    // The pipe stays open while the rank runs: its EOF is the remote script's signal to stop.
    child.stdin!.on('error', () => {});
    child.stdin!.write(secret + '\n');
    child.once('exit', () => child.stdin!.destroy());
    children.push(child);
    codes.push(
      new Promise((resolve) => {
        child.once('error', (err) => {
          process.stderr.write(`superstep: cannot start rank ${rank} on ${host}: ${err.message}\n`);
          resolve({ rank, code: 127, signal: null });
        });
        child.once('exit', (code, signal) => resolve({ rank, code: code ?? 1, signal })); 
      }).then((r) => {
        const res = r as { rank: number; code: number; signal: string | null };
        if ((res.code !== 0 || res.signal) && !failed) {
          failed = true;
          process.stderr.write(`superstep: rank ${rank} on ${host} ${res.signal ? `was killed by ${res.signal}` : `exited with code ${res.code}`}\n`);
          // The others see the peer gone and fail; make sure nothing lingers.
          setTimeout(killAll, 10_000).unref();
        }
        return res;
      }),
    );
  });
  const timer = o.timeoutMs ? setTimeout(() => {
    process.stderr.write(`superstep: job did not finish within ${o.timeoutMs} ms\n`);
    failed = true;
    timedOut = true;
    killAll();
  }, o.timeoutMs) : undefined;
  const results = await Promise.all(codes);
  clearTimeout(timer);
  coordinator.close();
  // A timeout exits 124 as on the local launcher, whatever code the ended ranks leave.
  if (timedOut) return 124;
  const bad = results.find((r) => r.code !== 0 || r.signal);
  return bad ? bad.code || 1 : 0;
}
