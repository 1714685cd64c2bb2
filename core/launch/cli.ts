/**
 * The `superstep` command.
 *
 *   superstep run -n P [--backend NAME] [--timeout SECONDS] [--profile [--report DIR]] script [args...]
 *   superstep probe | predict ...   (core/cost/cli.ts)
 */
import { parseArgs } from 'node:util';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { backendList, backendNamed, kBackends } from '../../comm/backends/index.js';
import { runDetailed } from './run.js';

const kUsage = `usage:
  superstep run -n P [--backend ${kBackends.map((b) => b.name).join('|')}] [--timeout SECONDS] script [args...]
      run script on P ranks (default backend: sab); backends:
${kBackends.map((b) => `        ${b.name.padEnd(5)} ${b.summary}`).join('\n')}
      --backend tcp --hosts FILE: start the ranks on the hosts in FILE (one host[:slots] per
      line) through ssh (SUPERSTEP_RSH overrides the remote shell)
      --profile: record w, h and time of every superstep; print the table and write a report
      (profile.md, profile.svg) into --report DIR (default: superstep-profile)
  superstep probe [-n P] [--backend NAME]        measure the BSP parameters g, l, r
  superstep predict --h WORDS [--w FLOPS] ...     predict a program's time from its counts
  superstep help`;

/** Extra subcommands (probe, bench, ...) that other layers add. */
export const subcommands = new Map<string, (argv: string[]) => Promise<number>>();
subcommands.set('probe', async (argv) => (await import('../cost/cli.js')).probeCommand(argv));
subcommands.set('predict', async (argv) => (await import('../cost/cli.js')).predictCommand(argv));

export async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  if (!cmd || cmd === 'help' || cmd === '--help' || cmd === '-h') {
    console.log(kUsage);
    return cmd ? 0 : 2;
  }
  if (cmd === 'run') return runCommand(rest);
  const sub = subcommands.get(cmd);
  if (sub) return sub(rest);
  console.error(`superstep: unknown command '${cmd}'\n${kUsage}`);
  return 2;
}

/** Splits launcher flags from the script and its own arguments at the first positional. */
export function splitAtScript(argv: string[]): { flags: string[]; script?: string; args: string[] } {
  const valued = new Set(['-n', '--procs', '--np', '--backend', '--timeout', '--hosts', '--report']);
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') return { flags: argv.slice(0, i), script: argv[i + 1], args: argv.slice(i + 2) };
    if (a.startsWith('-')) {
      if (valued.has(a)) i++;
      continue;
    }
    return { flags: argv.slice(0, i), script: a, args: argv.slice(i + 1) };
  }
  return { flags: argv, args: [] };
}

async function runCommand(argv: string[]): Promise<number> {
  const { flags, script, args } = splitAtScript(argv);
  let values;
  try {
    ({ values } = parseArgs({
      args: flags,
      options: {
        procs: { type: 'string', short: 'n' },
        np: { type: 'string' },
        backend: { type: 'string', default: 'sab' },
        timeout: { type: 'string' },
        hosts: { type: 'string' },
        profile: { type: 'boolean' },
        report: { type: 'string' },
      },
      strict: true,
    }));
  } catch (err) {
    console.error(`superstep run: ${(err as Error).message}\n${kUsage}`);
    return 2;
  }
  const procs = Number(values.procs ?? values.np ?? 1);
  if (!Number.isInteger(procs) || procs < 1) {
    console.error(`superstep run: -n must be a positive integer; got '${values.procs ?? values.np}'`);
    return 2;
  }
  const backend = values.backend!;
  const descriptor = kBackends.find((b) => b.name === backend);
  if (!descriptor) {
    console.error(`superstep run: --backend must be ${backendList()}; got '${values.backend}'`);
    return 2;
  }
  if (!script) {
    console.error(`superstep run: no script given\n${kUsage}`);
    return 2;
  }
  const path = resolve(script);
  if (!existsSync(path)) {
    console.error(`superstep run: script not found: ${script}`);
    return 2;
  }
  const timeoutMs = values.timeout === undefined ? undefined : Number(values.timeout) * 1000;
  if (timeoutMs !== undefined && !(timeoutMs > 0)) {
    console.error(`superstep run: --timeout must be a positive number of seconds; got '${values.timeout}'`);
    return 2;
  }
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
  const outcome = await runDetailed({ procs, backend, timeoutMs }, path, args);
  if (values.profile && outcome.ok) {
    (await import('../cost/cli.js')).finishProfile(outcome, procs, backend, values.report ?? 'superstep-profile');
  }
  if (outcome.ok) return 0;
  const f = outcome.failure;
  if (f) {
    const who = f.rank >= 0 ? `rank ${f.rank} failed` : 'job failed';
    console.error(`superstep: ${who}: ${f.error.name}: ${f.error.message}`);
    if (f.error.stack) console.error(indent(f.error.stack));
  }
  const others = outcome.statuses.filter((s) => s.state !== 'ok' && s.rank !== f?.rank);
  if (others.length) console.error(`superstep: ${others.map((s) => `rank ${s.rank} ${s.state}`).join(', ')}`);
  const code = outcome.statuses.find((s) => s.rank === f?.rank)?.exitCode ?? (f?.error.name === 'TimeoutError' ? 124 : 1);
  return code === 0 ? 1 : code;
}

function indent(stack: string): string {
  return stack.split('\n').map((l) => '    ' + l).join('\n');
}
