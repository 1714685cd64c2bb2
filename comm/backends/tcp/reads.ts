/**
 * Reading a mesh connection into buffers of our choosing. With `onread` (a user read
 * buffer), the kernel copies arriving bytes straight into the buffer we name for the next
 * read: the message's own buffer (a matched receive's `into`) while a large frame's payload
 * streams in, a small per-connection scratch buffer otherwise. That saves the copy out of
 * Node's 64 KiB chunks and most read calls, which is most of what a 16 MiB message costs on
 * the receiving side.
 *
 * Until the frame decoder takes over (`onBytes` set), bytes are re-emitted as 'data' events,
 * so that the handshake reads them as from any socket.
 */
import net, { type OnReadOpts, type Socket } from 'node:net';

const kScratchBytes = 64 << 10;

export class ReadSink {
  /** Takes each chunk read; `direct` when it landed in the buffer `target` chose. */
  onBytes: ((chunk: Uint8Array, direct: boolean) => void) | undefined;
  /** The buffer the next read should land in (undefined: scratch). */
  target: (() => Uint8Array | undefined) | undefined;
  private readonly scratch = Buffer.allocUnsafe(kScratchBytes);

  /** The `onread` option of a socket whose bytes come here. */
  options(socket: () => Socket): OnReadOpts {
    return {
      buffer: () => this.target?.() ?? this.scratch,
      callback: (n, buf) => {
        const chunk = buf.subarray(0, n);
        if (this.onBytes) this.onBytes(chunk, buf !== this.scratch);
        else socket().emit('data', Buffer.from(chunk));
        return true;
      },
    };
  }
}

/**
 * Connects to `host:port` (or, with `path`, to that Unix-domain socket) with reads going to
 * `sink`; the socket starts paused (handshake resumes it).
 */
export function connectInto(host: string, port: number, sink: ReadSink, path?: string): Socket {
  const onread = sink.options(() => socket);
  const socket: Socket = path !== undefined ? net.connect({ path, onread }) : net.connect({ host, port, noDelay: true, onread });
  // Paused, the first read waits for the handshake's listener (nothing is emitted to no one).
  socket.pause();
  return socket;
}

/**
 * The same for an accepted socket, which Node gives no `onread` option: its handle, not yet
 * read from (the server pauses on connect), moves to a socket made with one. Undefined if
 * this Node has no such handle, and the caller reads `accepted` as it is.
 */
export function adoptInto(accepted: Socket, sink: ReadSink): Socket | undefined {
  const old = accepted as unknown as { _handle?: unknown };
  const handle = old._handle;
  if (!handle || typeof handle !== 'object' || accepted.destroyed) return undefined;
  const opts = { handle, readable: true, writable: true, onread: sink.options(() => socket) } as net.SocketConstructorOpts;
  const socket = new net.Socket(opts);
  old._handle = null;
  socket.pause();
  return socket;
}
