/**
 * Collective test cases: the generated description, the inputs every rank derives from it,
 * and the sequential reference the test process computes. Shared by the rank-side fixture
 * (test/fixtures/comm-cases.ts) and the conformance suite.
 */
import { createHash } from 'node:crypto';
import { DTYPES, kDTypes, type DType, type TypedArray } from '../../util/dtype.js';

export const kTypedColls = [
  'bcast', 'reduce', 'allreduce', 'scan', 'exscan', 'gather', 'gatherv', 'scatter', 'scatterv',
  'allgather', 'allgatherv', 'alltoall', 'alltoallv', 'reduceScatter', 'reduceScatterBlock', 'barrier',
] as const;
export const kObjectColls = ['bcastObject', 'reduceObject', 'allreduceObject', 'scanObject', 'exscanObject', 'gatherObject', 'scatterObject', 'allgatherObject', 'alltoallObject', 'reduceScatterObject'] as const;
export type Coll = (typeof kTypedColls)[number] | (typeof kObjectColls)[number];
export const kOps = ['SUM', 'PROD', 'MIN', 'MAX', 'LAND', 'LOR', 'LXOR', 'BAND', 'BOR', 'BXOR', 'MINLOC', 'MAXLOC', 'LAST'] as const;
export type OpName = (typeof kOps)[number];

export type CommSpec = { kind: 'world' } | { kind: 'dup' } | { kind: 'split'; colors: number; keyMul: number };

export interface Case {
  coll: Coll;
  comm: CommSpec;
  dtype: DType;
  /** Block length (elements). */
  len: number;
  op: OpName;
  /** Root, taken modulo the communicator size. */
  root: number;
  seed: number;
  /** Use the `{ out }` form. */
  out: boolean;
  /**
   * Parts of about `bytes` bytes (above a shared-memory slot): for the v forms, the parts
   * (rank w's, or block j of rank w) with (w + j + seed) % every === 0, the others keep their
   * small random counts; the equal-block forms take `len` from it instead.
   */
  big?: { every: number; bytes: number };
}

const isBig = (d: DType) => d === 'int64' || d === 'uint64';
const isFloat = (d: DType) => d === 'float32' || d === 'float64';
const isUnsigned = (d: DType) => d.startsWith('uint') || d === 'bool';

/** Ops defined for a dtype. */
export function opsFor(d: DType): OpName[] {
  return kOps.filter((o) => !(isFloat(d) && (o === 'BAND' || o === 'BOR' || o === 'BXOR')));
}

/** Deterministic pseudo-random stream (mulberry32). */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Members (world ranks, in communicator order) of world rank w's communicator. */
export function membersOf(spec: CommSpec, p: number, w: number): number[] {
  if (spec.kind !== 'split') return Array.from({ length: p }, (_, i) => i);
  const color = (r: number) => r % spec.colors;
  const key = (r: number) => ((r * spec.keyMul) % 5) - 2;
  return Array.from({ length: p }, (_, i) => i)
    .filter((r) => color(r) === color(w))
    .sort((a, b) => key(a) - key(b) || a - b);
}

/** Split parameters for world rank w. */
export function splitArgs(spec: CommSpec & { kind: 'split' }, w: number): [number, number] {
  return [w % spec.colors, ((w * spec.keyMul) % 5) - 2];
}

/** Element count of the effective block (MINLOC/MAXLOC need pairs). */
export function blockLen(c: Case): number {
  return c.op === 'MINLOC' || c.op === 'MAXLOC' ? 2 * Math.ceil(c.len / 2) : c.len;
}

/** Counts per rank for the v forms, from (seed, rank). */
export function vcount(c: Case, w: number, j = 0): number {
  const base = blockLen(c);
  const unit = c.op === 'MINLOC' || c.op === 'MAXLOC' ? 2 : 1;
  if (c.big && (w + j + c.seed) % c.big.every === 0) return unit * Math.floor(c.big.bytes / kDTypes[c.dtype].bytes / unit);
  return unit * (Math.floor(rng(c.seed * 31 + w * 7 + j * 13)() * (base / unit + 2)));
}

/** Values of dtype `d` that keep every op exact (small, non-negative for unsigned). */
function values(d: DType, n: number, r: () => number, op: OpName): (number | bigint)[] {
  const out: (number | bigint)[] = [];
  const span = op === 'PROD' ? 3 : op === 'LAND' || op === 'LOR' || op === 'LXOR' ? 2 : 50;
  for (let i = 0; i < n; i++) {
    let v: number;
    if (d === 'bool') v = Math.floor(r() * 2);
    else if (isUnsigned(d)) v = Math.floor(r() * (span + 1));
    else v = Math.floor(r() * (2 * span + 1)) - span;
    if (op === 'LAND' || op === 'LOR' || op === 'LXOR') v = Math.abs(v) % 2 === 0 && r() < 0.5 ? 0 : v;
    out.push(isBig(d) ? BigInt(v) : v);
  }
  if (op === 'MINLOC' || op === 'MAXLOC') {
    // Odd positions are indices: small, so that ties between ranks happen.
    for (let i = 1; i < n; i += 2) out[i] = isBig(d) ? BigInt(Math.floor(r() * 4)) : Math.floor(r() * 4);
  }
  return out;
}

/** World rank w's input array of n elements for case c (stream `salt` for extra arrays). */
export function inputOf(c: Case, w: number, n: number, salt = 0): TypedArray {
  // The reference asks for the same inputs once per rank: memoise (callers never write to them).
  const key = `${c.seed}/${c.dtype}/${c.op}/${w}/${n}/${salt}`;
  const hit = memo.get(key);
  if (hit) return hit;
  const a = new kDTypes[c.dtype].ctor(n);
  const vs = values(c.dtype, n, rng(c.seed * 1009 + w * 17 + salt), c.op);
  for (let i = 0; i < n; i++) (a as unknown as (number | bigint)[])[i] = vs[i]!;
  if (memo.size > 256) memo.clear();
  memo.set(key, a);
  return a;
}

const memo = new Map<string, TypedArray>();

/** World rank w's input value for the object collectives: a short list of numbers. */
export function objectOf(c: Case, w: number, salt = 0): number[] {
  const r = rng(c.seed * 2003 + w * 19 + salt);
  return Array.from({ length: 1 + (c.len % 4) }, () => Math.floor(r() * 100) - 50);
}

// Sequential reference
// --------------------

function wrap(d: DType, v: bigint | number): number | bigint {
  switch (d) {
    case 'int64': return BigInt.asIntN(64, BigInt(v));
    case 'uint64': return BigInt.asUintN(64, BigInt(v));
    case 'float64': return Number(v);
    case 'float32': return Math.fround(Number(v));
    case 'uint8c': return Math.min(255, Math.max(0, Math.round(Number(v))));
    default: {
      const bits = kDTypes[d].bytes * 8;
      const b = BigInt(v);
      return Number(isUnsigned(d) ? BigInt.asUintN(bits, b) : BigInt.asIntN(bits, b));
    }
  }
}

/** a op b for one element, exactly (integers through BigInt), then stored as dtype d. */
function apply(op: OpName, d: DType, a: number | bigint, b: number | bigint): number | bigint {
  const A = isFloat(d) ? Number(a) : BigInt(a);
  const B = isFloat(d) ? Number(b) : BigInt(b);
  const zero = isFloat(d) ? 0 : 0n;
  const t = (x: boolean) => (x ? 1 : 0);
  let v: number | bigint;
  switch (op) {
    case 'SUM': v = (A as number) + (B as number); break;
    case 'PROD': v = (A as number) * (B as number); break;
    case 'MIN': v = B < A ? B : A; break;
    case 'MAX': v = B > A ? B : A; break;
    case 'LAND': v = t(A !== zero && B !== zero); break;
    case 'LOR': v = t(A !== zero || B !== zero); break;
    case 'LXOR': v = t((A !== zero) !== (B !== zero)); break;
    case 'BAND': v = (A as bigint) & (B as bigint); break;
    case 'BOR': v = (A as bigint) | (B as bigint); break;
    case 'BXOR': v = (A as bigint) ^ (B as bigint); break;
    case 'LAST': v = B !== zero ? B : A; break;
    default: throw new Error(op);
  }
  return wrap(d, v);
}

/** Elementwise fold of arrays in order. */
export function fold(op: OpName, d: DType, arrays: TypedArray[]): TypedArray {
  const out = arrays[0]!.slice();
  const o = out as unknown as (number | bigint)[];
  for (let k = 1; k < arrays.length; k++) {
    const b = arrays[k] as unknown as (number | bigint)[];
    if (op === 'MINLOC' || op === 'MAXLOC') {
      for (let i = 0; i + 1 < o.length; i += 2) {
        const better = op === 'MINLOC' ? b[i]! < o[i]! : b[i]! > o[i]!;
        if (better || (b[i] === o[i] && b[i + 1]! < o[i + 1]!)) {
          o[i] = b[i]!;
          o[i + 1] = b[i + 1]!;
        }
      }
    } else if (!isBig(d) && (op === 'SUM' || op === 'MIN' || op === 'MAX' || (op === 'PROD' && kDTypes[d].bytes < 4))) {
      // Fast path: the exact result is a safe integer (or a float), and the typed-array store
      // performs the dtype's wrap / clamp / rounding.
      const x = o as number[];
      const y = b as number[];
      for (let i = 0; i < x.length; i++) {
        const u = x[i]!;
        const v = y[i]!;
        x[i] = op === 'SUM' ? u + v : op === 'PROD' ? u * v : op === 'MIN' ? (v < u ? v : u) : v > u ? v : u;
      }
    } else {
      for (let i = 0; i < o.length; i++) o[i] = apply(op, d, o[i]!, b[i]!);
    }
  }
  return out;
}

const kIdentity: Partial<Record<OpName, number>> = { SUM: 0, PROD: 1, LAND: 1, LOR: 0, LXOR: 0, BAND: -1, BOR: 0, BXOR: 0 };

function concat(d: DType, parts: TypedArray[]): TypedArray {
  const n = parts.reduce((s, p) => s + p.length, 0);
  const out = new kDTypes[d].ctor(n);
  let off = 0;
  for (const p of parts) {
    (out as Float64Array).set(p as Float64Array, off);
    off += p.length;
  }
  return out;
}

/** Objects: list concatenation (associative, not commutative) or elementwise ops on numbers. */
export function objectOp(op: OpName): (a: any, b: any) => any {
  if (op === 'LAST') return (a: number[], b: number[]) => [...a, ...b];
  return (a: number[], b: number[]) => a.map((x, i) => {
    const y = b[i] ?? 0;
    switch (op) {
      case 'MIN': return Math.min(x, y);
      case 'MAX': return Math.max(x, y);
      default: return x + y;
    }
  });
}

/** The expected result of case c on world rank w of a world of p ranks (undefined: none). */
export function expected(c: Case, p: number, w: number): unknown {
  const members = membersOf(c.comm, p, w);
  const size = members.length;
  const me = members.indexOf(w);
  const root = c.root % size;
  const n = blockLen(c);
  const d = c.dtype;
  const inputs = (len: (m: number) => number) => members.map((m) => inputOf(c, m, len(m)));
  const objects = () => members.map((m) => objectOf(c, m));
  const ofold = (vals: unknown[]) => vals.reduce((a, b) => objectOp(c.op)(a, b));
  switch (c.coll) {
    case 'barrier': return 'ok';
    case 'bcast': return inputOf(c, members[root]!, n);
    case 'reduce': return me === root ? fold(c.op, d, inputs(() => n)) : undefined;
    case 'allreduce': return fold(c.op, d, inputs(() => n));
    case 'scan': return fold(c.op, d, inputs(() => n).slice(0, me + 1));
    case 'exscan': {
      if (me === 0) {
        const a = new kDTypes[d].ctor(n);
        (a as unknown as { fill(v: unknown): void }).fill(isBig(d) ? BigInt(kIdentity[c.op] ?? 0) : kIdentity[c.op] ?? 0);
        return a;
      }
      return fold(c.op, d, inputs(() => n).slice(0, me));
    }
    case 'gather': return me === root ? concat(d, inputs(() => n)) : undefined;
    case 'gatherv': {
      if (me !== root) return undefined;
      const parts = inputs((m) => vcount(c, m));
      return { data: concat(d, parts), counts: parts.map((x) => x.length) };
    }
    case 'scatter': return inputOf(c, members[root]!, n * size).subarray(me * n, (me + 1) * n);
    case 'scatterv': {
      const counts = members.map((_, j) => vcount(c, members[root]!, j));
      const src = inputOf(c, members[root]!, counts.reduce((a, b) => a + b, 0));
      const off = counts.slice(0, me).reduce((a, b) => a + b, 0);
      return src.subarray(off, off + counts[me]!);
    }
    case 'allgather': return concat(d, inputs(() => n));
    case 'allgatherv': {
      const parts = inputs((m) => vcount(c, m));
      return { data: concat(d, parts), counts: parts.map((x) => x.length) };
    }
    case 'alltoall': return concat(d, members.map((m) => inputOf(c, m, n * size).subarray(me * n, (me + 1) * n)));
    case 'alltoallv': {
      const parts = members.map((m) => {
        const counts = members.map((_, j) => vcount(c, m, j));
        const off = counts.slice(0, me).reduce((a, b) => a + b, 0);
        return inputOf(c, m, counts.reduce((a, b) => a + b, 0)).subarray(off, off + counts[me]!);
      });
      return { data: concat(d, parts), counts: parts.map((x) => x.length) };
    }
    case 'reduceScatterBlock': return fold(c.op, d, inputs(() => n * size)).subarray(me * n, (me + 1) * n);
    case 'reduceScatter': {
      const counts = members.map((_, j) => vcount(c, 0, j));
      const total = counts.reduce((a, b) => a + b, 0);
      const off = counts.slice(0, me).reduce((a, b) => a + b, 0);
      return fold(c.op, d, inputs(() => total)).subarray(off, off + counts[me]!);
    }
    case 'bcastObject': return objectOf(c, members[root]!);
    case 'reduceObject': return me === root ? ofold(objects()) : undefined;
    case 'allreduceObject': return ofold(objects());
    case 'scanObject': return ofold(objects().slice(0, me + 1));
    case 'exscanObject': return me === 0 ? undefined : ofold(objects().slice(0, me));
    case 'gatherObject': return me === root ? objects() : undefined;
    case 'scatterObject': return members.map((_, j) => objectOf(c, members[root]!, j + 1))[me];
    case 'allgatherObject': return objects();
    case 'alltoallObject': return members.map((m) => objectOf(c, m, me + 1));
    case 'reduceScatterObject': return ofold(members.map((m) => objectOf(c, m, me + 1)));
  }
}

/** A comparable, serialisable form of a result (digest for large arrays). */
export function encodeResult(v: unknown): unknown {
  if (v === undefined) return 'undefined';
  if (ArrayBuffer.isView(v)) {
    const a = v as TypedArray;
    const bytes = Buffer.from(a.buffer, a.byteOffset, a.byteLength);
    const kind = `${a.constructor.name}(${a.length})`;
    return bytes.byteLength > 4096 ? `${kind} sha256:${createHash('sha256').update(bytes).digest('hex')}` : `${kind} ${bytes.toString('hex')}`;
  }
  if (v && typeof v === 'object' && 'data' in v && 'counts' in v) {
    const r = v as { data: TypedArray; counts: number[] };
    return { data: encodeResult(r.data), counts: r.counts };
  }
  return JSON.stringify(v, (_, x) => (typeof x === 'bigint' ? `${x}n` : x));
}

export { DTYPES };
