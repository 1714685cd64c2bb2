/**
 * The collectives that publish packages: `share` (packages any rank may read and write with
 * DRMA at sync) and `merge` (every rank's block of one package becomes a GlobalArray, in
 * place). Each does one small metadata exchange. Arguments are checked on every rank and the
 * verdicts exchanged, so a bad or inconsistent call raises the same CollectiveArgumentError
 * on every rank instead of leaving the others waiting.
 */
import { CollectiveArgumentError } from '../../util/errors.js';
import { viewOf, type DType, type TypedArray } from '../../util/dtype.js';
import { context } from '../../comm/context.js';
import type { Package } from '../package.js';
import { GlobalArray, type AccessPath, type OwnerBlock } from './array.js';
import { layoutFromBlocks } from './layout.js';
import { allocLocks } from './locks.js';
import { serviceHost, type ServiceAddress } from './service/host.js';
import { allgatherSmall, globalState } from './state.js';

/** How blocks are put together: along one axis, or as a process grid (ranks per axis). */
export type MergeOptions = ({ axis: number; grid?: undefined } | { grid: readonly number[]; axis?: undefined }) & {
  /**
   * 'direct' (loads/stores into the owner's shared memory; needs a shared-memory transport)
   * or 'served' (requests to the owner's communication worker). Default: direct when the
   * transport shares memory, else served; SUPERSTEP_GA_PATH overrides the default.
   */
  path?: AccessPath;
};

interface MergeMeta {
  /** This rank's complaint, if any. */
  e?: string;
  dt?: DType;
  sh?: number[];
  g?: number[];
  bo?: number;
  pa: AccessPath;
  ad?: ServiceAddress;
  sg?: number;
}

function describe(e: unknown): string {
  return e instanceof Error ? e.message.replace(/^\[rank \d+\] /, '') : String(e);
}

/** The array package `name` of this rank, or why there is none. */
function arrayPackage(packages: ReadonlyMap<string, Package>, name: unknown): Package | string {
  if (typeof name !== 'string' || name === '') return `package name must be a non-empty string; got ${JSON.stringify(name)}`;
  const pkg = packages.get(name);
  if (!pkg) return `unknown package '${name}' (packages: ${[...packages.keys()].map((k) => `'${k}'`).join(', ') || 'none'})`;
  if (pkg.kind !== 'array') return `package '${name}' holds an object, not an array`;
  return pkg;
}

function defaultPath(): AccessPath {
  const env = process.env.SUPERSTEP_GA_PATH;
  if (env === 'direct' || env === 'served') return env;
  const t = context().transport;
  return t.capabilities.sharedMemory && typeof t.shareBuffers === 'function' ? 'direct' : 'served';
}

/** The first complaint of any rank, as every rank reports it. */
function firstComplaint(what: string, metas: readonly { e?: string }[]): string | undefined {
  const r = metas.findIndex((m) => m.e !== undefined);
  return r < 0 ? undefined : `${what}: rank ${r}: ${metas[r]!.e}`;
}

/** Lists the ranks' values of one field when they disagree. */
function disagreement<T>(metas: readonly T[], get: (m: T) => unknown, field: string): string | undefined {
  const seen = metas.map((m) => JSON.stringify(get(m)));
  if (seen.every((s) => s === seen[0])) return undefined;
  const groups = new Map<string, number[]>();
  seen.forEach((s, r) => groups.set(s, [...(groups.get(s) ?? []), r]));
  return `ranks disagree on ${field}: ${[...groups].map(([v, rs]) => `${rs.length > 1 ? 'ranks' : 'rank'} ${rs.join(', ')}: ${v}`).join('; ')}`;
}

/**
 * Collective: every rank's block of package `name` becomes one GlobalArray, in place.
 * Blocks are laid out along `axis` in rank order (their lengths on that axis may differ), or
 * on a process `grid`. Must be called by every rank with the same options.
 * @throws {CollectiveArgumentError} on every rank, when any rank lacks the package or the
 *   blocks' dtypes or shapes do not fit together
 */
export async function mergeArray<T extends TypedArray = TypedArray>(packages: ReadonlyMap<string, Package>, name: unknown, options: MergeOptions = { axis: 0 }): Promise<GlobalArray<T>> {
  const ctx = context();
  const t = ctx.transport;
  const me = t.rank;
  const st = globalState();
  let path: AccessPath = defaultPath();
  const meta: MergeMeta = { pa: path };
  const found = arrayPackage(packages, name);
  const pkg = typeof found === 'string' ? undefined : found;
  if (typeof found === 'string') meta.e = found;
  else {
    meta.dt = found.dtype!;
    meta.sh = [...found.shape!];
    meta.bo = found.bytes.byteOffset;
  }
  // Options.
  const nd = pkg?.shape!.length ?? 0;
  if (typeof options !== 'object' || options === null) meta.e ??= `options must be { axis } or { grid }; got ${JSON.stringify(options)}`;
  else {
    if (options.path !== undefined) {
      if (options.path !== 'direct' && options.path !== 'served') meta.e ??= `options.path must be 'direct' or 'served'; got ${JSON.stringify(options.path)}`;
      else path = meta.pa = options.path;
    }
    if (path === 'direct' && !(t.capabilities.sharedMemory && typeof t.shareBuffers === 'function')) {
      meta.e ??= `path 'direct' needs a shared-memory transport; the '${t.backend}' backend has none (use 'served')`;
    }
    if (options.grid !== undefined) {
      const g = options.grid;
      if (!Array.isArray(g) || !g.every((k) => Number.isInteger(k) && k > 0) || g.reduce((a: number, b: number) => a * b, 1) !== t.size) {
        meta.e ??= `options.grid must be positive integers whose product is the number of ranks (${t.size}); got ${JSON.stringify(g)}`;
      } else if (pkg && g.length !== nd) meta.e ??= `options.grid has ${g.length} entries but the block has ${nd} axes`;
      else meta.g = [...g];
    } else {
      const axis = options.axis ?? 0;
      if (!Number.isInteger(axis) || axis < 0 || (pkg && axis >= nd)) meta.e ??= `options.axis must be an axis of the block (0..${nd - 1}); got ${JSON.stringify(options.axis)}`;
      else if (pkg) meta.g = Array.from({ length: nd }, (_, d) => (d === axis ? t.size : 1));
    }
  }
  if (pkg && nd === 0) meta.e ??= `package '${pkg.name}' is 0-dimensional; merge needs at least one axis`;
  if (pkg && !(pkg.bytes.buffer instanceof SharedArrayBuffer)) meta.e ??= `package '${pkg.name}' is not in shared memory`;

  // Served path: the worker must serve the block before any peer learns where it is.
  const locks = allocLocks();
  let seg: number | undefined;
  if (!meta.e && path === 'served') {
    try {
      const host = await serviceHost();
      seg = await host.register(pkg!.bytes.buffer as SharedArrayBuffer, pkg!.bytes.byteOffset, pkg!.bytes.byteLength, pkg!.dtype!, [...pkg!.shape!], locks.buffer as SharedArrayBuffer, ctx.job);
      meta.ad = host.address;
      meta.sg = seg;
      st.segments.push(seg);
    } catch (err) {
      meta.e = `communication worker failed: ${describe(err)}`;
    }
  }

  const metas = await allgatherSmall<MergeMeta>(t, meta);
  const what = `merge(${JSON.stringify(name)})`;
  let problem =
    firstComplaint(what, metas) ??
    prefix(what, disagreement(metas, (m) => m.dt, 'the dtype')) ??
    prefix(what, disagreement(metas, (m) => m.pa, 'the access path')) ??
    prefix(what, disagreement(metas, (m) => m.g, 'the process grid (options)'));
  const laid = problem ? undefined : layoutFromBlocks(metas.map((m) => m.sh!), metas[0]!.g!);
  if (typeof laid === 'string') problem = `${what}: ${laid}`;
  if (problem !== undefined || laid === undefined || typeof laid === 'string') {
    if (seg !== undefined) void serviceHost().then((h) => h.unregister([seg!]));
    throw new CollectiveArgumentError(problem ?? what, me);
  }
  const layout = laid;

  const dtype = metas[0]!.dt!;
  const blocks: OwnerBlock[] = [];
  if (path === 'direct') {
    const bufs = await t.shareBuffers!(pkg!.bytes.buffer as SharedArrayBuffer);
    const lockBufs = await t.shareBuffers!(locks.buffer as SharedArrayBuffer);
    for (let r = 0; r < t.size; r++) {
      const shape = layout.blockShape(r);
      const n = shape.reduce((a, b) => a * b, 1);
      blocks.push({ rank: r, box: layout.blockBox(r), shape, view: viewOf(dtype, bufs[r]!, metas[r]!.bo!, n), locks: new Int32Array(lockBufs[r]!) });
    }
  } else {
    for (let r = 0; r < t.size; r++) {
      const b: OwnerBlock = { rank: r, box: layout.blockBox(r), shape: layout.blockShape(r) };
      if (r === me) Object.assign(b, { view: pkg!.view(), locks });
      else b.remote = { addr: metas[r]!.ad!, seg: metas[r]!.sg! };
      blocks.push(b);
    }
  }
  st.shared.set(pkg!.name, { name: pkg!.name, view: pkg!.view(), metas: metas.map((m, r) => ({ dtype, length: layout.blockShape(r).reduce((a, b) => a * b, 1) })) });
  return new GlobalArray<T>(pkg!.name, dtype, layout, path, blocks, t, path === 'served' ? st.client : undefined);
}

function prefix(what: string, msg: string | undefined): string | undefined {
  return msg && `${what}: ${msg}`;
}

/**
 * Collective: makes this rank's packages `names` readable and writable by every rank with
 * bsp.put / bsp.get (applied at sync). Every rank must share the same names, in the same
 * order; each rank's packages may differ in length.
 * @throws {CollectiveArgumentError} on every rank, when a name is unknown on any rank, or
 *   the ranks' lists or dtypes differ
 */
export async function sharePackages(packages: ReadonlyMap<string, Package>, names: readonly unknown[]): Promise<void> {
  const t = context().transport;
  const me = t.rank;
  const st = globalState();
  const pkgs: Package[] = [];
  let e: string | undefined;
  if (names.length === 0) e = 'share needs at least one package name';
  for (const n of names) {
    const found = arrayPackage(packages, n);
    if (typeof found === 'string') e ??= found;
    else pkgs.push(found);
  }
  type ShareMeta = { e?: string; n: unknown[]; it: [DType, number][] };
  const metas = await allgatherSmall<ShareMeta>(t, { e, n: [...names], it: e ? [] : pkgs.map((p) => [p.dtype!, p.length]) });
  const what = `share(${names.map((n) => JSON.stringify(n)).join(', ')})`;
  const problem =
    firstComplaint(what, metas) ??
    prefix(what, disagreement(metas, (m) => m.n, 'the package names')) ??
    prefix(what, disagreement(metas, (m) => m.it.map((x) => x[0]), 'the dtypes'));
  if (problem) throw new CollectiveArgumentError(problem, me);
  pkgs.forEach((p, i) => {
    st.shared.set(p.name, { name: p.name, view: p.view(), metas: metas.map((m) => ({ dtype: m.it[i]![0], length: m.it[i]![1] })) });
  });
}
