/**
 * The tcp backend's figures (issue 4): ping-pong half round trip at 8 B, 1 MiB and 16 MiB,
 * 16 MiB bandwidth, empty-superstep sync and transport barrier at P = 2 and 4; and, in the
 * same run, plain-Node TCP loopback figures measured the same way (the limit superstep's tcp
 * backend is built on). One JSON line per figure (bench/README.md). Run:
 *   node --import tsx bench/tcp.bench.ts
 */
import './tuned.js';
import { spawn } from 'node:child_process';
import net from 'node:net';
import { startWorld } from '../core/launch/world.js';
import { medianOfJobs } from './lib.js';

const url = new URL('./sab-ranks.ts', import.meta.url).href; // backend-neutral rank programs
const line = (o: Record<string, unknown>) => console.log(JSON.stringify({ backend: 'tcp', ...o }));
const progress = (s: string) => process.stderr.write(`tcp.bench: ${s}\n`);

const median = (world: Awaited<ReturnType<typeof startWorld>>, fn: string, args: unknown[], runs = 5) => medianOfJobs(world, url, fn, args, runs);

/**
 * Plain Node over loopback, as node_limits.mjs measures it: 8-byte ping-pong with an echo
 * server, and a ping-pong of `bytes` where each side reads the whole message before answering.
 */
const kEcho = `const net = require('node:net'); const bytes = Number(process.argv[1]);
const srv = net.createServer((s) => { s.setNoDelay(true); let got = 0; const reply = Buffer.alloc(bytes);
  s.on('data', (d) => { got += d.length; if (got >= bytes) { got -= bytes; s.write(reply); } }); });
srv.listen(0, '127.0.0.1', () => console.log(srv.address().port)); process.stdin.on('end', () => process.exit(0)); process.stdin.resume();`;

/** With `separate`, the echo server runs in its own process, as two ranks do. */
async function nodeTcp(bytes: number, reps: number, separate = false): Promise<number> {
  let port: number;
  let stop: () => void;
  if (separate) {
    const child = spawn(process.execPath, ['-e', kEcho, String(bytes)], { stdio: ['pipe', 'pipe', 'inherit'] });
    port = Number(await new Promise<string>((r) => child.stdout!.once('data', (d) => r(String(d)))));
    stop = () => child.stdin!.end();
  } else {
    const srv = net.createServer((s) => {
      s.setNoDelay(true);
      let got = 0;
      const reply = Buffer.alloc(bytes);
      s.on('data', (d) => {
        got += d.length;
        if (got >= bytes) {
          got -= bytes;
          s.write(reply);
        }
      });
    });
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    port = (srv.address() as net.AddressInfo).port;
    stop = () => srv.close();
  }
  const c = net.connect(port, '127.0.0.1');
  c.setNoDelay(true);
  await new Promise((r) => c.once('connect', r));
  const msg = Buffer.alloc(bytes);
  let got = 0;
  let wake: (() => void) | undefined;
  c.on('data', (d) => {
    got += d.length;
    if (got >= bytes) {
      got -= bytes;
      wake?.();
    }
  });
  const once = () => new Promise<void>((r) => { wake = r; c.write(msg); });
  for (let i = 0; i < Math.max(2, reps / 10); i++) await once();
  const t0 = performance.now();
  for (let i = 0; i < reps; i++) await once();
  const us = ((performance.now() - t0) * 1000) / reps / 2;
  c.destroy();
  stop();
  return us;
}

/**
 * Plain Node at its best across two processes, as a limit: the kernel reads straight into the
 * message buffer (`onread`) and the event loop polls (setImmediate) instead of sleeping in
 * epoll, which is what the tcp backend does. Each side reads on the connection it dialed
 * (public API only) and writes on the one it accepted.
 */
const kDirectEcho = `const net = require('node:net'); const bytes = Number(process.argv[1]);
const into = Buffer.alloc(bytes); const reply = Buffer.alloc(bytes); let filled = 0; let out;
const poll = () => setImmediate(poll); poll();
const srv = net.createServer({ noDelay: true }, (s) => { out = s; console.log('accepted'); });
srv.listen(0, '127.0.0.1', () => console.log(srv.address().port));
process.stdin.once('data', (d) => net.connect({ port: Number(String(d)), host: '127.0.0.1', noDelay: true,
  onread: { buffer: () => into.subarray(filled), callback: (n) => { filled += n; if (filled === bytes) { filled = 0; out.write(reply); } return true; } } }));
process.stdin.on('end', () => process.exit(0));`;

async function nodeTcpDirect(bytes: number, reps: number): Promise<number> {
  const child = spawn(process.execPath, ['-e', kDirectEcho, String(bytes)], { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines: string[] = [];
  let more: (() => void) | undefined;
  child.stdout!.on('data', (d) => {
    lines.push(...String(d).split('\n').filter(Boolean));
    more?.();
  });
  const line = async () => {
    while (!lines.length) await new Promise<void>((r) => (more = r));
    return lines.shift()!;
  };
  const childPort = Number(await line());
  const into = Buffer.alloc(bytes);
  let filled = 0;
  let wake: (() => void) | undefined;
  let hot = true;
  const poll = () => hot && setImmediate(poll);
  poll();
  const srv = net.createServer({ noDelay: true });
  const accepted = new Promise<net.Socket>((r) => srv.once('connection', r));
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  child.stdin!.write(String((srv.address() as net.AddressInfo).port));
  const out = await accepted;
  const c = net.connect({
    port: childPort,
    host: '127.0.0.1',
    noDelay: true,
    onread: {
      buffer: () => into.subarray(filled),
      callback: (n) => {
        filled += n;
        if (filled === bytes) {
          filled = 0;
          wake?.();
        }
        return true;
      },
    },
  });
  await new Promise((r) => c.once('connect', r));
  if ((await line()) !== 'accepted') throw new Error('direct echo: unexpected child output');
  const msg = Buffer.alloc(bytes);
  const once = () => new Promise<void>((r) => { wake = r; out.write(msg); });
  for (let i = 0; i < Math.max(2, reps / 10); i++) await once();
  const t0 = performance.now();
  for (let i = 0; i < reps; i++) await once();
  const us = ((performance.now() - t0) * 1000) / reps / 2;
  hot = false;
  c.destroy();
  out.destroy();
  srv.close();
  child.stdin!.end();
  return us;
}

const nodeFigures: Record<number, number> = {};
const node2Figures: Record<number, number> = {};
const nodeDirectFigures: Record<number, number> = {};
progress('plain Node TCP loopback (one process; two processes as two ranks are; two processes reading in place and polling)');
for (const [bytes, reps] of [[8, 5000], [1 << 20, 100], [16 << 20, 10]] as const) {
  const xs = [await nodeTcp(bytes, reps), await nodeTcp(bytes, reps), await nodeTcp(bytes, reps)].sort((a, b) => a - b);
  nodeFigures[bytes] = xs[1]!;
  const ys = [await nodeTcp(bytes, reps, true), await nodeTcp(bytes, reps, true), await nodeTcp(bytes, reps, true)].sort((a, b) => a - b);
  node2Figures[bytes] = ys[1]!;
  const zs = [await nodeTcpDirect(bytes, reps), await nodeTcpDirect(bytes, reps), await nodeTcpDirect(bytes, reps)].sort((a, b) => a - b);
  nodeDirectFigures[bytes] = zs[1]!;
}
line({ name: 'node_tcp_2proc_8B_half_rtt_us', backend: 'any', p: 2, value: +node2Figures[8]!.toFixed(3), unit: 'us', better: 'lower' });
line({ name: 'node_tcp_2proc_16MiB_GBps', backend: 'any', p: 2, value: +((16 << 20) / (node2Figures[16 << 20]! * 1e-6) / 1e9).toFixed(3), unit: 'GBps', better: 'higher' });
line({ name: 'node_tcp_2proc_direct_8B_half_rtt_us', backend: 'any', p: 2, value: +nodeDirectFigures[8]!.toFixed(3), unit: 'us', better: 'lower' });
line({ name: 'node_tcp_2proc_direct_16MiB_GBps', backend: 'any', p: 2, value: +((16 << 20) / (nodeDirectFigures[16 << 20]! * 1e-6) / 1e9).toFixed(3), unit: 'GBps', better: 'higher' });
line({ name: 'node_tcp_8B_half_rtt_us', backend: 'any', p: 2, value: +nodeFigures[8]!.toFixed(3), unit: 'us', better: 'lower', compare: { node: 'tcp_8B_half_rtt_us' } });
line({ name: 'node_tcp_16MiB_GBps', backend: 'any', p: 2, value: +((16 << 20) / (nodeFigures[16 << 20]! * 1e-6) / 1e9).toFixed(3), unit: 'GBps', better: 'higher', compare: { node: 'tcp_stream_GBps', mpi4py_tcp: 'bw_16MiB_GBps' } });

const w2 = await startWorld({ procs: 2, backend: 'tcp' });
try {
  for (const [bytes, name, reps, peerKey] of [
    [8, 'pingpong_8B_half_rtt_us', 10000, 'pingpong_8B_us'],
    [1 << 20, 'pingpong_1MiB_half_rtt_us', 100, 'pingpong_1MiB_us'],
    [16 << 20, 'pingpong_16MiB_half_rtt_us', 10, 'pingpong_16MiB_us'],
  ] as const) {
    progress(`ping-pong ${bytes} B`);
    const us = await median(w2, 'pingpong', [bytes, reps, Math.max(2, reps / 10)]);
    // Same-run ratio against plain Node moving the same bytes the same way.
    const extra = {
      node_same_run_us: +nodeFigures[bytes]!.toFixed(3),
      ratio_to_node: +(us / nodeFigures[bytes]!).toFixed(3),
      node_2proc_same_run_us: +node2Figures[bytes]!.toFixed(3),
      ratio_to_node_2proc: +(us / node2Figures[bytes]!).toFixed(3),
      node_2proc_direct_same_run_us: +nodeDirectFigures[bytes]!.toFixed(3),
      ratio_to_node_2proc_direct: +(us / nodeDirectFigures[bytes]!).toFixed(3),
    };
    line({ name, p: 2, value: +us.toFixed(3), unit: 'us', better: 'lower', compare: { mpi4py_tcp: peerKey, ...(bytes === 8 ? { node: 'tcp_8B_half_rtt_us' } : {}) }, extra });
    if (bytes === 16 << 20) {
      line({ name: 'bw_16MiB_GBps', p: 2, value: +(bytes / (us * 1e-6) / 1e9).toFixed(3), unit: 'GBps', better: 'higher', compare: { mpi4py_tcp: 'bw_16MiB_GBps', node: 'tcp_stream_GBps' }, extra });
    }
  }
} finally {
  await w2.close();
}

// The same ping-pongs with the ranks joined over loopback TCP (SUPERSTEP_LOCAL_SOCKETS=0), the
// transport mpi4py's tcp figures use: ranks on one host otherwise talk through a Unix socket.
const wTcp = await startWorld({ procs: 2, backend: 'tcp', env: { SUPERSTEP_LOCAL_SOCKETS: '0' } });
try {
  for (const [bytes, name, reps, peerKey] of [
    [1 << 20, 'pingpong_1MiB_half_rtt_us_loopback_tcp', 100, 'pingpong_1MiB_us'],
    [16 << 20, 'pingpong_16MiB_half_rtt_us_loopback_tcp', 10, 'pingpong_16MiB_us'],
  ] as const) {
    progress(`ping-pong ${bytes} B over loopback TCP`);
    const us = await median(wTcp, 'pingpong', [bytes, reps, Math.max(2, reps / 10)]);
    line({ name, p: 2, value: +us.toFixed(3), unit: 'us', better: 'lower', compare: { mpi4py_tcp: peerKey }, extra: { node_2proc_direct_same_run_us: +nodeDirectFigures[bytes]!.toFixed(3), ratio_to_node_2proc_direct: +(us / nodeDirectFigures[bytes]!).toFixed(3) } });
  }
} finally {
  await wTcp.close();
}

for (const p of [2, 4]) {
  const w = await startWorld({ procs: p, backend: 'tcp' });
  try {
    progress(`empty sync and barrier at P=${p}`);
    const sync = await median(w, 'emptySync', [2000, 200], 3);
    line({ name: 'empty_sync_us', p, value: +sync.toFixed(3), unit: 'us', better: 'lower', compare: { mpi4py_tcp: 'barrier_us' } });
    const bar = await median(w, 'barrier', [5000, 500], 3);
    line({ name: 'barrier_transport_us', p, value: +bar.toFixed(3), unit: 'us', better: 'lower', compare: { mpi4py_tcp: 'barrier_us' } });
  } finally {
    await w.close();
  }
}
