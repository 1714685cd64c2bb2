/**
 * Nonblocking operations: a Request wraps a pending send or receive; Status describes a
 * received (or probed) message.
 */
import { ArgumentError } from '../util/errors.js';

/** Rank that means "no process": sends to it complete at once, receives from it get nothing. */
export const PROC_NULL = -2;
/** The color of split() for ranks that join no new communicator (they get `null`). */
export const UNDEFINED = -32766;

/** Envelope of a received or probed message. */
export class Status {
  constructor(
    /** Sender's rank in the communicator. */
    public source = PROC_NULL,
    /** The message's tag. */
    public tag = -1,
    /** Payload size in bytes. */
    public byteLength = 0,
    /** Element count: elements of the receive's dtype (typed forms), 1 (object forms). */
    public count = 0,
  ) {}

  /** Number of elements of `bytesPerElement` bytes in the message. */
  getCount(bytesPerElement = 1): number {
    return Math.floor(this.byteLength / bytesPerElement);
  }

  /** @internal */
  set(s: { source: number; tag: number; byteLength: number; count: number }): this {
    this.source = s.source;
    this.tag = s.tag;
    this.byteLength = s.byteLength;
    this.count = s.count;
    return this;
  }
}

/**
 * A pending nonblocking operation (isend, irecv, ...). `wait()` resolves with its value
 * (the received data for a receive); `test()` tells without waiting whether it completed.
 */
export class Request<T = void> {
  private settled = false;
  private failed = false;
  private result: T | undefined;
  private readonly promise: Promise<T>;
  /** Envelope of the received message, once a receive has completed. */
  readonly status = new Status();

  /** @internal */
  constructor(promise: Promise<T>) {
    this.promise = promise.then(
      (v) => {
        this.settled = true;
        this.result = v;
        return v;
      },
      (err) => {
        this.settled = true;
        this.failed = true;
        throw err;
      },
    );
    // A request nobody waits on must not crash the process with an unhandled rejection;
    // wait() still rejects.
    this.promise.catch(() => {});
  }

  /** Resolves with the operation's value (rejects with its error) once it completes. */
  wait(): Promise<T> {
    return this.promise;
  }

  /** True if the operation has completed (successfully or not); never waits. */
  test(): boolean {
    return this.settled;
  }

  /** The value once completed successfully, else undefined. */
  get value(): T | undefined {
    return this.settled && !this.failed ? this.result : undefined;
  }

  /** A request that is already complete. */
  static resolved<T>(value: T): Request<T> {
    return new Request(Promise.resolve(value));
  }
}

/** Waits for every request; resolves with their values in order (rejects at the first failure). */
export async function waitAll<T>(requests: readonly Request<T>[]): Promise<T[]> {
  if (!Array.isArray(requests)) throw new ArgumentError('requests', 'an array of Requests', requests);
  return Promise.all(requests.map((r) => r.wait()));
}

/** Waits for the first request to complete; resolves with its index and value. */
export async function waitAny<T>(requests: readonly Request<T>[]): Promise<{ index: number; value: T }> {
  if (!Array.isArray(requests) || requests.length === 0) throw new ArgumentError('requests', 'a non-empty array of Requests', requests);
  return Promise.race(requests.map((r, index) => r.wait().then((value: T) => ({ index, value }))));
}

/** Indices of the requests that have completed, without waiting. */
export function testAll(requests: readonly Request<unknown>[]): boolean {
  return requests.every((r) => r.test());
}
