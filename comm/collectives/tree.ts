/**
 * Tree and dissemination algorithms: barrier, binomial bcast, binomial reduce. They move
 * opaque values through a Combiner, so the typed-array and object collectives share them.
 */
import type { Payload } from '../transport.js';
import { kEmpty, type Chan } from './chan.js';

/** How a reduction moves and combines values of type V. */
export interface Combiner<V> {
  encode(v: V): Payload;
  decode(bytes: Uint8Array): V;
  /**
   * lo op hi, where lo holds the lower ranks' contribution. `into` names an argument the
   * algorithm owns (a received value) that the result may overwrite.
   */
  combine(lo: V, hi: V, into: 'lo' | 'hi'): V;
}

/** Dissemination barrier: ceil(log2 P) rounds of one empty message. */
export async function disseminationBarrier(ch: Chan): Promise<void> {
  const { rank: r, size: p } = ch;
  for (let k = 1; k < p; k <<= 1) {
    const s = ch.send((r + k) % p, kEmpty);
    await ch.recv((r - k + p) % p);
    await s;
  }
}

/**
 * Binomial-tree broadcast of a byte message from `root`. The root passes its payload and
 * gets undefined back; every other rank gets the message bytes (forwarded unchanged), or
 * with `land` the part after `land.head` (see Chan.recvInto).
 */
export async function binomialBcast(ch: Chan, root: number, payload: Payload | undefined, land?: { head: Uint8Array; into: Uint8Array | undefined }): Promise<Uint8Array | undefined> {
  const { rank, size: p } = ch;
  const vr = (rank - root + p) % p;
  let msg: Payload | undefined = payload;
  let got: Uint8Array | undefined;
  let mask = 1;
  while (mask < p) {
    if (vr & mask) {
      // With `land`: the message's head (after the signature) apart, the rest where the caller wants it.
      if (land) {
        got = await ch.recvInto((vr - mask + root) % p, land.head, land.into);
        msg = [land.head.subarray(8), got];
      } else {
        got = await ch.recv((vr - mask + root) % p);
        msg = got;
      }
      break;
    }
    mask <<= 1;
  }
  mask >>= 1;
  const sends: Promise<void>[] = [];
  while (mask > 0) {
    if (vr + mask < p) sends.push(ch.send((vr + mask + root) % p, msg!));
    mask >>= 1;
  }
  await Promise.all(sends);
  return got;
}

/**
 * Binomial-tree reduction to `root`, combining in the order of ranks relative to the root
 * (rank order itself when root is 0). Returns the result on the root, undefined elsewhere.
 * Non-commutative ops go through root 0 and one extra hop, so the order is always rank order.
 */
export async function binomialReduce<V>(ch: Chan, root: number, mine: V, c: Combiner<V>, commutative: boolean): Promise<V | undefined> {
  const { rank, size: p } = ch;
  const treeRoot = commutative ? root : 0;
  const vr = (rank - treeRoot + p) % p;
  let acc = mine;
  for (let mask = 1; mask < p; mask <<= 1) {
    if (vr & mask) {
      await ch.send((vr - mask + treeRoot) % p, c.encode(acc));
      break;
    }
    if (vr + mask < p) {
      const t = c.decode(await ch.recv((vr + mask + treeRoot) % p));
      acc = c.combine(acc, t, 'hi');
    }
  }
  if (treeRoot === root) return rank === root ? acc : undefined;
  if (rank === treeRoot) await ch.send(root, c.encode(acc));
  if (rank === root) return c.decode(await ch.recv(treeRoot));
  return undefined;
}

/**
 * Recursive-doubling allreduce (with the usual fold for P not a power of two). Every
 * combination is lower-ranks-first, and partners compute the same combination, so every
 * rank ends with a bit-identical result.
 */
export async function recursiveDoublingAllreduce<V>(ch: Chan, mine: V, c: Combiner<V>): Promise<V> {
  const { rank: r, size: p } = ch;
  if (p === 1) return mine;
  const pof2 = 1 << Math.floor(Math.log2(p));
  const rem = p - pof2;
  let acc = mine;
  let newrank: number;
  if (r < 2 * rem) {
    if (r % 2 === 0) {
      await ch.send(r + 1, c.encode(acc));
      newrank = -1;
    } else {
      const t = c.decode(await ch.recv(r - 1));
      acc = c.combine(t, acc, 'lo');
      newrank = r >> 1;
    }
  } else {
    newrank = r - rem;
  }
  if (newrank !== -1) {
    for (let mask = 1; mask < pof2; mask <<= 1) {
      const newdst = newrank ^ mask;
      const dst = newdst < rem ? newdst * 2 + 1 : newdst + rem;
      const s = ch.send(dst, c.encode(acc));
      const t = c.decode(await ch.recv(dst));
      // The send must have left acc before acc may be overwritten; `t` takes the result.
      await s;
      acc = newdst < newrank ? c.combine(t, acc, 'lo') : c.combine(acc, t, 'hi');
    }
  }
  if (r < 2 * rem) {
    if (r % 2 === 1) await ch.send(r - 1, c.encode(acc));
    else acc = c.decode(await ch.recv(r + 1));
  }
  return acc;
}

/**
 * Recursive-doubling inclusive / exclusive scan. Returns the prefix over ranks 0..r
 * (inclusive) or 0..r-1 (exclusive; undefined on rank 0). Partial results always cover a
 * contiguous block of ranks, combined lower block first.
 */
export async function recursiveDoublingScan<V>(ch: Chan, mine: V, c: Combiner<V>, exclusive: boolean): Promise<V | undefined> {
  const { rank: r, size: p } = ch;
  let partial = mine;
  let result: V | undefined = exclusive ? undefined : mine;
  for (let mask = 1; mask < p; mask <<= 1) {
    const dst = r ^ mask;
    if (dst >= p) continue;
    const s = ch.send(dst, c.encode(partial));
    const bytes = await ch.recv(dst);
    await s;
    if (dst < r) {
      // Two decodes: partial and result may both take the received value as their lower part.
      const copy = bytes.slice();
      result = result === undefined ? c.decode(bytes) : c.combine(c.decode(bytes), result, 'lo');
      partial = c.combine(c.decode(copy), partial, 'lo');
    } else {
      partial = c.combine(partial, c.decode(bytes), 'hi');
    }
  }
  return result;
}
