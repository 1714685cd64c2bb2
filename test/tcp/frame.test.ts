// The tcp wire format and handshake, fuzzed: random bytes, truncations, bit flips, huge lengths.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FrameDecoder, encodeFrames, encodeHeader, kData, kFin, kFrameHeaderBytes, type Frame } from '../../comm/backends/tcp/frame.js';
import { AuthError, checkAuth, checkOk, kAuthBytes, kRoleCoordinator, kRolePeer, makeAuth, makeHello, makeOk, parseHello } from '../../comm/backends/tcp/handshake.js';
import { ProtocolError } from '../../util/errors.js';

const limits = { maxFrameBytes: 64, maxMessageBytes: 1000 };

function concat(bufs: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(bufs.reduce((n, b) => n + b.byteLength, 0));
  let o = 0;
  for (const b of bufs) {
    out.set(b, o);
    o += b.byteLength;
  }
  return out;
}

/** Feeds `bytes` to a decoder in the given chunk sizes; returns frames and the error, if any. */
function decode(bytes: Uint8Array, cuts: number[] = []): { frames: Frame[]; error?: unknown; partial: boolean } {
  const frames: Frame[] = [];
  const d = new FrameDecoder(limits, (f) => frames.push(f), 'rank 7 (test)');
  let pos = 0;
  try {
    for (const c of [...cuts.filter((c) => c > 0 && c < bytes.length).sort((a, b) => a - b), bytes.length]) {
      d.push(bytes.subarray(pos, c));
      pos = c;
    }
  } catch (error) {
    return { frames, error, partial: d.partial };
  }
  return { frames, partial: d.partial };
}

const message = fc.record({
  context: fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }),
  tag: fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }),
  epoch: fc.nat(),
  parts: fc.array(fc.uint8Array({ maxLength: 150 }), { maxLength: 4 }),
});

describe('tcp frames', () => {
  it('round-trip any message sequence, however the stream is cut', () => {
    fc.assert(
      fc.property(fc.array(message, { minLength: 1, maxLength: 5 }), fc.array(fc.nat({ max: 2000 }), { maxLength: 20 }), (msgs, cuts) => {
        const wire = concat(msgs.flatMap((m) => encodeFrames(kData, m.context, m.tag, m.epoch, m.parts, m.parts.reduce((n, p) => n + p.byteLength, 0), limits.maxFrameBytes)));
        const { frames, error, partial } = decode(wire, cuts);
        expect(error).toBeUndefined();
        expect(partial).toBe(false);
        expect(frames).toHaveLength(msgs.length);
        frames.forEach((f, i) => {
          const m = msgs[i]!;
          expect([f.type, f.context, f.tag, f.epoch]).toEqual([kData, m.context, m.tag, m.epoch]);
          expect(f.data).toEqual(concat(m.parts));
          // The receiver owns an 8-aligned buffer of exactly the message.
          expect(f.data.byteOffset).toBe(0);
          expect(f.data.buffer.byteLength).toBe(f.data.byteLength);
        });
      }),
      { numRuns: 200 },
    );
  });

  it('payloads read straight into place (pending/advance, as the socket reader does) decode like pushed bytes', () => {
    fc.assert(
      fc.property(fc.array(message, { minLength: 1, maxLength: 5 }), fc.array(fc.nat({ max: 200 }), { minLength: 1, maxLength: 40 }), fc.nat({ max: 40 }), (msgs, sizes, min) => {
        const wire = concat(msgs.flatMap((m) => encodeFrames(kData, m.context, m.tag, m.epoch, m.parts, m.parts.reduce((n, p) => n + p.byteLength, 0), limits.maxFrameBytes)));
        const frames: Frame[] = [];
        const d = new FrameDecoder(limits, (f) => frames.push(f), 'rank 7 (test)');
        let pos = 0;
        for (let i = 0; pos < wire.length; i++) {
          // A read of at most `size` bytes, into the message's buffer when the decoder offers it.
          const size = Math.max(1, sizes[i % sizes.length]!);
          const target = d.pending(Math.max(1, min));
          if (target) {
            const n = Math.min(size, target.byteLength, wire.length - pos);
            target.set(wire.subarray(pos, pos + n));
            d.advance(n);
            pos += n;
          } else {
            const n = Math.min(size, wire.length - pos);
            d.push(wire.subarray(pos, pos + n));
            pos += n;
          }
        }
        expect(d.partial).toBe(false);
        expect(frames.map((f) => [f.context, f.tag, f.epoch, [...f.data]])).toEqual(msgs.map((m) => [m.context, m.tag, m.epoch, [...concat(m.parts)]]));
        // Reporting more than the frame has left is a protocol error, not silent corruption.
        const e = new FrameDecoder(limits, () => {}, 'rank 7 (test)');
        e.push(encodeHeader(kData, 0, 0, 0, 10, 10));
        expect(e.pending(1)?.byteLength).toBe(10);
        expect(() => e.advance(11)).toThrow(/rank 7 \(test\).*past the frame's end/);
      }),
      { numRuns: 200 },
    );
  });

  it('a split placement lands the first bytes in the head and the rest in the body, however the stream is cut and read', () => {
    fc.assert(
      fc.property(fc.array(message, { minLength: 1, maxLength: 4 }), fc.array(fc.nat({ max: 200 }), { minLength: 1, maxLength: 40 }), fc.nat({ max: 12 }), fc.integer({ min: -3, max: 3 }), (msgs, sizes, headLen, slack) => {
        const wire = concat(msgs.flatMap((m) => encodeFrames(kData, m.context, m.tag, m.epoch, m.parts, m.parts.reduce((n, p) => n + p.byteLength, 0), limits.maxFrameBytes)));
        const places: { head: Uint8Array; body: Uint8Array }[] = [];
        const frames: Frame[] = [];
        const d = new FrameDecoder(limits, (f) => frames.push(f), 'rank 7 (test)', (_c, _t, _e, total) => {
          // Bodies a little short or long of the rest: a message that does not fit arrives whole.
          const p = { head: new Uint8Array(headLen), body: new Uint8Array(Math.max(0, total - headLen + slack)) };
          places.push(p);
          return p;
        });
        let pos = 0;
        for (let i = 0; pos < wire.length; i++) {
          const size = Math.max(1, sizes[i % sizes.length]!);
          const target = d.pending(1);
          const n = Math.min(size, target?.byteLength ?? Infinity, wire.length - pos);
          if (target) {
            target.set(wire.subarray(pos, pos + n));
            d.advance(n);
          } else {
            d.push(wire.subarray(pos, pos + n));
          }
          pos += n;
        }
        expect(d.partial).toBe(false);
        expect(frames).toHaveLength(msgs.length);
        let k = 0;
        frames.forEach((f, i) => {
          const whole = concat(msgs[i]!.parts);
          if (whole.byteLength === 0) return expect(f.data.byteLength).toBe(0);
          const p = places[k++]!;
          const fits = whole.byteLength >= headLen && whole.byteLength - headLen <= p.body.byteLength;
          if (!fits) {
            expect(f.head).toBeUndefined();
            return expect([...f.data]).toEqual([...whole]);
          }
          expect(f.head).toBe(p.head);
          expect([...p.head]).toEqual([...whole.subarray(0, headLen)]);
          expect(f.data.buffer).toBe(p.body.buffer);
          expect([...f.data]).toEqual([...whole.subarray(headLen)]);
        });
      }),
      { numRuns: 300 },
    );
  });

  it('split messages longer than one frame, with views of the caller buffers (no copies)', () => {
    const a = new Uint8Array(100).map((_, i) => i);
    const b = new Uint8Array(30).fill(7);
    const bufs = encodeFrames(kData, 1, 2, 3, [a, b], 130, 64);
    // header, a[0:64], header, a[64:100], b[0:28], header, b[28:30]
    expect(bufs.map((x) => x.byteLength)).toEqual([32, 64, 32, 36, 28, 32, 2]);
    expect(bufs[1]!.buffer).toBe(a.buffer);
    expect(bufs[4]!.buffer).toBe(b.buffer);
  });

  it('truncated streams never yield a message that was not sent whole', () => {
    fc.assert(
      fc.property(message, fc.nat(), (m, cut) => {
        const total = m.parts.reduce((n, p) => n + p.byteLength, 0);
        const wire = concat(encodeFrames(kData, m.context, m.tag, m.epoch, m.parts, total, limits.maxFrameBytes));
        const at = cut % wire.length;
        const { frames, error, partial } = decode(wire.subarray(0, at));
        expect(error).toBeUndefined();
        expect(frames).toHaveLength(0);
        expect(partial).toBe(at > 0);
      }),
      { numRuns: 200 },
    );
  });

  it('random bytes and bit flips either decode or fail with a ProtocolError naming the peer; memory stays bounded', () => {
    const wire = concat(encodeFrames(kData, 5, 6, 0, [new Uint8Array(200).fill(1)], 200, limits.maxFrameBytes));
    fc.assert(
      fc.property(
        fc.oneof(
          fc.uint8Array({ maxLength: 300 }),
          fc.array(fc.nat({ max: wire.length * 8 - 1 }), { minLength: 1, maxLength: 4 }).map((bits) => {
            const w = wire.slice();
            for (const b of bits) w[b >> 3]! ^= 1 << (b & 7);
            return w;
          }),
        ),
        fc.array(fc.nat({ max: 300 }), { maxLength: 6 }),
        (bytes, cuts) => {
          const { frames, error } = decode(bytes, cuts);
          if (error !== undefined) {
            expect(error).toBeInstanceOf(ProtocolError);
            expect((error as Error).message).toMatch(/rank 7 \(test\)/);
          }
          for (const f of frames) expect(f.data.byteLength).toBeLessThanOrEqual(limits.maxMessageBytes);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('huge lengths are refused from the header alone, before any allocation', () => {
    fc.assert(
      fc.property(fc.integer({ min: limits.maxFrameBytes + 1, max: 2 ** 32 - 1 }), fc.integer({ min: limits.maxMessageBytes + 1, max: 2 ** 53 - 1 }), (frame, total) => {
        const big = encodeHeader(kData, 0, 0, 0, frame, Math.max(frame, 1));
        expect(decode(big).error).toBeInstanceOf(ProtocolError);
        const long = encodeHeader(kData, 0, 0, 0, 10, total);
        expect(String(decode(long).error)).toMatch(/exceeds the maximum/);
      }),
      { numRuns: 100 },
    );
    // Control frames carry at most 64 KiB even when messages may be larger.
    const d = new FrameDecoder({ maxFrameBytes: 1 << 20, maxMessageBytes: 1 << 30 }, () => {});
    expect(() => d.push(encodeHeader(kFin, 0, 0, 0, 1 << 20, 1 << 20))).toThrow(/control frame/);
    // After an error the decoder stays broken: the connection must be closed.
    expect(() => d.push(new Uint8Array(kFrameHeaderBytes))).toThrow(ProtocolError);
  });
});

describe('tcp handshake', () => {
  const secret = new Uint8Array(Buffer.from('s3cret'));

  it('completes with the right secret and names the connector', () => {
    fc.assert(
      fc.property(fc.nat({ max: 1 << 20 }), fc.constantFrom(kRolePeer, kRoleCoordinator), (rank, role) => {
        const hello = makeHello(role);
        const nonceA = parseHello(hello.bytes, role);
        const auth = makeAuth(secret, nonceA, rank, role);
        const got = checkAuth(secret, hello.nonce, auth.bytes, role);
        expect(got.rank).toBe(rank);
        checkOk(secret, auth.nonce, nonceA, rank, role, makeOk(secret, got.nonce, hello.nonce, got.rank, role));
      }),
      { numRuns: 50 },
    );
  });

  it('refuses a wrong secret, a replayed answer and any corrupted message', () => {
    const hello = makeHello(kRolePeer);
    const auth = makeAuth(new Uint8Array(Buffer.from('guess')), hello.nonce, 1, kRolePeer);
    expect(() => checkAuth(secret, hello.nonce, auth.bytes, kRolePeer)).toThrow(AuthError);
    // An answer recorded for one challenge does not pass another.
    const good = makeAuth(secret, hello.nonce, 1, kRolePeer);
    expect(() => checkAuth(secret, makeHello(kRolePeer).nonce, good.bytes, kRolePeer)).toThrow(/HMAC/);
    fc.assert(
      fc.property(fc.nat({ max: kAuthBytes * 8 - 1 }), (bit) => {
        const w = good.bytes.slice();
        w[bit >> 3]! ^= 1 << (bit & 7);
        expect(() => checkAuth(secret, hello.nonce, w, kRolePeer)).toThrow(ProtocolError);
      }),
      { numRuns: 200 },
    );
  });

  it('random bytes, truncations and extensions are refused without crashing', () => {
    const hello = makeHello(kRolePeer);
    const good = makeAuth(secret, hello.nonce, 2, kRolePeer).bytes;
    fc.assert(
      fc.property(
        fc.oneof(fc.uint8Array({ maxLength: 200 }), fc.nat({ max: kAuthBytes - 1 }).map((n) => good.slice(0, n)), fc.uint8Array({ minLength: 1, maxLength: 8 }).map((x) => concat([good, x]))),
        (bytes) => {
          expect(() => checkAuth(secret, hello.nonce, bytes, kRolePeer)).toThrow(ProtocolError);
          expect(() => parseHello(bytes, kRolePeer)).toThrow(ProtocolError);
          expect(() => checkOk(secret, hello.nonce, hello.nonce, 2, kRolePeer, bytes)).toThrow(ProtocolError);
        },
      ),
      { numRuns: 200 },
    );
  });
});
