/**
 * The requesting side of the global-array service: one TCP connection per owner worker,
 * opened on first use and authenticated with the token the owner announced at merge (over
 * the job's own, already authenticated, transport). Requests are pipelined and matched to
 * responses by id. Sockets are unref'd while idle so they never keep a finished script alive.
 */
import { connect, type Socket } from 'node:net';
import { PeerGoneError, SuperstepError } from '../../../util/errors.js';
import { encodeHeader, FrameReader, kStatusOk, Op, type Frame } from './frame.js';
import type { ServiceAddress } from './host.js';

interface Pending {
  resolve(f: Frame): void;
  reject(err: unknown): void;
}

/** Error reported by an owner's worker for one request. */
export class ServiceError extends SuperstepError {
  constructor(message: string, rank?: number) {
    super('ERR_INVALID_ARG', message, { rank });
  }
}

class Connection {
  private readonly socket: Socket;
  private readonly reader: FrameReader;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private failure: unknown;

  constructor(addr: ServiceAddress, private readonly owner: number, private readonly me: number) {
    this.reader = new FrameReader(2 ** 31, `rank ${owner}'s global-array service`);
    this.socket = connect(addr.port, addr.host);
    this.socket.setNoDelay(true);
    this.socket.unref();
    this.socket.on('data', (chunk: Buffer) => {
      let frames: Frame[];
      try {
        frames = this.reader.push(chunk);
      } catch (err) {
        this.fail(err);
        return;
      }
      for (const f of frames) {
        const p = this.pending.get(f.id);
        if (!p) continue;
        this.pending.delete(f.id);
        if (this.pending.size === 0) this.socket.unref();
        if (f.arg === kStatusOk) p.resolve(f);
        else p.reject(new ServiceError(`rank ${owner}'s global-array service refused a request: ${new TextDecoder().decode(f.body)}`, me));
      }
    });
    const gone = (why: string) => this.fail(new PeerGoneError(owner, `global-array service of rank ${owner} is unreachable (${why})`, me));
    this.socket.on('error', (err) => gone(err.message));
    this.socket.on('close', () => gone('connection closed'));
    // Authenticate first; requests written after it are served only if it succeeds.
    void this.request(Op.Auth, 0, 0, [], [], [Buffer.from(addr.token, 'hex')]).catch(() => {});
  }

  get usable(): boolean {
    return this.failure === undefined;
  }

  request(op: number, arg: number, seg: number, lo: readonly number[], hi: readonly number[], body: readonly Uint8Array[]): Promise<Frame> {
    if (this.failure !== undefined) return Promise.reject(this.failure);
    const id = this.nextId++;
    const len = body.reduce((n, b) => n + b.byteLength, 0);
    return new Promise<Frame>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      if (this.pending.size === 1) this.socket.ref();
      this.socket.cork();
      this.socket.write(encodeHeader(id, op, arg, seg, lo, hi, len));
      for (const b of body) if (b.byteLength) this.socket.write(b);
      this.socket.uncork();
    });
  }

  fail(err: unknown): void {
    if (this.failure === undefined) this.failure = err;
    for (const p of this.pending.values()) p.reject(this.failure);
    this.pending.clear();
    this.socket.destroy();
  }

  close(): void {
    this.socket.destroy();
  }
}

/** Connections of this thread to owners' workers, by address. */
export class ServiceClient {
  private readonly conns = new Map<string, Connection>();
  /** Requests sent so far (tests check that a region costs one request per owner). */
  requests = 0;

  constructor(private readonly me: number, transport?: { onFail?(l: (err: Error) => void): () => void }) {
    // When the job's transport declares a peer gone (or the job aborted), a request waiting
    // on a frozen owner's worker fails with that error instead of waiting forever.
    transport?.onFail?.((err) => this.failAll(err));
  }

  /** Fails every pending request of every connection with `err`; later requests reconnect. */
  failAll(err: unknown): void {
    for (const c of this.conns.values()) c.fail(err);
    this.conns.clear();
  }

  /** Sends one request to `owner`'s worker; resolves with its (ok) response. */
  request(owner: number, addr: ServiceAddress, op: number, arg: number, seg: number, lo: readonly number[], hi: readonly number[], body: readonly Uint8Array[] = []): Promise<Frame> {
    this.requests++;
    const key = `${addr.host}:${addr.port}`;
    let c = this.conns.get(key);
    if (!c || !c.usable) {
      c = new Connection(addr, owner, this.me);
      this.conns.set(key, c);
    }
    return c.request(op, arg, seg, lo, hi, body);
  }

  close(): void {
    for (const c of this.conns.values()) c.close();
    this.conns.clear();
  }
}
