/**
 * BSPlib-style DRMA: `bsp.put(pid, data, name, offset)` and `bsp.get(pid, name, offset,
 * count)` on shared packages are queued during a superstep and applied at its sync, as
 * bsp_put / bsp_get are: every get reads the values the source held when it entered the
 * sync, before any put of that superstep lands; puts land in source-rank order, then in the
 * order they were queued. Nothing is visible before the sync.
 *
 * On the wire (see core/bsp.ts): puts and get requests ride in the sync's own message to
 * their target; get replies are one extra message per (target, requester) pair that has gets
 * (the gets' bytes back to back). Puts and gets of a rank on itself never touch the transport.
 *
 * Memory: bsp.put copies its data into a per-destination staging arena that is reused from
 * one superstep to the next (growing only when a superstep puts more than any before), and
 * get replies are staged the same way, so a steady DRMA program allocates nothing that grows
 * with h.
 */
import { ArgumentError, ProtocolError } from '../../util/errors.js';
import { bytesOf, kDTypes, type TypedArray } from '../../util/dtype.js';
import type { Transport } from '../../comm/transport.js';
import { context } from '../../comm/context.js';
import { toDTypeArray } from './region.js';
import { globalState, kDrmaContext, type GetOp, type PutOp, type SharedEntry } from './state.js';

/** What one source asked of this rank in a sync: puts (with their bytes) and gets. */
export interface DrmaRequests {
  puts: { name: string; offset: number; bytes: Uint8Array }[];
  gets: [name: string, offset: number, count: number][];
}

/** This rank's queued operations for one sync, per target rank. */
export interface DrmaBatch {
  puts: PutOp[][];
  gets: GetOp[][];
}

function sharedEntry(name: unknown, rank: number): SharedEntry {
  const e = typeof name === 'string' ? globalState().shared.get(name) : undefined;
  if (!e) {
    throw new ArgumentError('name', `a package shared by every rank (call \`await bsp.share(${JSON.stringify(name)})\` or bsp.merge first)`, name, rank);
  }
  return e;
}

function checkPid(pid: unknown, t: Transport): number {
  if (!Number.isInteger(pid) || (pid as number) < 0 || (pid as number) >= t.size) throw new ArgumentError('pid', `a rank in 0..${t.size - 1}`, pid, t.rank);
  return pid as number;
}

/**
 * Queues a write of `data` into the shared package `name` of rank `pid`, at element
 * `offset`, applied at the next sync. `data` is copied now (bsp_put semantics).
 * @throws {ArgumentError} for an unshared package, a dtype mismatch or a range outside it
 */
export function drmaPut(pid: number, data: TypedArray | ArrayLike<number | bigint>, name: string, offset = 0): void {
  const t = context().transport;
  const dest = checkPid(pid, t);
  const entry = sharedEntry(name, t.rank);
  const meta = entry.metas[dest]!;
  const n = typeof (data as { length?: unknown })?.length === 'number' ? (data as ArrayLike<unknown>).length : -1;
  if (n < 0) throw new ArgumentError('data', 'a typed array or an array of numbers', data, t.rank);
  if (!Number.isSafeInteger(offset) || offset < 0 || offset + n > meta.length) {
    throw new ArgumentError('offset', `such that offset + ${n} elements <= ${meta.length} (the length of '${name}' on rank ${dest})`, offset, t.rank);
  }
  const arr = toDTypeArray(data, meta.dtype, n, t.rank);
  const st = globalState();
  const bytes = arenas(st).puts[dest]!.take(arr.byteLength);
  bytes.set(bytesOf(arr));
  st.puts[dest]!.push({ name, offset, bytes });
}

/**
 * Staging memory reused across supersteps. take() hands out 8-aligned pieces; when a piece
 * does not fit, a larger buffer replaces the current one (pieces already handed out keep
 * the old one, which is never written again). reset() makes the memory reusable: only once
 * what was staged in it has been sent.
 */
class Arena {
  private buf = new Uint8Array(0);
  private fill = 0;

  take(n: number): Uint8Array {
    const at = this.fill;
    if (at + n > this.buf.byteLength) {
      this.buf = new Uint8Array(Math.max(2 * this.buf.byteLength, n + 64, 4096));
      this.fill = 0;
      return this.take(n);
    }
    this.fill = (at + n + 7) & ~7;
    return this.buf.subarray(at, at + n);
  }

  reset(): void {
    this.fill = 0;
  }
}

interface Arenas {
  /** Per destination: staged put data. */
  puts: Arena[];
  /** Per requester: staged get replies. */
  replies: Arena[];
  /** Per target: where a reply of several gets lands before it is split. */
  incoming: (Uint8Array | undefined)[];
}

const kArenas = new WeakMap<object, Arenas>();

function arenas(st: ReturnType<typeof globalState>): Arenas {
  let a = kArenas.get(st);
  if (!a) {
    const n = st.transport.size;
    a = { puts: Array.from({ length: n }, () => new Arena()), replies: Array.from({ length: n }, () => new Arena()), incoming: new Array(n) };
    kArenas.set(st, a);
  }
  return a;
}

/**
 * Queues a read of `count` elements at `offset` of rank `pid`'s shared package `name`
 * (default: to its end). Returns the array that the next sync fills (`out` if given);
 * it holds the values rank `pid` had when it entered that sync.
 */
export function drmaGet<T extends TypedArray = TypedArray>(pid: number, name: string, offset = 0, count?: number, out?: T): T {
  const t = context().transport;
  const src = checkPid(pid, t);
  const entry = sharedEntry(name, t.rank);
  const meta = entry.metas[src]!;
  const n = count ?? meta.length - offset;
  if (!Number.isSafeInteger(offset) || offset < 0 || !Number.isSafeInteger(n) || n < 0 || offset + n > meta.length) {
    throw new ArgumentError('offset/count', `a range within the ${meta.length} elements of '${name}' on rank ${src}`, [offset, count], t.rank);
  }
  const { ctor } = kDTypes[meta.dtype];
  const dst = out ?? new ctor(n);
  if (!(dst instanceof (ctor as unknown as typeof Float64Array)) || dst.length !== n) {
    throw new ArgumentError('out', `a ${meta.dtype} typed array of ${n} elements`, out, t.rank);
  }
  globalState().gets[src]!.push({ name, offset, count: n, out: dst });
  return dst as T;
}

/** @internal Takes this rank's queued operations for the sync that is starting (undefined: none). */
export function takeDrma(size: number): DrmaBatch | undefined {
  const st = globalState();
  let any = false;
  for (let d = 0; d < size && !any; d++) any = st.puts[d]!.length > 0 || st.gets[d]!.length > 0;
  if (!any) return undefined;
  const batch = { puts: st.puts, gets: st.gets };
  st.puts = Array.from({ length: size }, () => []);
  st.gets = Array.from({ length: size }, () => []);
  return batch;
}

/** @internal Called once a sync's sends have completed: the staged put data may be reused. */
export function releaseDrma(): void {
  const a = kArenas.get(globalState());
  if (!a) return;
  for (const x of a.puts) x.reset();
  for (const x of a.replies) x.reset();
}

/**
 * @internal Second half of a sync: serves the gets others asked of this rank (values before
 * any put), applies the puts they sent, and receives the replies to this rank's own gets.
 * `asked[me]` holds this rank's operations on itself; `mine` may be undefined (no DRMA queued
 * here this superstep).
 */
export async function completeDrma(t: Transport, step: number, mine: DrmaBatch | undefined, asked: readonly (DrmaRequests | undefined)[]): Promise<void> {
  const tag = step & 0x7fffffff;
  const st = globalState();
  const ar = arenas(st);
  const bs = (e: SharedEntry) => kDTypes[e.metas[t.rank]!.dtype].bytes;
  const entry = (name: string, source: number, what: string) => {
    const e = st.shared.get(name);
    if (!e) throw new ProtocolError(`bsp.${what} from rank ${source}: package '${name}' is not shared on rank ${t.rank}`, t.rank);
    return e;
  };
  // 1. Copy out what was asked for, before any put of this superstep lands: into the reply
  //    staging for other ranks, straight into the result for this rank's gets on itself.
  const replies: { dest: number; parts: Uint8Array[] }[] = [];
  for (let s = 0; s < t.size; s++) {
    const gets = asked[s]?.gets;
    if (!gets?.length) continue;
    const parts: Uint8Array[] = [];
    gets.forEach(([name, offset, count], i) => {
      const e = entry(name, s, 'get');
      if (offset + count > e.view.length) throw new ProtocolError(`bsp.get from rank ${s}: elements ${offset}..${offset + count} of '${name}' exceed its ${e.view.length}`, t.rank);
      const b = bs(e);
      const src = bytesOf(e.view).subarray(offset * b, (offset + count) * b);
      if (s === t.rank) {
        bytesOf(mine!.gets[s]![i]!.out).set(src);
        return;
      }
      const copy = ar.replies[s]!.take(src.byteLength);
      copy.set(src);
      parts.push(copy);
    });
    if (s !== t.rank) replies.push({ dest: s, parts });
  }
  // 2. Apply puts, in source-rank order.
  for (let s = 0; s < t.size; s++) {
    for (const p of asked[s]?.puts ?? []) {
      const e = entry(p.name, s, 'put');
      const b = bs(e);
      if (p.offset * b + p.bytes.byteLength > e.view.byteLength) throw new ProtocolError(`bsp.put from rank ${s}: range exceeds '${p.name}'`, t.rank);
      bytesOf(e.view).set(p.bytes, p.offset * b);
    }
  }
  // 3. Exchange get replies. A reply to one get lands in its result directly.
  const sends = replies.map((r) => t.send(r.dest, kDrmaContext, tag, r.parts));
  try {
    for (let s = 0; s < t.size; s++) {
      const gets = s === t.rank ? undefined : mine?.gets[s];
      if (!gets?.length) continue;
      let total = 0;
      for (const g of gets) total += g.out.byteLength;
      const into = gets.length === 1 ? bytesOf(gets[0]!.out) : (ar.incoming[s] = fit(ar.incoming[s], total));
      const m = await t.recv(s, kDrmaContext, tag, into);
      if (m.data.byteLength !== total) throw new ProtocolError(`bsp.get: rank ${s} replied ${m.data.byteLength} bytes, expected ${total}`, t.rank);
      if (gets.length === 1 && m.data.buffer === into.buffer && m.data.byteOffset === into.byteOffset) continue;
      let off = 0;
      for (const g of gets) {
        const n = g.out.byteLength;
        bytesOf(g.out).set(m.data.subarray(off, off + n));
        off += n;
      }
    }
  } finally {
    await Promise.allSettled(sends);
  }
  await Promise.all(sends);
}

/** A reusable buffer of at least n bytes. */
function fit(buf: Uint8Array | undefined, n: number): Uint8Array {
  return buf && buf.byteLength >= n ? buf : new Uint8Array(Math.max(n, 2 * (buf?.byteLength ?? 0)));
}

/** @internal True when this batch or any request needs the second half of the sync. */
export function drmaPending(mine: DrmaBatch | undefined, asked: readonly (DrmaRequests | undefined)[]): boolean {
  return (mine?.gets.some((g) => g.length > 0) ?? false) || asked.some((a) => a !== undefined && (a.puts.length > 0 || a.gets.length > 0));
}

