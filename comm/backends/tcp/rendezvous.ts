/**
 * Rendezvous: every rank connects to one coordinator address (SUPERSTEP_COORD), proves it
 * holds the job secret, and registers the address where it accepts mesh connections. When all
 * P ranks have registered, the coordinator sends each the full table and hangs up. The
 * coordinator runs in the superstep launcher, or in rank 0 when an engine started the job.
 */
import net, { type Socket } from 'node:net';
import { ArgumentError, ProtocolError, TimeoutError } from '../../../util/errors.js';
import { FrameDecoder, encodeFrames, kData } from './frame.js';
import { acceptHandshake, connectHandshake, kRoleCoordinator } from './handshake.js';
import type { PeerAddress } from './transport.js';

const kLimits = { maxFrameBytes: 1 << 20, maxMessageBytes: 1 << 20 };

export interface Coordinator {
  /** Where ranks reach the coordinator. */
  readonly address: PeerAddress;
  /** Every rank's mesh address, once all have registered. */
  readonly table: Promise<PeerAddress[]>;
  close(): void;
}

export interface CoordinatorOptions {
  size: number;
  secret: Uint8Array;
  host: string;
  port?: number;
  log?: (line: string) => void;
  handshakeTimeoutMs?: number;
  /** Keep the process alive while waiting (default true). */
  ref?: boolean;
}

/** Parses "host:port" (IPv6 as "[::1]:7650"). */
export function parseAddress(text: string, what = 'SUPERSTEP_COORD'): PeerAddress {
  const m = /^\[?([^\]]*?)\]?:(\d+)$/.exec(text.trim());
  const port = m ? Number(m[2]) : NaN;
  if (!m || !m[1] || !(port >= 0 && port < 65536)) throw new ArgumentError(what, "'host:port'", text);
  return { host: m[1], port };
}

function sendJson(socket: Socket, value: unknown): void {
  const bytes = new TextEncoder().encode(JSON.stringify(value));
  socket.cork();
  for (const b of encodeFrames(kData, 0, 0, 0, [bytes], bytes.byteLength, kLimits.maxFrameBytes)) socket.write(b);
  socket.uncork();
}

/** Reads one JSON frame from the socket. */
function readJson(socket: Socket, rest: Uint8Array, peer: string, timeoutMs: number): Promise<unknown> {
  return new Promise((resolve, reject) => {
    let done = false;
    const finish = (err: Error | undefined, value?: unknown) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('close', onClose);
      if (err) reject(err);
      else resolve(value);
    };
    const decoder = new FrameDecoder(kLimits, (f) => {
      try {
        finish(undefined, JSON.parse(new TextDecoder().decode(f.data)));
      } catch (e) {
        finish(new ProtocolError(`rendezvous: ${peer} sent bad JSON: ${(e as Error).message}`));
      }
    }, peer);
    const onData = (b: Uint8Array) => {
      try {
        decoder.push(b);
      } catch (e) {
        finish(e as Error);
      }
    };
    const onClose = () => finish(new ProtocolError(`rendezvous: ${peer} closed the connection`));
    const timer = setTimeout(() => finish(new TimeoutError(`rendezvous: no answer from ${peer} within ${timeoutMs} ms`)), timeoutMs);
    socket.on('data', onData);
    socket.on('close', onClose);
    if (rest.byteLength) onData(rest);
    socket.resume();
  });
}

/** Starts a coordinator for a job of `size` ranks. */
export function startCoordinator(options: CoordinatorOptions): Promise<Coordinator> {
  const { size, secret } = options;
  const log = options.log ?? ((l: string) => process.stderr.write(l + '\n'));
  const hsTimeout = options.handshakeTimeoutMs ?? 5000;
  const table: (PeerAddress | undefined)[] = new Array(size).fill(undefined);
  const sockets: Socket[] = [];
  let resolveTable!: (t: PeerAddress[]) => void;
  const tablePromise = new Promise<PeerAddress[]>((r) => (resolveTable = r));
  let count = 0;
  const server = net.createServer({ pauseOnConnect: true, noDelay: true }, (socket) => {
    const from = `${socket.remoteAddress}:${socket.remotePort}`;
    socket.on('error', () => {});
    void (async () => {
      try {
        const { rank, rest } = await acceptHandshake(socket, secret, kRoleCoordinator, hsTimeout);
        if (rank >= size || table[rank]) throw new ProtocolError(`rank ${rank} is out of range or already registered`);
        const me = (await readJson(socket, rest, `rank ${rank} (${from})`, hsTimeout)) as PeerAddress;
        if (typeof me?.host !== 'string' || !Number.isInteger(me.port)) throw new ProtocolError(`rank ${rank} registered a bad address ${JSON.stringify(me)}`);
        table[rank] = { host: me.host, port: me.port };
        // The rank's Unix-domain listener for peers on its host (a name, no path: see transport.ts).
        if (typeof me.local === 'string' && /^[\w.-]{1,100}$/.test(me.local)) table[rank]!.local = me.local;
        sockets[rank] = socket;
        if (++count === size) {
          const all = table as PeerAddress[];
          for (const s of sockets) {
            sendJson(s, all);
            s.end();
          }
          resolveTable(all);
        }
      } catch (err) {
        log(`superstep coordinator: refused a connection from ${from}: ${(err as Error).message}`);
        socket.destroy();
      }
    })();
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: options.host, port: options.port ?? 0, exclusive: true }, () => {
      server.off('error', reject);
      if (options.ref === false) server.unref();
      const a = server.address() as net.AddressInfo;
      void tablePromise.then(() => server.close());
      resolve({
        address: { host: a.address, port: a.port },
        table: tablePromise,
        close: () => {
          server.close();
          for (const s of sockets) s?.destroy();
        },
      });
    });
  });
}

export interface RendezvousOptions {
  coord: PeerAddress;
  secret: Uint8Array;
  rank: number;
  size: number;
  /** Bound on the whole rendezvous, retries included, in ms. */
  timeoutMs: number;
  /** Starts this rank's listener; given the local address that routes to the coordinator. */
  listen(localAddress: string): Promise<PeerAddress>;
}

/** Resolves when `s` connects; rejects on error or after `ms` (the kernel's own SYN timeout is minutes). */
export function connected(s: Socket, ms: number): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const t = setTimeout(() => {
      const e = Object.assign(new Error(`connect timed out after ${ms} ms`), { code: 'ETIMEDOUT' });
      s.destroy();
      reject(e);
    }, ms);
    s.once('connect', () => {
      clearTimeout(t);
      resolve();
    });
    s.once('error', (e) => {
      clearTimeout(t);
      reject(e);
    });
  });
}

/** Registers this rank with the coordinator; resolves with every rank's address. */
export async function rendezvous(options: RendezvousOptions): Promise<PeerAddress[]> {
  const { coord, secret, rank, size } = options;
  const deadline = Date.now() + options.timeoutMs;
  let socket: Socket | undefined;
  for (let attempt = 0; ; attempt++) {
    const s = net.connect({ host: coord.host, port: coord.port, noDelay: true });
    try {
      await connected(s, Math.max(100, deadline - Date.now()));
      s.removeAllListeners('error');
      s.on('error', () => {});
      socket = s;
      break;
    } catch (err) {
      s.destroy();
      if (Date.now() >= deadline) {
        throw new TimeoutError(`cannot reach the coordinator at ${coord.host}:${coord.port} within ${options.timeoutMs} ms: ${(err as Error).message}`, rank);
      }
      await new Promise((r) => setTimeout(r, Math.min(50 * 2 ** attempt, 500)));
    }
  }
  try {
    const left = () => Math.max(1000, deadline - Date.now());
    const rest = await connectHandshake(socket, secret, rank, kRoleCoordinator, left());
    const me = await options.listen(socket.localAddress ?? '127.0.0.1');
    sendJson(socket, me);
    const table = (await readJson(socket, rest, `coordinator ${coord.host}:${coord.port}`, left())) as PeerAddress[];
    if (!Array.isArray(table) || table.length !== size) throw new ProtocolError(`rendezvous: coordinator sent a table of ${Array.isArray(table) ? table.length : 'no'} entries (expected ${size})`);
    return table;
  } finally {
    socket.destroy();
  }
}
