/**
 * Data-movement algorithms on byte messages: linear gather/scatter through the root,
 * direct allgather, pairwise all-to-all, and the long-message allreduce (pairwise
 * reduce-scatter in rank order, then allgather).
 */
import type { Payload } from '../transport.js';
import type { Chan } from './chan.js';

/** Root receives one message from every other rank; returns them by rank (own slot undefined). */
export async function gatherToRoot(ch: Chan, root: number, mine: Payload): Promise<(Uint8Array | undefined)[] | undefined> {
  if (ch.rank !== root) {
    await ch.send(root, mine);
    return undefined;
  }
  const out: (Uint8Array | undefined)[] = new Array(ch.size).fill(undefined);
  const got = await Promise.all(Array.from({ length: ch.size }, (_, r) => (r === root ? undefined : ch.recv(r))));
  for (let r = 0; r < ch.size; r++) out[r] = got[r];
  return out;
}

/** Root sends parts[r] to every rank r != root; others receive theirs. Root gets undefined. */
export async function scatterFromRoot(ch: Chan, root: number, parts: Payload[] | undefined): Promise<Uint8Array | undefined> {
  if (ch.rank !== root) return ch.recv(root);
  const sends: Promise<void>[] = [];
  for (let r = 0; r < ch.size; r++) if (r !== root) sends.push(ch.send(r, parts![r]!));
  await Promise.all(sends);
  return undefined;
}

/** Every rank sends `mine` to every other; returns what each sent (own slot undefined). */
export function directAllgather(ch: Chan, mine: Payload): Promise<(Uint8Array | undefined)[]> {
  return pairwiseAlltoall(ch, new Array<Payload>(ch.size).fill(mine));
}

/**
 * Pairwise exchange: in step k, send to r+k and receive from r-k. Sends are all posted at
 * once (the transport queues them); receives complete in any order; with `into`, the part
 * from rank s lands in into[s] when it fits.
 */
export async function pairwiseAlltoall(ch: Chan, parts: readonly Payload[], into?: readonly Uint8Array[]): Promise<(Uint8Array | undefined)[]> {
  const { rank: r, size: p } = ch;
  const out: (Uint8Array | undefined)[] = new Array(p).fill(undefined);
  const recvs: Promise<void>[] = [];
  // Receives first (each straight into its place when `into` says where), then the sends.
  const heads = into ? new Uint8Array(8 * p) : undefined;
  for (let k = 1; k < p; k++) {
    const s = (r - k + p) % p;
    const got = heads ? ch.recvInto(s, heads.subarray(8 * s, 8 * s + 8), into![s]) : ch.recv(s);
    recvs.push(got.then((b) => void (out[s] = b)));
  }
  const sends: Promise<void>[] = [];
  for (let k = 1; k < p; k++) {
    const d = (r + k) % p;
    sends.push(ch.send(d, parts[d]!));
  }
  await Promise.all(recvs);
  await Promise.all(sends);
  return out;
}
