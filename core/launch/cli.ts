/**
 * The `superstep` command.
 *
 *   superstep run -n P [--backend NAME] [--timeout SECONDS] [--profile [--report DIR]] script [args...]
 *   superstep probe | predict ...   (core/cost/cli.ts)
 *   superstep scaling ...           (core/cost/scaling-cli.ts)
 */
import { parseArgs } from 'node:util';
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { backendList, backendNamed, kBackends } from '../../comm/backends/index.js';
import { runDetailed } from './run.js';
import { kStoppedName } from '../../comm/backends/job-tracker.js';
import { superviseLauncher } from './supervise.js';
import type { JobOutcome } from './world.js';
import { closestFlag, splitAtScript } from './argv.js';

const kRunUsage = `usage: superstep run [-n P] [--backend NAME] [--timeout SECONDS] [--profile [--report DIR]]
                     [--hosts FILE] script [args...]
  Runs script (.ts, .mts, .js or .mjs) on P ranks; its own args follow it (process.argv.slice(2)).
  -n P, -np P, --n=P        number of ranks (default 1)
  --backend NAME            ${kBackends.map((b) => b.name).join(', ')} (default sab):
${kBackends.map((b) => `                              ${b.name.padEnd(5)} ${b.summary}`).join('\n')}
  --timeout SECONDS         stop a job that runs longer (exit code 124)
  --hosts FILE              with --backend tcp: start ranks on the hosts in FILE (one host[:slots]
                            per line) through ssh (SUPERSTEP_RSH overrides the remote shell)
  --profile [--report DIR]  record w, h and time of every superstep; print the table and write
                            profile.md and profile.svg into DIR (default superstep-profile)
  -h, --help                this text
  Exit code: 0 when every rank finished, else the failing rank's (1 for a throw, 124 on timeout).`;

const kUsage = `usage: superstep <command> [options]
  superstep run -n P [--backend NAME] script [args...]      run script on P ranks
  superstep probe [-n P] [--backend NAME]                   measure the BSP parameters g, l, r
  superstep predict --h WORDS [--w FLOPS] ...               predict a program's time from its counts
  superstep scaling [--quick]                               strong and weak scaling, measured vs predicted
  superstep help [command], superstep <command> --help      help
  superstep -V, --version                                   the version
Examples:
  npx superstep run -n 4 script.ts
  npx superstep run -np 4 --backend tcp script.mjs arg1 arg2`;

/** Extra subcommands (probe, bench, ...) that other layers add. */
export const subcommands = new Map<string, (argv: string[]) => Promise<number>>();
subcommands.set('probe', async (argv) => (await import('../cost/cli.js')).probeCommand(argv));
subcommands.set('predict', async (argv) => (await import('../cost/cli.js')).predictCommand(argv));
subcommands.set('scaling', async (argv) => (await import('../cost/scaling-cli.js')).scalingCommand(argv));

/** This package's version, from the nearest package.json named superstep above this module. */
export function version(): string {
  for (let dir = new URL('./', import.meta.url); ; ) {
    const file = new URL('package.json', dir);
    if (existsSync(file)) {
      const pkg = JSON.parse(readFileSync(file, 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'superstep' && pkg.version) return pkg.version;
    }
    const up = new URL('../', dir);
    if (up.href === dir.href) return 'unknown';
    dir = up;
  }
}

export async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  if (!cmd) {
    console.error(kUsage);
    return 2;
  }
  if (cmd === 'help' || cmd === '--help' || cmd === '-h') {
    if (rest[0] && rest[0] !== 'run' && subcommands.has(rest[0])) return subcommands.get(rest[0])!(['--help']);
    console.log(rest[0] === 'run' ? kRunUsage : kUsage);
    return 0;
  }
  if (cmd === '-V' || cmd === '--version' || cmd === 'version') {
    console.log(`superstep ${version()} (node ${process.version})`);
    return 0;
  }
  if (cmd === 'run') return runCommand(rest);
  const sub = subcommands.get(cmd);
  if (sub) return sub(rest);
  const near = closestFlag(cmd, ['run', 'probe', 'predict', 'scaling', 'help', '--version', '--help']);
  console.error(`superstep: unknown command '${cmd}'${near ? `; did you mean '${near}'?` : ''}\n${kUsage}`);
  return 2;
}


async function runCommand(argv: string[]): Promise<number> {
  const { flags, script, args, unknown } = splitAtScript(argv);
  if (flags.includes('--help') || flags.includes('-h')) {
    console.log(kRunUsage);
    return 0;
  }
  if (unknown !== undefined) {
    const near = closestFlag(unknown);
    console.error(`superstep run: unknown option '${unknown.split('=')[0]}'${near ? `; did you mean '${near}'?` : ''} (superstep run --help lists them)`);
    return 2;
  }
  let values;
  try {
    ({ values } = parseArgs({
      args: flags,
      options: {
        procs: { type: 'string', short: 'n' },
        backend: { type: 'string', default: 'sab' },
        timeout: { type: 'string' },
        hosts: { type: 'string' },
        profile: { type: 'boolean' },
        report: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
    }));
  } catch (err) {
    console.error(`superstep run: ${(err as Error).message}\n${kRunUsage}`);
    return 2;
  }
  const procs = Number(values.procs ?? 1);
  if (!Number.isInteger(procs) || procs < 1) {
    console.error(`superstep run: -n must be a positive integer; got '${values.procs}'`);
    return 2;
  }
  const backend = values.backend!;
  const descriptor = kBackends.find((b) => b.name === backend);
  if (!descriptor) {
    console.error(`superstep run: --backend must be ${backendList()}; got '${values.backend}'`);
    return 2;
  }
  if (!script) {
    console.error(`superstep run: no script given\n${kRunUsage}`);
    return 2;
  }
  const path = resolve(script);
  if (!existsSync(path)) {
    console.error(`superstep run: script not found: ${script}${path === script ? '' : ` (no file ${path})`}`);
    return 2;
  }
  const timeoutMs = values.timeout === undefined ? undefined : Number(values.timeout) * 1000;
  if (timeoutMs !== undefined && !(timeoutMs > 0)) {
    console.error(`superstep run: --timeout must be a positive number of seconds; got '${values.timeout}'`);
    return 2;
  }
  // Signals and the death of the command that started us stop the job (core/launch/supervise.ts).
  superviseLauncher();
  if (values.hosts !== undefined) {
    // Ranks on other hosts, started through ssh (comm/backends/tcp/hosts.ts).
    if (!descriptor.runOnHosts) {
      const able = kBackends.filter((b) => b.runOnHosts).map((b) => `--backend ${b.name}`).join(' or ');
      console.error(`superstep run: --hosts needs ${able}; got --backend ${backend}`);
      return 2;
    }
    try {
      return await descriptor.runOnHosts({ hostsFile: values.hosts, procs, script: path, args, timeoutMs });
    } catch (err) {
      console.error(`superstep run: ${(err as Error).message}`);
      return 2;
    }
  }
  // Ranks inherit the environment: SUPERSTEP_PROFILE=1 turns on the superstep recorder.
  if (values.profile) process.env.SUPERSTEP_PROFILE = '1';
  const why = descriptor.unavailable();
  if (why) {
    console.error(`superstep run: backend '${backend}' is not available here: ${why}`);
    return 2;
  }
  let outcome: JobOutcome;
  try {
    outcome = await runDetailed({ procs, backend, timeoutMs }, path, args);
  } catch (err) {
    // The ranks could not start (one exited or was stopped while starting): nothing is left.
    console.error(`superstep: the job could not start: ${(err as Error).message}`);
    return 1;
  }
  if (values.profile && outcome.ok) {
    (await import('../cost/cli.js')).finishProfile(outcome, procs, backend, values.report ?? 'superstep-profile');
  }
  if (outcome.ok) return 0;
  return reportFailure(outcome);
}

/**
 * Prints a failed job's summary; returns the exit code. The first line names the rank whose
 * failure started it: a report that blames another rank (a peer gone, a collective IOError,
 * an abort) names that rank, with the one that noticed.
 */
export function reportFailure(outcome: JobOutcome): number {
  const f = outcome.failure;
  if (f) {
    const blamed = f.rank >= 0 ? (f.error.failedRank ?? f.rank) : -1;
    const who =
      f.rank < 0 ? (f.error.name === kStoppedName ? 'stopped' : 'job failed') : blamed !== f.rank ? `rank ${blamed} failed (noticed by rank ${f.rank})` : `rank ${f.rank} failed`;
    console.error(f.error.name === kStoppedName ? `superstep: ${f.error.message}` : `superstep: ${who}: ${f.error.name}: ${f.error.message}`);
    // A syntax error's place is in its message (file:line:column); its stack is the loader's.
    if (f.error.stack && f.error.name !== 'SyntaxError') console.error(indent(f.error.stack));
  }
  const others = outcome.statuses.filter((s) => s.state !== 'ok' && s.rank !== f?.rank);
  if (others.length) console.error(`superstep: ${others.map((s) => `rank ${s.rank} ${s.state}`).join(', ')}`);
  if (f?.exitCode !== undefined) return f.exitCode;
  const code = outcome.statuses.find((s) => s.rank === f?.rank)?.exitCode ?? (f?.error.name === 'TimeoutError' ? 124 : 1);
  return code === 0 ? 1 : code;
}

function indent(stack: string): string {
  return stack.split('\n').map((l) => '    ' + l).join('\n');
}
