import net from 'node:net';
// plain node in-process ping-pong with full-message framing, same as bench nodeTcp
for (const bytes of [65536, 1 << 20]) {
  const srv = net.createServer((s) => { s.setNoDelay(true); let got = 0; const reply = Buffer.alloc(bytes);
    s.on('data', (d) => { got += d.length; if (got >= bytes) { got -= bytes; s.write(reply); } }); });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const c = net.connect((srv.address() as net.AddressInfo).port, '127.0.0.1'); c.setNoDelay(true);
  await new Promise((r) => c.once('connect', r));
  const msg = Buffer.alloc(bytes); let got = 0; let wake: any;
  c.on('data', (d) => { got += d.length; if (got >= bytes) { got -= bytes; wake?.(); } });
  const reps = 100; const t0 = performance.now();
  for (let i = 0; i < reps; i++) await new Promise<void>((r) => { wake = r; c.write(msg); });
  console.log('plain', bytes, (((performance.now() - t0) * 1000) / reps / 2).toFixed(1), 'us');
  // with write callback awaited first (like our send)
  const t1 = performance.now();
  for (let i = 0; i < reps; i++) { const p = new Promise<void>((r) => { wake = r; }); await new Promise<void>((r) => c.write(msg, () => r())); await p; }
  console.log('plain+cb', bytes, (((performance.now() - t1) * 1000) / reps / 2).toFixed(1), 'us');
  c.destroy(); srv.close();
}
