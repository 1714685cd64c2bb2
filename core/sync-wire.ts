/**
 * The header of a bsp.sync message, in a fixed binary layout (little-endian). It is written
 * for every destination at every sync, so it avoids msgpack (an object graph per sync) and
 * re-encoding what does not change: a package's descriptor is encoded once and kept on the
 * package (packages are immutable), and a destination's header buffer is reused.
 *
 *   u32 header bytes (padded to 8) | u32 superstep | u32 flags | u32 packages | u32 puts |
 *   u32 gets | u32 phrase bytes | u32 0 | [4 × f64 profile, if flags & 2] | phrase (utf-8) |
 *   per package: u8 kind (0 object, 1 array) | u8 dtype index (255: none) | u16 ndim |
 *     u32 name bytes | f64 byte length | ndim × f64 extents | name (utf-8)
 *   per put: u32 name bytes | f64 element offset | f64 byte length | name
 *   per get: u32 name bytes | f64 element offset | f64 count | name
 *
 * flags & 1: a pass phrase was given (an empty phrase and no phrase differ).
 * The payload that follows (package bytes, then put bytes, each padded to 8) is not part of
 * the header; see core/bsp.ts.
 */
import { ProtocolError } from '../util/errors.js';
import { DTYPES, type DType } from '../util/dtype.js';

const kFixedBytes = 32;
const kHasPhrase = 1;
const kHasProfile = 2;
const kNoDType = 255;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** What a package contributes to a header: its descriptor, encoded once. */
export interface WireDescribed {
  readonly name: string;
  readonly kind: 'object' | 'array';
  readonly dtype: DType | undefined;
  readonly shape: readonly number[] | undefined;
  readonly byteLength: number;
}

/** A package as a header describes it. */
export interface WirePackage {
  name: string;
  kind: 'object' | 'array';
  dtype: DType | undefined;
  shape: number[] | undefined;
  byteLength: number;
}

/** A put or get request as a header describes it. */
export interface WireOp {
  name: string;
  offset: number;
  /** Put: byte length; get: element count. */
  size: number;
}

export interface WireHeader {
  superstep: number;
  /** The pass phrase's utf-8 bytes, or undefined when none was given. */
  phrase: Uint8Array | undefined;
  profile: number[] | undefined;
  packages: WirePackage[];
  puts: WireOp[];
  gets: WireOp[];
  /** Where the payload starts (a multiple of 8). */
  payloadOffset: number;
}

const descriptors = new WeakMap<object, Uint8Array>();

/** The encoded descriptor of a package (cached: a package's name, dtype and shape never change). */
export function descriptorOf(p: WireDescribed): Uint8Array {
  let d = descriptors.get(p);
  if (d) return d;
  const name = encoder.encode(p.name);
  const shape = p.shape ?? [];
  d = new Uint8Array(16 + 8 * shape.length + name.length);
  const v = new DataView(d.buffer);
  v.setUint8(0, p.kind === 'array' ? 1 : 0);
  v.setUint8(1, p.dtype === undefined ? kNoDType : DTYPES.indexOf(p.dtype));
  v.setUint16(2, shape.length, true);
  v.setUint32(4, name.length, true);
  v.setFloat64(8, p.byteLength, true);
  shape.forEach((x, i) => v.setFloat64(16 + 8 * i, x, true));
  d.set(name, 16 + 8 * shape.length);
  descriptors.set(p, d);
  return d;
}

const names = new Map<string, Uint8Array>();

/** utf-8 bytes of a shared package's name (a handful of names, used every superstep). */
function nameBytes(name: string): Uint8Array {
  let b = names.get(name);
  if (!b) {
    b = encoder.encode(name);
    if (names.size > 4096) names.clear();
    names.set(name, b);
  }
  return b;
}

/** The utf-8 bytes of a pass phrase (undefined: none given). */
export function phraseBytes(phrase: string | undefined): Uint8Array | undefined {
  return phrase === undefined ? undefined : nameBytes(phrase);
}

/** A growable header buffer, reused from one sync to the next (one per destination). */
export class HeaderWriter {
  private buf = new Uint8Array(256);
  private view = new DataView(this.buf.buffer);
  private at = 0;

  /**
   * Writes a header; returns a view of the written bytes (valid until the next write).
   * `profile` is 4 numbers or undefined.
   */
  write(superstep: number, phrase: Uint8Array | undefined, profile: readonly number[] | undefined, pkgs: readonly WireDescribed[], puts: readonly { name: string; offset: number; bytes: Uint8Array }[], gets: readonly { name: string; offset: number; count: number }[]): Uint8Array {
    this.at = kFixedBytes;
    this.reserve(kFixedBytes);
    const v = this.view;
    v.setUint32(4, superstep >>> 0, true);
    v.setUint32(8, (phrase ? kHasPhrase : 0) | (profile ? kHasProfile : 0), true);
    v.setUint32(12, pkgs.length, true);
    v.setUint32(16, puts.length, true);
    v.setUint32(20, gets.length, true);
    v.setUint32(24, phrase?.length ?? 0, true);
    v.setUint32(28, 0, true);
    if (profile) {
      this.reserve(32);
      for (let i = 0; i < 4; i++) this.view.setFloat64(this.at + 8 * i, profile[i] ?? -1, true);
      this.at += 32;
    }
    if (phrase) this.bytes(phrase);
    for (const p of pkgs) this.bytes(descriptorOf(p));
    for (const o of puts) this.op(o.name, o.offset, o.bytes.byteLength);
    for (const o of gets) this.op(o.name, o.offset, o.count);
    const end = (this.at + 7) & ~7;
    this.reserve(end - this.at);
    this.buf.fill(0, this.at, end);
    this.at = end;
    this.view.setUint32(0, end, true);
    return this.buf.subarray(0, end);
  }

  private op(n: string, offset: number, size: number): void {
    const name = nameBytes(n);
    this.reserve(20 + name.length);
    const v = this.view;
    v.setUint32(this.at, name.length, true);
    v.setFloat64(this.at + 4, offset, true);
    v.setFloat64(this.at + 12, size, true);
    this.buf.set(name, this.at + 20);
    this.at += 20 + name.length;
  }

  private bytes(b: Uint8Array): void {
    this.reserve(b.length);
    this.buf.set(b, this.at);
    this.at += b.length;
  }

  private reserve(n: number): void {
    if (this.at + n <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < this.at + n) cap *= 2;
    const next = new Uint8Array(cap);
    next.set(this.buf.subarray(0, this.at));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }
}

/**
 * Reads the header at the start of a sync message.
 * @throws {ProtocolError} if the bytes are not a sync header
 */
export function readHeader(data: Uint8Array, source: number, me: number): WireHeader {
  const bad = (what: string) => new ProtocolError(`bsp.sync message from rank ${source}: ${what}`, me);
  if (data.byteLength < kFixedBytes) throw bad(`${data.byteLength} bytes, shorter than a header`);
  const v = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const end = v.getUint32(0, true);
  if (end > data.byteLength || (end & 7) !== 0 || end < kFixedBytes) throw bad(`header length ${end} does not fit its ${data.byteLength} bytes`);
  const superstep = v.getUint32(4, true);
  const flags = v.getUint32(8, true);
  const npk = v.getUint32(12, true);
  const npu = v.getUint32(16, true);
  const ngq = v.getUint32(20, true);
  const phraseLen = v.getUint32(24, true);
  let at = kFixedBytes;
  const need = (n: number) => {
    if (at + n > end) throw bad('header truncated');
  };
  let profile: number[] | undefined;
  if (flags & kHasProfile) {
    need(32);
    profile = [v.getFloat64(at, true), v.getFloat64(at + 8, true), v.getFloat64(at + 16, true), v.getFloat64(at + 24, true)];
    at += 32;
  }
  let phrase: Uint8Array | undefined;
  if (flags & kHasPhrase) {
    need(phraseLen);
    phrase = data.subarray(at, at + phraseLen);
    at += phraseLen;
  }
  const packages: WirePackage[] = new Array(npk);
  for (let i = 0; i < npk; i++) {
    need(16);
    const kind = v.getUint8(at);
    const dt = v.getUint8(at + 1);
    const ndim = v.getUint16(at + 2, true);
    const nlen = v.getUint32(at + 4, true);
    const byteLength = v.getFloat64(at + 8, true);
    at += 16;
    need(8 * ndim + nlen);
    let shape: number[] | undefined;
    if (kind === 1) {
      shape = new Array(ndim);
      for (let k = 0; k < ndim; k++) shape[k] = v.getFloat64(at + 8 * k, true);
    }
    at += 8 * ndim;
    const name = decoder.decode(data.subarray(at, at + nlen));
    at += nlen;
    if (dt !== kNoDType && dt >= DTYPES.length) throw bad(`unknown dtype index ${dt} for package '${name}'`);
    packages[i] = { name, kind: kind === 1 ? 'array' : 'object', dtype: dt === kNoDType ? undefined : DTYPES[dt], shape, byteLength };
  }
  const ops = (n: number): WireOp[] => {
    const out: WireOp[] = new Array(n);
    for (let i = 0; i < n; i++) {
      need(20);
      const nlen = v.getUint32(at, true);
      const offset = v.getFloat64(at + 4, true);
      const size = v.getFloat64(at + 12, true);
      at += 20;
      need(nlen);
      out[i] = { name: decoder.decode(data.subarray(at, at + nlen)), offset, size };
      at += nlen;
    }
    return out;
  };
  const puts = ops(npu);
  const gets = ops(ngq);
  return { superstep, phrase, profile, packages, puts, gets, payloadOffset: end };
}

/** True when two pass phrases (as utf-8 bytes, undefined = none) are the same. */
export function samePhrase(a: Uint8Array | undefined, b: Uint8Array | undefined): boolean {
  if (a === b) return true;
  if (!a || !b || a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** A pass phrase's bytes back as a string (for error messages). */
export function phraseText(b: Uint8Array | undefined): string | null {
  return b === undefined ? null : decoder.decode(b);
}
