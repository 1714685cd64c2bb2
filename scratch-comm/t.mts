import { callAll, closeWorlds } from '../test/harness.ts';
const b = (process.env.B ?? 'sab') as 'sab';
for (const p of [2, 8]) {
  let t0 = performance.now();
  await callAll(b, p, 'comm-cases.ts', 'floatAllreduce', [1, 7]);
  console.log('start+first', p, (performance.now() - t0).toFixed(0));
  for (const len of [7, 9000]) {
    t0 = performance.now();
    for (let i = 0; i < 5; i++) await callAll(b, p, 'comm-cases.ts', 'floatAllreduce', [i, len]);
    console.log('floatAllreduce x5', p, len, (performance.now() - t0).toFixed(0));
  }
  const msgs = Array.from({ length: 30 }, (_, i) => ({ src: i % p, dst: (i * 3) % p, tag: i % 4, len: 10 }));
  t0 = performance.now();
  for (let i = 0; i < 5; i++) await callAll(b, p, 'comm-cases.ts', 'p2pSchedule', [i, msgs, i % 2 === 0]);
  console.log('p2p x5', p, (performance.now() - t0).toFixed(0));
  t0 = performance.now();
  for (let i = 0; i < 5; i++) await callAll(b, p, 'comm-cases.ts', 'noLeak', [3]);
  console.log('noleak x5', p, (performance.now() - t0).toFixed(0));
}
await closeWorlds();
