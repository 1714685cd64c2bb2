/**
 * The PyBSP surface: `import { bsp } from 'superstep'`.
 *
 * A rank packs data into named packages (fromObject, fromArray, createArray), queues them
 * for ranks with toProc, and calls `await bsp.sync(passPhrase)`. What rank q sent in
 * superstep k is visible on rank p through `bsp.fromProc(q)` after sync k, and not before.
 *
 * Wire format of a sync: one message per destination (every rank, itself included, so the
 * sync is also a barrier and every rank learns every pass phrase):
 *   u32 header length | msgpack header | pad to 8 | package bytes, each padded to 8
 * The receiver's packages are views into that one message buffer: no copy after the copy
 * out of the transport.
 * The msgpack header is { ph: pass phrase | null, st: superstep, pk: [[name, isArray, dtype,
 * shape, byteLength], ...] } and, only when profiling is on, pr: [w, bytes out, bytes in of the
 * previous superstep, duration of the previous superstep] (core/cost/profile.ts): every rank
 * learns the maxima over ranks with no extra message.
 * DRMA (core/global/drma.ts): the header also carries, only when non-empty, pu: [[name,
 * element offset, byteLength], ...] (bsp.put to the receiver; their bytes follow the
 * packages, each padded to 8) and gq: [[name, element offset, count], ...] (bsp.get from the
 * receiver). Gets are answered after the exchange with one message per (target, requester)
 * pair on the DRMA context (the gets' bytes, in order, each padded to 8); the target copies
 * them out before it applies any put of the superstep.
 */
import { ArgumentError, SyncMismatchError, UnknownPackageError } from '../util/errors.js';
import { bytesOf, checkShape, dtypeOf, kDTypes, resolveDType, shapeSize, type DType, type TypedArray } from '../util/dtype.js';
import type { Transport } from '../comm/transport.js';
import { context, jobSlot } from './context.js';
import { isNdarrayLike, ndarrayView, type NDArray } from './ndarray.js';
import { allocBytes, checkName, Package, packr, underPrefix } from './package.js';
import { Profiler, profilingRequested, type ProfileRow } from './cost/profile.js';
import { resolveParams, type BspParams } from './cost/params.js';
import { world } from '../comm/comm.js';
import { predictFromFile, type PredictInput, type Prediction } from './cost/predict.js';
import { completeDrma, drmaGet, drmaPending, drmaPut, takeDrma, type DrmaRequests } from './global/drma.js';
import { mergeArray, sharePackages, type MergeOptions } from './global/merge.js';
import type { GlobalArray } from './global/array.js';
import type { GetOp, PutOp } from './global/state.js';

/** Transport context reserved for BSP syncs. */
export const kBspContext = 1;

type Header = {
  ph: string | null;
  st: number;
  pk: [string, 0 | 1, DType | null, number[] | null, number][];
  pr?: number[];
  pu?: [string, number, number][];
  gq?: [string, number, number][];
};

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

  constructor(readonly transport: Transport) {
    this.outbox = Array.from({ length: transport.size }, () => []);
    this.inbox = Array.from({ length: transport.size }, () => ({}));
    if (profilingRequested()) this.setProfiling(true);
  }

  /** Starts (with a fresh record) or stops profiling on this rank. */
  setProfiling(on: boolean): void {
    if (on && !this.profiler) {
      const p = new Profiler(this.transport.size);
      this.profiler = p;
      this.syncObservers.push(this.profilerObserver = (e) => p.after(e));
    } else if (!on && this.profiler) {
      this.profiler = undefined;
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
  let bytes: Uint8Array;
  try {
    bytes = packr.pack(obj);
  } catch (err) {
    throw new ArgumentError('obj', 'a value msgpack can encode', `${typeof obj}: ${(err as Error).message}`, rank());
  }
  return store(new Package(n, 'object', copyAligned(bytes), undefined, undefined));
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
  const enter = performance.now();
  const step = st.superstep++;
  const tag = step & 0x7fffffff;
  const outbox = st.outbox;
  st.outbox = Array.from({ length: t.size }, () => []);

  let bytesOut = 0;
  const sends: Promise<void>[] = [];
  const pr = st.profiler?.before(enter, step, passPhrase, outbox, t.rank);
  const drma = takeDrma(t.size);
  const asked: (DrmaRequests | undefined)[] = new Array(t.size);
  for (let d = 0; d < t.size; d++) {
    const msg = encode(passPhrase ?? null, step, outbox[d]!, pr, drma.puts[d], drma.gets[d]);
    if (d !== t.rank) bytesOut += msg.length;
    sends.push(t.send(d, kBspContext, tag, msg.parts));
  }
  const inbox: Record<string, Package>[] = new Array(t.size);
  const phrases: (string | null)[] = new Array(t.size);
  let bytesIn = 0;
  try {
    // One receive per source (not ANY_SOURCE), so a rank that is gone is named at once.
    const recvs = Array.from({ length: t.size }, (_, s) => t.recv(s, kBspContext, tag));
    for (const r of recvs) r.catch(() => {});
    for (const r of recvs) {
      const m = await r;
      const { header, packages, puts } = decode(m.data);
      st.profiler?.absorb(m.source, t.rank, header);
      if (puts.length || header.gq) asked[m.source] = { puts, gets: header.gq ?? [] };
      inbox[m.source] = packages;
      phrases[m.source] = header.ph;
      if (m.source !== t.rank) bytesIn += m.data.byteLength;
    }
  } finally {
    await Promise.allSettled(sends);
  }
  await Promise.all(sends);
  checkPhrases(phrases, step, t.rank);
  if (drmaPending(drma, asked)) await completeDrma(t, step, drma, asked);
  st.inbox = inbox;
  const event: SyncEvent = { superstep: step, passPhrase, enter, exit: performance.now(), bytesOut, bytesIn };
  for (const o of st.syncObservers) o(event);
}

function checkPhrases(phrases: (string | null)[], step: number, me: number): void {
  const first = phrases[0];
  if (phrases.every((p) => p === first)) return;
  const groups = new Map<string | null, number[]>();
  phrases.forEach((p, r) => groups.set(p, [...(groups.get(p) ?? []), r]));
  const parts = [...groups].map(([p, ranks]) => `${ranks.length > 1 ? 'ranks' : 'rank'} ${ranks.join(', ')} called sync(${p === null ? '' : JSON.stringify(p)})`);
  throw new SyncMismatchError(`sync pass phrases differ at superstep ${step}: ${parts.join('; ')}`, me);
}

// Wire format
// -----------

const kZeros = new Uint8Array(8);

function pad8(n: number): number {
  return (8 - (n & 7)) & 7;
}

function encode(ph: string | null, st: number, pkgs: Package[], pr?: number[], puts?: PutOp[], gets?: GetOp[]): { parts: Uint8Array[]; length: number } {
  const header: Header = {
    ph,
    st,
    pk: pkgs.map((p) => [p.name, p.kind === 'array' ? 1 : 0, p.dtype ?? null, p.shape ? [...p.shape] : null, p.byteLength]),
  };
  if (pr) header.pr = pr;
  if (puts?.length) header.pu = puts.map((p) => [p.name, p.offset, p.bytes.byteLength]);
  if (gets?.length) header.gq = gets.map((g) => [g.name, g.offset, g.count]);
  const hb = packr.pack(header);
  const prefix = new Uint8Array(4);
  new DataView(prefix.buffer).setUint32(0, hb.length, true);
  const parts: Uint8Array[] = [prefix, hb];
  let length = 4 + hb.length;
  const pad = (n: number) => {
    const k = pad8(n);
    if (k) parts.push(kZeros.subarray(0, k));
    length += k;
  };
  pad(length);
  for (const p of pkgs) {
    parts.push(p.bytes);
    length += p.byteLength;
    pad(length);
  }
  for (const p of puts ?? []) {
    parts.push(p.bytes);
    length += p.bytes.byteLength;
    pad(length);
  }
  return { parts, length };
}

function decode(data: Uint8Array): { header: Header; packages: Record<string, Package>; puts: DrmaRequests['puts'] } {
  const dv = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const hlen = dv.getUint32(0, true);
  const header = packr.unpack(data.subarray(4, 4 + hlen)) as Header;
  let off = 4 + hlen;
  off += pad8(off);
  const packages: Record<string, Package> = {};
  for (const [name, kind, dtype, shape, len] of header.pk) {
    const bytes = data.subarray(off, off + len);
    packages[name] = new Package(name, kind === 1 ? 'array' : 'object', bytes, dtype ?? undefined, shape ?? undefined);
    off += len + pad8(len);
  }
  const puts: DrmaRequests['puts'] = [];
  for (const [name, offset, len] of header.pu ?? []) {
    puts.push({ name, offset, bytes: data.subarray(off, off + len) });
    off += len + pad8(len);
  }
  return { header, packages, puts };
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
  if (!st.profiler) {
    throw new ArgumentError('profiling', 'on (set SUPERSTEP_PROFILE=1, run with `superstep run --profile`, or call bsp.profiling(true) on every rank)', 'off', rank());
  }
  const t = st.transport;
  let params = options.params;
  if (!params) {
    try {
      params = resolveParams(t.size, t.backend);
    } catch {
      params = undefined;
    }
  }
  return st.profiler.table(params);
}

/**
 * Predicts the time of a program from its counts: Σ (w / r + g·h + l) over supersteps, with the
 * parameters of `input.params`, or the params file's for this host, `input.backend` (default: this
 * job's) and `input.p` (default: this job's P; larger P are extrapolated, see docs/cost.md).
 * @example bsp.predict({ w: 2e6, h: 4096, supersteps: 10 }).seconds
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
