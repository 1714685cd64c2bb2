import { rendezvous, startCoordinator } from '../comm/tcp/rendezvous.ts';
import { createTcpTransport } from '../comm/tcp/transport.ts';
const secret = new Uint8Array(Buffer.from('x'));
const coord = await startCoordinator({ size: 2, secret, host: '127.0.0.1' });
const ts = [0, 1].map((rank) => createTcpTransport({ rank, size: 2, secret }));
const tables = await Promise.all(ts.map((t, rank) => rendezvous({ coord: coord.address, secret, rank, size: 2, timeoutMs: 5000, listen: (h) => t.listen(h) })));
await Promise.all(ts.map((t, r) => t.connect(tables[r]!)));
const bytes = 8, reps = 20000;
const buf = new Uint8Array(bytes), into0 = new Uint8Array(bytes), into1 = new Uint8Array(bytes);
for (let k = 0; k < 3; k++) {
  const t0 = performance.now();
  const a = (async () => { for (let i = 0; i < reps; i++) { await ts[0]!.send(1, 7, 1, buf); await ts[0]!.recv(1, 7, 1, into0); } })();
  const b = (async () => { for (let i = 0; i < reps; i++) { const m = await ts[1]!.recv(0, 7, 1, into1); await ts[1]!.send(0, 7, 1, m.data); } })();
  await Promise.all([a, b]);
  console.log((((performance.now() - t0) * 1000) / reps / 2).toFixed(2), 'us');
}
await Promise.all(ts.map((t) => t.close()));
coord.close();
