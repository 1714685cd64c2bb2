/**
 * Message matching shared by every backend: arrived-but-unreceived messages ("unexpected")
 * and posted receives, matched in MPI order. A backend calls `deliver` for every message
 * that has fully arrived, in arrival order per source, and `fail` when the job ends.
 */
import { matches, type Message, type MessageInfo } from './transport.js';

interface Posted {
  source: number;
  context: number;
  tag: number;
  resolve(msg: Message): void;
  reject(err: unknown): void;
  /** A probe only looks: it is resolved but the message stays queued. */
  peek: boolean;
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
        if (p.peek) {
          this.posted.splice(i, 1);
          i--;
          p.resolve(msg);
          continue;
        }
        this.posted.splice(i, 1);
        p.resolve(msg);
        return;
      }
    }
    this.unexpected.push(msg);
  }

  /** Takes the first queued message matching, if any. */
  take(source: number, context: number, tag: number): Message | undefined {
    const i = this.unexpected.findIndex((m) => matches(m, source, context, tag));
    return i < 0 ? undefined : this.unexpected.splice(i, 1)[0];
  }

  /** The first queued message matching, left in the queue. */
  peek(source: number, context: number, tag: number): MessageInfo | undefined {
    const m = this.unexpected.find((m) => matches(m, source, context, tag));
    return m && { source: m.source, tag: m.tag, context: m.context, byteLength: m.data.byteLength };
  }

  /** A receive: a queued message if one matches, else a promise for the next that does. */
  receive(source: number, context: number, tag: number): Message | Promise<Message> {
    if (this.failure !== undefined) return Promise.reject(this.failure);
    const m = this.take(source, context, tag);
    if (m) return m;
    return new Promise<Message>((resolve, reject) => this.posted.push({ source, context, tag, resolve, reject, peek: false }));
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

  get hasWaiters(): boolean {
    return this.posted.length > 0;
  }

  /** Queued messages of one context (used to drop leftovers between jobs). */
  drop(context?: number): number {
    let n = 0;
    for (let i = this.unexpected.length - 1; i >= 0; i--) {
      if (context === undefined || this.unexpected[i]!.context === context) {
        this.unexpected.splice(i, 1);
        n++;
      }
    }
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
