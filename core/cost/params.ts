/**
 * BSP machine parameters and the file that keeps them: `superstep probe` measures g, l and r
 * for one (host, backend, P) and saves them; the runtime (bsp.profile, bsp.predict) reads
 * them back. The file is $SUPERSTEP_PARAMS, or ~/.superstep/params.json.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { homedir, hostname } from 'node:os';
import { dirname, join } from 'node:path';
import { ArgumentError } from '../../util/errors.js';
import type { FitResidual } from './fit.js';

/** The BSP parameters of one machine, backend and P. Times in seconds. */
export interface BspParams {
  /** Seconds per word (8 bytes) of an h-relation. */
  g: number;
  /** Seconds per superstep (synchronisation latency). */
  l: number;
  /** Flop/s of the reference kernel (a dot product), per rank. */
  r: number;
}

/** A saved entry: the parameters and where and how they were measured. */
export interface ParamsEntry extends BspParams {
  host: string;
  backend: string;
  p: number;
  /** ISO time of the probe. */
  measuredAt: string;
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

/** Throws an ArgumentError unless g, l, r are finite non-negative numbers. */
export function checkParams(p: unknown, argument = 'params'): asserts p is BspParams {
  const o = p as Partial<BspParams> | null;
  for (const k of ['g', 'l', 'r'] as const) {
    const v = o?.[k];
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) {
      throw new ArgumentError(`${argument}.${k}`, 'a finite number >= 0 (seconds for g and l, flop/s for r)', v);
    }
  }
}

/**
 * The parameters for (host, backend, P): the entry for exactly that P if there is one,
 * else extrapolated from the entries of the same host and backend:
 * - l(P): a least-squares line in P through the measured (P, l) (a sync sends one message to
 *   every rank, so its cost grows about linearly in P); with one measured P, l scales by P / P0.
 * - g(P): g of the nearest measured P (per-word cost per rank; a lower bound once P exceeds
 *   the cores or links, where ranks share bandwidth).
 * - r: r of the nearest measured P.
 * Returns undefined when the host and backend have no entry at all.
 */
export function resolveParams(p: number, backend = 'sab', host = hostName(), path = paramsPath()): ResolvedParams | undefined {
  if (!Number.isInteger(p) || p < 1) throw new ArgumentError('p', 'a positive integer', p);
  const all = Object.values(readParamsFile(path)).filter((e) => e.host === host && e.backend === backend);
  return resolveFrom(all, p, backend, host);
}

/** resolveParams over a given list of entries (pure; for tests and tools). */
export function resolveFrom(entries: readonly ParamsEntry[], p: number, backend: string, host: string): ResolvedParams | undefined {
  const same = entries.filter((e) => e.host === host && e.backend === backend);
  if (same.length === 0) return undefined;
  const exact = same.find((e) => e.p === p);
  if (exact) return { g: exact.g, l: exact.l, r: exact.r, host, backend, p, source: 'measured', from: [p] };
  const nearest = [...same].sort((a, b) => Math.abs(a.p - p) - Math.abs(b.p - p) || b.p - a.p)[0]!;
  let l: number;
  const ps = [...new Set(same.map((e) => e.p))];
  if (ps.length >= 2) {
    const n = same.length;
    const mx = same.reduce((a, e) => a + e.p, 0) / n;
    const my = same.reduce((a, e) => a + e.l, 0) / n;
    const sxy = same.reduce((a, e) => a + (e.p - mx) * (e.l - my), 0);
    const sxx = same.reduce((a, e) => a + (e.p - mx) ** 2, 0);
    const slope = Math.max(0, sxy / sxx);
    l = Math.max(0, my + slope * (p - mx));
  } else {
    l = (nearest.l * p) / nearest.p;
  }
  return { g: nearest.g, l, r: nearest.r, host, backend, p, source: 'extrapolated', from: same.map((e) => e.p).sort((a, b) => a - b) };
}
