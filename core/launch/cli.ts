/**
 * The `superstep` command.
 *
 *   superstep run -n P [--backend sab|tcp] [--timeout SECONDS] script [args...]
 */
import { parseArgs } from 'node:util';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { runDetailed } from './run.js';
import type { Backend } from './world.js';

const kUsage = `usage:
  superstep run -n P [--backend sab|tcp] [--timeout SECONDS] script [args...]
      run script on P ranks (default backend: sab, worker threads over shared memory)
  superstep help`;

/** Extra subcommands (probe, bench, ...) that other layers add. */
export const subcommands = new Map<string, (argv: string[]) => Promise<number>>();

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
  const valued = new Set(['-n', '--procs', '--np', '--backend', '--timeout', '--hosts']);
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
  const backend = values.backend as Backend;
  if (backend !== 'sab' && backend !== 'tcp') {
    console.error(`superstep run: --backend must be 'sab' or 'tcp'; got '${values.backend}'`);
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
  const outcome = await runDetailed({ procs, backend, timeoutMs }, path, args);
  if (outcome.ok) return 0;
  const f = outcome.failure;
  if (f) {
    const who = f.rank >= 0 ? `rank ${f.rank} failed` : 'job failed';
    console.error(`superstep: ${who}: ${f.error.name}: ${f.error.message}`);
    if (f.error.stack) console.error(indent(f.error.stack));
  }
  const others = outcome.statuses.filter((s) => s.state !== 'ok' && s.rank !== f?.rank);
  if (others.length) console.error(`superstep: ${others.map((s) => `rank ${s.rank} ${s.state}`).join(', ')}`);
  const code = outcome.statuses.find((s) => s.rank === f?.rank)?.exitCode ?? 1;
  return code === 0 ? 1 : code;
}

function indent(stack: string): string {
  return stack.split('\n').map((l) => '    ' + l).join('\n');
}
