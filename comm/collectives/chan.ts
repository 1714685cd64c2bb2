/**
 * What a collective algorithm sees of a communicator: ranks 0..size-1 and byte messages on
 * the communicator's collective context, under one tag per collective call (so that two
 * collectives in flight never match each other's messages).
 */
import type { Payload } from '../transport.js';

export interface Chan {
  readonly rank: number;
  readonly size: number;
  /** Sends to communicator rank `to`; resolves when the buffers may be reused. */
  send(to: number, data: Payload): Promise<void>;
  /** Receives the next message of this collective from communicator rank `from`. */
  recv(from: number): Promise<Uint8Array>;
  /**
   * The same, landing in place: the message's first head.byteLength bytes (its signature
   * first) in `head`, the rest in `into`. Resolves with the rest: a view of `into`, or of a
   * fresh buffer when it did not fit.
   */
  recvInto(from: number, head: Uint8Array, into: Uint8Array | undefined): Promise<Uint8Array>;
}

export const kEmpty = new Uint8Array(0);

/** Splits `n` units over `p` parts as evenly as possible: counts, in part order. */
export function blockCounts(n: number, p: number): number[] {
  const base = Math.floor(n / p);
  const extra = n % p;
  return Array.from({ length: p }, (_, i) => base + (i < extra ? 1 : 0));
}

/** Offsets of consecutive blocks of the given counts. */
export function displsOf(counts: readonly number[]): number[] {
  const out = new Array<number>(counts.length);
  let off = 0;
  for (let i = 0; i < counts.length; i++) {
    out[i] = off;
    off += counts[i]!;
  }
  return out;
}

/** Largest power of two <= n (n >= 1). */
export function pof2Below(n: number): number {
  let p = 1;
  while (p * 2 <= n) p *= 2;
  return p;
}
