/**
 * Predicting a BSP program's time from counts: T = Σ_k (flops_k / r + bytes_k / b + g·h_k + l),
 * or with w given as seconds, T = Σ_k (w_k + g·h_k + l).
 */
import { ArgumentError } from '../../util/errors.js';
import { checkParams, resolveParams, type BspParams, type ResolvedParams } from './params.js';

/**
 * The counts of one superstep, as the `.cost` functions return them (matvec.cost,
 * jacobiStep.cost, counts.ts). A kernel is counted by what bounds it: flops for a
 * compute-bound loop (divided by r), bytes touched for a memory-bound one (divided by b).
 */
export interface SuperstepCounts {
  /** Flops of the longest local computation of any rank. */
  flops?: number;
  /** Bytes read and written by the longest local computation of any rank. */
  bytes?: number;
  /** Words (8 bytes): max over ranks of max(words sent, words received). */
  h: number;
}

/** What bsp.predict takes. */
export interface PredictInput {
  /** Local work per superstep (max over ranks), in flops (divided by r); a number or one per superstep. */
  w?: number | readonly number[];
  /** Local work per superstep (max over ranks), in bytes touched (divided by b); a number or one per superstep. */
  wBytes?: number | readonly number[];
  /** The counts superstep by superstep (instead of w, wBytes and h), e.g. `matvec.cost(A, x)`. */
  steps?: readonly SuperstepCounts[];
  /** Local work per superstep given directly in seconds (instead of flops). */
  wSeconds?: number | readonly number[];
  /** Words (8-byte doubles) per superstep: max over ranks of max(sent, received); a number or one per superstep. */
  h?: number | readonly number[];
  /** Number of supersteps (default: the length of the longest array given, else 1). */
  supersteps?: number;
  /** Ranks to predict for (default: the current job's P). May exceed this machine's cores. */
  p?: number;
  /** Backend whose parameters to use (default: the current transport's, else 'sab'). */
  backend?: string;
  /** Explicit parameters, instead of the params file. */
  params?: BspParams;
}

/** What bsp.predict returns; times in seconds. */
export interface Prediction {
  /** Total predicted time. */
  seconds: number;
  /** Σ w / r + Σ wBytes / b (+ Σ wSeconds). */
  compute: number;
  /** Σ g·h. */
  communication: number;
  /** supersteps · l. */
  synchronisation: number;
  supersteps: number;
  params: ResolvedParams;
}

function series(name: string, v: number | readonly number[] | undefined, n: number): number[] {
  if (v === undefined) return new Array(n).fill(0);
  if (typeof v !== 'number' && !Array.isArray(v)) throw new ArgumentError(name, 'a number >= 0 or an array of them', v);
  const arr: unknown[] = typeof v === 'number' ? new Array(n).fill(v) : [...v];
  if (arr.length !== n) throw new ArgumentError(name, `one value per superstep (${n})`, v);
  for (const x of arr) {
    if (typeof x !== 'number' || !Number.isFinite(x) || x < 0) throw new ArgumentError(name, 'finite numbers >= 0', v);
  }
  return arr as number[];
}

/**
 * Predicts a program's time from its counts and the BSP parameters, pure arithmetic.
 * @param input counts; `params` must be given (use predict() to read the params file)
 */
export function predictWith(input: PredictInput, params: BspParams | ResolvedParams): Prediction {
  if (typeof input !== 'object' || input === null) throw new ArgumentError('input', 'an object { w, h, supersteps }', input);
  checkParams(params, 'params');
  if (input.w !== undefined && input.wSeconds !== undefined) {
    throw new ArgumentError('w', 'given either as flops (w) or as seconds (wSeconds), not both', 'both');
  }
  if (input.steps !== undefined) return predictWith(fromSteps(input), params);
  const lens = [input.w, input.wBytes, input.wSeconds, input.h].filter((v): v is readonly number[] => Array.isArray(v)).map((a) => a.length);
  let n = input.supersteps;
  if (n === undefined) n = lens.length ? Math.max(...lens) : 1;
  if (!Number.isInteger(n) || n < 0) throw new ArgumentError('supersteps', 'an integer >= 0', input.supersteps);
  const w = series('w', input.w, n);
  const ws = series('wSeconds', input.wSeconds, n);
  const wb = series('wBytes', input.wBytes, n);
  const h = series('h', input.h, n);
  if (input.w !== undefined && w.some((x) => x > 0) && !(params.r > 0)) {
    throw new ArgumentError('params.r', 'a positive flop rate to convert w (flops) to seconds', params.r);
  }
  if (wb.some((x) => x > 0) && !(params.b !== undefined && params.b > 0)) {
    throw new ArgumentError('params.b', 'a positive rate in bytes/s to convert wBytes to seconds (probe again: `npx superstep probe` measures b)', params.b);
  }
  const compute = w.reduce((a, x) => a + x / (params.r || 1), 0) + wb.reduce((a, x) => a + x / (params.b || 1), 0) + ws.reduce((a, x) => a + x, 0);
  const communication = h.reduce((a, x) => a + params.g * x, 0);
  const synchronisation = n * params.l;
  const resolved: ResolvedParams =
    'source' in params ? params : { ...params, host: 'given', backend: input.backend ?? 'given', p: input.p ?? 0, source: 'given', from: [] };
  return { seconds: compute + communication + synchronisation, compute, communication, synchronisation, supersteps: n, params: resolved };
}

/** Turns a `steps` list into the per-superstep series of PredictInput. */
function fromSteps(input: PredictInput): PredictInput {
  const { steps, w, wBytes, wSeconds, h, supersteps, ...rest } = input;
  if (w !== undefined || wBytes !== undefined || wSeconds !== undefined || h !== undefined) {
    throw new ArgumentError('steps', 'given alone (not with w, wBytes, wSeconds or h)', 'steps and counts');
  }
  if (!Array.isArray(steps)) throw new ArgumentError('steps', 'an array of { flops?, bytes?, h } (e.g. matvec.cost(A, x))', steps);
  const num = (v: unknown, k: string, i: number): number => {
    if (v === undefined) return 0;
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw new ArgumentError(`steps[${i}].${k}`, 'a finite number >= 0', v);
    return v;
  };
  const list = steps as readonly SuperstepCounts[];
  if (supersteps !== undefined && supersteps !== list.length) throw new ArgumentError('supersteps', `steps.length (${list.length}) or absent`, supersteps);
  return {
    ...rest,
    w: list.map((c, i) => num(c?.flops, 'flops', i)),
    wBytes: list.map((c, i) => num(c?.bytes, 'bytes', i)),
    h: list.map((c, i) => num(c?.h, 'h', i)),
  };
}

/**
 * Predicts with the parameters of `input.params`, or else from the params file for
 * (this host, backend, p), extrapolated in P when P was not measured.
 * @throws {ArgumentError} when no parameters are given and none were measured for this host and backend
 */
export function predictFromFile(input: PredictInput, p: number, backend: string): Prediction {
  if (input.params) return predictWith(input, input.params);
  const params = resolveParams(p, backend);
  if (!params) {
    throw new ArgumentError('params', `measured parameters: run \`npx superstep probe -n ${p} --backend ${backend}\` first, or pass { params: { g, l, r } }`, 'none in the params file');
  }
  return predictWith(input, params);
}
