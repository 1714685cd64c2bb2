/**
 * Liveness off the main thread. A rank that computes for longer than the peer timeout
 * without awaiting cannot send heartbeats from its event loop, and would look gone. So a
 * small worker thread of each rank process exchanges heartbeats with its peers' workers over
 * connections of its own (the higher rank connects, as on the mesh) and records when each
 * peer was last heard of in shared memory, which the transport's checker reads.
 *
 * Busy is then told from gone: a SIGKILLed rank closes its sockets (the mesh notices at
 * once); a SIGSTOPped process or a frozen host stops its worker too, so its heartbeats stop
 * and the peer timeout still fires. If the heartbeat links cannot be made (a firewall allowing only
 * the mesh ports), the mesh heartbeats still work as before, busy ranks excepted.
 *
 * A link is opened with the accepting worker's random token, which only reached the job's
 * ranks (over the authenticated mesh), followed by the connector's rank:
 *   connector -> accepter  token[16] | rank u32 LE ; then either side sends one byte per beat.
 */
import { randomBytes } from 'node:crypto';
import { Worker } from 'node:worker_threads';

export const kTokenBytes = 16;

/** Plain CommonJS, evaluated in the worker: no loader needed, so it starts in milliseconds. */
const kWorkerCode = `
const { parentPort, workerData } = require('node:worker_threads');
const net = require('node:net');
const { timingSafeEqual } = require('node:crypto');
const { host, rank, size, everyMs } = workerData;
const token = Buffer.from(workerData.token);
const heard = new Float64Array(workerData.heard);
const links = new Set();
const beat = Buffer.from([0x2a]);

function live(socket, peer) {
  links.add(socket);
  heard[peer] = Date.now();
  socket.on('data', () => { heard[peer] = Date.now(); });
  socket.on('close', () => links.delete(socket));
}

setInterval(() => {
  for (const s of links) if (!s.destroyed && s.writableLength === 0) s.write(beat);
}, everyMs);

const server = net.createServer({ noDelay: true }, (s) => {
  s.on('error', () => {});
  let got = Buffer.alloc(0);
  const timer = setTimeout(() => s.destroy(), 5000);
  const hello = (d) => {
    got = Buffer.concat([got, d]);
    if (got.length < ${kTokenBytes} + 4) return;
    s.off('data', hello);
    clearTimeout(timer);
    const peer = got.readUInt32LE(${kTokenBytes});
    if (!timingSafeEqual(got.subarray(0, ${kTokenBytes}), token) || peer <= rank || peer >= size) return void s.destroy();
    live(s, peer);
  };
  s.on('data', hello);
});
server.on('error', (e) => parentPort.postMessage({ type: 'failed', message: e.message }));
server.listen(0, host, () => parentPort.postMessage({ type: 'listening', port: server.address().port }));

parentPort.on('message', (m) => {
  if (m.type !== 'connect') return;
  const s = net.connect({ host: m.host, port: m.port, noDelay: true });
  let linked = false;
  s.on('error', (e) => { if (!linked) parentPort.postMessage({ type: 'unreachable', peer: m.peer, message: e.message }); });
  s.once('connect', () => {
    const hello = Buffer.alloc(${kTokenBytes} + 4);
    Buffer.from(m.token).copy(hello);
    hello.writeUInt32LE(rank, ${kTokenBytes});
    s.write(hello);
    linked = true;
    live(s, m.peer);
  });
});
`;

export interface HeartbeatOptions {
  /** Interface to accept heartbeat links on (the mesh's). */
  host: string;
  rank: number;
  size: number;
  /** Interval between beats, in ms. */
  everyMs: number;
  log: (line: string) => void;
}

/** This process's heartbeat worker. */
export class Heartbeat {
  /** Date.now() when each rank's worker was last heard from (0: not yet); written by the worker. */
  readonly heard: Float64Array;
  /** What a peer needs to open a link: this worker's port (undefined: it could not listen) and token. */
  readonly address: Promise<{ port: number; token: Uint8Array } | undefined>;
  private readonly worker: Worker;
  private stopped = false;

  constructor(options: HeartbeatOptions) {
    const shared = new SharedArrayBuffer(8 * options.size);
    this.heard = new Float64Array(shared);
    const token = new Uint8Array(randomBytes(kTokenBytes));
    this.worker = new Worker(kWorkerCode, {
      eval: true,
      execArgv: [],
      env: {},
      stdout: false,
      workerData: { host: options.host, rank: options.rank, size: options.size, everyMs: options.everyMs, token, heard: shared },
    });
    this.address = new Promise((resolve) => {
      const failed = (why: string) => {
        if (this.stopped) return;
        this.stopped = true;
        options.log(`superstep[rank ${options.rank}]: heartbeat worker unavailable (${why}); heartbeats come from the main thread only, so a rank busy longer than the peer timeout looks gone`);
        resolve(undefined);
      };
      this.worker.on('message', (m: { type: string; port?: number; peer?: number; message?: string }) => {
        if (m.type === 'listening') resolve({ port: m.port!, token });
        else if (m.type === 'failed') failed(m.message!);
        else if (m.type === 'unreachable' && !this.stopped) {
          options.log(`superstep[rank ${options.rank}]: no heartbeat link to rank ${m.peer} (${m.message}); its heartbeats come from its main thread only, so if it is busy longer than the peer timeout it looks gone`);
        }
      });
      this.worker.on('error', (e) => failed(e.message));
      this.worker.once('exit', (code) => failed(`exited with code ${code}`));
    });
    // Never keeps the process alive: the transport decides that (after the listeners, which ref it).
    this.worker.unref();
  }

  /** Opens the link to a lower rank's worker. */
  connect(peer: number, host: string, port: number, token: Uint8Array): void {
    this.worker.postMessage({ type: 'connect', peer, host, port, token });
  }

  close(): void {
    this.stopped = true;
    void this.worker.terminate();
  }
}
