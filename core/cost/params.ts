/**
 * BSP machine parameters and the file that keeps them: `superstep probe` measures g, l and r
 * for one (host, backend, P) and saves them; the runtime (bsp.profile, bsp.predict) reads
 * them back. The file is $SUPERSTEP_PARAMS, or ~/.superstep/params.json.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { homedir, hostname } from 'node:os';
import { dirname, join } from 'node:path';
import { ArgumentError } from '../../util/errors.js';
import { evalLog, fitLog } from './extrapolate.js';
import type { FitResidual } from './fit.js';
import type { CollectiveModel, ModelParams } from '../../comm/collectives/choose.js';

/** The BSP parameters of one machine, backend and P. Times in seconds. */
export interface BspParams {
  /** Seconds per word (8 bytes) of an h-relation. */
  g: number;
  /** Seconds per superstep (synchronisation latency). */
  l: number;
  /** Flop/s of the reference kernel (a dot product), per rank. */
  r: number;
  /**
   * Bytes/s of the streaming kernel (a 2-D five-point sweep larger than the caches, 16 bytes
   * per cell), per rank, all ranks at once: turns bytes touched into seconds. Optional (params
   * files from before it was measured lack it).
   */
  b?: number;
}

/** A saved entry: the parameters and where and how they were measured. */
export interface ParamsEntry extends BspParams {
  host: string;
  backend: string;
  p: number;
  /** ISO time of the probe. */
  measuredAt: string;
  /** The cores the probing process could use (util/cores.ts: affinity and cgroup quota); P above it is oversubscribed. */
  cores?: number;
  /** Residuals of the fit (optional; probe writes them). */
  residuals?: FitResidual[];
  rmsRelative?: number;
}

/** Parameters for a P, with where they came from. */
export interface ResolvedParams extends BspParams {
  host: string;
  backend: string;
  p: number;
  /** 'measured': an entry for exactly this P; 'extrapolated': derived from other P (see docs/cost.md). */
  source: 'measured' | 'extrapolated' | 'given';
  /** The P the values were derived from. */
  from: number[];
  /** True when P exceeds the cores of the machine the parameters were probed on (when known). */
  oversubscribed?: boolean;
}

interface ParamsFile {
  version: 1;
  entries: Record<string, ParamsEntry>;
}

/** Path of the params file: $SUPERSTEP_PARAMS or ~/.superstep/params.json. */
export function paramsPath(): string {
  return process.env.SUPERSTEP_PARAMS || join(homedir(), '.superstep', 'params.json');
}

/** The key of an entry: "host/backend/P". */
export function paramsKey(host: string, backend: string, p: number): string {
  return `${host}/${backend}/${p}`;
}

/** This machine's name, as used in keys. */
export function hostName(): string {
  return hostname();
}

/** Every entry of the params file (empty if the file does not exist). */
export function readParamsFile(path = paramsPath()): Record<string, ParamsEntry> {
  if (!existsSync(path)) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new ArgumentError('params file', `valid JSON (${path})`, (err as Error).message);
  }
  const f = parsed as Partial<ParamsFile>;
  if (typeof f !== 'object' || f === null || typeof f.entries !== 'object' || f.entries === null) {
    throw new ArgumentError('params file', `an object { version: 1, entries: {...} } (${path})`, parsed);
  }
  return f.entries;
}

/** Saves one entry (replacing the one with the same key); writes the file atomically. */
export function saveParams(entry: ParamsEntry, path = paramsPath()): string {
  checkParams(entry, 'entry');
  const entries = readParamsFile(path);
  const key = paramsKey(entry.host, entry.backend, entry.p);
  entries[key] = entry;
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify({ version: 1, entries } satisfies ParamsFile, null, 2) + '\n');
  renameSync(tmp, path);
  return key;
}

/** Throws an ArgumentError unless g, l, r (and b, when given) are finite non-negative numbers. */
export function checkParams(p: unknown, argument = 'params'): asserts p is BspParams {
  const o = p as Partial<BspParams> | null;
  for (const k of ['g', 'l', 'r'] as const) {
    const v = o?.[k];
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) {
      throw new ArgumentError(`${argument}.${k}`, 'a finite number >= 0 (seconds for g and l, flop/s for r)', v);
    }
  }
  const b = o?.b;
  if (b !== undefined && (typeof b !== 'number' || !Number.isFinite(b) || b < 0)) {
    throw new ArgumentError(`${argument}.b`, 'a finite number >= 0 (bytes/s), or absent', b);
  }
}

/**
 * The parameters for (host, backend, P): the entry for exactly that P if there is one, else
 * extrapolated from the entries of the same host and backend (extrapolate.ts):
 * - l(P) = l0 + l1·log2 P and g(P) = g0 + g1·log2 P, least squares over the probed P; from one
 *   probed P0, l scales by (1 + log2 P) / (1 + log2 P0) and g stays;
 * - r and b: those of the nearest probed P;
 * - only entries on the same side of the cores as P (P <= cores, or oversubscribed) are used
 *   when there are any: a machine's l jumps once ranks outnumber cores, and no line in P spans both.
 * Returns undefined when the host and backend have no entry at all.
 */
export function resolveParams(p: number, backend = 'sab', host = hostName(), path = paramsPath()): ResolvedParams | undefined {
  if (!Number.isInteger(p) || p < 1) throw new ArgumentError('p', 'a positive integer', p);
  const all = Object.values(readParamsFile(path)).filter((e) => e.host === host && e.backend === backend);
  return resolveFrom(all, p, backend, host);
}

/** The cores the entries were probed with (the largest recorded), if any entry says. */
export function coresOf(entries: readonly ParamsEntry[]): number | undefined {
  const cs = entries.map((e) => e.cores).filter((c): c is number => typeof c === 'number' && c > 0);
  return cs.length ? Math.max(...cs) : undefined;
}

/** resolveParams over a given list of entries (pure; for tests and tools). */
export function resolveFrom(entries: readonly ParamsEntry[], p: number, backend: string, host: string): ResolvedParams | undefined {
  const same = entries.filter((e) => e.host === host && e.backend === backend);
  if (same.length === 0) return undefined;
  const cores = coresOf(same);
  const over = (q: number) => cores !== undefined && q > cores;
  const flag = cores === undefined ? {} : { oversubscribed: over(p) };
  const exact = same.find((e) => e.p === p);
  if (exact) return { g: exact.g, l: exact.l, r: exact.r, ...(exact.b !== undefined ? { b: exact.b } : {}), host, backend, p, source: 'measured', from: [p], ...flag };
  const regime = same.filter((e) => over(e.p) === over(p));
  const use = regime.length ? regime : same;
  const nearest = [...use].sort((a, b) => Math.abs(Math.log2(a.p / p)) - Math.abs(Math.log2(b.p / p)) || b.p - a.p)[0]!;
  const l = evalLog(fitLog(use.map((e) => ({ p: e.p, v: e.l })), 'grows'), p);
  // A probe at P = 1 measures no g (no other rank): it takes no part in g's fit.
  const withG = use.filter((e) => e.p > 1);
  const g = p === 1 ? 0 : evalLog(fitLog((withG.length ? withG : use).map((e) => ({ p: e.p, v: e.g })), 'flat'), p);
  const b = nearest.b !== undefined ? { b: nearest.b } : {};
  return { g, l, r: nearest.r, ...b, host, backend, p, source: 'extrapolated', from: [...new Set(use.map((e) => e.p))].sort((x, y) => x - y), ...flag };
}

/**
 * The collective model (comm/collectives/choose.ts) for a World of `procs` ranks: the
 * parameters of every P from 2 to `procs` (communicators of any size in it), resolved as
 * resolveParams does; undefined when the file has nothing for this host and backend.
 */
export function collectiveModelFor(procs: number, backend: string, host = hostName(), path = paramsPath()): CollectiveModel | undefined {
  const all = Object.values(readParamsFile(path));
  const entries: ModelParams[] = [];
  for (let p = 2; p <= procs; p++) {
    const r = resolveFrom(all, p, backend, host);
    if (!r) return undefined;
    entries.push({ p, g: r.g, l: r.l, ...(r.b !== undefined ? { b: r.b } : {}) });
  }
  return entries.length ? { backend, entries } : undefined;
}
