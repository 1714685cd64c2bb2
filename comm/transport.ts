/**
 * The backend-facing contract. A Transport moves byte messages between the ranks of one job;
 * everything above it (Communicator, collectives, the BSP runtime, global arrays) uses only
 * this interface, so every backend passes one conformance suite.
 *
 * Semantics (as MPI's point-to-point layer):
 * - A message is addressed by (dest, context, tag). `context` separates independent users of
 *   the transport (the BSP runtime, each communicator); it is always matched exactly.
 *   `source` and `tag` may be matched with ANY_SOURCE / ANY_TAG.
 * - Messages from one source that match the same receive arrive in the order they were sent
 *   (non-overtaking).
 * - `send` resolves when the payload has been copied out of the caller's buffers; the caller
 *   may then reuse them. A receive gets a fresh buffer that it owns.
 * - Waiting never blocks the event loop for more than a short spin.
 * - If any rank fails or the job is aborted, every pending and future operation rejects with
 *   an `AbortedError` (or `PeerGoneError` naming the rank that is gone). Nothing hangs.
 */

/** Match any source rank. */
export const ANY_SOURCE = -1;
/** Match any tag. */
export const ANY_TAG = -1;

/** A received message. */
export interface Message {
  readonly source: number;
  readonly tag: number;
  readonly context: number;
  /** The payload; its byteOffset is a multiple of 8 (it may share a buffer with other messages). */
  readonly data: Uint8Array;
  /** Set by a split receive (recvSplit) that landed: the payload's first bytes, `data` the rest. */
  readonly head?: Uint8Array;
}

/** What a probe tells about a message that has arrived but was not yet received. */
export interface MessageInfo {
  readonly source: number;
  readonly tag: number;
  readonly context: number;
  readonly byteLength: number;
}

/** The parts of one message, written back to back without concatenating them first. */
export type Payload = Uint8Array | readonly Uint8Array[];

export interface TransportCapabilities {
  /** Ranks share memory: SharedArrayBuffers can be handed between ranks without copying. */
  readonly sharedMemory: boolean;
}

export interface Transport {
  readonly rank: number;
  readonly size: number;
  /** Backend name: 'sab', 'tcp' or 'self'. */
  readonly backend: string;
  readonly capabilities: TransportCapabilities;

  /** Sends `payload` to `dest` (which may be this rank). Resolves once the buffers are reusable. */
  send(dest: number, context: number, tag: number, payload: Payload): Promise<void>;
  /**
   * Receives the first message matching (source, context, tag); source/tag may be ANY.
   * With `into`, a message that fits lands in it (`data` is then `into.subarray(0, n)`, and
   * a backend may stream straight into it); one that does not fit gets a fresh buffer.
   */
  recv(source: number, context: number, tag: number, into?: Uint8Array): Promise<Message>;
  /**
   * Optional: a receive whose message lands in two places, its first `head.byteLength` bytes
   * in `head` and the rest in `into` (then `head` is set on the result and `data` is the
   * rest, a view of `into`). The collectives use it to put an 8-byte header aside and the
   * data straight where it belongs. A message that does not fit arrives whole in a fresh
   * buffer (`head` unset). Backends without it: the collectives receive and copy.
   */
  recvSplit?(source: number, context: number, tag: number, head: Uint8Array, into: Uint8Array): Promise<Message>;
  /** A message matching (source, context, tag) that has fully arrived, without receiving it. */
  iprobe(source: number, context: number, tag: number): MessageInfo | undefined;
  /** Waits until a matching message has arrived; returns its envelope without receiving it. */
  probe(source: number, context: number, tag: number): Promise<MessageInfo>;
  /** Returns once every rank has called barrier (same number of times). */
  barrier(): Promise<void>;
  /**
   * Ends the job on every rank: every pending and later operation anywhere rejects with an
   * AbortedError carrying `reason`. Safe to call more than once.
   */
  abort(reason: string): void;
  /** Flushes pending sends, then releases resources. Idempotent. */
  close(): Promise<void>;
  /**
   * Collective, only where `capabilities.sharedMemory`: every rank passes a SharedArrayBuffer
   * and gets every rank's, in rank order, without copying (global arrays use this for
   * direct loads and stores into the owner's memory).
   */
  shareBuffers?(buffer: SharedArrayBuffer): Promise<SharedArrayBuffer[]>;
  /**
   * Optional: the error an operation waiting on rank `peer` would fail with now (the job
   * aborted, the transport closed, or `peer` finished or failed), or undefined. Lets code
   * that waits on shared memory instead of messages fail as the transport's own waits do.
   */
  waitFailure?(peer?: number): Error | undefined;
  /**
   * Optional: moves whatever bytes can move now, without waiting. Code that waits on shared
   * memory calls it between waits, so a peer blocked sending to this rank (a message larger
   * than the ring) is drained while this rank waits elsewhere, as MPI progresses every
   * transfer during any blocking call.
   */
  poll?(): void;
  /** Optional: bytes sent and received so far, for the cost model. */
  readonly stats?: TransportStats;
}

export interface TransportStats {
  bytesSent: number;
  bytesReceived: number;
  messagesSent: number;
  messagesReceived: number;
}

/** Total byte length of a payload. */
export function payloadLength(payload: Payload): number {
  if (payload instanceof Uint8Array) return payload.byteLength;
  let n = 0;
  for (const p of payload) n += p.byteLength;
  return n;
}

/** The payload's parts copied into one new buffer (a send to self: the receiver owns it). */
export function concatPayload(parts: readonly Uint8Array[], length: number): Uint8Array {
  const data = new Uint8Array(length);
  let off = 0;
  for (const p of parts) {
    data.set(p, off);
    off += p.byteLength;
  }
  return data;
}

/** Payload as a list of parts. */
export function payloadParts(payload: Payload): readonly Uint8Array[] {
  return payload instanceof Uint8Array ? [payload] : payload;
}

/** True when a message's envelope matches a receive's (source, context, tag). */
export function matches(msg: { source: number; context: number; tag: number }, source: number, context: number, tag: number): boolean {
  return msg.context === context && (source === ANY_SOURCE || msg.source === source) && (tag === ANY_TAG || msg.tag === tag);
}
