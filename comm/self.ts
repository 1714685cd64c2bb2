/**
 * The trivial backend: one rank, messages to itself. Used when a script runs without a
 * launcher (plain `node script.ts`), as MPI's singleton init does.
 */
import { AbortedError, ArgumentError, ClosedError } from '../util/errors.js';
import { MatchQueue } from './matching.js';
import { ANY_SOURCE, concatPayload, payloadLength, payloadParts, type Message, type MessageInfo, type Payload, type Transport, type TransportStats } from './transport.js';

export function createSelfTransport(): Transport {
  return new SelfTransport();
}

class SelfTransport implements Transport {
  readonly rank = 0;
  readonly size = 1;
  readonly backend = 'self';
  readonly capabilities = { sharedMemory: true };
  readonly stats: TransportStats = { bytesSent: 0, bytesReceived: 0, messagesSent: 0, messagesReceived: 0 };
  private readonly queue = new MatchQueue();
  private closed = false;

  send(dest: number, context: number, tag: number, payload: Payload): Promise<void> {
    if (this.closed) return Promise.reject(new ClosedError('transport is closed', 0));
    if (dest !== 0) return Promise.reject(new ArgumentError('dest', 'a rank in 0..0', dest, 0));
    const data = concatPayload(payloadParts(payload), payloadLength(payload));
    this.stats.bytesSent += data.byteLength;
    this.stats.messagesSent++;
    this.stats.bytesReceived += data.byteLength;
    this.stats.messagesReceived++;
    this.queue.deliver({ source: 0, context, tag, data });
    return Promise.resolve();
  }

  recv(source: number, context: number, tag: number): Promise<Message> {
    if (source !== 0 && source !== ANY_SOURCE) return Promise.reject(new ArgumentError('source', 'a rank in 0..0 or ANY_SOURCE', source, 0));
    const got = this.queue.receive(source, context, tag);
    if (got instanceof Promise) {
      // With one rank nobody else can send: waiting would hang forever.
      const info = `receive (tag ${tag}) on a 1-rank job has no matching message; it would wait forever`;
      this.queue.take(source, context, tag);
      got.catch(() => {});
      this.queue.failWhere(() => new AbortedError(info, undefined, 0));
      return Promise.reject(new AbortedError(info, undefined, 0));
    }
    return Promise.resolve(got);
  }

  iprobe(source: number, context: number, tag: number): MessageInfo | undefined {
    return this.queue.peek(source, context, tag);
  }

  probe(source: number, context: number, tag: number): Promise<MessageInfo> {
    const info = this.queue.peek(source, context, tag);
    return info ? Promise.resolve(info) : Promise.reject(new AbortedError(`probe (tag ${tag}) on a 1-rank job has no matching message`, undefined, 0));
  }

  shareBuffers(buffer: SharedArrayBuffer): Promise<SharedArrayBuffer[]> {
    return Promise.resolve([buffer]);
  }

  barrier(): Promise<void> {
    return this.closed ? Promise.reject(new ClosedError('transport is closed', 0)) : Promise.resolve();
  }

  abort(reason: string): void {
    this.queue.fail(new AbortedError(`job aborted: ${reason}`, 0, 0));
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}
