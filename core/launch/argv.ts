/**
 * The `superstep run` command line as mpiexec users type it: `-n 4`, `-np 4`, `--n=4`, `-n4`,
 * `--np 4`, `--procs 4`; flags before the script, the script's own arguments after it. Small
 * and free of imports, so the command can read it before it loads anything else.
 */

/** The flags of `superstep run`: name -> takes a value. */
export const kRunFlags: Readonly<Record<string, boolean>> = {
  '-n': true, '--procs': true, '--backend': true, '--timeout': true, '--hosts': true,
  '--profile': false, '--report': true, '--help': false, '-h': false,
};

/** Aliases, as mpiexec and mpirun spell them. */
const kAliases: Readonly<Record<string, string>> = { '-np': '-n', '--np': '-n', '--n': '-n', '-c': '-n' };

/** One launcher argument in its canonical spelling (`-np` -> `-n`, `--n=4` -> `-n`, `4`). */
function canonical(a: string): string[] {
  const eq = a.startsWith('--') ? a.indexOf('=') : -1;
  const [flag, value] = eq > 0 ? [a.slice(0, eq), a.slice(eq + 1)] : [a, undefined];
  const name = kAliases[flag] ?? flag;
  // -n4 (mpiexec accepts it too)
  if (value === undefined && /^-n\d+$/.test(flag)) return ['-n', flag.slice(2)];
  return value === undefined ? [name] : [name, value];
}

export interface SplitArgv {
  /** Launcher flags, canonical (`-n 4 --backend tcp`). */
  flags: string[];
  script?: string;
  /** The script's own arguments. */
  args: string[];
  /** A flag that is not one of kRunFlags, as typed. */
  unknown?: string;
}

/** Splits launcher flags from the script and its own arguments at the first positional. */
export function splitAtScript(argv: readonly string[]): SplitArgv {
  const flags: string[] = [];
  let unknown: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') return { flags, script: argv[i + 1], args: argv.slice(i + 2), ...(unknown ? { unknown } : {}) };
    if (a.startsWith('-') && a !== '-') {
      const c = canonical(a);
      const takes = kRunFlags[c[0]!];
      if (takes === undefined) unknown ??= a;
      flags.push(...c);
      if (takes && c.length === 1 && i + 1 < argv.length) flags.push(argv[++i]!);
      continue;
    }
    return { flags, script: a, args: argv.slice(i + 1), ...(unknown ? { unknown } : {}) };
  }
  return { flags, args: [], ...(unknown ? { unknown } : {}) };
}

/** The value of a canonical flag in split flags, if given (the last one wins). */
export function flagValue(flags: readonly string[], name: string): string | undefined {
  let v: string | undefined;
  for (let i = 0; i < flags.length; i++) if (flags[i] === name && kRunFlags[name]) v = flags[++i];
  return v;
}

/** The valid flag closest to a mistyped one (edit distance), for "did you mean". */
export function closestFlag(typed: string, valid: readonly string[] = [...Object.keys(kRunFlags), '-np']): string | undefined {
  const name = typed.split('=')[0]!;
  let best: string | undefined;
  let bestD = Infinity;
  for (const v of valid) {
    const d = editDistance(name, v);
    if (d < bestD) [best, bestD] = [v, d];
  }
  return bestD <= Math.max(2, Math.floor(name.length / 2)) ? best : undefined;
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const cur = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = cur;
    }
  }
  return row[b.length]!;
}

/**
 * What a `superstep ...` command line will run, read before anything is loaded: the number of
 * ranks and the backend of `run` (and `probe`), or undefined for other commands.
 */
export function peekJob(argv: readonly string[]): { procs: number; backend: string } | undefined {
  const [cmd, ...rest] = argv;
  if (cmd !== 'run' && cmd !== 'probe') return undefined;
  const { flags } = splitAtScript(rest);
  const procs = Number(flagValue(flags, '-n') ?? flagValue(flags, '--procs') ?? (cmd === 'probe' ? 2 : 1));
  return { procs, backend: flagValue(flags, '--backend') ?? 'sab' };
}
