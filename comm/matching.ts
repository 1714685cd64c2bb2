/**
 * Message matching shared by every backend: arrived-but-unreceived messages ("unexpected")
 * and posted receives, matched in MPI order. A backend calls `deliver` for every message
 * that has fully arrived, in arrival order per source, and `fail` when the job ends.
 */
import { ANY_SOURCE, matches, type Message, type MessageInfo } from './transport.js';

export interface Posted {
  source: number;
  context: number;
  tag: number;
  /** Where the caller wants the payload (used when it fits). */
  into?: Uint8Array;
  /** A split receive (Transport.recvSplit): the payload's first bytes go here, the rest to `into`. */
  head?: Uint8Array;
  /** Set once resolved, so a spinning caller can see it without awaiting. */
  done?: Message;
  resolve(msg: Message): void;
  reject(err: unknown): void;
  /** A probe only looks: it is resolved but the message stays queued. */
  peek: boolean;
}

/**
 * A whole message copied where its receive wants it: into `into` when it fits, or split
 * between `head` and `into` (Transport.recvSplit); unchanged when it does not fit.
 */
export function place(m: Message, into: Uint8Array | undefined, head: Uint8Array | undefined): Message {
  const n = m.data.byteLength;
  if (!into) return m;
  if (head) {
    const h = head.byteLength;
    if (n < h || n - h > into.byteLength) return m;
    head.set(m.data.subarray(0, h));
    into.set(m.data.subarray(h));
    return { source: m.source, tag: m.tag, context: m.context, data: into.subarray(0, n - h), head };
  }
  if (into.byteLength < n) return m;
  into.set(m.data);
  return { source: m.source, tag: m.tag, context: m.context, data: into.subarray(0, n) };
}

export class MatchQueue {
  private readonly unexpected: Message[] = [];
  private posted: Posted[] = [];
  private failure: unknown = undefined;

  /** Hands an arrived message to the first matching posted receive, or queues it. */
  deliver(msg: Message): void {
    for (let i = 0; i < this.posted.length; i++) {
      const p = this.posted[i]!;
      if (matches(msg, p.source, p.context, p.tag)) {
        this.posted.splice(i, 1);
        if (p.peek) {
          i--;
          p.resolve(msg);
          continue;
        }
        p.resolve(place(msg, p.into, p.head));
        return;
      }
    }
    this.unexpected.push(msg);
  }

  /**
   * Header-time matching: the first posted receive (not a probe) that a message with this
   * envelope would match, removed from the posted list. The backend streams the payload
   * straight into its `into` buffer and resolves it on completion.
   */
  claim(source: number, context: number, tag: number): Posted | undefined {
    for (let i = 0; i < this.posted.length; i++) {
      const p = this.posted[i]!;
      if (!p.peek && matches({ source, context, tag }, p.source, p.context, p.tag)) {
        // A probe posted earlier for the same envelope must still see it: leave it to deliver().
        for (let j = 0; j < i; j++) if (this.posted[j]!.peek && matches({ source, context, tag }, this.posted[j]!.source, this.posted[j]!.context, this.posted[j]!.tag)) return undefined;
        this.posted.splice(i, 1);
        return p;
      }
    }
    return undefined;
  }

  /** Takes the first queued message matching, if any. */
  take(source: number, context: number, tag: number): Message | undefined {
    if (this.unexpected.length === 0) return undefined;
    const i = this.unexpected.findIndex((m) => matches(m, source, context, tag));
    return i < 0 ? undefined : this.unexpected.splice(i, 1)[0];
  }

  /** The first queued message matching, left in the queue. */
  peek(source: number, context: number, tag: number): MessageInfo | undefined {
    const m = this.unexpected.find((m) => matches(m, source, context, tag));
    return m && { source: m.source, tag: m.tag, context: m.context, byteLength: m.data.byteLength };
  }

  /** A receive: a queued message if one matches (copied into `into` when given and it fits). */
  receiveNow(source: number, context: number, tag: number, into?: Uint8Array, head?: Uint8Array): Message | undefined {
    const m = this.take(source, context, tag);
    return m && place(m, into, head);
  }

  /** Posts a receive; the returned entry's promise settles when a matching message completes. */
  post(source: number, context: number, tag: number, into?: Uint8Array, head?: Uint8Array): { entry: Posted; promise: Promise<Message> } {
    let entry!: Posted;
    const promise =
      this.failure !== undefined
        ? Promise.reject(this.failure)
        : new Promise<Message>((resolve, reject) => {
            entry = { source, context, tag, into, head, peek: false, reject, resolve: (m) => {
              entry.done = m;
              resolve(m);
            } };
            this.posted.push(entry);
          });
    entry ??= { source, context, tag, peek: false, resolve() {}, reject() {} };
    return { entry, promise };
  }

  /** A receive: a queued message if one matches, else a promise for the next that does. */
  receive(source: number, context: number, tag: number, into?: Uint8Array): Message | Promise<Message> {
    if (this.failure !== undefined) return Promise.reject(this.failure);
    return this.receiveNow(source, context, tag, into) ?? this.post(source, context, tag, into).promise;
  }

  /** Resolves when a matching message is queued, without taking it. */
  probe(source: number, context: number, tag: number): Promise<MessageInfo> {
    const info = this.peek(source, context, tag);
    if (info) return Promise.resolve(info);
    if (this.failure !== undefined) return Promise.reject(this.failure);
    return new Promise<MessageInfo>((resolve, reject) =>
      this.posted.push({
        source, context, tag, reject, peek: true,
        resolve: (m) => {
          resolve({ source: m.source, tag: m.tag, context: m.context, byteLength: m.data.byteLength });
        },
      }),
    );
  }

  /** Posted receives still waiting, for deadlock diagnostics. */
  get pending(): ReadonlyArray<{ source: number; context: number; tag: number }> {
    return this.posted.filter((p) => !p.peek);
  }

  /** True if a posted receive or probe could match a message from `source`. */
  wantsFrom(source: number): boolean {
    for (const p of this.posted) if (p.source === source || p.source === ANY_SOURCE) return true;
    return false;
  }

  get hasWaiters(): boolean {
    return this.posted.length > 0;
  }

  /** Drops queued messages for which `test` holds (leftovers of a finished job). */
  drop(test: (m: Message) => boolean = () => true): number {
    let n = 0;
    for (let i = this.unexpected.length - 1; i >= 0; i--) {
      if (test(this.unexpected[i]!)) {
        this.unexpected.splice(i, 1);
        n++;
      }
    }
    return n;
  }

  /**
   * Forgets the posted receives and probes of a finished job, unsettled: a receive its job
   * gave up on (a collective that failed on a peer's error) would otherwise take the next
   * job's message of the same envelope (contexts and collective tags restart in every job).
   */
  dropPosted(): number {
    const n = this.posted.length;
    this.posted = [];
    return n;
  }

  /** Rejects every posted receive, and every later one, with `err`. */
  fail(err: unknown): void {
    if (this.failure === undefined) this.failure = err;
    const posted = this.posted;
    this.posted = [];
    for (const p of posted) p.reject(err);
  }

  /** Rejects posted receives for which `test` returns an error (e.g. their source is gone). */
  failWhere(test: (p: { source: number; context: number; tag: number }) => unknown): void {
    for (let i = this.posted.length - 1; i >= 0; i--) {
      const p = this.posted[i]!;
      const err = test(p);
      if (err !== undefined) {
        this.posted.splice(i, 1);
        p.reject(err);
      }
    }
  }

  get failed(): unknown {
    return this.failure;
  }
}
