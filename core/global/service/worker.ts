/**
 * The communication worker: a thread of each rank's process that holds the rank's global
 * array blocks (the same SharedArrayBuffers the rank computes on) and answers one-sided
 * requests from other ranks over TCP, so a rank busy in a tight loop still serves its
 * memory. Requests of one connection are handled in order; lock waits use Atomics.waitAsync
 * and never stop other connections from being served.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { createServer, type Socket } from 'node:net';
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { kDTypes, viewOf, type DType, type TypedArray } from '../../../util/dtype.js';
import { accKernel, accOpFromCode } from '../accops.js';
import { acquireWord, bumpVersion, kAccWord, kLockStripes, releaseWord } from '../locks.js';
import { copyBox } from '../region.js';
import { encodeHeader, FrameReader, kStatusError, kStatusOk, Op, type Frame } from './frame.js';
import type { ToService, FromService } from './host.js';

interface Segment {
  view: TypedArray;
  dtype: DType;
  shape: number[];
  locks: Int32Array;
}

const port = parentPort!;
const { host } = workerData as { host: string };
const token = randomBytes(24);
const segments = new Map<number, Segment>();
/** Largest frame accepted once a connection has authenticated. */
const kMaxFrame = 2 ** 31;

port.on('message', (m: ToService) => {
  if (m.type === 'register') {
    const bytes = kDTypes[m.dtype].bytes;
    segments.set(m.seg, {
      view: viewOf(m.dtype, m.buffer, m.byteOffset, m.byteLength / bytes),
      dtype: m.dtype,
      shape: m.shape,
      locks: new Int32Array(m.locks),
    });
    port.postMessage({ type: 'registered', seg: m.seg } satisfies FromService);
  } else if (m.type === 'unregister') {
    for (const s of m.segs) segments.delete(s);
  }
});

const server = createServer((socket) => serve(socket));
server.listen(0, host, () => {
  const a = server.address();
  const p = typeof a === 'object' && a ? a.port : 0;
  port.postMessage({ type: 'listening', host, port: p, token: token.toString('hex') } satisfies FromService);
});
server.on('error', (err) => port.postMessage({ type: 'failed', message: err.message } satisfies FromService));

function serve(socket: Socket): void {
  socket.setNoDelay(true);
  const who = `${socket.remoteAddress}:${socket.remotePort}`;
  const reader = new FrameReader(256, who);
  let authed = false;
  let chain: Promise<void> = Promise.resolve();
  socket.on('data', (chunk: Buffer) => {
    let frames: Frame[];
    try {
      frames = reader.push(chunk);
    } catch {
      socket.destroy();
      return;
    }
    for (const f of frames) {
      if (!authed) {
        const ok = f.op === Op.Auth && f.body.byteLength === token.byteLength && timingSafeEqual(f.body, token);
        if (!ok) {
          socket.destroy();
          return;
        }
        authed = true;
        reader.setMax(kMaxFrame);
        reply(socket, f, kStatusOk, []);
        continue;
      }
      chain = chain.then(() => handle(socket, f));
    }
  });
  socket.on('error', () => socket.destroy());
}

function reply(socket: Socket, f: Frame, status: number, body: readonly Uint8Array[]): void {
  if (socket.destroyed) return;
  const len = body.reduce((n, b) => n + b.byteLength, 0);
  socket.cork();
  socket.write(encodeHeader(f.id, f.op, status, 0, [], [], len));
  for (const b of body) socket.write(b);
  socket.uncork();
}

function fail(socket: Socket, f: Frame, message: string): void {
  reply(socket, f, kStatusError, [new TextEncoder().encode(message)]);
}

async function handle(socket: Socket, f: Frame): Promise<void> {
  const seg = segments.get(f.seg);
  if (!seg) return fail(socket, f, `no global array segment ${f.seg} on this rank (freed, or from an earlier job)`);
  try {
    if (f.op === Op.Lock || f.op === Op.Unlock) {
      const v = new DataView(f.body.buffer, f.body.byteOffset, f.body.byteLength);
      const word = v.getUint32(0, true);
      const holder = v.getUint32(4, true);
      if (word >= kLockStripes) return fail(socket, f, `lock word ${word} out of range`);
      if (f.op === Op.Lock) await acquireWord(seg.locks, word, holder);
      else if (Atomics.load(seg.locks, word) === holder) releaseWord(seg.locks, word);
      else return fail(socket, f, `unlock of word ${word} by holder ${holder - 1}, which does not hold it`);
      return reply(socket, f, kStatusOk, []);
    }
    if (f.op === Op.GetAt || f.op === Op.PutAt) return scattered(socket, f, seg);
    const nd = seg.shape.length;
    if (f.lo.length !== nd || f.lo.some((l, d) => l > f.hi[d]! || f.hi[d]! > seg.shape[d]!)) {
      return fail(socket, f, `box [${f.lo}]..[${f.hi}] is outside the block of shape [${seg.shape}]`);
    }
    const ext = f.lo.map((l, d) => f.hi[d]! - l);
    const n = ext.reduce((a, b) => a * b, 1);
    const zero = new Array<number>(nd).fill(0);
    if (f.op === Op.Get) {
      const out = new kDTypes[seg.dtype].ctor(n);
      copyBox(seg.view, seg.shape, f.lo, out, ext, zero, ext);
      return reply(socket, f, kStatusOk, [new Uint8Array(out.buffer, out.byteOffset, out.byteLength)]);
    }
    if (f.op === Op.Put || f.op === Op.Acc) {
      const bytes = kDTypes[seg.dtype].bytes;
      if (f.body.byteLength !== n * bytes) return fail(socket, f, `body of ${f.body.byteLength} bytes for ${n} elements of ${seg.dtype}`);
      const data = viewOf(seg.dtype, f.body.buffer, f.body.byteOffset, n);
      if (f.op === Op.Put) {
        copyBox(data, ext, zero, seg.view, seg.shape, f.lo, ext);
      } else {
        const name = accOpFromCode(f.arg);
        if (!name) return fail(socket, f, `unknown accumulate op code ${f.arg}`);
        await acquireWord(seg.locks, kAccWord, 0x40000000);
        try {
          copyBox(data, ext, zero, seg.view, seg.shape, f.lo, ext, accKernel(name));
        } finally {
          releaseWord(seg.locks, kAccWord);
        }
      }
      bumpVersion(seg.locks);
      return reply(socket, f, kStatusOk, []);
    }
    return fail(socket, f, `unknown op ${f.op}`);
  } catch (err) {
    return fail(socket, f, err instanceof Error ? err.message : String(err));
  }
}

/** GETAT / PUTAT: elements at scattered local offsets, one request for all of them. */
function scattered(socket: Socket, f: Frame, seg: Segment): void {
  const b = f.body;
  const bytes = kDTypes[seg.dtype].bytes;
  const n = seg.view.length;
  const o = seg.view as unknown as unknown[];
  if (f.op === Op.GetAt) {
    if (b.byteLength % 4 !== 0) return fail(socket, f, `GETAT body of ${b.byteLength} bytes`);
    const offs = new Uint32Array(b.buffer, b.byteOffset, b.byteLength / 4);
    const out = new kDTypes[seg.dtype].ctor(offs.length);
    const v = out as unknown as unknown[];
    for (let i = 0; i < offs.length; i++) {
      if (offs[i]! >= n) return fail(socket, f, `offset ${offs[i]} outside the block of ${n} elements`);
      v[i] = o[offs[i]!];
    }
    return reply(socket, f, kStatusOk, [new Uint8Array(out.buffer, out.byteOffset, out.byteLength)]);
  }
  if (b.byteLength < 8) return fail(socket, f, `PUTAT body of ${b.byteLength} bytes`);
  const count = new DataView(b.buffer, b.byteOffset, 8).getUint32(0, true);
  const valuesAt = 8 + count * 4 + ((8 - ((8 + count * 4) & 7)) & 7);
  if (b.byteLength !== valuesAt + count * bytes) return fail(socket, f, `PUTAT body of ${b.byteLength} bytes for ${count} elements`);
  const offs = new Uint32Array(b.buffer, b.byteOffset + 8, count);
  const vals = viewOf(seg.dtype, b.buffer, b.byteOffset + valuesAt, count) as unknown as unknown[];
  for (let i = 0; i < count; i++) if (offs[i]! >= n) return fail(socket, f, `offset ${offs[i]} outside the block of ${n} elements`);
  for (let i = 0; i < count; i++) o[offs[i]!] = vals[i];
  bumpVersion(seg.locks);
  reply(socket, f, kStatusOk, []);
}
