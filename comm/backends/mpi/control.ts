/**
 * The launcher <-> rank channel of an mpi World. mpirun owns the ranks' stdio and gives no IPC
 * channel, so each rank connects back to the launcher over a Unix-domain socket
 * (SUPERSTEP_CONTROL) and both sides speak the job protocol (comm/backends/protocol.ts) as
 * length-prefixed v8-serialised messages. When either side goes away the socket closes: a rank
 * whose launcher is gone exits, so nothing outlives the job.
 */
import type { Socket } from 'node:net';
import { deserialize, serialize } from 'node:v8';

/** Writes one message. */
export function sendMessage(socket: Socket, m: unknown): void {
  if (socket.destroyed) return;
  const body = serialize(m);
  const head = Buffer.allocUnsafe(4);
  head.writeUInt32LE(body.byteLength, 0);
  socket.write(Buffer.concat([head, body]));
}

/** Calls `on` for every whole message that arrives on `socket`. */
export function onMessages(socket: Socket, on: (m: unknown) => void): void {
  let buf: Buffer = Buffer.alloc(0);
  socket.on('data', (chunk: Buffer) => {
    buf = buf.byteLength ? Buffer.concat([buf, chunk]) : chunk;
    while (buf.byteLength >= 4) {
      const n = buf.readUInt32LE(0);
      if (buf.byteLength < 4 + n) break;
      const body = buf.subarray(4, 4 + n);
      buf = buf.subarray(4 + n);
      on(deserialize(body));
    }
  });
}
