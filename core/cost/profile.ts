/**
 * Every superstep, recorded. When profiling is on (SUPERSTEP_PROFILE=1 in the ranks'
 * environment, which `superstep run --profile` sets, or bsp.profiling(true) on every rank),
 * each sync records on each rank the local compute time since the previous sync (w), the
 * payload bytes sent to and received from other ranks, and the superstep's duration (t).
 *
 * The maxima over ranks cost no extra message: bsp.sync already sends one message to every
 * rank each superstep, and its header carries `pr = [w_k, out_k, in_{k-1}, t_{k-1}]`. Bytes
 * received and the duration are only known once a sync has finished, so they travel one
 * superstep later; the last superstep's h and t are completed from every rank's own record
 * when the launcher gathers them (`superstep run --profile`), and marked `complete: false`
 * in an in-program bsp.profile() table.
 */
import { context } from '../../comm/context.js';
import type { CollectiveCall } from '../../comm/collectives/choose.js';
import type { SyncEvent } from '../bsp.js';
import type { BspParams, ResolvedParams } from './params.js';

/** Bytes per word: h is counted in 8-byte doubles, as g is. */
export const kWordBytes = 8;

/** What one rank recorded for one superstep (its own figures). */
export interface SuperstepRecord {
  superstep: number;
  passPhrase: string | null;
  /** Local compute time since the previous sync (or since profiling began), seconds. */
  w: number;
  /** Payload bytes sent to other ranks. */
  bytesOut: number;
  /** Payload bytes received from other ranks. */
  bytesIn: number;
  /** Duration of the superstep on this rank (previous sync's exit to this sync's exit), seconds. */
  t: number;
  /** True for the first superstep recorded: it started when profiling began on this rank. */
  first?: boolean;
}

/** One row of the profile table: maxima over ranks. */
export interface ProfileRow {
  superstep: number;
  passPhrase: string | null;
  /** Max over ranks of the local compute time, seconds. */
  w: number;
  /** Max over ranks of max(words sent, words received); words are 8 bytes. */
  h: number;
  /**
   * Measured superstep time (max over ranks), seconds. For the first superstep recorded, the
   * min over ranks: ranks start at different times and the first to start waits for the last,
   * which is start-up skew, not the superstep's cost.
   */
  t: number;
  /** w + g·h + l with the parameters used, seconds; null without parameters. */
  predicted: number | null;
  /** False for the last superstep of an in-program table, whose received bytes and time are this rank's only. */
  complete: boolean;
}

/** One collective call on one rank (comm/collectives/choose.ts records it), in the superstep it ran in. */
export interface CollectiveRecord extends CollectiveCall {
  /** The superstep it ran in (the number of the next sync). */
  superstep: number;
}

/**
 * One collective call in the profile: the algorithm chosen, measured against the model. t is
 * the max over ranks when merged, this rank's own in bsp.collectiveProfile(); bytes (allgather(v):
 * a rank's part) the max over ranks when merged.
 */
export type CollectiveRow = Omit<CollectiveRecord, 'key'>;

/** What a rank hands the launcher when profiling (`superstep run --profile`): its own records. */
export interface ProfileRecords {
  supersteps: SuperstepRecord[];
  collectives: CollectiveRecord[];
}

/** Whether the environment asks for profiling (SUPERSTEP_PROFILE=1). */
export function profilingRequested(): boolean {
  const v = process.env.SUPERSTEP_PROFILE;
  return v !== undefined && v !== '' && v !== '0' && v !== 'false';
}

interface Maxima {
  w: number;
  out: number;
  in: number;
  t: number;
  /** Min over ranks of t (used for the first superstep). */
  tMin: number;
  /** Whether in and t came from every rank. */
  seen: number;
}

/** Per-rank recorder, driven by bsp.sync (see core/bsp.ts). @internal */
export class Profiler {
  readonly records: SuperstepRecord[] = [];
  /** The collective calls on messages, in the order this rank made them. */
  readonly collectives: CollectiveRecord[] = [];
  private readonly maxima = new Map<number, Maxima>();
  private lastExit: number;
  private pending: { step: number; w: number; out: number; ph: string | null; in: number } | undefined;

  /** `step`: the superstep running when profiling began. */
  constructor(private readonly size: number, now = performance.now(), private step = 0) {
    this.lastExit = now;
  }

  /** Records a collective call (the recorder comm/collectives/choose.ts calls). */
  collective(c: CollectiveCall): void {
    this.collectives.push({ ...c, superstep: this.step });
  }

  /**
   * Called at sync entry: records w and bytes out (packages, plus `extraOut` bytes of DRMA
   * puts), returns the header's profile field.
   */
  before(enter: number, step: number, passPhrase: string | undefined, outbox: readonly (readonly { byteLength: number }[])[], me: number, extraOut = 0): number[] {
    let out = extraOut;
    for (let d = 0; d < outbox.length; d++) {
      if (d === me) continue;
      for (const p of outbox[d]!) out += p.byteLength;
    }
    const w = (enter - this.lastExit) / 1000;
    this.pending = { step, w, out, ph: passPhrase ?? null, in: 0 };
    const prev = this.records.at(-1);
    const m = this.row(step);
    m.w = Math.max(m.w, w);
    m.out = Math.max(m.out, out);
    return prev && prev.superstep === step - 1 ? [w, out, prev.bytesIn, prev.t] : [w, out, -1, -1];
  }

  /**
   * Called for each message of the sync: `payload` is the package and put bytes it carried,
   * `pr` the sender's profile field; folds the sender's figures into the maxima.
   */
  absorb(source: number, me: number, pr: readonly number[] | undefined, payload: number): void {
    const p = this.pending;
    if (!p) return;
    if (source !== me) p.in += payload;
    if (!pr || source === me) return;
    const m = this.row(p.step);
    m.w = Math.max(m.w, pr[0]!);
    m.out = Math.max(m.out, pr[1]!);
    if (pr[2]! >= 0) {
      const prev = this.maxima.get(p.step - 1);
      if (prev) {
        prev.in = Math.max(prev.in, pr[2]!);
        prev.t = Math.max(prev.t, pr[3]!);
        prev.tMin = Math.min(prev.tMin, pr[3]!);
        prev.seen++;
      }
    }
  }

  /** Called when the sync has finished (a sync observer). */
  after(e: SyncEvent): void {
    const p = this.pending;
    if (!p || p.step !== e.superstep) return;
    this.pending = undefined;
    this.step = e.superstep + 1;
    const t = (e.exit - this.lastExit) / 1000;
    this.lastExit = e.exit;
    this.records.push({ superstep: p.step, passPhrase: p.ph, w: p.w, bytesOut: p.out, bytesIn: p.in, t, ...(this.records.length === 0 ? { first: true } : {}) });
    const m = this.row(p.step);
    m.in = Math.max(m.in, p.in);
    m.t = Math.max(m.t, t);
    m.tMin = Math.min(m.tMin, t);
    m.seen++;
    // Drop maxima older than the records (memory stays O(supersteps) either way).
  }

  /** The table as this rank knows it. */
  table(params: BspParams | undefined): ProfileRow[] {
    return this.records.map((r) => {
      const m = this.maxima.get(r.superstep)!;
      const complete = m.seen >= this.size;
      const hBytes = Math.max(m.out, m.in);
      return row(r.superstep, r.passPhrase, m.w, hBytes / kWordBytes, r.first ? m.tMin : m.t, params, complete);
    });
  }

  private row(step: number): Maxima {
    let m = this.maxima.get(step);
    if (!m) {
      m = { w: 0, out: 0, in: 0, t: 0, tMin: Infinity, seen: 0 };
      this.maxima.set(step, m);
    }
    return m;
  }
}

function row(superstep: number, passPhrase: string | null, w: number, h: number, t: number, params: BspParams | undefined, complete: boolean): ProfileRow {
  return { superstep, passPhrase, w, h, t, predicted: params ? w + params.g * h + params.l : null, complete };
}

/**
 * Merges every rank's own records (as the launcher gathers them) into the exact table:
 * per superstep, the maxima over ranks.
 */
export function mergeRecords(perRank: readonly (readonly SuperstepRecord[] | undefined)[], params: BspParams | undefined): ProfileRow[] {
  const by = new Map<number, { ph: string | null; w: number; out: number; in: number; t: number; first: boolean }>();
  for (const recs of perRank) {
    for (const r of recs ?? []) {
      const m = by.get(r.superstep) ?? { ph: r.passPhrase, w: 0, out: 0, in: 0, t: r.first ? Infinity : 0, first: r.first === true };
      m.w = Math.max(m.w, r.w);
      m.out = Math.max(m.out, r.bytesOut);
      m.in = Math.max(m.in, r.bytesIn);
      m.t = m.first ? Math.min(m.t, r.t) : Math.max(m.t, r.t);
      by.set(r.superstep, m);
    }
  }
  return [...by.entries()]
    .sort((a, b) => a[0] - b[0])
    .map(([s, m]) => row(s, m.ph, m.w, Math.max(m.out, m.in) / kWordBytes, m.t, params, true));
}

/** The rows of one rank's collective records (its own times). */
export function collectiveRows(records: readonly CollectiveRecord[]): CollectiveRow[] {
  return records.map(({ key: _, ...row }) => row);
}

/**
 * Merges every rank's collective records into one row per call (the same communicator
 * context and sequence number on every member): the max of bytes and time over ranks, in
 * the order the lowest rank made them.
 */
export function mergeCollectiveRecords(perRank: readonly (readonly CollectiveRecord[] | undefined)[]): CollectiveRow[] {
  const by = new Map<string, CollectiveRow>();
  for (const recs of perRank) {
    for (const c of recs ?? []) {
      const k = `${c.key}/${c.collective}/${c.p}`;
      const m = by.get(k);
      if (!m) by.set(k, collectiveRows([c])[0]!);
      else {
        m.t = Math.max(m.t, c.t);
        m.bytes = Math.max(m.bytes, c.bytes);
        m.superstep = Math.min(m.superstep, c.superstep);
      }
    }
  }
  return [...by.values()];
}

/** This rank's profiler in the current job, if profiling is on. @internal */
export function currentProfiler(): Profiler | undefined {
  return (context().slots.get('bsp') as { profiler?: Profiler } | undefined)?.profiler;
}

/** This rank's own records of the current job. */
export function localRecords(): SuperstepRecord[] | undefined {
  return currentProfiler()?.records;
}

/** This rank's own superstep and collective records of the current job (what a rank hands to the launcher). */
export function localProfile(): ProfileRecords | undefined {
  const p = currentProfiler();
  return p && { supersteps: p.records, collectives: p.collectives };
}

/** Sums of a table: total measured and predicted time. */
export function profileTotals(rows: readonly ProfileRow[]): { supersteps: number; measured: number; predicted: number | null; w: number; h: number } {
  const measured = rows.reduce((a, r) => a + r.t, 0);
  const predicted = rows.every((r) => r.predicted !== null) ? rows.reduce((a, r) => a + r.predicted!, 0) : null;
  return { supersteps: rows.length, measured, predicted, w: rows.reduce((a, r) => a + r.w, 0), h: rows.reduce((a, r) => a + r.h, 0) };
}

export type { ResolvedParams };
