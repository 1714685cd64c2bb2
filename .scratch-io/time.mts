import { callAll, closeWorlds } from '../test/harness.js';
for (const b of ['sab', 'tcp'] as const) {
  for (const p of [1, 3]) {
    await callAll(b, p, 'io.ts', 'writeTable', ['/tmp/tt.arrow', 1, 10, 5, false]);
    let t0 = performance.now();
    for (let i = 0; i < 3; i++) await callAll(b, p, 'io.ts', 'writeTable', ['/tmp/tt.arrow', 1, 10, 5, false]);
    const w = (performance.now() - t0) / 3;
    t0 = performance.now();
    for (let i = 0; i < 3; i++) await callAll(b, p, 'io.ts', 'readTable', ['/tmp/tt.arrow', false]);
    const r = (performance.now() - t0) / 3;
    t0 = performance.now();
    for (let i = 0; i < 3; i++) await callAll(b, p, 'io.ts', 'frameOps', [1, 30]);
    console.log(b, p, 'write', w.toFixed(0), 'read', r.toFixed(0), 'ops', ((performance.now() - t0) / 3).toFixed(0));
  }
}
await closeWorlds();
