import { startWorld } from '../core/launch/world.js';
const url = new URL('./fx.ts', import.meta.url).href;
for (const b of [1 << 16, 1 << 17, 1 << 18, (1 << 19) - 4096, 1 << 19]) {
  const w = await startWorld({ procs: 2 });
  const t0 = performance.now();
  const out = await w.job({ kind: 'call', url, fn: 'xchg', args: [b, 5] }, { timeoutMs: 4000 });
  console.log(b, out.ok, out.failure?.error.message, (performance.now() - t0).toFixed(1));
  await w.close();
}
