import { startWorld } from '../core/launch/world.js';
const w = await startWorld({ procs: 2 });
const url = new URL('./fx.ts', import.meta.url).href;
for (const [fn, args] of [['xchg', [1 << 19, 20]], ['bspx', [65536, 20, false]], ['bspx', [65536, 20, true]]] as const) {
  const t0 = performance.now();
  const out = await w.job({ kind: 'call', url, fn, args: [...args] }, { timeoutMs: 8000 });
  console.log(fn, JSON.stringify(args), out.ok, out.failure?.error.message, (performance.now() - t0).toFixed(1));
  if (!out.ok) break;
}
await w.close();
