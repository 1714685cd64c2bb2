/**
 * Wire format of the global-array service (one-sided get/put/acc/lock served by a rank's
 * communication worker). Requests and responses are frames:
 *
 *   u32 length (bytes after this field) | u32 request id | u8 op | u8 arg | u8 ndim | u8 0
 *   | u32 segment id | u32 lo[ndim] | u32 hi[ndim] | zero pad to 8 | body
 *
 * `arg` is the accumulate op code in ACC requests and the status (0 ok, 1 error) in
 * responses; an error response's body is the UTF-8 message. lo/hi are a box in the owner's
 * local coordinates. LOCK/UNLOCK carry `u32 word | u32 holder` as body; GETAT carries u32
 * local flat offsets (the reply: their values); PUTAT `u32 count | u32 0 | u32 offsets[count]
 * | pad to 8 | values[count]`. The body starts at
 * an 8-byte aligned offset of the frame, and each frame is read into a buffer of its own, so
 * typed arrays view it in place.
 */
import { ProtocolError } from '../../../util/errors.js';

/** Request ops. */
export const Op = { Auth: 0, Get: 1, Put: 2, Acc: 3, Lock: 4, Unlock: 5, GetAt: 6, PutAt: 7 } as const;

export const kStatusOk = 0;
export const kStatusError = 1;

/** Header bytes before lo/hi. */
const kFixed = 16;

export interface Frame {
  id: number;
  op: number;
  arg: number;
  seg: number;
  lo: number[];
  hi: number[];
  /** The body, a view into the frame's own 8-aligned buffer. */
  body: Uint8Array;
}

function headerBytes(ndim: number): number {
  const n = kFixed + 8 * ndim;
  return (n + 7) & ~7;
}

/** Encodes a frame's header; the body parts follow it on the wire as they are. */
export function encodeHeader(id: number, op: number, arg: number, seg: number, lo: readonly number[], hi: readonly number[], bodyLength: number): Uint8Array {
  const ndim = lo.length;
  const hb = headerBytes(ndim);
  const h = new Uint8Array(hb);
  const v = new DataView(h.buffer);
  v.setUint32(0, hb - 4 + bodyLength, true);
  v.setUint32(4, id >>> 0, true);
  v.setUint8(8, op);
  v.setUint8(9, arg);
  v.setUint8(10, ndim);
  v.setUint32(12, seg >>> 0, true);
  for (let d = 0; d < ndim; d++) {
    v.setUint32(kFixed + 4 * d, lo[d]!, true);
    v.setUint32(kFixed + 4 * (ndim + d), hi[d]!, true);
  }
  return h;
}

/** Splits a byte stream into frames, each copied once into a buffer of its own. */
export class FrameReader {
  private chunks: Buffer[] = [];
  private buffered = 0;

  constructor(private maxFrame: number, private readonly who: string) {}

  /** Raises the frame size limit (after authentication). */
  setMax(max: number): void {
    this.maxFrame = max;
  }

  /** Feeds bytes; returns the complete frames. @throws {ProtocolError} on a malformed frame */
  push(chunk: Buffer): Frame[] {
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    const out: Frame[] = [];
    for (;;) {
      if (this.buffered < 4) return out;
      const len = this.peekLength();
      if (len < kFixed - 4 || len > this.maxFrame) throw new ProtocolError(`global-array service: bad frame length ${len} from ${this.who} (limit ${this.maxFrame})`);
      if (this.buffered < 4 + len) return out;
      out.push(this.decode(this.take(4 + len)));
    }
  }

  private peekLength(): number {
    const b = new Uint8Array(4);
    let n = 0;
    for (const c of this.chunks) {
      for (let i = 0; i < c.length && n < 4; i++) b[n++] = c[i]!;
      if (n === 4) break;
    }
    return new DataView(b.buffer).getUint32(0, true);
  }

  private take(n: number): Uint8Array {
    const out = new Uint8Array(n);
    let off = 0;
    while (off < n) {
      const c = this.chunks[0]!;
      const k = Math.min(c.length, n - off);
      out.set(k === c.length ? c : c.subarray(0, k), off);
      off += k;
      if (k === c.length) this.chunks.shift();
      else this.chunks[0] = c.subarray(k);
    }
    this.buffered -= n;
    return out;
  }

  private decode(f: Uint8Array): Frame {
    const v = new DataView(f.buffer, f.byteOffset, f.byteLength);
    const ndim = v.getUint8(10);
    const hb = headerBytes(ndim);
    if (hb > f.byteLength) throw new ProtocolError(`global-array service: frame header of ${ndim} axes longer than the frame from ${this.who}`);
    const lo: number[] = [];
    const hi: number[] = [];
    for (let d = 0; d < ndim; d++) {
      lo.push(v.getUint32(kFixed + 4 * d, true));
      hi.push(v.getUint32(kFixed + 4 * (ndim + d), true));
    }
    return { id: v.getUint32(4, true), op: v.getUint8(8), arg: v.getUint8(9), seg: v.getUint32(12, true), lo, hi, body: f.subarray(hb) };
  }
}

/** Body of LOCK/UNLOCK requests. */
export function lockBody(word: number, holder: number): Uint8Array {
  const b = new Uint8Array(8);
  const v = new DataView(b.buffer);
  v.setUint32(0, word, true);
  v.setUint32(4, holder, true);
  return b;
}

/** Body of a PUTAT request: count, offsets, then the values 8-aligned. */
export function putAtBody(offsets: Uint32Array, values: Uint8Array): Uint8Array[] {
  const head = new Uint32Array(2);
  head[0] = offsets.length;
  const pad = (8 - ((8 + offsets.byteLength) & 7)) & 7;
  return [new Uint8Array(head.buffer), new Uint8Array(offsets.buffer, offsets.byteOffset, offsets.byteLength), new Uint8Array(pad), values];
}
