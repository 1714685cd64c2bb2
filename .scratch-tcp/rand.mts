import fc from 'fast-check';
import { startWorld } from '/work/main/core/launch/world.ts';
const backend = (process.argv[2] ?? 'tcp') as 'tcp' | 'sab';
const p = Number(process.argv[3] ?? 3);
const url = new URL('/work/main/test/fixtures/transport-patterns.ts', 'file://').href;
let w = await startWorld({ procs: p, backend });
const msg = fc.record({ src: fc.nat({ max: p - 1 }), dst: fc.nat({ max: p - 1 }), tag: fc.nat({ max: 3 }),
  n: fc.oneof({ arbitrary: fc.nat({ max: 64 }), weight: 6 }, { arbitrary: fc.constant(0), weight: 1 }, { arbitrary: fc.integer({ min: 60_000, max: 70_000 }), weight: 1 }), seed: fc.nat({ max: 255 }) });
const plans = fc.sample(fc.tuple(fc.array(msg, { maxLength: 4 * p }), fc.nat({ max: 3 })), 40);
for (const [i, [plan, any]] of plans.entries()) {
  const t0 = performance.now();
  const out = await w.job({ kind: 'call', url, fn: 'runPattern', args: [plan, any] }, { timeoutMs: 5000 });
  if (!out.ok) { console.log('FAIL', i, (performance.now()-t0).toFixed(0), JSON.stringify(out.failure).slice(0, 300), JSON.stringify(plan), any); w = await startWorld({ procs: p, backend }); }
}
console.log('done');
await w.close();
