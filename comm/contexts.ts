/**
 * The registry of transport contexts. A context separates one user of the transport from
 * every other (it is always matched exactly), so two users must never hold the same one.
 *
 * - Contexts 0 .. 7 are reserved, one fixed user each (listed below): every rank knows them
 *   without agreeing.
 * - Every other context belongs to a communicator, in pairs (point-to-point, collectives),
 *   taken by `dup`/`split`/`create` and given back by `free()` (MPI's Comm.Free). Members
 *   agree on a pair that is free on all of them: an allreduce BOR of their bitmaps of pairs in
 *   use over a window of 1024 pairs, the first clear bit wins (the next window if all are set).
 *   Only members of the new communicator take the pair; a rank outside it may reuse the pair
 *   meanwhile, which is safe because the two communicators have no rank in common, so no
 *   message of one can reach the other's receives.
 *
 * Freeing is as MPI's: every member frees, after the traffic on the communicator is done.
 */

/** Context 0: never used (a zeroed header is not a message). */
export const kNoContext = 0;
/** The BSP runtime's supersteps (core/bsp.ts). */
export const kBspContext = 1;
/** The world communicator: point-to-point and collectives. */
export const kWorldP2P = 2;
export const kWorldColl = 3;
/** Global arrays: metadata exchanges (merge, share). */
export const kGlobalContext = 4;
/** Global arrays: DRMA get replies at sync. */
export const kDrmaContext = 5;
/** First context of the communicator pairs (6 and 7 are spare). */
export const kFirstPairContext = 8;

/** Pairs per agreement window: a 128-byte bitmap per allreduce. */
export const kWindowPairs = 1024;
const kWindowWords = kWindowPairs / 32;
/** The highest pair, so that both contexts stay positive int32s (the transports' header field). */
const kMaxPairs = Math.floor((0x7fffffff - kFirstPairContext) / 2);

/** One rank's pairs in use, as a bitmap. */
export class ContextRegistry {
  private used = new Uint32Array(kWindowWords);
  private live = 0;

  /** Pairs this rank holds now. */
  get inUse(): number {
    return this.live;
  }

  /** This rank's bitmap of window `w` (a copy, to be OR-ed with the other members'). */
  window(w: number): Uint32Array {
    const out = new Uint32Array(kWindowWords);
    const start = w * kWindowWords;
    if (start < this.used.length) out.set(this.used.subarray(start, start + kWindowWords));
    return out;
  }

  /** The first pair that no member uses, given the members' OR of window `w`; undefined if full. */
  firstFree(w: number, or: Uint32Array): number | undefined {
    for (let i = 0; i < kWindowWords; i++) {
      const word = or[i]!;
      if (word === 0xffffffff) continue;
      const bit = 31 - Math.clz32(~word & (word + 1));
      const pair = (w * kWindowWords + i) * 32 + bit;
      if (pair >= kMaxPairs) return undefined;
      return kFirstPairContext + 2 * pair;
    }
    return undefined;
  }

  /** Marks the pair starting at `ctx` as this rank's. */
  take(ctx: number): void {
    const pair = this.pairOf(ctx);
    const word = pair >>> 5;
    if (word >= this.used.length) {
      const grown = new Uint32Array(Math.max(this.used.length * 2, (word + kWindowWords) & ~(kWindowWords - 1)));
      grown.set(this.used);
      this.used = grown;
    }
    const bit = 1 << (pair & 31);
    if (this.used[word]! & bit) return;
    this.used[word]! |= bit;
    this.live++;
  }

  /** Gives the pair starting at `ctx` back. */
  release(ctx: number): void {
    const pair = this.pairOf(ctx);
    const word = pair >>> 5;
    const bit = 1 << (pair & 31);
    if (word >= this.used.length || !(this.used[word]! & bit)) return;
    this.used[word]! &= ~bit;
    this.live--;
  }

  /** True when no member could be offered a pair in window `w` or later (contexts exhausted). */
  static beyondLast(w: number): boolean {
    return w * kWindowPairs >= kMaxPairs;
  }

  private pairOf(ctx: number): number {
    return (ctx - kFirstPairContext) >>> 1;
  }
}
