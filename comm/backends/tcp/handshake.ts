/**
 * Mutual HMAC challenge-response on every tcp connection, over a per-job secret. The secret
 * itself never crosses the wire; both sides prove they hold it by MACing the other's fresh
 * nonce. Messages have fixed lengths, so a stranger cannot make us buffer more than 80 bytes.
 *
 *   accepter -> connector  HELLO  "SSTH" ver role 0 0 | nonceA[32]                       (40 B)
 *   connector -> accepter  AUTH   "SSTA" ver role 0 0 | rank u32 | 0 u32 | nonceC[32] | mac[32]   (80 B)
 *                                 mac = HMAC-SHA256(secret, "superstep/c" nonceA nonceC rank role)
 *   accepter -> connector  OK     "SSTK" | mac[32]                                        (36 B)
 *                                 mac = HMAC-SHA256(secret, "superstep/a" nonceC nonceA rank role)
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Socket } from 'node:net';
import { ProtocolError } from '../../../util/errors.js';

export const kVersion = 1;
/** Connection roles: a mesh link between ranks, or a rank's link to the coordinator. */
export const kRolePeer = 1;
export const kRoleCoordinator = 2;

export const kHelloBytes = 40;
export const kAuthBytes = 80;
export const kOkBytes = 36;
const kNonceBytes = 32;

const ascii = (s: string) => new Uint8Array(Buffer.from(s, 'latin1'));
const kHelloMagic = ascii('SSTH');
const kAuthMagic = ascii('SSTA');
const kOkMagic = ascii('SSTK');

/** A connection that failed authentication (wrong or missing secret). */
export class AuthError extends ProtocolError {}

function startsWith(buf: Uint8Array, magic: Uint8Array): boolean {
  for (let i = 0; i < magic.length; i++) if (buf[i] !== magic[i]) return false;
  return true;
}

function mac(secret: Uint8Array, label: string, a: Uint8Array, b: Uint8Array, rank: number, role: number): Buffer {
  const tail = Buffer.alloc(5);
  tail.writeUInt32LE(rank >>> 0, 0);
  tail[4] = role;
  return createHmac('sha256', secret).update(label).update(a).update(b).update(tail).digest();
}

/** The accepter's challenge. */
export function makeHello(role: number, nonce: Uint8Array = randomBytes(kNonceBytes)): { bytes: Uint8Array; nonce: Uint8Array } {
  const bytes = new Uint8Array(kHelloBytes);
  bytes.set(kHelloMagic, 0);
  bytes[4] = kVersion;
  bytes[5] = role;
  bytes.set(nonce, 8);
  return { bytes, nonce };
}

/** Checks a HELLO (exactly kHelloBytes); returns the accepter's role and nonce. */
export function parseHello(buf: Uint8Array, expectRole: number): Uint8Array {
  if (buf.byteLength !== kHelloBytes || !startsWith(buf, kHelloMagic)) throw new ProtocolError('handshake: not a superstep endpoint (bad HELLO)');
  if (buf[4] !== kVersion) throw new ProtocolError(`handshake: protocol version ${buf[4]} (expected ${kVersion})`);
  if (buf[5] !== expectRole) throw new ProtocolError(`handshake: endpoint has role ${buf[5]} (expected ${expectRole})`);
  if (buf[6] !== 0 || buf[7] !== 0) throw new ProtocolError('handshake: HELLO reserved bytes are not zero');
  return buf.slice(8, 8 + kNonceBytes);
}

/** The connector's answer: who it is, and proof that it holds the secret. */
export function makeAuth(secret: Uint8Array, helloNonce: Uint8Array, rank: number, role: number, nonce: Uint8Array = randomBytes(kNonceBytes)): { bytes: Uint8Array; nonce: Uint8Array } {
  const bytes = new Uint8Array(kAuthBytes);
  const v = new DataView(bytes.buffer);
  bytes.set(kAuthMagic, 0);
  bytes[4] = kVersion;
  bytes[5] = role;
  v.setUint32(8, rank >>> 0, true);
  bytes.set(nonce, 16);
  bytes.set(mac(secret, 'superstep/c', helloNonce, nonce, rank, role), 48);
  return { bytes, nonce };
}

/** Verifies an AUTH against our HELLO nonce; returns the connector's rank and nonce. */
export function checkAuth(secret: Uint8Array, helloNonce: Uint8Array, buf: Uint8Array, role: number): { rank: number; nonce: Uint8Array } {
  if (buf.byteLength !== kAuthBytes || !startsWith(buf, kAuthMagic)) throw new AuthError('handshake: bad AUTH message');
  if (buf[4] !== kVersion || buf[5] !== role) throw new AuthError(`handshake: AUTH version ${buf[4]} role ${buf[5]} (expected ${kVersion}, ${role})`);
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  if (dv.getUint16(6, true) !== 0 || dv.getUint32(12, true) !== 0) throw new AuthError('handshake: AUTH reserved bytes are not zero');
  const rank = dv.getUint32(8, true);
  const nonce = buf.slice(16, 48);
  const want = mac(secret, 'superstep/c', helloNonce, nonce, rank, role);
  if (!timingSafeEqual(want, buf.subarray(48, 80))) throw new AuthError('handshake: HMAC does not match (wrong or missing job secret)');
  return { rank, nonce };
}

/** The accepter's proof that it, too, holds the secret. */
export function makeOk(secret: Uint8Array, authNonce: Uint8Array, helloNonce: Uint8Array, rank: number, role: number): Uint8Array {
  const bytes = new Uint8Array(kOkBytes);
  bytes.set(kOkMagic, 0);
  bytes.set(mac(secret, 'superstep/a', authNonce, helloNonce, rank, role), 4);
  return bytes;
}

export function checkOk(secret: Uint8Array, authNonce: Uint8Array, helloNonce: Uint8Array, rank: number, role: number, buf: Uint8Array): void {
  if (buf.byteLength !== kOkBytes || !startsWith(buf, kOkMagic)) throw new AuthError('handshake: bad OK message');
  const want = mac(secret, 'superstep/a', authNonce, helloNonce, rank, role);
  if (!timingSafeEqual(want, buf.subarray(4))) throw new AuthError('handshake: the endpoint does not hold the job secret');
}

/**
 * Reads exactly `n` bytes from a socket, then pauses it; bytes that came after are returned
 * as `rest` so that nothing is lost before the frame decoder takes over.
 */
export function readExactly(socket: Socket, n: number, timeoutMs: number, what: string): Promise<{ bytes: Uint8Array; rest: Uint8Array }> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let have = 0;
    const done = (err?: Error) => {
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('error', onError);
      socket.off('close', onClose);
      socket.pause();
      if (err) return reject(err);
      const all = Buffer.concat(chunks, have);
      resolve({ bytes: new Uint8Array(all.subarray(0, n)), rest: new Uint8Array(all.subarray(n)) });
    };
    const onData = (b: Buffer) => {
      chunks.push(b);
      have += b.byteLength;
      if (have >= n) done();
    };
    const onError = (e: Error) => done(new ProtocolError(`handshake: connection error while waiting for ${what}: ${e.message}`));
    const onClose = () => done(new ProtocolError(`handshake: connection closed while waiting for ${what} (${have} of ${n} bytes)`));
    const timer = setTimeout(() => done(new ProtocolError(`handshake: no ${what} within ${timeoutMs} ms (${have} of ${n} bytes)`)), timeoutMs);
    socket.on('data', onData);
    socket.on('error', onError);
    socket.on('close', onClose);
    socket.resume();
  });
}

/** Accepter side of the handshake; resolves with the authenticated peer rank. */
export async function acceptHandshake(socket: Socket, secret: Uint8Array, role: number, timeoutMs: number): Promise<{ rank: number; rest: Uint8Array }> {
  const hello = makeHello(role);
  socket.write(hello.bytes);
  const { bytes, rest } = await readExactly(socket, kAuthBytes, timeoutMs, 'AUTH');
  const auth = checkAuth(secret, hello.nonce, bytes, role);
  socket.write(makeOk(secret, auth.nonce, hello.nonce, auth.rank, role));
  return { rank: auth.rank, rest };
}

/** Connector side of the handshake; resolves once both sides are authenticated. */
export async function connectHandshake(socket: Socket, secret: Uint8Array, rank: number, role: number, timeoutMs: number): Promise<Uint8Array> {
  const h = await readExactly(socket, kHelloBytes, timeoutMs, 'HELLO');
  if (h.rest.byteLength) throw new ProtocolError('handshake: endpoint sent data before authentication');
  const helloNonce = parseHello(h.bytes, role);
  const auth = makeAuth(secret, helloNonce, rank, role);
  socket.write(auth.bytes);
  const ok = await readExactly(socket, kOkBytes, timeoutMs, 'OK');
  checkOk(secret, auth.nonce, helloNonce, rank, role, ok.bytes);
  return ok.rest;
}
