/**
 * Wire frames of the tcp backend. Every frame is a fixed 32-byte header and up to
 * `maxFrameBytes` of payload. A message longer than one frame is sent as a run of frames
 * with the same envelope; each repeats the message's total length so that the receiver
 * allocates the message buffer once (bounded by `maxMessageBytes`) and copies each frame's
 * payload straight into place.
 *
 * Header (little-endian):
 *   0 u8 magic 0xB5 | 1 u8 type | 2 u8 flags (0) | 3 u8 0 | 4 i32 context | 8 i32 tag
 *   12 u32 epoch | 16 u32 frame payload length | 20 u32 0 | 24 u32 total lo | 28 u32 total hi
 */
import { ProtocolError } from '../../../util/errors.js';

export const kFrameHeaderBytes = 32;
const kMagic = 0xb5;

/** Frame types. */
export const kData = 1; // a (part of a) message
export const kFin = 2; // the sender finished its job `epoch`; nothing more will come for it
export const kAbort = 3; // the sender aborts the job; tag = failed rank (-1 unknown), payload = utf8 reason
export const kPing = 4; // liveness, no payload
export const kBye = 5; // the sender closes its transport in order (MPI_Finalize)
export const kBeatAddr = 6; // where the sender's heartbeat worker listens: payload = port u32 LE | token (heartbeat.ts)
const kMaxType = 6;

/** Defaults: one frame at most 4 MiB; one message at most 4 GiB - 1 (as on sab). */
export const kDefaultMaxFrameBytes = 4 << 20;
export const kDefaultMaxMessageBytes = 2 ** 32 - 1;

/** A decoded message (all of its frames), or a control frame. */
export interface Frame {
  type: number;
  context: number;
  tag: number;
  epoch: number;
  /** The whole message payload, in a fresh buffer owned by the receiver (after `head` when split). */
  data: Uint8Array;
  /** Set when the payload's first bytes landed here and the rest in `data` (a split receive). */
  head?: Uint8Array;
}

/** Where a message lands: one buffer, or its first `head.byteLength` bytes apart from the rest. */
export type Placement = Uint8Array | { head: Uint8Array; body: Uint8Array };

export interface FrameLimits {
  /** Largest payload of one frame. */
  maxFrameBytes: number;
  /** Largest message (sum of its frames). */
  maxMessageBytes: number;
}

/** Encodes one frame header into a new 32-byte buffer (a socket keeps a reference until written). */
export function encodeHeader(type: number, context: number, tag: number, epoch: number, frameBytes: number, totalBytes: number): Uint8Array {
  const h = new Uint8Array(kFrameHeaderBytes);
  const v = new DataView(h.buffer);
  h[0] = kMagic;
  h[1] = type;
  v.setInt32(4, context, true);
  v.setInt32(8, tag, true);
  v.setUint32(12, epoch >>> 0, true);
  v.setUint32(16, frameBytes, true);
  v.setUint32(24, totalBytes % 2 ** 32, true);
  v.setUint32(28, Math.floor(totalBytes / 2 ** 32), true);
  return h;
}

/**
 * Splits a message into frames: returns the buffers to write, in order (header, payload
 * pieces, header, ...). Payload pieces are views of the caller's parts, never copies.
 */
export function encodeFrames(type: number, context: number, tag: number, epoch: number, parts: readonly Uint8Array[], total: number, maxFrameBytes: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  if (total === 0) {
    out.push(encodeHeader(type, context, tag, epoch, 0, 0));
    return out;
  }
  let i = 0;
  let off = 0;
  let left = total;
  while (left > 0) {
    const n = Math.min(left, maxFrameBytes);
    out.push(encodeHeader(type, context, tag, epoch, n, total));
    let need = n;
    while (need > 0) {
      const p = parts[i]!;
      const k = Math.min(p.byteLength - off, need);
      if (k > 0) out.push(k === p.byteLength ? p : p.subarray(off, off + k));
      off += k;
      need -= k;
      if (off === p.byteLength) {
        i++;
        off = 0;
      }
    }
    left -= n;
  }
  return out;
}

/**
 * Incremental decoder for one connection: feed it whatever the socket delivered; it calls
 * `onFrame` for every complete message or control frame and throws a ProtocolError on the
 * first malformed header (after which the connection must be closed). Memory held is one
 * header plus the message being assembled, whose size the limits bound.
 */
export class FrameDecoder {
  private readonly header = new Uint8Array(kFrameHeaderBytes);
  private readonly hv = new DataView(this.header.buffer);
  private hfill = 0;
  /** Frame in progress: its payload bytes still to come. */
  private frameLeft = 0;
  /** Message in progress. */
  private msg: Frame | undefined;
  /** Payload bytes of the message in progress so far, and its length. */
  private filled = 0;
  private total = 0;
  /** Bytes of the message in progress that go to `msg.head` (0: not split). */
  private headLen = 0;
  private broken: ProtocolError | undefined;

  constructor(
    private readonly limits: FrameLimits,
    private readonly onFrame: (f: Frame) => void,
    /** Names the peer in error messages, e.g. "rank 3 (10.0.0.4:5120)". */
    private readonly peer = 'peer',
    /**
     * Called when a data message starts, with its envelope and length: may return the buffer
     * the message should land in (a posted receive's), so that it streams straight there.
     */
    private readonly place?: (context: number, tag: number, epoch: number, total: number) => Placement | undefined,
  ) {}

  /** True while a message is partly received (for diagnostics and truncation checks). */
  get partial(): boolean {
    return this.hfill > 0 || this.msg !== undefined;
  }

  push(chunk: Uint8Array): void {
    if (this.broken) throw this.broken;
    let pos = 0;
    const n = chunk.byteLength;
    while (pos < n) {
      if (this.frameLeft === 0) {
        // Reading a header.
        const k = Math.min(kFrameHeaderBytes - this.hfill, n - pos);
        this.header.set(chunk.subarray(pos, pos + k), this.hfill);
        this.hfill += k;
        pos += k;
        if (this.hfill < kFrameHeaderBytes) return;
        this.hfill = 0;
        this.startFrame();
        continue;
      }
      const m = this.msg!;
      let k = Math.min(this.frameLeft, n - pos);
      if (this.filled < this.headLen) {
        k = Math.min(k, this.headLen - this.filled);
        m.head!.set(chunk.subarray(pos, pos + k), this.filled);
      } else {
        m.data.set(chunk.subarray(pos, pos + k), this.filled - this.headLen);
      }
      this.filled += k;
      this.frameLeft -= k;
      pos += k;
      if (this.frameLeft === 0 && this.filled === this.total) this.finish();
    }
  }

  /**
   * Where the payload bytes still due in the current frame go, when at least `min` are due:
   * a caller that reads them straight there reports them with advance() instead of push().
   */
  pending(min: number): Uint8Array | undefined {
    if (this.frameLeft < min || this.broken || this.filled < this.headLen) return undefined;
    const at = this.filled - this.headLen;
    return this.msg!.data.subarray(at, at + this.frameLeft);
  }

  /** `n` payload bytes landed in the buffer pending() returned. */
  advance(n: number): void {
    if (this.broken) throw this.broken;
    if (n > this.frameLeft) this.fail(`${n} bytes read past the frame's end`);
    this.filled += n;
    this.frameLeft -= n;
    if (this.frameLeft === 0 && this.filled === this.total) this.finish();
  }

  private fail(what: string): never {
    this.broken = new ProtocolError(`malformed frame from ${this.peer}: ${what}; closing the connection`);
    throw this.broken;
  }

  private startFrame(): void {
    const h = this.header;
    const v = this.hv;
    if (h[0] !== kMagic) this.fail(`bad magic byte 0x${h[0]!.toString(16)} (expected 0xb5)`);
    const type = h[1]!;
    if (type < 1 || type > kMaxType) this.fail(`unknown frame type ${type}`);
    if (h[2] !== 0 || h[3] !== 0 || v.getUint32(20, true) !== 0) this.fail('reserved header bytes are not zero');
    const context = v.getInt32(4, true);
    const tag = v.getInt32(8, true);
    const epoch = v.getUint32(12, true);
    const frameBytes = v.getUint32(16, true);
    const total = v.getUint32(24, true) + v.getUint32(28, true) * 2 ** 32;
    if (frameBytes > this.limits.maxFrameBytes) this.fail(`frame of ${frameBytes} bytes exceeds the maximum of ${this.limits.maxFrameBytes}`);
    if (total > this.limits.maxMessageBytes) this.fail(`message of ${total} bytes exceeds the maximum of ${this.limits.maxMessageBytes}`);
    if (type !== kData && total > 64 << 10) this.fail(`control frame of ${total} bytes (at most 65536)`);
    const m = this.msg;
    if (m) {
      // A continuation must belong to the message in progress.
      if (type !== m.type || context !== m.context || tag !== m.tag || epoch !== m.epoch || total !== this.total) {
        this.fail('continuation frame does not match the message in progress');
      }
    } else {
      if (frameBytes > total) this.fail(`frame of ${frameBytes} bytes is longer than its message (${total})`);
      const into = type === kData && total > 0 ? this.place?.(context, tag, epoch, total) : undefined;
      this.headLen = 0;
      if (into instanceof Uint8Array || into === undefined) {
        this.msg = { type, context, tag, epoch, data: into && into.byteLength >= total ? into.subarray(0, total) : new Uint8Array(total) };
      } else if (total >= into.head.byteLength && total - into.head.byteLength <= into.body.byteLength) {
        this.headLen = into.head.byteLength;
        this.msg = { type, context, tag, epoch, head: into.head, data: into.body.subarray(0, total - this.headLen) };
      } else {
        this.msg = { type, context, tag, epoch, data: new Uint8Array(total) };
      }
      this.filled = 0;
      this.total = total;
    }
    if (this.filled + frameBytes > this.total) this.fail('frames overrun their message length');
    if (frameBytes === 0 && this.total > 0) this.fail('empty continuation frame');
    this.frameLeft = frameBytes;
    if (this.total === 0) this.finish();
  }

  private finish(): void {
    const m = this.msg!;
    this.msg = undefined;
    this.filled = 0;
    this.total = 0;
    this.headLen = 0;
    this.onFrame(m);
  }
}
