/**
 * The tcp backend: ranks are processes on one or many hosts, joined by a full mesh of
 * authenticated TCP connections (rank i connects to every j < i and accepts from every j > i).
 *
 * Peers on the same host connect through a Unix-domain socket (Linux abstract namespace)
 * instead of loopback TCP, unless `localSockets` is false: loopback TCP runs the whole
 * congestion-control machinery, and under BBR (a common Linux default) its congestion window
 * on a 4 us loopback path stays at 16-26 segments of 64 KiB, so messages past 1 MiB wait for
 * ACKs, both CPUs transmit and the packets arrive out of order, spurious fast retransmits
 * follow (measured: a 1 MiB exchange 300 us on TCP, 135 us on a Unix socket). Every other
 * peer, and any peer whose Unix socket cannot be reached (another host or network
 * namespace), is reached over TCP; both carry the same frames and the same handshake.
 *
 * Messages are framed (frame.ts) and written header + payload views under cork/uncork, so
 * Node hands them to the kernel in one writev without concatenating them into a new buffer.
 * Frames of at most 16 KiB are the exception: Node's writev costs more than copying them, so
 * they go through a per-peer staging buffer, reused while writes complete at once. Receiving
 * (reads.ts): the kernel copies a large frame's payload straight into the message's buffer
 * (the posted receive's `into` when it was matched at the first frame); headers and small
 * frames go through a per-connection scratch buffer and are copied once into place.
 *
 * Waiting: while an operation is pending the event loop keeps polling for a few ms (spin)
 * rather than sleeping in epoll, since waking a sleeping process costs more than a small
 * message's whole round trip. Liveness: heartbeats come from a worker thread (heartbeat.ts),
 * so that a rank computing without awaiting is not mistaken for a dead one.
 *
 * The transport exists before its connections do: `context()` is synchronous, so sends
 * queue per peer and receives wait in the match queue until the mesh is up.
 *
 * Faults: a connection that closes without an orderly BYE, errors, carries a malformed frame
 * or stays silent longer than `peerTimeoutMs` makes the peer gone, and every pending and
 * later operation rejects with a PeerGoneError naming it. An ABORT frame ends the job with
 * the aborting rank's reason. A FIN frame says that a peer finished its job: receives from
 * it then fail instead of hanging, as on sab.
 */
import { randomBytes } from 'node:crypto';
import net, { type Server, type Socket } from 'node:net';
import { oversubscribed } from '../../../util/cores.js';
import { AbortedError, ArgumentError, ClosedError, PeerGoneError } from '../../../util/errors.js';
import { rateLimited } from '../../../util/rate-log.js';
import { MatchQueue, type Posted } from '../../matching.js';
import { ANY_SOURCE, concatPayload, payloadLength, payloadParts, type Message, type MessageInfo, type Payload, type Transport, type TransportStats } from '../../transport.js';
import { FrameDecoder, encodeFrames, kAbort, kBeatAddr, kBye, kData, kDefaultMaxFrameBytes, kDefaultMaxMessageBytes, kFin, kPing, type Frame } from './frame.js';
import { acceptHandshake, connectHandshake, kRolePeer } from './handshake.js';
import { Heartbeat } from './heartbeat.js';
import { ReadSink, adoptInto, connectInto } from './reads.js';
import { connected } from './rendezvous.js';

/** Host and port where a rank accepts mesh connections. */
export interface PeerAddress {
  host: string;
  port: number;
  /**
   * The name of the rank's Unix-domain listener in the abstract namespace, for peers on its
   * host and in its network namespace (absent: TCP only).
   */
  local?: string;
}

/** How a connection to a peer runs: loopback or network TCP, or a Unix-domain socket on this host. */
export type PeerRoute = 'tcp' | 'unix';

export interface TcpTransportOptions {
  rank: number;
  size: number;
  /** The per-job secret every connection proves it holds. */
  secret: Uint8Array;
  /** Largest payload of one frame (default 4 MiB). */
  maxFrameBytes?: number;
  /** Largest message (default 2^32 - 1 bytes). */
  maxMessageBytes?: number;
  /** A peer silent for this long is gone, in ms (default 10000; 0 disables heartbeats). */
  peerTimeoutMs?: number;
  /** Bound on connecting to a peer, retries included, in ms (default 30000). */
  connectTimeoutMs?: number;
  /** Bound on one handshake, in ms (default 5000). */
  handshakeTimeoutMs?: number;
  /** Where refused connections and faults are logged (default: stderr). */
  log?: (line: string) => void;
  /**
   * Keep the process alive while connections are open (default true). Scripts started by an
   * engine pass false, so that the process may end when the script does.
   */
  ref?: boolean;
  /**
   * How long a waiting rank keeps its event loop polling (no sleep in epoll) before it
   * sleeps, in ms (default 5; 0 when the ranks on this host outnumber its cores, where a
   * spinning rank takes the core a busy one needs; 0: never).
   */
  spinMs?: number;
  /** Ranks of this job on this host, for the spin default (default: all of them). */
  localRanks?: number;
  /** Read large payloads straight into their message's buffer (default true; false: Node's 'data' chunks). */
  inPlaceReads?: boolean;
  /**
   * Reach peers on this host through a Unix-domain socket rather than loopback TCP (default
   * true on Linux, where abstract sockets exist; false: TCP to every peer).
   */
  localSockets?: boolean;
}

/** Frames up to this size (header included) are staged and written with one write, not writev. */
const kSmallBytes = 16 << 10;

/** Frame payloads with at least this much still to come are read straight into their message. */
const kDirectReadBytes = 64 << 10;

/** Context reserved for the barrier's messages. */
const kBarrierContext = -0x7fff0001;

interface Peer {
  rank: number;
  socket?: Socket;
  decoder?: FrameDecoder;
  /** Frames written before the connection existed. */
  backlog: { bufs: Uint8Array[]; done(err?: Error): void }[];
  lastHeard: number;
  lastSent: number;
  /** The receive that the message now streaming in was matched to at its first frame. */
  claimed?: Posted;
  /** What the connection runs over, once it is up. */
  route?: PeerRoute;
  /** Staging buffer for small frames (see writeNow). */
  stage?: Buffer;
  /** Sent BYE: closing in order. */
  bye: boolean;
  gone: boolean;
}

export function createTcpTransport(options: TcpTransportOptions): TcpTransport {
  return new TcpTransport(options);
}

export class TcpTransport implements Transport {
  readonly backend = 'tcp';
  readonly capabilities = { sharedMemory: false };
  readonly rank: number;
  readonly size: number;
  readonly stats: TransportStats = { bytesSent: 0, bytesReceived: 0, messagesSent: 0, messagesReceived: 0 };
  /** The current job; frames of older jobs are dropped, newer ones held until reset(). */
  epoch = 0;

  private readonly secret: Uint8Array;
  private readonly maxFrame: number;
  private readonly maxMessage: number;
  private readonly peerTimeoutMs: number;
  private readonly connectTimeoutMs: number;
  private readonly handshakeTimeoutMs: number;
  private readonly log: (line: string) => void;
  /** Refused connections: a flood of strangers must not fill a disk (util/rate-log.ts). */
  private readonly logRefusal: (line: string) => void;
  private readonly keepRef: boolean;
  private readonly inPlaceReads: boolean;
  private readonly peers: Peer[] = [];
  private readonly queue = new MatchQueue();
  private readonly finished: boolean[];
  private early: { source: number; frame: Frame }[] = [];
  private server: Server | undefined;
  /** The Unix-domain listener for peers on this host (see localSockets). */
  private localServer: Server | undefined;
  private readonly localSockets: boolean;
  /** Every rank's address, once connect() was given them. */
  private table: readonly PeerAddress[] | undefined;
  private failure: Error | undefined;
  private closed = false;
  private closing: Promise<void> | undefined;
  private barrierGen = 0;
  private inflight = 0;
  private flushWaiters: (() => void)[] = [];
  private heartbeat: NodeJS.Timeout | undefined;
  /** The worker that keeps heartbeats going while this thread is busy (see heartbeat.ts). */
  private beats: Heartbeat | undefined;
  private lastTick = Date.now();
  private pending = 0;
  private keepAlive: NodeJS.Timeout | undefined;
  private readonly spinMs: number;
  private spinUntil = 0;
  private spinning = false;
  private byeWaiters: (() => void)[] = [];
  private readyResolve!: () => void;
  /** Resolves when every mesh connection is up. */
  readonly ready: Promise<void>;

  constructor(options: TcpTransportOptions) {
    const { rank, size } = options;
    if (!Number.isInteger(size) || size < 1) throw new ArgumentError('size', 'a positive integer', size);
    if (!Number.isInteger(rank) || rank < 0 || rank >= size) throw new ArgumentError('rank', `an integer in 0..${size - 1}`, rank);
    this.rank = rank;
    this.size = size;
    this.secret = options.secret;
    this.maxFrame = options.maxFrameBytes ?? kDefaultMaxFrameBytes;
    this.maxMessage = options.maxMessageBytes ?? kDefaultMaxMessageBytes;
    this.peerTimeoutMs = options.peerTimeoutMs ?? 10_000;
    this.connectTimeoutMs = options.connectTimeoutMs ?? 30_000;
    this.handshakeTimeoutMs = options.handshakeTimeoutMs ?? 5_000;
    this.log = options.log ?? ((line) => process.stderr.write(line + '\n'));
    this.logRefusal = rateLimited(this.log, `superstep[rank ${rank}]: `, { what: 'refused connections' });
    this.keepRef = options.ref ?? true;
    this.inPlaceReads = options.inPlaceReads ?? true;
    this.localSockets = (options.localSockets ?? true) && process.platform === 'linux';
    const local = options.localRanks ?? size;
    this.spinMs = options.spinMs ?? (oversubscribed(local) ? 0 : 5);
    this.finished = new Array(size).fill(false);
    for (let r = 0; r < size; r++) this.peers.push({ rank: r, backlog: [], lastHeard: 0, lastSent: 0, bye: false, gone: false });
    this.ready = new Promise<void>((resolve) => (this.readyResolve = resolve));
    if (size === 1) this.readyResolve();
  }

  // Setup
  // -----

  /** Starts accepting mesh connections on `host` (port 0: any free port). */
  listen(host: string, port = 0): Promise<PeerAddress> {
    return new Promise((resolve, reject) => {
      const server = net.createServer({ noDelay: true, pauseOnConnect: true }, (s) => this.onIncoming(s));
      this.server = server;
      if (this.peerTimeoutMs > 0 && this.size > 1 && !this.beats) {
        this.beats = new Heartbeat({ host, rank: this.rank, size: this.size, everyMs: this.beatEvery(), log: this.log });
      }
      const failed = (err: Error) => {
        this.beats?.close();
        this.beats = undefined;
        reject(err);
      };
      server.once('error', failed);
      server.listen({ host, port, exclusive: true }, () => {
        server.off('error', failed);
        server.on('error', (e) => this.log(`superstep[rank ${this.rank}]: listener error: ${e.message}`));
        if (!this.keepRef) server.unref();
        const a = server.address() as net.AddressInfo;
        const address: PeerAddress = { host: a.address, port: a.port };
        if (!this.localSockets || this.size === 1) return resolve(address);
        void this.listenLocal().then((local) => resolve(local ? { ...address, local } : address));
      });
    });
  }

  /** Also accepts on a fresh abstract Unix socket; resolves with its name (undefined: none, TCP only). */
  private listenLocal(): Promise<string | undefined> {
    const name = `superstep-${randomBytes(12).toString('hex')}`;
    return new Promise((resolve) => {
      const local = net.createServer({ pauseOnConnect: true }, (s) => this.onIncoming(s));
      local.once('error', (e) => {
        this.log(`superstep[rank ${this.rank}]: no local socket (${e.message}); peers on this host connect over TCP`);
        resolve(undefined);
      });
      local.listen({ path: `\0${name}` }, () => {
        local.removeAllListeners('error');
        local.on('error', (e) => this.log(`superstep[rank ${this.rank}]: local listener error: ${e.message}`));
        if (!this.keepRef) local.unref();
        this.localServer = local;
        resolve(name);
      });
    });
  }

  /** How the connection to `rank` runs (undefined: not connected, or this rank itself). */
  route(rank: number): PeerRoute | undefined {
    return this.peers[rank]?.route;
  }

  /** Connects to every lower rank in `table`; resolves when the whole mesh is up. */
  async connect(table: readonly PeerAddress[]): Promise<void> {
    if (table.length !== this.size) throw new ArgumentError('table', `${this.size} addresses`, table.length, this.rank);
    this.table = table;
    this.startHeartbeat();
    const links: Promise<void>[] = [];
    for (let j = 0; j < this.rank; j++) links.push(this.dial(j, table[j]!));
    await Promise.all(links);
    await this.ready;
  }

  private async dial(peer: number, addr: PeerAddress): Promise<void> {
    const deadline = Date.now() + this.connectTimeoutMs;
    // The peer's local socket first: it exists before the table does, so one try tells
    // whether the peer shares this host and network namespace; if not, TCP.
    let path = this.localSockets && typeof addr.local === 'string' ? `\0${addr.local}` : undefined;
    for (let attempt = 0; ; attempt++) {
      if (this.failure) throw this.failure;
      const reads = this.inPlaceReads ? new ReadSink() : undefined;
      const socket = reads
        ? connectInto(addr.host, addr.port, reads, path)
        : net.connect(path !== undefined ? { path } : { host: addr.host, port: addr.port, noDelay: true });
      try {
        await connected(socket, Math.max(100, deadline - Date.now()));
        socket.removeAllListeners('error');
        socket.on('error', () => {});
        const rest = await connectHandshake(socket, this.secret, this.rank, kRolePeer, this.handshakeTimeoutMs);
        this.attach(peer, socket, rest, reads, path !== undefined ? 'unix' : 'tcp');
        return;
      } catch (err) {
        socket.destroy();
        const code = (err as { code?: string }).code;
        if (path !== undefined && (code === 'ECONNREFUSED' || code === 'ENOENT')) {
          path = undefined;
          attempt = -1;
          continue;
        }
        if ((code === 'ECONNREFUSED' || code === 'EHOSTUNREACH' || code === 'ENETUNREACH') && Date.now() < deadline) {
          await new Promise((r) => setTimeout(r, Math.min(50 * 2 ** attempt, 500)));
          continue;
        }
        const e = new PeerGoneError(peer, `cannot connect to rank ${peer} at ${addr.host}:${addr.port}: ${(err as Error).message}`, this.rank);
        this.fail(e);
        throw e;
      }
    }
  }

  private onIncoming(accepted: Socket): void {
    const unix = accepted.remoteAddress === undefined;
    const from = unix ? 'a local socket' : `${accepted.remoteAddress}:${accepted.remotePort}`;
    const reads = this.inPlaceReads ? new ReadSink() : undefined;
    const socket = (reads && adoptInto(accepted, reads)) || accepted;
    socket.on('error', () => {});
    acceptHandshake(socket, this.secret, kRolePeer, this.handshakeTimeoutMs).then(
      ({ rank, rest }) => {
        if (rank <= this.rank || rank >= this.size || this.peers[rank]!.socket) {
          this.logRefusal(`superstep[rank ${this.rank}]: refused a connection from ${from}: it claims rank ${rank}, which may not connect here`);
          socket.destroy();
          return;
        }
        this.attach(rank, socket, rest, socket === accepted ? undefined : reads, unix ? 'unix' : 'tcp');
      },
      (err: Error) => {
        // A stranger or a broken peer: refuse it, and the job goes on.
        this.logRefusal(`superstep[rank ${this.rank}]: refused a connection from ${from}: ${err.message}`);
        socket.destroy();
      },
    );
  }

  /** Takes over an authenticated connection; `reads` when its bytes come through a ReadSink. */
  private attach(rank: number, socket: Socket, rest: Uint8Array, reads: ReadSink | undefined, route: PeerRoute): void {
    const peer = this.peers[rank]!;
    peer.socket = socket;
    peer.route = route;
    peer.lastHeard = peer.lastSent = Date.now();
    socket.setNoDelay(true);
    if (!this.keepRef) socket.unref();
    const name = route === 'unix' ? `rank ${rank} (local socket)` : `rank ${rank} (${socket.remoteAddress}:${socket.remotePort})`;
    peer.decoder = new FrameDecoder({ maxFrameBytes: this.maxFrame, maxMessageBytes: this.maxMessage }, (f) => this.onFrame(rank, f), name, (context, tag, epoch) => {
      // Match at the first frame, as MPI matches at the envelope: the payload then streams
      // straight into the receiver's buffer when it gave one.
      if (epoch !== this.epoch || this.failure) return undefined;
      const c = (peer.claimed = this.queue.claim(rank, context, tag));
      return c?.into && c.head ? { head: c.head, body: c.into } : c?.into;
    });
    socket.removeAllListeners('error');
    const decoder = peer.decoder;
    const onChunk = (chunk: Uint8Array, direct: boolean) => {
      peer.lastHeard = Date.now();
      try {
        if (direct) decoder.advance(chunk.byteLength);
        else decoder.push(chunk);
      } catch (err) {
        this.log(`superstep[rank ${this.rank}]: ${(err as Error).message}`);
        socket.destroy();
        this.peerGone(rank, (err as Error).message);
      }
    };
    if (reads) {
      reads.onBytes = onChunk;
      // A large payload is read straight into its message's buffer; headers and small frames via scratch.
      reads.target = () => decoder.pending(kDirectReadBytes);
    } else {
      socket.on('data', (chunk: Buffer) => onChunk(chunk, false));
    }
    socket.on('error', (err: NodeJS.ErrnoException) => {
      const how = err.code === 'ECONNRESET' || err.code === 'EPIPE' ? 'its connection was reset (killed or crashed?)' : `its connection failed: ${err.message}`;
      this.peerGone(rank, `rank ${rank} is gone: ${how}`);
    });
    socket.on('close', () => {
      if (peer.bye || this.closed) {
        peer.gone = true;
        this.checkByes();
        return;
      }
      this.peerGone(rank, `rank ${rank} is gone: its connection closed without an orderly shutdown (killed or crashed?)`);
    });
    if (rest.byteLength) onChunk(rest, false);
    socket.resume();
    for (const w of peer.backlog.splice(0)) this.writeNow(peer, w.bufs, w.done);
    void this.beats?.address.then((a) => {
      if (!a || rank < this.rank || socket.destroyed || this.failure) return;
      // Only higher ranks open heartbeat links: the lower one tells them where.
      const payload = new Uint8Array(4 + a.token.byteLength);
      new DataView(payload.buffer).setUint32(0, a.port, true);
      payload.set(a.token, 4);
      this.writeNow(peer, encodeFrames(kBeatAddr, 0, 0, this.epoch, [payload], payload.byteLength, this.maxFrame), () => {});
    });
    if (this.peers.every((p) => p.rank === this.rank || p.socket)) this.readyResolve();
  }

  // Point-to-point
  // --------------

  send(dest: number, context: number, tag: number, payload: Payload): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.closed) return Promise.reject(new ClosedError('transport is closed', this.rank));
    if (!Number.isInteger(dest) || dest < 0 || dest >= this.size) {
      return Promise.reject(new ArgumentError('dest', `a rank in 0..${this.size - 1}`, dest, this.rank));
    }
    const parts = payloadParts(payload);
    const length = payloadLength(payload);
    if (length > this.maxMessage) return Promise.reject(new ArgumentError('payload', `at most ${this.maxMessage} bytes`, length, this.rank));
    this.stats.bytesSent += length;
    this.stats.messagesSent++;
    if (dest === this.rank) {
      this.arrived(this.rank, context, tag, concatPayload(parts, length));
      return Promise.resolve();
    }
    return this.write(dest, encodeFrames(kData, context, tag, this.epoch, parts, length, this.maxFrame));
  }

  recv(source: number, context: number, tag: number, into?: Uint8Array, head?: Uint8Array): Promise<Message> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.closed) return Promise.reject(new ClosedError('transport is closed', this.rank));
    if (source !== ANY_SOURCE && (!Number.isInteger(source) || source < 0 || source >= this.size)) {
      return Promise.reject(new ArgumentError('source', `a rank in 0..${this.size - 1} or ANY_SOURCE`, source, this.rank));
    }
    const m = this.queue.receiveNow(source, context, tag, into, head);
    if (m) return Promise.resolve(m);
    const gone = this.finishedError(source, tag);
    if (gone) return Promise.reject(gone);
    return this.track(this.queue.post(source, context, tag, into, head).promise);
  }

  /** A receive whose first head.byteLength bytes land in `head`, the rest streaming into `into`. */
  recvSplit(source: number, context: number, tag: number, head: Uint8Array, into: Uint8Array): Promise<Message> {
    return this.recv(source, context, tag, into, head);
  }

  iprobe(source: number, context: number, tag: number): MessageInfo | undefined {
    return this.queue.peek(source, context, tag);
  }

  probe(source: number, context: number, tag: number): Promise<MessageInfo> {
    if (this.failure) return Promise.reject(this.failure);
    const info = this.queue.peek(source, context, tag);
    if (info) return Promise.resolve(info);
    const gone = this.finishedError(source, tag);
    if (gone) return Promise.reject(gone);
    return this.track(this.queue.probe(source, context, tag));
  }

  /** Dissemination barrier: ceil(log2 P) rounds of one message each way. */
  async barrier(): Promise<void> {
    if (this.failure) throw this.failure;
    if (this.closed) throw new ClosedError('transport is closed', this.rank);
    const gen = this.barrierGen++;
    const empty = new Uint8Array(0);
    for (let k = 0, d = 1; d < this.size; k++, d *= 2) {
      const tag = ((gen & 0xffffff) << 5) | k;
      const to = (this.rank + d) % this.size;
      const from = (this.rank - d + this.size) % this.size;
      const sent = this.send(to, kBarrierContext, tag, empty);
      await this.recv(from, kBarrierContext, tag);
      await sent;
    }
  }

  /** The error that failed this transport (undefined while it works). */
  failedWith(): Error | undefined {
    return this.failure;
  }

  private readonly failListeners = new Set<(err: Error) => void>();

  /**
   * Calls `listener` once when this transport fails (a peer gone, an abort, close), with the
   * error every pending operation got: layers that wait on something other than the
   * transport (the global-array service's own connections) fail their pending operations
   * with it. Returns a function that removes the listener.
   */
  onFail(listener: (err: Error) => void): () => void {
    if (this.failure) {
      listener(this.failure);
      return () => {};
    }
    this.failListeners.add(listener);
    return () => this.failListeners.delete(listener);
  }

  abort(reason: string): void {
    this.abortWith(new AbortedError(`job aborted by rank ${this.rank}: ${reason}`, this.rank, this.rank), this.rank, reason);
  }

  /** Aborts on this rank and tells every peer, naming `failedRank` as the cause. */
  abortWith(err: Error, failedRank: number, reason: string): void {
    // Already failed: this abort is an echo of the first failure, which the peers have heard of.
    if (this.failure) return;
    const bytes = new TextEncoder().encode(reason.slice(0, 8000));
    for (const p of this.peers) {
      if (p.rank === this.rank || p.gone || !p.socket || p.socket.destroyed) continue;
      this.writeNow(p, encodeFrames(kAbort, 0, failedRank, this.epoch, [bytes], bytes.byteLength, this.maxFrame), () => {});
    }
    this.fail(err);
  }

  /** Resolves when every frame written so far has been handed to the kernel. */
  flush(): Promise<void> {
    if (this.inflight === 0) return Promise.resolve();
    return new Promise((resolve) => this.flushWaiters.push(resolve));
  }

  /**
   * Ends job `epoch` on this rank: tells every peer that nothing more will come, so that
   * their receives from this rank fail instead of waiting.
   */
  async finishJob(): Promise<void> {
    if (this.failure) return;
    for (const p of this.peers) {
      if (p.rank !== this.rank) void this.write(p.rank, encodeFrames(kFin, 0, 0, this.epoch, [], 0, this.maxFrame)).catch(() => {});
    }
    await this.flush();
  }

  /** Starts job `epoch`: drops leftovers of earlier jobs and delivers frames that came early. */
  reset(epoch: number): void {
    this.epoch = epoch >>> 0;
    this.queue.drop();
    this.queue.dropPosted();
    this.finished.fill(false);
    if (this.failure) return;
    const early = this.early;
    this.early = [];
    for (const e of early) this.onFrame(e.source, e.frame);
  }

  async close(): Promise<void> {
    this.closing ??= (async () => {
      try {
        if (!this.failure) {
          await this.bounded(this.flush(), 5000);
          // Orderly shutdown, as MPI_Finalize: say BYE, wait for every peer's BYE.
          for (const p of this.peers) {
            if (p.rank === this.rank || !p.socket || p.socket.destroyed) continue;
            this.writeNow(p, encodeFrames(kBye, 0, 0, this.epoch, [], 0, this.maxFrame), () => {});
          }
          await this.bounded(new Promise<void>((r) => { this.byeWaiters.push(r); this.checkByes(); }), this.peerTimeoutMs || 10_000);
        }
      } finally {
        const orderly = !this.failure;
        this.closed = true;
        this.fail(new ClosedError('transport is closed', this.rank));
        clearInterval(this.heartbeat);
        clearInterval(this.keepAlive);
        this.beats?.close();
        for (const p of this.peers) {
          const s = p.socket;
          if (!s) continue;
          if (!orderly) {
            s.destroy();
            continue;
          }
          // end() sends what is still queued (our BYE) before the FIN; destroy() would drop it.
          s.end();
          setTimeout(() => s.destroy(), 2000).unref();
        }
        this.server?.close();
        this.localServer?.close();
      }
    })();
    return this.closing;
  }

  // Internals
  // ---------

  private write(dest: number, bufs: Uint8Array[]): Promise<void> {
    const peer = this.peers[dest]!;
    return this.track(
      new Promise<void>((resolve, reject) => {
        const done = (err?: Error) => (err ? reject(err) : resolve());
        if (peer.socket) this.writeNow(peer, bufs, done);
        else peer.backlog.push({ bufs, done });
      }),
    );
  }

  /** Writes buffers back to back in one writev; `done` runs when the kernel has them. */
  private writeNow(peer: Peer, bufs: Uint8Array[], done: (err?: Error) => void): void {
    const s = peer.socket!;
    if (s.destroyed) {
      done(this.failure ?? new PeerGoneError(peer.rank, `cannot send to rank ${peer.rank}: its connection is closed`, this.rank));
      return;
    }
    this.inflight++;
    peer.lastSent = Date.now();
    let n = 0;
    for (const b of bufs) n += b.byteLength;
    if (n <= kSmallBytes && s.writableLength === 0) {
      // Small frames: Node's single-buffer write is much cheaper than its writev, so stage
      // them in the peer's own staging buffer (reused while writes complete at once).
      const stage = (peer.stage ??= Buffer.allocUnsafeSlow(kSmallBytes));
      let off = 0;
      for (const b of bufs) {
        stage.set(b, off);
        off += b.byteLength;
      }
      s.write(stage.subarray(0, n), (err) => {
        this.inflight--;
        if (this.inflight === 0) for (const w of this.flushWaiters.splice(0)) w();
        if (err) this.peerGone(peer.rank, `rank ${peer.rank} is gone: send failed: ${err.message}`);
      });
      // Still queued in Node (the kernel did not take it all): that buffer is in use.
      if (s.writableLength !== 0) peer.stage = undefined;
      // The caller's buffers were copied: they are reusable now.
      done();
      return;
    }
    s.cork();
    const last = bufs.length - 1;
    for (let i = 0; i < last; i++) s.write(bufs[i]!);
    s.write(bufs[last]!, (err) => {
      this.inflight--;
      if (this.inflight === 0) for (const w of this.flushWaiters.splice(0)) w();
      done(err ? this.failure ?? new PeerGoneError(peer.rank, `send to rank ${peer.rank} failed: ${err.message}`, this.rank) : undefined);
    });
    s.uncork();
  }

  private onFrame(source: number, f: Frame): void {
    if (f.type === kPing) return;
    if (f.type === kBeatAddr) {
      // A peer behind a local socket has no remote address: its heartbeat worker is on its host.
      const host = this.peers[source]!.socket?.remoteAddress ?? this.table?.[source]?.host;
      if (source < this.rank && f.data.byteLength > 4 && host) {
        this.beats?.connect(source, host, new DataView(f.data.buffer, f.data.byteOffset).getUint32(0, true), f.data.subarray(4));
      }
      return;
    }
    if (f.type === kBye) {
      this.peers[source]!.bye = true;
      this.finished[source] = true;
      this.failFinishedWaiters();
      this.checkByes();
      return;
    }
    if (f.type === kAbort) {
      const reason = new TextDecoder().decode(f.data);
      const failed = f.tag;
      this.fail(new AbortedError(`job aborted by rank ${failed >= 0 ? failed : source}: ${reason}`, failed >= 0 ? failed : source, this.rank));
      return;
    }
    // Frames of a job this rank has not started yet wait for reset(); older ones are stale.
    if (f.epoch !== this.epoch) {
      if (((f.epoch - this.epoch) | 0) > 0) this.early.push({ source, frame: f });
      return;
    }
    if (f.type === kFin) {
      this.finished[source] = true;
      this.failFinishedWaiters();
      return;
    }
    const peer = this.peers[source]!;
    const claimed = peer.claimed;
    if (claimed) {
      peer.claimed = undefined;
      this.stats.bytesReceived += f.data.byteLength;
      this.stats.messagesReceived++;
      claimed.resolve(f.head ? { source, context: f.context, tag: f.tag, data: f.data, head: f.head } : { source, context: f.context, tag: f.tag, data: f.data });
      return;
    }
    this.arrived(source, f.context, f.tag, f.data);
  }

  private arrived(source: number, context: number, tag: number, data: Uint8Array): void {
    this.stats.bytesReceived += data.byteLength;
    this.stats.messagesReceived++;
    this.queue.deliver({ source, context, tag, data });
  }

  /** The error for a receive that can never be matched because its source(s) finished. */
  private finishedError(source: number, tag: number): Error | undefined {
    const what = (t: number) => (t === -1 ? '' : ` (tag ${t})`);
    if (source === ANY_SOURCE) {
      if (this.size > 1 && this.finished.every((f, r) => f || r === this.rank)) {
        return new PeerGoneError(-1, `receive from any rank${what(tag)} can never complete: every other rank has finished`, this.rank);
      }
      return undefined;
    }
    if (source !== this.rank && this.finished[source]) {
      return new PeerGoneError(source, `receive from rank ${source}${what(tag)} can never complete: rank ${source} has finished`, this.rank);
    }
    return undefined;
  }

  private failFinishedWaiters(): void {
    this.queue.failWhere((p) => this.finishedError(p.source, p.tag));
  }

  private peerGone(rank: number, why: string): void {
    const peer = this.peers[rank]!;
    if (peer.gone) return;
    peer.gone = true;
    if (this.failure || this.closed) return;
    this.log(`superstep[rank ${this.rank}]: ${why}`);
    this.fail(new PeerGoneError(rank, why, this.rank));
  }

  /** Fails every pending and later operation with `err` (the first failure wins). */
  private fail(err: Error): void {
    const first = !this.failure;
    if (!this.failure) this.failure = err;
    const e = this.failure;
    if (first) {
      for (const l of [...this.failListeners]) l(e);
      this.failListeners.clear();
    }
    this.queue.fail(e);
    for (const p of this.peers) {
      for (const w of p.backlog.splice(0)) w.done(e);
      p.claimed?.reject(e);
      p.claimed = undefined;
    }
    this.readyResolve();
    this.checkByes(true);
  }

  private checkByes(force = false): void {
    if (!this.byeWaiters.length) return;
    if (force || this.peers.every((p) => p.rank === this.rank || p.bye || p.gone || !p.socket)) {
      for (const w of this.byeWaiters.splice(0)) w();
    }
  }

  private bounded(p: Promise<void>, ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const t = setTimeout(resolve, ms);
      p.then(() => { clearTimeout(t); resolve(); }, () => { clearTimeout(t); resolve(); });
    });
  }

  /**
   * Counts a pending operation: keeps the process alive while it waits (even with unref'd
   * sockets), and keeps the event loop hot for a while (see spin).
   */
  private track<T>(p: Promise<T>): Promise<T> {
    if (this.pending++ === 0 && !this.keepRef) this.keepAlive = setInterval(() => {}, 1 << 30);
    if (this.spinMs > 0) this.spin();
    const done = () => {
      if (--this.pending === 0 && !this.keepRef) clearInterval(this.keepAlive);
    };
    p.then(done, done);
    return p;
  }

  /**
   * While an operation waits, a chain of setImmediate callbacks makes libuv poll with a zero
   * timeout, so an arriving frame is read at once instead of after waking this process from
   * epoll (about 20 us on this VM, most of a small message's round trip). Bounded by spinMs
   * after the latest operation started, so that an idle rank gives its core back.
   */
  private spin(): void {
    this.spinUntil = performance.now() + this.spinMs;
    if (this.spinning) return;
    this.spinning = true;
    const tick = () => {
      if (this.pending === 0 || this.closed || performance.now() > this.spinUntil) {
        this.spinning = false;
        return;
      }
      setImmediate(tick);
    };
    setImmediate(tick);
  }

  private beatEvery(): number {
    return Math.max(50, Math.min(1000, this.peerTimeoutMs / 4));
  }

  private startHeartbeat(): void {
    if (this.peerTimeoutMs <= 0 || this.size === 1 || this.heartbeat) return;
    const every = this.beatEvery();
    this.lastTick = Date.now();
    this.heartbeat = setInterval(() => {
      const now = Date.now();
      // If this process itself was blocked, the silence was ours: do not blame the peers.
      if (now - this.lastTick > 2 * every) for (const p of this.peers) p.lastHeard = Math.max(p.lastHeard, now - every);
      this.lastTick = now;
      const workerHeard = this.beats?.heard;
      for (const p of this.peers) {
        if (p.rank === this.rank || !p.socket || p.gone || p.bye || p.socket.destroyed) continue;
        // A peer busy computing is still heard through its heartbeat worker.
        const heard = Math.max(p.lastHeard, workerHeard?.[p.rank] ?? 0);
        if (now - heard > this.peerTimeoutMs) {
          p.socket.destroy();
          this.peerGone(p.rank, `rank ${p.rank} is gone: no word from it for ${now - heard} ms (peer timeout ${this.peerTimeoutMs} ms)`);
          continue;
        }
        if (now - p.lastSent >= every) this.writeNow(p, encodeFrames(kPing, 0, 0, this.epoch, [], 0, this.maxFrame), () => {});
      }
    }, every);
    this.heartbeat.unref();
  }
}
