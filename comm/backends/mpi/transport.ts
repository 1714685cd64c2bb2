/**
 * The mpi backend's Transport, over the machine's MPI library (addon.c). The event loop never
 * blocks in MPI: every send is an MPI_Isend of the caller's own bytes (a header part and the
 * payload parts as one hindexed message, no concatenation), every arriving message is found by
 * MPI_Improbe and received by MPI_Imrecv into a fresh buffer, and a poll loop on the event
 * loop tests them (it spins through setImmediate while something moves, then backs off to
 * 1 ms timers). Buffers stay referenced by their pending operation until MPI is done with them.
 *
 * Matching is superstep's (comm/matching.ts) on a 16-byte header (context, tag, job epoch),
 * so ANY_SOURCE/ANY_TAG, exact contexts and the non-overtaking rule are the other backends'.
 */
import { oversubscribed } from '../../../util/cores.js';
import { AbortedError, ArgumentError, ClosedError, PeerGoneError } from '../../../util/errors.js';
import { MatchQueue } from '../../matching.js';
// Registers the backend's collective engine (MPI's own collectives) with the comm layer.
import './collectives.js';
import { ANY_SOURCE, concatPayload, payloadLength, payloadParts, type Message, type MessageInfo, type Payload, type Transport, type TransportStats } from '../../transport.js';

/** The addon's functions (addon.c). */
export interface MpiNative {
  init(): [rank: number, size: number, version: string];
  isend(dest: number, tag: number, parts: readonly Uint8Array[]): number;
  improbe(): [source: number, tag: number, bytes: number, message: number] | undefined;
  imrecv(message: number, into: Uint8Array): number;
  ibarrier(): number;
  /** MPI's own collectives, on a communicator of their own (bytes views; counts as MPI takes them). */
  iallreduce(send: Uint8Array, recv: Uint8Array, count: number, dtype: number, op: number): number;
  ireduceScatter(send: Uint8Array, recv: Uint8Array, counts: Int32Array, dtype: number, op: number): number;
  iallgatherv(send: Uint8Array, recv: Uint8Array, counts: Int32Array, displs: Int32Array): number;
  ialltoall(send: Uint8Array, recv: Uint8Array, bytesPerRank: number): number;
  test(ids: Int32Array, n: number): number;
  abort(code: number): void;
  finalize(): void;
}

/** How long close() waits for the other ranks before it finalizes anyway. */
const kDrainMs = 2000;
const kHeaderBytes = 16;
/** MPI tag of superstep's messages (the envelope is in the header). */
const kDataTag = 7;
/** Header context of a FIN: the sender finished its job, nothing more will come from it. */
const kFinContext = -1;
/**
 * How long the poll loop keeps spinning without progress before it backs off to 1 ms timers:
 * SUPERSTEP_SPIN_US, else 5 ms while this host's ranks fit its cores and 0.05 ms when they
 * outnumber them (a spinning rank would take the core its peer needs), as on tcp. The host's
 * cores count, not this process's affinity mask: mpirun binds each rank to a core of its own.
 */
function spinMs(env: NodeJS.ProcessEnv = process.env): number {
  if (env.SUPERSTEP_SPIN_US) return Number(env.SUPERSTEP_SPIN_US) / 1000;
  const local = Number(env.OMPI_COMM_WORLD_LOCAL_SIZE ?? env.MPI_LOCALNRANKS ?? env.SLURM_NTASKS_PER_NODE ?? 1);
  return oversubscribed(local, true) ? 0.05 : 5;
}

interface Pending {
  /** Referenced until MPI completes: the send's parts or the receive's buffer. */
  keep: readonly Uint8Array[];
  done(): void;
}

export interface MpiTransportOptions {
  /** Engine mode (no superstep launcher): abort() ends the whole MPI job with MPI_Abort. */
  abortJobOnAbort: boolean;
}

export class MpiTransport implements Transport {
  readonly backend = 'mpi';
  readonly capabilities = { sharedMemory: false };
  readonly rank: number;
  readonly size: number;
  readonly version: string;
  readonly stats: TransportStats = { bytesSent: 0, bytesReceived: 0, messagesSent: 0, messagesReceived: 0 };
  private readonly queue = new MatchQueue();
  private epoch = 0;
  /** Messages of a later job (a fast peer), delivered when this rank starts it. */
  private later: (Message & { epoch: number })[] = [];
  private ids = new Int32Array(64);
  private n = 0;
  private readonly pending = new Map<number, Pending>();
  /**
   * Received messages in the order MPI matched them (improbe order), each delivered once it
   * and every one before it has landed: a short message completes before a long one probed
   * earlier (eager against rendezvous), and delivering it first would break non-overtaking.
   */
  private arrivals: { buf: Uint8Array; source: number; bytes: number; landed: boolean }[] = [];
  private scheduled = false;
  private lastProgress = 0;
  private closed = false;
  /** After MPI_Finalize no MPI call may be made (MPICH aborts on one): the poll loop stops. */
  private finalized = false;
  private failure: Error | undefined;
  /** Peers that finished the current job (their FIN arrived). */
  private finished: boolean[];
  private readonly spinMs = spinMs();
  /** Callers waiting in MPI's own collectives, failed with the job. */
  private readonly collectives = new Set<{ reject(err: Error): void }>();

  constructor(private readonly mpi: MpiNative, private readonly options: MpiTransportOptions) {
    [this.rank, this.size, this.version] = mpi.init();
    this.finished = new Array<boolean>(this.size).fill(false);
  }

  send(dest: number, context: number, tag: number, payload: Payload): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.closed) return Promise.reject(new ClosedError('transport is closed', this.rank));
    if (!Number.isInteger(dest) || dest < 0 || dest >= this.size) return Promise.reject(new ArgumentError('dest', `a rank in 0..${this.size - 1}`, dest, this.rank));
    const parts = payloadParts(payload);
    const length = payloadLength(payload);
    this.stats.bytesSent += length;
    this.stats.messagesSent++;
    if (dest === this.rank) {
      this.arrived({ source: dest, context, tag, data: concatPayload(parts, length) }, this.epoch);
      return Promise.resolve();
    }
    return this.post(dest, context, tag, parts);
  }

  private post(dest: number, context: number, tag: number, parts: readonly Uint8Array[]): Promise<void> {
    const header = new Uint8Array(kHeaderBytes);
    const h = new Int32Array(header.buffer);
    h[0] = context;
    h[1] = tag;
    h[2] = this.epoch;
    const keep = [header, ...parts];
    return new Promise<void>((resolve) => {
      this.track(this.mpi.isend(dest, kDataTag, keep), { keep, done: resolve });
    });
  }

  recv(source: number, context: number, tag: number, into?: Uint8Array): Promise<Message> {
    if (source !== ANY_SOURCE && (!Number.isInteger(source) || source < 0 || source >= this.size)) {
      return Promise.reject(new ArgumentError('source', `a rank in 0..${this.size - 1} or ANY_SOURCE`, source, this.rank));
    }
    this.poll();
    const m = this.queue.receiveNow(source, context, tag, into);
    if (m) return Promise.resolve(m);
    const gone = this.finishedError(source, tag);
    if (gone) return Promise.reject(gone);
    const p = this.queue.receive(source, context, tag, into);
    this.kick();
    return p instanceof Promise ? p : Promise.resolve(p);
  }

  iprobe(source: number, context: number, tag: number): MessageInfo | undefined {
    this.poll();
    return this.queue.peek(source, context, tag);
  }

  probe(source: number, context: number, tag: number): Promise<MessageInfo> {
    this.poll();
    const info = this.queue.peek(source, context, tag);
    if (info) return Promise.resolve(info);
    const gone = this.finishedError(source, tag);
    if (gone) return Promise.reject(gone);
    const p = this.queue.probe(source, context, tag);
    this.kick();
    return p;
  }

  /**
   * Starts one of MPI's own collectives (`start` makes the call and returns its request) and
   * resolves when it completes; `keep` stays referenced until then. It rejects if the job
   * fails meanwhile: MPI cannot cancel a collective, but the job is over.
   */
  collective(start: (mpi: MpiNative) => number, keep: readonly (Uint8Array | Int32Array)[]): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise<void>((resolve, reject) => {
      const waiter = { reject };
      this.collectives.add(waiter);
      const done = () => { this.collectives.delete(waiter); resolve(); };
      this.track(start(this.mpi), { keep: keep as Uint8Array[], done });
    });
  }

  barrier(): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise<void>((resolve) => this.track(this.mpi.ibarrier(), { keep: [], done: resolve }));
  }

  /** Every send of this rank has left (MPI_Finalize's promise), for the end of a job. */
  async flush(): Promise<void> {
    while (this.hasSends() && !this.failure) await new Promise<void>((r) => setImmediate(r));
  }

  /**
   * Ends the job on this rank: tells every peer that nothing more will come, so that their
   * receives from this rank fail instead of waiting.
   */
  async finishJob(): Promise<void> {
    if (this.failure) return;
    for (let r = 0; r < this.size; r++) if (r !== this.rank) void this.post(r, kFinContext, 0, []);
    await this.flush();
  }

  /** A World's next job: messages of older jobs are dropped, those already sent for it delivered. */
  reset(epoch: number): void {
    this.epoch = epoch;
    this.finished.fill(false);
    this.queue.drop();
    this.queue.dropPosted();
    const now = this.later.filter((m) => m.epoch === epoch);
    this.later = this.later.filter((m) => m.epoch > epoch);
    for (const m of now) this.deliver(m);
  }

  /** Fails every pending and later operation on this rank with `err` (the job is over). */
  fail(err: Error): void {
    this.failure ??= err;
    this.queue.fail(this.failure);
    for (const c of this.collectives) c.reject(this.failure);
    this.collectives.clear();
  }

  abort(reason: string): void {
    if (this.options.abortJobOnAbort) {
      // No launcher to tell the others: MPI ends every process of the job.
      process.stderr.write(`superstep: rank ${this.rank} aborts the MPI job: ${reason}\n`);
      this.mpi.abort(1);
    }
    this.fail(new AbortedError(`job aborted: ${reason}`, this.rank, this.rank));
  }

  waitFailure(): Error | undefined {
    return this.failure ?? (this.closed ? new ClosedError('transport is closed', this.rank) : undefined);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    await this.flush();
    if (!this.failure && this.size > 1) await this.drain();
    this.closed = true;
  }

  /**
   * Receives what peers sent that nobody asked for (their last FINs), once every rank has
   * flushed: MPI_Finalize with messages still unmatched makes UCX warn on every rank. Bounded,
   * so that a peer that never comes cannot hold this rank's exit.
   */
  private async drain(): Promise<void> {
    const deadline = performance.now() + kDrainMs;
    let together = false;
    void this.barrier().then(() => { together = true; });
    const tick = () => new Promise<void>((r) => setImmediate(r));
    while (!together && performance.now() < deadline) { this.poll(); await tick(); }
    for (let quiet = 0; quiet < 3 && performance.now() < deadline; await tick()) {
      quiet = this.poll() || this.arrivals.length > 0 ? 0 : quiet + 1;
    }
  }

  /** MPI_Finalize (process end). */
  finalize(): void {
    this.finalized = true;
    this.mpi.finalize();
  }

  private hasSends(): boolean {
    return this.n > 0;
  }

  private track(id: number, p: Pending): void {
    if (this.n === this.ids.length) {
      const grown = new Int32Array(this.n * 2);
      grown.set(this.ids);
      this.ids = grown;
    }
    this.ids[this.n++] = id;
    this.pending.set(id, p);
    this.kick();
  }

  /** Moves whatever can move now: arrived messages into receives, finished requests out. */
  poll(): boolean {
    if (this.finalized) return false;
    let progress = false;
    for (let m = this.mpi.improbe(); m; m = this.mpi.improbe()) {
      const [source, , bytes, message] = m;
      const buf = new Uint8Array(Math.max(bytes, kHeaderBytes));
      const id = this.mpi.imrecv(message, buf.subarray(0, bytes));
      const a = { buf, source, bytes, landed: false };
      this.arrivals.push(a);
      this.track(id, { keep: [buf], done: () => { a.landed = true; } });
      progress = true;
    }
    if (this.n > 0) {
      const done = this.mpi.test(this.ids, this.n);
      if (done > 0) {
        progress = true;
        const finished = Array.from(this.ids.subarray(0, done));
        this.ids.copyWithin(0, done, this.n);
        this.n -= done;
        for (const id of finished) {
          const p = this.pending.get(id)!;
          this.pending.delete(id);
          p.done();
        }
        this.deliverLanded();
      }
    }
    return progress;
  }

  /** Delivers the landed messages at the front of `arrivals`, in MPI's matching order. */
  private deliverLanded(): void {
    let k = 0;
    while (k < this.arrivals.length && this.arrivals[k]!.landed) {
      const a = this.arrivals[k++]!;
      this.received(a.source, a.buf, a.bytes);
    }
    if (k > 0) this.arrivals.splice(0, k);
  }

  private received(source: number, buf: Uint8Array, bytes: number): void {
    const h = new Int32Array(buf.buffer, 0, 4);
    this.stats.bytesReceived += bytes - kHeaderBytes;
    this.stats.messagesReceived++;
    this.arrived({ source, context: h[0]!, tag: h[1]!, data: buf.subarray(kHeaderBytes, bytes) }, h[2]!);
  }

  private arrived(msg: Message, epoch: number): void {
    if (epoch === this.epoch) this.deliver(msg);
    else if (epoch > this.epoch) this.later.push({ ...msg, epoch });
  }

  private deliver(msg: Message): void {
    if (msg.context !== kFinContext) return this.queue.deliver(msg);
    this.finished[msg.source] = true;
    this.queue.failWhere((p) => this.finishedError(p.source, p.tag));
  }

  /** The error for a receive that can never be matched because its source(s) finished. */
  private finishedError(source: number, tag: number): Error | undefined {
    const what = tag === -1 ? '' : ` (tag ${tag})`;
    if (source === ANY_SOURCE) {
      if (this.size > 1 && this.finished.every((f, r) => f || r === this.rank)) {
        return new PeerGoneError(-1, `receive from any rank${what} can never complete: every other rank has finished`, this.rank);
      }
      return undefined;
    }
    if (source !== this.rank && this.finished[source]) {
      return new PeerGoneError(source, `receive from rank ${source}${what} can never complete: rank ${source} has finished`, this.rank);
    }
    return undefined;
  }

  /** Starts the poll loop if something waits on MPI. */
  private kick(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    this.lastProgress = performance.now();
    setImmediate(this.loop);
  }

  private readonly loop = (): void => {
    this.scheduled = false;
    if (this.poll()) this.lastProgress = performance.now();
    if (this.finalized || (this.n === 0 && !this.queue.hasWaiters)) return;
    this.scheduled = true;
    if (performance.now() - this.lastProgress < this.spinMs) setImmediate(this.loop);
    else setTimeout(this.loop, 1);
  };
}
