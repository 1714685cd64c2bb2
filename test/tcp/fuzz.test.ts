// #13's fuzz: the tcp frame decoder and the handshake each take 100,000 random and mutated
// inputs (fast-check): no crash (only ProtocolError), no allocation beyond the frame and message
// bounds, and no stranger (a peer without the secret) ever authenticates, so none can inject
// a message. Pure functions, so this takes a few seconds.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FrameDecoder, encodeFrames, kAbort, kData, kFin, kPing, type Frame } from '../../comm/backends/tcp/frame.js';
import { checkAuth, checkOk, kRolePeer, makeAuth, makeHello, makeOk, parseHello } from '../../comm/backends/tcp/handshake.js';
import { ProtocolError } from '../../util/errors.js';

const limits = { maxFrameBytes: 4096, maxMessageBytes: 16_384 };
const kRuns = 50_000; // random + mutated = 100,000 per target

/** Valid streams of a few frames, to mutate. */
const validStream = fc
  .array(fc.tuple(fc.constantFrom(kData, kFin, kPing, kAbort), fc.integer({ min: -5, max: 5 }), fc.integer({ min: 0, max: 9000 })), { minLength: 1, maxLength: 3 })
  .map((msgs) => {
    const bufs: Uint8Array[] = [];
    for (const [type, tag, n] of msgs) {
      const len = type === kData ? n : type === kAbort ? n % 100 : 0;
      const payload = new Uint8Array(len).fill(7);
      bufs.push(...encodeFrames(type, 3, tag, 1, [payload], len, limits.maxFrameBytes));
    }
    return Buffer.concat(bufs);
  });

/** Flips, overwrites, truncates or splices bytes of `base`. */
const mutated = (base: fc.Arbitrary<Uint8Array>) =>
  fc.tuple(base, fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 }), fc.constantFrom('set', 'xor', 'cut', 'dup')), { minLength: 1, maxLength: 4 })).map(([b, muts]) => {
    let out = Uint8Array.from(b);
    for (const [at, v, op] of muts) {
      if (out.byteLength === 0) break;
      const i = at % out.byteLength;
      if (op === 'set') out[i] = v;
      else if (op === 'xor') out[i]! ^= v || 1;
      else if (op === 'cut') out = out.subarray(0, i);
      else out = Uint8Array.from([...out.subarray(0, i), ...out.subarray(i, i + 40), ...out.subarray(i)]);
    }
    return out;
  });

/** Feeds `bytes` in chunks; returns what came out. Anything but a ProtocolError fails the test. */
function decode(bytes: Uint8Array, chunk: number): Frame[] {
  const frames: Frame[] = [];
  const d = new FrameDecoder(limits, (f) => frames.push(f), 'fuzz', (_c, _t, _e, total) => {
    // The only place a message buffer's size is chosen: it never exceeds the bound.
    expect(total).toBeLessThanOrEqual(limits.maxMessageBytes);
    return undefined;
  });
  try {
    for (let i = 0; i < bytes.byteLength; i += chunk) d.push(bytes.subarray(i, i + chunk));
  } catch (err) {
    if (!(err instanceof ProtocolError)) throw err;
  }
  for (const f of frames) expect(f.data.byteLength).toBeLessThanOrEqual(f.type === kData ? limits.maxMessageBytes : 65_536);
  return frames;
}

describe('fuzz: the frame decoder', () => {
  it('100,000 random and mutated streams: no crash, nothing beyond the bounds', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 200 }), fc.integer({ min: 1, max: 64 }), (b, c) => void decode(b, c)), { numRuns: kRuns, seed: 13 });
    fc.assert(fc.property(mutated(validStream), fc.integer({ min: 1, max: 4096 }), (b, c) => void decode(b, c)), { numRuns: kRuns, seed: 14 });
  });
});

describe('fuzz: the handshake', () => {
  const secret = new TextEncoder().encode('the job secret');
  const stranger = new TextEncoder().encode('a guess');
  const expectRefused = (f: () => unknown) => {
    try {
      f();
    } catch (err) {
      if (err instanceof ProtocolError) return;
      throw err;
    }
    throw new Error('accepted');
  };

  it('100,000 random and mutated AUTH/HELLO/OK messages: only ProtocolErrors, no stranger authenticates', () => {
    const hello = makeHello(kRolePeer);
    // Random bytes of any length, as a stranger's AUTH, HELLO or OK.
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 120 }), (b) => {
        expectRefused(() => checkAuth(secret, hello.nonce, b, kRolePeer));
        try {
          parseHello(b, kRolePeer);
        } catch (err) {
          if (!(err instanceof ProtocolError)) throw err;
        }
        expectRefused(() => checkOk(secret, hello.nonce, hello.nonce, 1, kRolePeer, b));
      }),
      { numRuns: kRuns, seed: 21 },
    );
    // Mutations of real answers: a stranger's (wrong secret), and the job's own AUTH and OK
    // (any change that leaves a different message breaks them).
    const genuine = makeAuth(secret, hello.nonce, 1, kRolePeer).bytes;
    const okNonce = genuine.subarray(16, 48);
    const genuineOk = makeOk(secret, okNonce, hello.nonce, 1, kRolePeer);
    const answers = fc.constantFrom(makeAuth(stranger, hello.nonce, 1, kRolePeer).bytes, genuine);
    fc.assert(
      fc.property(mutated(answers), mutated(fc.constant(genuineOk)), (auth, ok) => {
        if (Buffer.compare(Buffer.from(auth), Buffer.from(genuine)) !== 0) expectRefused(() => checkAuth(secret, hello.nonce, auth, kRolePeer));
        if (Buffer.compare(Buffer.from(ok), Buffer.from(genuineOk)) !== 0) expectRefused(() => checkOk(secret, okNonce, hello.nonce, 1, kRolePeer, ok));
      }),
      { numRuns: kRuns, seed: 22 },
    );
  });
});
