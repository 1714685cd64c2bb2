// The tcp transport in one process: P endpoints over loopback, plus raw sockets playing strangers,
// broken peers and silent peers.
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { encodeHeader, kData } from '../../comm/backends/tcp/frame.js';
import { connectHandshake, kRolePeer } from '../../comm/backends/tcp/handshake.js';
import { rendezvous, startCoordinator } from '../../comm/backends/tcp/rendezvous.js';
import { createTcpTransport, type PeerAddress, type TcpTransport, type TcpTransportOptions } from '../../comm/backends/tcp/transport.js';
import { ANY_SOURCE } from '../../comm/transport.js';

const secret = new Uint8Array(Buffer.from('mesh-test-secret'));
const open: TcpTransport[] = [];
const sockets: net.Socket[] = [];

afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  await Promise.all(open.splice(0).map((t) => t.close()));
});

/** P transports joined through a coordinator, as ranks of one job would be. */
async function mesh(p: number, extra: Partial<TcpTransportOptions> = {}): Promise<{ ts: TcpTransport[]; table: PeerAddress[] }> {
  const coord = await startCoordinator({ size: p, secret, host: '127.0.0.1' });
  const ts = Array.from({ length: p }, (_, rank) => createTcpTransport({ rank, size: p, secret, ...extra }));
  open.push(...ts);
  const tables = await Promise.all(ts.map((t, rank) => rendezvous({ coord: coord.address, secret, rank, size: p, timeoutMs: 5000, listen: (h) => t.listen(h) })));
  await Promise.all(ts.map((t, r) => t.connect(tables[r]!)));
  coord.close();
  return { ts, table: tables[0]! };
}

async function raw(addr: PeerAddress): Promise<net.Socket> {
  const s = net.connect(addr.port, addr.host);
  sockets.push(s);
  s.on('error', () => {});
  await new Promise((r) => s.once('connect', r));
  return s;
}

const made = new Map<string, Uint8Array>();
function bytesOf(n: number, seed: number): Uint8Array {
  const key = `${n}:${seed}`;
  let b = made.get(key);
  if (!b) {
    b = new Uint8Array(n);
    for (let i = 0; i < n; i++) b[i] = (i * 31 + seed) & 255;
    made.set(key, b);
  }
  return b;
}

describe('tcp transport over loopback', () => {
  it('moves messages between every pair, in order, from 0 bytes to 20 MiB (split into frames)', async () => {
    const { ts } = await mesh(3);
    const sizes = [0, 1, 8, 5000, 20 << 20];
    const sends: Promise<void>[] = [];
    for (const a of ts) for (const b of ts) for (const [i, n] of sizes.entries()) sends.push(a.send(b.rank, 4, i, bytesOf(n, a.rank)));
    for (const b of ts) {
      for (const a of ts) {
        for (const [i, n] of sizes.entries()) {
          const m = await b.recv(a.rank, 4, i);
          expect(m.source).toBe(a.rank);
          expect(m.data.byteLength).toBe(n);
          expect(m.data.byteOffset).toBe(0);
          expect(Buffer.compare(m.data, bytesOf(n, a.rank))).toBe(0);
        }
      }
    }
    await Promise.all(sends);
    await Promise.all(ts.map((t) => t.barrier()));
    // Non-overtaking: same envelope, order kept.
    for (let k = 0; k < 50; k++) void ts[1]!.send(0, 9, 1, new Uint8Array([k]));
    for (let k = 0; k < 50; k++) expect((await ts[0]!.recv(ANY_SOURCE, 9, 1)).data[0]).toBe(k);
  });

  it.each([true, false])('a large message streams into the posted receive\'s buffer (in-place reads: %s)', async (inPlaceReads) => {
    const { ts } = await mesh(2, { inPlaceReads });
    const n = (9 << 20) + 123; // three frames, the last one short
    for (const [from, to] of [[1, 0], [0, 1]] as const) {
      const into = new Uint8Array(n + 7);
      const r = ts[to]!.recv(from, 3, 1, into);
      await ts[from]!.send(to, 3, 1, bytesOf(n, from));
      const m = await r;
      expect(m.data.buffer).toBe(into.buffer);
      expect(m.data.byteLength).toBe(n);
      expect(Buffer.compare(m.data, bytesOf(n, from))).toBe(0);
      // Small messages around it still arrive whole and in order.
      void ts[from]!.send(to, 3, 2, bytesOf(100, 9));
      void ts[from]!.send(to, 3, 2, bytesOf(70_000, 8));
      expect(Buffer.compare((await ts[to]!.recv(from, 3, 2)).data, bytesOf(100, 9))).toBe(0);
      expect(Buffer.compare((await ts[to]!.recv(from, 3, 2)).data, bytesOf(70_000, 8))).toBe(0);
    }
  });

  it('sends a multi-part payload header + parts without copying them first', async () => {
    const { ts } = await mesh(2);
    const parts = [bytesOf(3, 1), bytesOf(0, 0), bytesOf(70, 2)];
    await ts[0]!.send(1, 0, 0, parts);
    const m = await ts[1]!.recv(0, 0, 0);
    expect([...m.data]).toEqual([...parts[0]!, ...parts[2]!]);
  });

  it('a receive with `into` gets the payload in that buffer (posted first: streamed there; too small: a fresh one)', async () => {
    const { ts } = await mesh(2);
    const into = new Uint8Array(10 << 20);
    const posted = ts[1]!.recv(0, 3, 1, into);
    await ts[0]!.send(1, 3, 1, bytesOf(9 << 20, 4));
    const m = await posted;
    expect(m.data.buffer).toBe(into.buffer);
    expect(Buffer.compare(m.data, bytesOf(9 << 20, 4))).toBe(0);
    await ts[0]!.send(1, 3, 2, bytesOf(100, 5)); // arrives before the receive is posted
    await new Promise((r) => setTimeout(r, 50));
    const late = await ts[1]!.recv(0, 3, 2, into);
    expect(late.data.buffer).toBe(into.buffer);
    expect([...late.data]).toEqual([...bytesOf(100, 5)]);
    const small = ts[1]!.recv(0, 3, 3, new Uint8Array(4));
    await ts[0]!.send(1, 3, 3, bytesOf(100, 6));
    expect([...(await small).data]).toEqual([...bytesOf(100, 6)]);
  });

  it('refuses and logs strangers without the secret; the job goes on', async () => {
    const lines: string[] = [];
    const { ts, table } = await mesh(2, { log: (l) => lines.push(l) });
    // 1. A peer that guesses the secret.
    const s1 = await raw(table[1]!);
    await expect(connectHandshake(s1, new Uint8Array(Buffer.from('guess')), 0, kRolePeer, 2000)).rejects.toThrow();
    // 2. Random bytes.
    const s2 = await raw(table[1]!);
    s2.write(bytesOf(200, 9));
    // 3. One that holds the secret but claims a rank that is already connected.
    const s3 = await raw(table[1]!);
    await connectHandshake(s3, secret, 0, kRolePeer, 2000);
    await new Promise((r) => setTimeout(r, 300));
    expect(lines.filter((l) => /refused a connection/.test(l)).length).toBeGreaterThanOrEqual(3);
    expect(lines.join('\n')).toMatch(/HMAC does not match/);
    expect(lines.join('\n')).toMatch(/claims rank 0/);
    await ts[0]!.send(1, 0, 1, bytesOf(10, 1));
    expect((await ts[1]!.recv(0, 0, 1)).data).toEqual(bytesOf(10, 1));
  });

  it('a malformed frame from a peer closes its connection with an error naming the peer', async () => {
    const lines: string[] = [];
    const t = createTcpTransport({ rank: 0, size: 2, secret, log: (l) => lines.push(l) });
    open.push(t);
    const addr = await t.listen('127.0.0.1');
    const up = t.connect([addr, addr]);
    const s = await raw(addr);
    await connectHandshake(s, secret, 1, kRolePeer, 2000);
    await up;
    const pending = t.recv(1, 0, 0);
    const h = encodeHeader(kData, 0, 0, 0, 1 << 30, 1 << 30); // a frame longer than allowed
    s.write(h);
    await expect(pending).rejects.toMatchObject({ name: 'PeerGoneError', peer: 1 });
    await expect(pending).rejects.toThrow(/rank 1 \(127\.0\.0\.1:\d+\).*exceeds the maximum/);
    expect(lines.join('\n')).toMatch(/malformed frame from rank 1/);
    await expect(t.send(1, 0, 0, new Uint8Array(1))).rejects.toMatchObject({ peer: 1 });
  });

  it('a silent peer is gone after peerTimeoutMs, naming it', async () => {
    const t = createTcpTransport({ rank: 0, size: 2, secret, peerTimeoutMs: 300, log: () => {} });
    open.push(t);
    const addr = await t.listen('127.0.0.1');
    const up = t.connect([addr, addr]);
    const s = await raw(addr);
    await connectHandshake(s, secret, 1, kRolePeer, 2000);
    await up;
    await expect(t.recv(1, 0, 0)).rejects.toThrow(/rank 1 is gone: no word from it for \d+ ms/);
  });

  it('a finished peer fails receives from it instead of hanging; an abort names the aborting rank', async () => {
    const { ts } = await mesh(3);
    const r = ts[0]!.recv(1, 0, 0);
    const any = ts[2]!.recv(ANY_SOURCE, 0, 5);
    await ts[1]!.finishJob();
    await expect(r).rejects.toMatchObject({ name: 'PeerGoneError', peer: 1 });
    await expect(ts[0]!.recv(1, 0, 7)).rejects.toThrow(/rank 1 has finished/);
    await ts[0]!.finishJob();
    await expect(any).rejects.toThrow(/every other rank has finished/);
    // Next job: a clean slate.
    for (const t of ts) t.reset(1);
    const b = ts[2]!.barrier();
    const waiting = ts[0]!.recv(2, 0, 0);
    ts[1]!.abort('gave up');
    await expect(waiting).rejects.toMatchObject({ name: 'AbortedError', failedRank: 1 });
    await expect(b).rejects.toThrow(/job aborted by rank 1: gave up/);
  });

  it('frames of a job a rank has not started yet wait for it; stale ones are dropped', async () => {
    const { ts } = await mesh(2);
    ts[0]!.reset(5);
    await ts[0]!.send(1, 0, 0, bytesOf(4, 5)); // epoch 5: rank 1 is still in job 0
    ts[1]!.epoch = 0;
    expect(ts[1]!.iprobe(0, 0, 0)).toBeUndefined();
    await new Promise((r) => setTimeout(r, 50));
    ts[1]!.reset(5);
    expect((await ts[1]!.recv(0, 0, 0)).data).toEqual(bytesOf(4, 5));
    ts[0]!.reset(4); // an older job's message...
    await ts[0]!.send(1, 0, 1, bytesOf(4, 4));
    ts[0]!.reset(5);
    await ts[0]!.send(1, 0, 2, bytesOf(4, 6));
    expect((await ts[1]!.recv(0, 0, 2)).data).toEqual(bytesOf(4, 6));
    expect(ts[1]!.iprobe(0, 0, 1)).toBeUndefined(); // ...was dropped
  });
});

describe('routes: a local socket to peers on this host, TCP otherwise', () => {
  /** Each rank sends `n` bytes to every other at once, then checks what it got (both directions busy). */
  async function exchange(ts: TcpTransport[], n: number): Promise<void> {
    const sends = ts.flatMap((a) => ts.filter((b) => b !== a).map((b) => a.send(b.rank, 7, a.rank, bytesOf(n, a.rank + 10))));
    for (const b of ts) {
      for (const a of ts) {
        if (a === b) continue;
        const into = new Uint8Array(n);
        const m = await b.recv(a.rank, 7, a.rank, into);
        expect(m.data.buffer).toBe(into.buffer);
        expect(Buffer.compare(m.data, bytesOf(n, a.rank + 10))).toBe(0);
      }
    }
    await Promise.all(sends);
  }

  it.runIf(process.platform === 'linux')('ranks on one host connect through a Unix socket and move a 5 MiB message each way at once', async () => {
    const { ts, table } = await mesh(3);
    for (const a of table) expect(a.local).toMatch(/^superstep-[0-9a-f]{24}$/);
    for (const t of ts) for (const r of [0, 1, 2]) expect(t.route(r)).toBe(r === t.rank ? undefined : 'unix');
    await exchange(ts, (5 << 20) + 3);
    await Promise.all(ts.map((t) => t.barrier()));
  });

  it('localSockets: false connects over TCP and registers no local socket', async () => {
    const { ts, table } = await mesh(2, { localSockets: false });
    for (const a of table) expect(a.local).toBeUndefined();
    expect(ts[0]!.route(1)).toBe('tcp');
    expect(ts[1]!.route(0)).toBe('tcp');
    await exchange(ts, (5 << 20) + 3);
  });

  it('a local socket that cannot be reached (another host or network namespace) falls back to TCP', async () => {
    const ts = [0, 1].map((rank) => createTcpTransport({ rank, size: 2, secret }));
    open.push(...ts);
    const addrs = await Promise.all(ts.map((t) => t.listen('127.0.0.1')));
    // As a rank on another host would see it: a name nobody here listens on.
    const table = [{ ...addrs[0]!, local: 'superstep-000000000000000000000000' }, addrs[1]!];
    await Promise.all(ts.map((t) => t.connect(table)));
    expect(ts[1]!.route(0)).toBe('tcp');
    expect(ts[0]!.route(1)).toBe('tcp');
    await exchange(ts, 1 << 20);
  });
});
