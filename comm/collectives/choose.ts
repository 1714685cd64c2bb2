/**
 * Which algorithm a collective on messages runs, decided by the cost model (LPF's way): for
 * each collective with more than one algorithm, a cost per algorithm in BSP terms from the
 * probed g (seconds per 8-byte word), l (seconds per synchronisation step) and b (bytes/s of
 * a streaming kernel, for the copies and folds an algorithm adds), and `choose` returns the
 * cheapest. comm may not read the params file (it is core's): the launcher resolves the
 * parameters once for its backend and every P up to its own and hands them to every rank in
 * SUPERSTEP_COLL_MODEL (core/launch/world.ts), so every rank decides alike. Without them the
 * fixed switch points of before (kDefaultSwitch) decide, so nothing changes without a probe.
 *
 * Every rank must take the same algorithm: the choice depends only on (P, bytes, model), and
 * every member of a call knows the bytes (allreduce, allgather, allgatherv's lengths once
 * exchanged) except in bcast, where the root's choice travels in the tree's first message.
 */
import { ArgumentError } from '../../util/errors.js';
import { context } from '../context.js';

/** The algorithms of each collective that has a choice (names as `--profile` shows them). */
export const kAlgorithms = {
  allreduce: ['recursive-doubling', 'ring'],
  bcast: ['binomial', 'chain'],
  allgather: ['direct', 'ring'],
} as const;

export type ChoosableCollective = keyof typeof kAlgorithms;
export type Algorithm<C extends ChoosableCollective = ChoosableCollective> = (typeof kAlgorithms)[C][number];

/** The parameters of one P (those of `superstep probe`, docs/cost.md). */
export interface ModelParams {
  p: number;
  /** Seconds per 8-byte word of an h-relation. */
  g: number;
  /** Seconds per synchronisation (a step every rank waits for). */
  l: number;
  /** Bytes/s of the streaming kernel, per rank (copies and folds); optional. */
  b?: number;
}

/** What the algorithms are chosen by: the parameters of every P a communicator may have. */
export interface CollectiveModel {
  /** The backend they were probed on (for reports). */
  backend?: string;
  entries: ModelParams[];
}

/** The environment variable the launcher hands the model down in (JSON of a CollectiveModel). */
export const kModelEnv = 'SUPERSTEP_COLL_MODEL';
/** Forces algorithms, for tests and benches: `allreduce:ring,bcast:chain`. */
export const kForceEnv = 'SUPERSTEP_COLL_ALGO';

/** Bytes the bcast chain sends down the binomial tree first (with the dtype and length). */
export const kBcastTreeBytes = 64 << 10;
/** Segments of the bcast chain. */
export const kChainSegmentBytes = 128 << 10;

/** The switch points of before (docs/comm.md), used without a model. */
export const kDefaultSwitch = {
  /** Allreduce from this many bytes: reduce-scatter + allgather (a ring for commutative ops). */
  allreduceRing: 64 << 10,
  /** Bcast (P >= 3) above this many bytes: tree head, then the pipelined chain. */
  bcastChain: kBcastTreeBytes,
  /** Allgather(v): parts up to this size go to every rank directly, longer ones round a ring. */
  allgatherDirect: 16 << 10,
};

let model: CollectiveModel | undefined;
let modelRead = false;
let forced: Partial<Record<ChoosableCollective, string>> | undefined;
let forcedRead = false;

/** Sets the model every later choice on this rank uses (undefined: the fixed switch points). Call it alike on every rank. */
export function setCollectiveModel(m: CollectiveModel | undefined): void {
  if (m !== undefined) checkModel(m);
  model = m;
  modelRead = true;
}

/** The model in use: set, or handed down by the launcher, or undefined. */
export function collectiveModel(): CollectiveModel | undefined {
  if (!modelRead) {
    modelRead = true;
    model = parseModel(process.env[kModelEnv]);
  }
  return model;
}

/** The model in SUPERSTEP_COLL_MODEL's form (JSON), or undefined for an empty value. */
export function parseModel(text: string | undefined): CollectiveModel | undefined {
  if (!text) return undefined;
  let m: unknown;
  try {
    m = JSON.parse(text);
  } catch (err) {
    throw new ArgumentError(kModelEnv, 'JSON of { entries: [{ p, g, l, b? }] }', (err as Error).message);
  }
  checkModel(m);
  return m;
}

function checkModel(m: unknown): asserts m is CollectiveModel {
  const entries = (m as CollectiveModel | null)?.entries;
  const ok = Array.isArray(entries) && entries.length > 0 && entries.every((e) => Number.isInteger(e?.p) && e.p >= 1 && [e.g, e.l, e.b ?? 0].every((v) => typeof v === 'number' && Number.isFinite(v) && v >= 0));
  if (!ok) throw new ArgumentError('model', '{ entries: [{ p, g, l, b? }, ...] } with P a positive integer and g, l, b finite numbers >= 0', m);
}

/**
 * Forces algorithms on this rank (tests, benches): `allreduce:ring,bcast:chain`; undefined or
 * '' lifts it (SUPERSTEP_COLL_ALGO is the initial value). Force alike on every rank.
 */
export function forceCollectiveAlgorithms(spec: string | undefined): void {
  forced = parseForce(spec);
  forcedRead = true;
}

function parseForce(spec: string | undefined): Partial<Record<ChoosableCollective, string>> | undefined {
  if (!spec) return undefined;
  const out: Partial<Record<ChoosableCollective, string>> = {};
  for (const item of spec.split(',').filter(Boolean)) {
    const [coll, algo] = item.split(':') as [string, string | undefined];
    const names = (kAlgorithms as Record<string, readonly string[]>)[coll];
    if (!names || !algo || !names.includes(algo)) {
      const all = Object.entries(kAlgorithms).flatMap(([c, as]) => as.map((a) => `${c}:${a}`));
      throw new ArgumentError(kForceEnv, `a comma-separated list of ${all.join(', ')}`, item);
    }
    out[coll as ChoosableCollective] = algo;
  }
  return out;
}

function forcedFor(c: ChoosableCollective): string | undefined {
  if (!forcedRead) {
    forcedRead = true;
    forced = parseForce(process.env[kForceEnv]);
  }
  return forced?.[c];
}

/** The parameters for a communicator of `p` ranks: that P's, else the nearest probed. */
export function paramsFor(m: CollectiveModel, p: number): ModelParams {
  let best = m.entries[0]!;
  for (const e of m.entries) if (Math.abs(e.p - p) < Math.abs(best.p - p) || (e.p === p && best.p !== p)) best = e;
  return best;
}

const log2ceil = (p: number) => Math.ceil(Math.log2(Math.max(1, p)));

/**
 * Seconds `algorithm` of `collective` takes for `bytes` on `p` ranks with `m`'s parameters
 * (derived from what tree.ts, ring.ts and exchange.ts do; docs/comm.md). L = l is a step's
 * latency, G = g/8 the time per byte on the wire, C = 1/b per byte copied or folded locally.
 */
export function algorithmCost(collective: ChoosableCollective, algorithm: string, p: number, bytes: number, m: ModelParams): number {
  const L = m.l;
  const G = m.g / 8;
  const C = m.b ? 1 / m.b : 0;
  const n = bytes;
  if (p <= 1) return 0;
  switch (`${collective}:${algorithm}`) {
    case 'allreduce:recursive-doubling': {
      // log2 of the power of two below P exchanges of the whole array (each folded: 3 bytes
      // touched per byte), two more to fold in and hand back the ranks above it.
      const pof2 = 1 << Math.floor(Math.log2(p));
      const steps = Math.log2(pof2) + (pof2 < p ? 2 : 0);
      return steps * (L + n * G + 3 * n * C);
    }
    case 'allreduce:ring':
      // Reduce-scatter then allgather, P - 1 steps each of one block (N / P), folded as it lands.
      return 2 * (p - 1) * (L + (n / p) * G) + (p - 1) * (n / p) * 3 * C;
    case 'bcast:binomial':
      return log2ceil(p) * (L + n * G);
    case 'bcast:chain': {
      // The head down the tree, then s segments through a chain of P - 1 hops, pipelined.
      const head = Math.min(n, kBcastTreeBytes);
      const rest = n - head;
      const tree = log2ceil(p) * (L + head * G);
      if (rest <= 0) return tree;
      const s = Math.ceil(rest / kChainSegmentBytes);
      return tree + (p - 2 + s) * (L + (rest / s) * G);
    }
    case 'allgather:direct':
      // One h-relation (every part to every rank at once), received whole, then copied into place.
      return L + (p - 1) * n * G + (p - 1) * n * 2 * C;
    case 'allgather:ring':
      // P - 1 steps, each part received straight into place and forwarded.
      return (p - 1) * (L + n * G);
    default:
      throw new ArgumentError('algorithm', `one of ${kAlgorithms[collective]?.join(', ')} for ${collective}`, algorithm);
  }
}

/** The algorithm without a model: the fixed switch points of before. */
function byDefault(collective: ChoosableCollective, p: number, bytes: number): Algorithm {
  switch (collective) {
    case 'allreduce':
      return bytes >= kDefaultSwitch.allreduceRing ? 'ring' : 'recursive-doubling';
    case 'bcast':
      return p >= 3 && bytes > kDefaultSwitch.bcastChain ? 'chain' : 'binomial';
    case 'allgather':
      return bytes <= kDefaultSwitch.allgatherDirect ? 'direct' : 'ring';
  }
}

/**
 * The algorithm `collective` runs for `bytes` (allreduce, bcast: the array; allgather(v): one
 * part) on `p` ranks: a forced one, else the cheapest by `m` (default: the model in use; ties:
 * the first listed), else (null) the default switch points.
 */
export function choose<C extends ChoosableCollective>(collective: C, p: number, bytes: number, m: CollectiveModel | null = collectiveModel() ?? null): Algorithm<C> {
  const f = forcedFor(collective);
  if (f) return f as Algorithm<C>;
  if (!m) return byDefault(collective, p, bytes) as Algorithm<C>;
  const params = paramsFor(m, p);
  let best: string = kAlgorithms[collective][0];
  let cost = Infinity;
  for (const a of kAlgorithms[collective]) {
    const c = algorithmCost(collective, a, p, bytes, params);
    if (c < cost) [best, cost] = [a, c];
  }
  return best as Algorithm<C>;
}

/** The model's time for `algorithm` (seconds), or null without a model (`m` null, or none in use). */
export function predictCollective(collective: ChoosableCollective, algorithm: string, p: number, bytes: number, m: CollectiveModel | null = collectiveModel() ?? null): number | null {
  return m ? algorithmCost(collective, algorithm, p, bytes, paramsFor(m, p)) : null;
}

// Recording (bsp.profile's collectives)
// -------------------------------------

/** One collective call on one rank, as `--profile` records it. */
export interface CollectiveCall {
  /** The call's communicator context and sequence number: the same call on every member. */
  key: string;
  collective: string;
  /** The algorithm that ran (allreduce with a non-commutative op: 'pairwise', the ring's rank-order form). */
  algorithm: string;
  p: number;
  bytes: number;
  /** Measured on this rank, seconds. */
  t: number;
  /** The model's time for the algorithm that ran, seconds; null without a model. */
  predicted: number | null;
}

export type CollectiveRecorder = (call: CollectiveCall) => void;

const kRecorderSlot = 'collectives.recorder';

/** Records this job's collective calls on this rank with `rec` (core's profiler), or stops (undefined). */
export function setCollectiveRecorder(rec: CollectiveRecorder | undefined): void {
  if (rec) context().slots.set(kRecorderSlot, rec);
  else context().slots.delete(kRecorderSlot);
}

/**
 * Runs `body` (a collective's algorithm) and, when this job records collectives, records the
 * call with its time and what `what` says once it is done (the algorithm that ran, the one
 * chosen for the prediction, if any, and the bytes); without a recorder it is `body()` itself.
 */
export function recorded<R>(ch: { context: number; seq: number; size: number }, collective: string, body: () => Promise<R>, what: () => { algorithm: string; choice?: string; bytes: number }): Promise<R> {
  const rec = context().slots.get(kRecorderSlot) as CollectiveRecorder | undefined;
  if (!rec) return body();
  const t0 = performance.now();
  return body().then((res) => {
    const t = (performance.now() - t0) / 1000;
    const { algorithm, choice, bytes } = what();
    const predicted = choice !== undefined && collective in kAlgorithms ? predictCollective(collective as ChoosableCollective, choice, ch.size, bytes) : null;
    rec({ key: `${ch.context}/${ch.seq}`, collective, algorithm, p: ch.size, bytes, t, predicted });
    return res;
  });
}
