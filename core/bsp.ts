/**
 * The PyBSP surface: `import { bsp } from 'superstep'`.
 *
 * A rank packs data into named packages (fromObject, fromArray, createArray), queues them
 * for ranks with toProc, and calls `await bsp.sync(passPhrase)`. What rank q sent in
 * superstep k is visible on rank p through `bsp.fromProc(q)` after sync k, and not before.
 *
 * Wire format of a sync: one message to every other rank (so the sync is also a barrier and
 * every rank learns every pass phrase), nothing through the transport for the rank itself:
 *   binary header (core/sync-wire.ts, padded to 8) | package bytes, each padded to 8 |
 *   put bytes, each padded to 8
 * The header names the superstep, the pass phrase, the packages (name, kind, dtype, shape,
 * byte length), the DRMA puts to the receiver (name, element offset, byte length) and gets
 * from it (name, element offset, count), and, only when profiling is on, the sender's
 * [w, bytes out, bytes in of the previous superstep, duration of the previous superstep]
 * (core/cost/profile.ts): every rank learns the maxima over ranks with no extra message.
 *
 * Copies: array bytes go from the package into the transport and out of it into the
 * message buffer, once each way; received packages are views into that buffer, which the
 * receiver owns (a package stays valid for as long as it is referenced). Packages a rank
 * sends itself are copied once at the sync. A large message that carries no packages (DRMA
 * puts only) is received into a buffer reused from sync to sync. Opt-in
 * (reuseReceiveBuffers): every message lands in a per-source buffer reused from sync to sync,
 * and received packages are views into it that last until the next sync.
 * DRMA get replies (core/global/drma.ts) are one message per (target, requester) pair on the
 * DRMA context; the target copies them out before it applies any put of the superstep.
 */
import { ArgumentError, CollectiveMismatchError, ProtocolError, SyncMismatchError, UnknownPackageError } from '../util/errors.js';
import { syncPoisonText } from '../comm/collectives/guard.js';
import { bytesOf, checkShape, dtypeOf, kDTypes, resolveDType, shapeSize, type DType, type TypedArray } from '../util/dtype.js';
import type { Message, Transport } from '../comm/transport.js';
import { context, jobSlot } from '../comm/context.js';
import { kBspContext } from '../comm/contexts.js';
import { isNdarrayLike, ndarrayView, type NDArray } from './ndarray.js';
import { allocBytes, checkName, Package, packr, underPrefix } from './package.js';
import { HeaderWriter, phraseBytes, phraseText, readHeader, samePhrase } from './sync-wire.js';
import { collectiveRows, Profiler, profilingRequested, type CollectiveRow, type ProfileRow } from './cost/profile.js';
import { setCollectiveRecorder } from '../comm/collectives/choose.js';
import { resolveParams, type BspParams } from './cost/params.js';
import { world } from '../comm/comm.js';
import { predictFromFile, type PredictInput, type Prediction } from './cost/predict.js';
import { completeDrma, drmaGet, drmaPending, drmaPut, releaseDrma, takeDrma, type DrmaRequests } from './global/drma.js';
import { mergeArray, sharePackages, type MergeOptions } from './global/merge.js';
import type { GlobalArray } from './global/array.js';

/** Transport context reserved for BSP syncs (comm/contexts.ts). */
export { kBspContext };

/** Per-rank, per-job state of the BSP runtime. */
export class BspState {
  readonly packages = new Map<string, Package>();
  /** Queued for the next sync: per destination, the packages in toProc order. */
  outbox: Package[][];
  /** Received in the last sync: per source, name -> package. */
  inbox: Record<string, Package>[];
  superstep = 0;
  /** Hooks that observe each sync (the cost model uses them). */
  readonly syncObservers: Array<(e: SyncEvent) => void> = [];
  /** The superstep recorder while profiling is on (see core/cost/profile.ts). */
  profiler: Profiler | undefined;
  /** @internal Per destination: the header buffer, reused by every sync. */
  readonly writers: HeaderWriter[];
  /** @internal Per source: a receive buffer for large messages without packages (DRMA puts), reused. */
  readonly scratch: (Uint8Array | undefined)[];
  /** @internal Per source: whether its last message carried no packages (then the next likely will not). */
  readonly noPackages: boolean[];
  /**
   * @internal Opt-in (bsp.reuseReceiveBuffers): per source, the buffer its large messages land
   * in, reused from sync to sync; received packages are then views into it until the next sync.
   */
  reuse: (Uint8Array | undefined)[] | undefined;

  constructor(readonly transport: Transport) {
    this.outbox = Array.from({ length: transport.size }, () => []);
    this.writers = Array.from({ length: transport.size }, () => new HeaderWriter());
    this.scratch = new Array(transport.size);
    this.noPackages = new Array(transport.size).fill(true);
    this.inbox = Array.from({ length: transport.size }, () => ({}));
    if (profilingRequested()) this.setProfiling(true);
  }

  /** Starts (with a fresh record) or stops profiling on this rank. */
  setProfiling(on: boolean): void {
    if (on && !this.profiler) {
      const p = new Profiler(this.transport.size, performance.now(), this.superstep);
      this.profiler = p;
      this.syncObservers.push(this.profilerObserver = (e) => p.after(e));
      setCollectiveRecorder((c) => p.collective(c));
    } else if (!on && this.profiler) {
      this.profiler = undefined;
      setCollectiveRecorder(undefined);
      const i = this.syncObservers.indexOf(this.profilerObserver!);
      if (i >= 0) this.syncObservers.splice(i, 1);
    }
  }
  private profilerObserver: ((e: SyncEvent) => void) | undefined;
}

/** What one sync did, for observers (profiling). */
export interface SyncEvent {
  superstep: number;
  passPhrase: string | undefined;
  /** When the sync was entered and left (performance.now(), ms). */
  enter: number;
  exit: number;
  /** Bytes this rank sent to and received from other ranks in this superstep. */
  bytesOut: number;
  bytesIn: number;
}

/** @internal The current rank's BSP state. */
export function state(): BspState {
  return jobSlot('bsp', () => new BspState(context().transport));
}

function rank(): number {
  return context().transport.rank;
}

function checkPid(pid: unknown, argument = 'pid'): number {
  const p = context().transport.size;
  if (!Number.isInteger(pid) || (pid as number) < 0 || (pid as number) >= p) {
    throw new ArgumentError(argument, `a rank in 0..${p - 1}`, pid, rank());
  }
  return pid as number;
}

function getPackage(name: unknown): Package {
  const n = checkName(name, rank());
  const pkg = state().packages.get(n);
  if (!pkg) throw new UnknownPackageError(n, [...state().packages.keys()], rank());
  return pkg;
}

function store(pkg: Package): Package {
  state().packages.set(pkg.name, pkg);
  return pkg;
}

// Processes
// ---------

/** Number of ranks in the job. */
export function procCount(): number {
  return context().transport.size;
}

/** This rank's id, 0 .. procCount() - 1. */
export function myProcID(): number {
  return context().transport.rank;
}

// Packing
// -------

/** Packs any msgpack-able value (typed arrays included) into the package `name`. */
export function fromObject(obj: unknown, name: string): Package {
  const n = checkName(name, rank());
  const bad = unpackable(obj, 'obj', new Set());
  if (bad) throw new ArgumentError(bad.path, 'a value msgpack can encode (no functions or symbols, which would arrive as undefined)', bad.what, rank());
  let bytes: Uint8Array;
  try {
    bytes = packr.pack(obj);
  } catch (err) {
    throw new ArgumentError('obj', 'a value msgpack can encode', `${typeof obj}: ${(err as Error).message}`, rank());
  }
  return store(new Package(n, 'object', copyAligned(bytes), undefined, undefined));
}

/** The first function or symbol inside `v` (msgpack would drop it silently), with its path. */
function unpackable(v: unknown, path: string, seen: Set<object>): { path: string; what: string } | undefined {
  if (typeof v === 'function') return { path, what: `a function${v.name ? ` (${v.name})` : ''}` };
  if (typeof v === 'symbol') return { path, what: v.toString() };
  if (typeof v !== 'object' || v === null || ArrayBuffer.isView(v) || v instanceof ArrayBuffer || v instanceof Date) return undefined;
  if (seen.has(v)) return undefined;
  seen.add(v);
  if (v instanceof Map) {
    for (const [k, x] of v) {
      const bad = unpackable(x, `${path}.get(${JSON.stringify(String(k))})`, seen);
      if (bad) return bad;
    }
    return undefined;
  }
  if (Array.isArray(v) || v instanceof Set) {
    let i = 0;
    for (const x of v) {
      const bad = unpackable(x, `${path}[${i++}]`, seen);
      if (bad) return bad;
    }
    return undefined;
  }
  for (const k of Object.keys(v)) {
    const bad = unpackable((v as Record<string, unknown>)[k], /^[A-Za-z_$][\w$]*$/.test(k) ? `${path}.${k}` : `${path}[${JSON.stringify(k)}]`, seen);
    if (bad) return bad;
  }
  return undefined;
}

/**
 * Packs a copy of a typed array, or of an @stdlib ndarray (any strides), into the package
 * `name`. `shape` reshapes a flat typed array (default: its length).
 */
export function fromArray(array: TypedArray | NDArray, name: string, shape?: number[]): Package {
  const n = checkName(name, rank());
  if (isNdarrayLike(array)) {
    const nd = array as NDArray;
    const data = nd.data as unknown as TypedArray;
    const dtype = dtypeOf(data);
    if (!dtype) throw new ArgumentError('array', 'an ndarray over a typed array', String(nd.dtype), rank());
    const sh = Array.from(nd.shape as ArrayLike<number>);
    const out = allocBytes(shapeSize(sh) * kDTypes[dtype].bytes, rank());
    copyStrided(nd, new kDTypes[dtype].ctor(out.buffer, 0, shapeSize(sh)));
    return store(new Package(n, 'array', out, dtype, sh));
  }
  if (!ArrayBuffer.isView(array) || array instanceof DataView) {
    throw new ArgumentError('array', 'a typed array or an @stdlib ndarray', array, rank());
  }
  const dtype = dtypeOf(array);
  if (!dtype) throw new ArgumentError('array', 'a typed array of a supported dtype', array, rank());
  const sh = shape === undefined ? [array.length] : checkShape(shape, 'shape', rank());
  if (shapeSize(sh) !== array.length) {
    throw new ArgumentError('shape', `a shape of ${array.length} elements (the array's length)`, sh, rank());
  }
  const out = allocBytes(array.byteLength, rank());
  out.set(bytesOf(array));
  return store(new Package(n, 'array', out, dtype, sh));
}

/** Creates a zeroed array package in shared memory: createArray('arr.a1', 'f8', [10, 10]). */
export function createArray(name: string, dtype: DType | string, shape: number[] | number): Package {
  const n = checkName(name, rank());
  const dt = resolveDType(dtype, 'dtype', rank());
  const sh = checkShape(typeof shape === 'number' ? [shape] : shape, 'shape', rank());
  const bytes = allocBytes(shapeSize(sh) * kDTypes[dt].bytes, rank());
  return store(new Package(n, 'array', bytes, dt, sh));
}

/** Deletes the package `name`, or every package under the dotted prefix `name`. */
export function deletePackages(nameOrPrefix: string): number {
  const prefix = checkName(nameOrPrefix, rank(), 'nameOrPrefix');
  const { packages } = state();
  let n = 0;
  for (const key of [...packages.keys()]) {
    if (underPrefix(key, prefix)) {
      packages.delete(key);
      n++;
    }
  }
  if (n === 0) throw new UnknownPackageError(prefix, [...packages.keys()], rank());
  return n;
}

/** Names of the packages this rank holds, optionally under a dotted prefix. */
export function packageNames(prefix?: string): string[] {
  const names = [...state().packages.keys()];
  return prefix === undefined ? names : names.filter((k) => underPrefix(k, prefix));
}

/** The package `name` itself. */
export function getPackageByName(name: string): Package {
  return getPackage(name);
}

// Unpacking
// ---------

/** Unpacks an object package. */
export function toObject<T = unknown>(pkg: Package): T {
  checkPackage(pkg, 'object');
  return packr.unpack(pkg.bytes) as T;
}

/** A typed-array view of an array package (no copy: it aliases the package). */
export function toArray<T extends TypedArray = TypedArray>(pkg: Package): T {
  checkPackage(pkg, 'array');
  return pkg.view() as T;
}

/** An @stdlib/ndarray view of an array package with its shape and dtype (no copy). */
export function toNdarray(pkg: Package): NDArray {
  checkPackage(pkg, 'array');
  return ndarrayView(pkg.view(), pkg.shape!, pkg.dtype!, rank());
}

/** A live @stdlib/ndarray view of this rank's package `name`: writes go into the package. */
export function asNdarray(name: string): NDArray {
  return toNdarray(getPackage(name));
}

/** A live typed-array view of this rank's package `name`. */
export function asArray<T extends TypedArray = TypedArray>(name: string): T {
  return toArray<T>(getPackage(name));
}

function checkPackage(pkg: unknown, kind: 'object' | 'array'): asserts pkg is Package {
  if (!(pkg instanceof Package)) {
    throw new ArgumentError('pkg', 'a package (from fromProc(pid)[name] or a from*/createArray call)', pkg, rank());
  }
  if (pkg.kind !== kind) {
    const hint = kind === 'array' ? 'toObject' : 'toArray / toNdarray';
    throw new ArgumentError('pkg', `an ${kind} package ('${pkg.name}' holds an ${pkg.kind}; use ${hint})`, pkg.name, rank());
  }
}

// Communication
// -------------

/**
 * Queues packages (by name, or every package under a dotted prefix) to be sent to rank
 * `pid` (which may be this rank) at the next sync. Their contents are taken at the sync.
 */
export function toProc(pid: number, ...names: string[]): void {
  const dest = checkPid(pid);
  const st = state();
  if (names.length === 0) throw new ArgumentError('names', 'at least one package name', names, rank());
  for (const name of names) {
    const n = checkName(name, rank());
    const exact = st.packages.get(n);
    const pkgs = exact ? [exact] : [...st.packages.values()].filter((p) => underPrefix(p.name, n));
    if (pkgs.length === 0) throw new UnknownPackageError(n, [...st.packages.keys()], rank());
    st.outbox[dest]!.push(...pkgs);
  }
}

/** What rank `pid` sent this rank in the last superstep: package name -> package. */
export function fromProc(pid: number): Record<string, Package> {
  return state().inbox[checkPid(pid)]!;
}

/**
 * Ends the superstep: every rank must call it, with the same pass phrase. Sends what was
 * queued with toProc and makes what others sent visible through fromProc.
 * @throws {SyncMismatchError} on every rank, if pass phrases differ
 */
export async function sync(passPhrase?: string): Promise<void> {
  if (passPhrase !== undefined && typeof passPhrase !== 'string') {
    throw new ArgumentError('passPhrase', 'a string or undefined', passPhrase, rank());
  }
  const st = state();
  const t = st.transport;
  const me = t.rank;
  const size = t.size;
  const enter = performance.now();
  const step = st.superstep++;
  const tag = step & 0x7fffffff;
  const outbox = st.outbox;
  st.outbox = Array.from({ length: size }, () => []);
  const drma = takeDrma(size);
  const phrase = phraseBytes(passPhrase);

  let putOut = 0;
  if (drma && st.profiler) for (let d = 0; d < size; d++) if (d !== me) for (const p of drma.puts[d]!) putOut += p.bytes.byteLength;
  const pr = st.profiler?.before(enter, step, passPhrase, outbox, me, putOut);
  let bytesOut = 0;
  const sends: Promise<void>[] = [];
  for (let d = 0; d < size; d++) {
    if (d === me) continue;
    const puts = drma?.puts[d] ?? kNone;
    const header = st.writers[d]!.write(step, phrase, pr, outbox[d]!, puts, drma?.gets[d] ?? kNone);
    const parts = [header];
    let length = header.byteLength;
    for (const p of outbox[d]!) length = pushPadded(parts, p.bytes, length);
    for (const p of puts) length = pushPadded(parts, p.bytes, length);
    bytesOut += length;
    sends.push(t.send(d, kBspContext, tag, parts));
  }
  const inbox: Record<string, Package>[] = new Array(size);
  inbox[me] = selfPackages(outbox[me]!);
  const asked: (DrmaRequests | undefined)[] = new Array(size);
  if (drma && (drma.puts[me]!.length || drma.gets[me]!.length)) {
    asked[me] = { puts: drma.puts[me]!, gets: drma.gets[me]!.map((g) => [g.name, g.offset, g.count]) };
  }
  let mismatch = false;
  const phrases: (Uint8Array | undefined)[] = new Array(size);
  phrases[me] = phrase;
  let bytesIn = 0;
  try {
    // One receive per source (not ANY_SOURCE), so a rank that is gone is named at once.
    const recvs: Promise<Message>[] = new Array(size);
    for (let s = 0; s < size; s++) {
      if (s === me) continue;
      const into = st.reuse ? st.reuse[s] : st.noPackages[s] ? st.scratch[s] : undefined;
      const r = t.recv(s, kBspContext, tag, into);
      r.catch(() => {});
      recvs[s] = r;
    }
    for (let s = 0; s < size; s++) {
      if (s === me) continue;
      const m = await recvs[s]!;
      // A rank that waits in a collective instead of this sync says so (comm/collectives/guard.ts).
      const foreign = syncPoisonText(m.data);
      if (foreign !== undefined) throw new CollectiveMismatchError(`${foreign.replace(/^\[rank \d+\] /, '')} (reported by rank ${s} to this rank in bsp.sync)`, me);
      const h = readHeader(m.data, s, me);
      const scratch = st.scratch[s];
      // In the opt-in reuse buffer, packages are views that last until the next sync: no copy.
      const inScratch = !st.reuse && scratch !== undefined && m.data.buffer === scratch.buffer;
      const { packages, end } = receivedPackages(m.data, h, inScratch);
      const puts: DrmaRequests['puts'] = [];
      let off = end;
      for (const u of h.puts) {
        puts.push({ name: u.name, offset: u.offset, bytes: m.data.subarray(off, off + u.size) });
        off += u.size + pad8(u.size);
      }
      if (off > m.data.byteLength) throw new ProtocolError(`bsp.sync message from rank ${s}: ${m.data.byteLength} bytes, its header describes ${off}`, me);
      st.noPackages[s] = h.packages.length === 0;
      // A large message without packages (DRMA puts): the next one lands in a reused buffer.
      if (st.reuse) adoptReceiveBuffer(st.reuse, s, m.data);
      else if (st.noPackages[s] && !inScratch && m.data.byteLength > kScratchMin && m.data.byteLength > (scratch?.byteLength ?? 0)) st.scratch[s] = new Uint8Array(Math.max(m.data.byteLength, 2 * (scratch?.byteLength ?? 0)));
      st.profiler?.absorb(s, me, h.profile, off - h.payloadOffset);
      if (puts.length || h.gets.length) asked[s] = { puts, gets: h.gets.map((g) => [g.name, g.offset, g.size]) };
      inbox[s] = packages;
      phrases[s] = h.phrase;
      if (!samePhrase(h.phrase, phrase)) mismatch = true;
      bytesIn += m.data.byteLength;
    }
  } catch (err) {
    // Our buffers are the transport's until every send has settled.
    await Promise.allSettled(sends);
    throw err;
  }
  for (const s of sends) await s;
  if (mismatch) throwMismatch(phrases, step, me);
  const pending = drmaPending(drma, asked);
  try {
    if (pending) await completeDrma(t, step, drma, asked);
  } finally {
    // Staged puts and get replies have been sent: their memory serves the next superstep.
    if (drma || pending) releaseDrma();
  }
  st.inbox = inbox;
  if (st.syncObservers.length) {
    const event: SyncEvent = { superstep: step, passPhrase, enter, exit: performance.now(), bytesOut, bytesIn };
    for (const o of st.syncObservers) o(event);
  }
}

const kNone: never[] = [];

/**
 * Reuse mode: a large message that did not land in source `s`'s buffer arrived in a fresh one
 * the transport allocated for it alone; that becomes the buffer for the next syncs.
 */
function adoptReceiveBuffer(buffers: (Uint8Array | undefined)[], s: number, data: Uint8Array): void {
  const held = buffers[s];
  if (held !== undefined && data.buffer === held.buffer) return;
  if (data.byteLength <= kScratchMin || data.byteLength <= (held?.byteLength ?? 0)) return;
  // Only a buffer of its own (not a slab the transport carves small messages from).
  if (data.byteOffset === 0 && data.byteLength === data.buffer.byteLength) buffers[s] = data;
}
/** Smaller messages are not worth a reuse buffer (the transport carves them out of a slab). */
const kScratchMin = 4096;

function throwMismatch(phrases: (Uint8Array | undefined)[], step: number, me: number): never {
  const groups = new Map<string | null, number[]>();
  phrases.forEach((p, r) => {
    const k = phraseText(p);
    groups.set(k, [...(groups.get(k) ?? []), r]);
  });
  const parts = [...groups].map(([p, ranks]) => `${ranks.length > 1 ? 'ranks' : 'rank'} ${ranks.join(', ')} called sync(${p === null ? '' : JSON.stringify(p)})`);
  throw new SyncMismatchError(`sync pass phrases differ at superstep ${step}: ${parts.join('; ')}`, me);
}

// Wire format (the header: core/sync-wire.ts)
// -----------

const kZeros = new Uint8Array(8);

function pad8(n: number): number {
  return (8 - (n & 7)) & 7;
}

/** Appends `bytes` and the padding to the next multiple of 8; returns the new length. */
function pushPadded(parts: Uint8Array[], bytes: Uint8Array, length: number): number {
  if (bytes.byteLength) parts.push(bytes);
  length += bytes.byteLength;
  const k = pad8(length);
  if (k) parts.push(kZeros.subarray(0, k));
  return length + k;
}

/**
 * The packages of a received message: views into it, or, when it landed in the reuse
 * buffer, into one fresh copy of their bytes (received packages are the receiver's to keep).
 */
function receivedPackages(data: Uint8Array, h: ReturnType<typeof readHeader>, inScratch: boolean): { packages: Record<string, Package>; end: number } {
  const packages: Record<string, Package> = {};
  let off = h.payloadOffset;
  for (const p of h.packages) off += p.byteLength + pad8(p.byteLength);
  if (off > data.byteLength) throw new ProtocolError(`bsp.sync message: ${data.byteLength} bytes, its packages need ${off}`);
  if (h.packages.length === 0) return { packages, end: off };
  let src = data;
  let base = h.payloadOffset;
  if (inScratch) {
    src = new Uint8Array(off - h.payloadOffset);
    src.set(data.subarray(h.payloadOffset, off));
    base = 0;
  }
  for (const p of h.packages) {
    packages[p.name] = new Package(p.name, p.kind, src.subarray(base, base + p.byteLength), p.dtype, p.shape);
    base += p.byteLength + pad8(p.byteLength);
  }
  return { packages, end: off };
}

/** What a rank sent itself: one copy, taken at the sync, in memory the inbox owns. */
function selfPackages(pkgs: readonly Package[]): Record<string, Package> {
  const out: Record<string, Package> = {};
  if (pkgs.length === 0) return out;
  let total = 0;
  for (const p of pkgs) total += p.byteLength + pad8(p.byteLength);
  const buf = new Uint8Array(total);
  let off = 0;
  for (const p of pkgs) {
    buf.set(p.bytes, off);
    out[p.name] = new Package(p.name, p.kind, buf.subarray(off, off + p.byteLength), p.dtype, p.shape);
    off += p.byteLength + pad8(p.byteLength);
  }
  return out;
}

// Helpers
// -------

/** Copies bytes into fresh aligned memory so views on them start at offset 0. */
function copyAligned(bytes: Uint8Array): Uint8Array {
  const out = new Uint8Array(bytes.byteLength);
  out.set(bytes);
  return out;
}

/** Copies an ndarray of any strides into a row-major contiguous typed array. */
function copyStrided(nd: NDArray, out: TypedArray): void {
  const shape = nd.shape;
  const strides = nd.strides;
  const src = nd.data as unknown as TypedArray;
  const ndim = shape.length;
  const total = out.length;
  if (total === 0) return;
  const idx = new Array<number>(ndim).fill(0);
  let srcOff = nd.offset;
  for (let k = 0; k < total; k++) {
    (out as Float64Array)[k] = (src as Float64Array)[srcOff]!;
    for (let d = ndim - 1; d >= 0; d--) {
      idx[d]!++;
      srcOff += strides[d]!;
      if (idx[d]! < shape[d]!) break;
      srcOff -= strides[d]! * shape[d]!;
      idx[d] = 0;
    }
  }
}

// Buffer reuse (opt-in)
// ---------------------

/**
 * Opt-in, per rank (call it on every rank, between the same syncs, for the same effect
 * everywhere): with `true`, the packages received in a sync stay valid only until the next
 * sync (BSPlib's rule for bsp_move), and each source's messages land in one buffer reused from
 * sync to sync, so a superstep that receives megabytes does not pay for fresh memory each
 * time (page faults: about as much per word as the copy itself, see docs/cost.md). Copy what
 * you need to keep (e.g. `out.set(bsp.toArray(pkg))`) before the next sync. With `false` (the
 * default, PyBSP's rule) a received package stays valid for as long as it is referenced.
 */
export function reuseReceiveBuffers(on: boolean): void {
  if (typeof on !== 'boolean') throw new ArgumentError('on', 'true or false', on, rank());
  const st = state();
  if (on && !st.reuse) st.reuse = new Array(st.transport.size);
  else if (!on) st.reuse = undefined;
}

// Cost model
// ----------

/**
 * Turns profiling on or off on this rank (call it on every rank, between the same syncs).
 * Turning it on starts a fresh record. SUPERSTEP_PROFILE=1 (set by `superstep run --profile`)
 * turns it on from the job's first superstep.
 */
export function profiling(on: boolean): void {
  if (typeof on !== 'boolean') throw new ArgumentError('on', 'true or false', on, rank());
  state().setProfiling(on);
}

/**
 * The profile of the supersteps so far: per superstep the pass phrase, w (max local compute
 * time, s), h (max over ranks of max(words sent, received)), measured t (s) and predicted
 * w + g·h + l (s), with g and l from `options.params` or the params file for this host,
 * backend and P (null when neither exists).
 * @throws {ArgumentError} if profiling is off
 */
export function profile(options: { params?: BspParams } = {}): ProfileRow[] {
  const st = state();
  const profiler = profilerOn(st);
  const t = st.transport;
  let params = options.params;
  if (!params) {
    try {
      params = resolveParams(t.size, t.backend);
    } catch {
      params = undefined;
    }
  }
  return profiler.table(params);
}

/** The profiler, or an ArgumentError saying how to turn profiling on. */
function profilerOn(st: BspState): Profiler {
  if (!st.profiler) {
    throw new ArgumentError('profiling', 'on (set SUPERSTEP_PROFILE=1, run with `superstep run --profile`, or call bsp.profiling(true) on every rank)', 'off', rank());
  }
  return st.profiler;
}

/**
 * The collective calls on messages since profiling began, on this rank: per call the
 * superstep, collective, algorithm chosen (comm/collectives/choose.ts), P, bytes, this rank's
 * measured time and the model's prediction (null without probed parameters).
 * @throws {ArgumentError} if profiling is off
 */
export function collectiveProfile(): CollectiveRow[] {
  return collectiveRows(profilerOn(state()).collectives);
}

/**
 * Predicts the time of a program from its counts, before it runs: Σ (w / r + wBytes / b + g·h + l)
 * over supersteps (w in flops, wBytes in bytes touched, h in words; or `steps`, a list of
 * `{ flops?, bytes?, h }` such as `matvec.cost(A, x)` returns), with the parameters of
 * `input.params`, or the params file's for this host, `input.backend` (default: this job's) and
 * `input.p` (default: this job's P; P not probed are extrapolated, see docs/cost.md).
 * @example bsp.predict({ w: 2e6, h: 4096, supersteps: 10 }).seconds
 * @example bsp.predict({ steps: jacobiStep.cost(u, 100) }).seconds
 */
export function predict(input: PredictInput): Prediction {
  const t = context().transport;
  const backend = input?.backend ?? (t.backend === 'self' ? 'sab' : t.backend);
  return predictFromFile(input, input?.p ?? t.size, backend);
}

// Global arrays (core/global/)
// -------------

/**
 * Collective: this rank's array packages `names` may be read and written by any rank with
 * bsp.get / bsp.put (applied at sync). Every rank shares the same names.
 * @throws {CollectiveArgumentError} on every rank, if a name is unknown on any rank
 */
export async function share(...names: string[]): Promise<void> {
  return sharePackages(state().packages, names);
}

/**
 * Collective: every rank's block of package `name` forms one GlobalArray, in place (no
 * gather, no copy), laid out along `axis` in rank order or on a process `grid`.
 * @throws {CollectiveArgumentError} on every rank, for an unknown package or blocks whose
 *   dtypes or shapes do not fit together
 */
export async function merge<T extends TypedArray = TypedArray>(name: string, options?: MergeOptions): Promise<GlobalArray<T>> {
  return mergeArray<T>(state().packages, name, options);
}

/**
 * The `bsp` namespace, with PyBSP's names (and the numpy-named aliases PyBSP users know:
 * fromNumpy, toNumpy, asNumpy).
 */
export const bsp = {
  procCount,
  myProcID,
  fromObject,
  fromArray,
  fromNumpy: fromArray,
  toProc,
  sync,
  fromProc,
  toObject,
  toArray,
  toNdarray,
  toNumpy: toNdarray,
  createArray,
  asNdarray,
  asNumpy: asNdarray,
  asArray,
  delete: deletePackages,
  packageNames,
  getPackage: getPackageByName,
  profiling,
  profile,
  collectiveProfile,
  reuseReceiveBuffers,
  predict,
  /** The world communicator (mpi4py-style point-to-point and collectives). */
  comm: world,
  share,
  merge,
  /** DRMA: bsp.put(pid, data, name, offset) lands in rank pid's shared package at the next sync. */
  put: drmaPut,
  /** DRMA: bsp.get(pid, name, offset, count) returns an array the next sync fills. */
  get: drmaGet,
};
