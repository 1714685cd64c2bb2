import { startWorld } from '../core/launch/world.js';
const w = await startWorld({ procs: 2 });
for (const h of [0, 0, 8, 256, 512, 4096, 65536, 0, 0]) {
  const t0 = performance.now();
  const out = await w.job<number[]>({ kind: 'call', url: new URL('../core/cost/probe-rank.ts', import.meta.url).href, fn: 'probeHRelation', args: [h, 200, 5] }, { timeoutMs: 10000 });
  const ts = (out.results[0] ?? []).map((x) => x * 1e6).sort((a, b) => a - b);
  console.log(h, out.ok, out.failure?.error.message, (performance.now() - t0).toFixed(1), 'min', ts[0]?.toFixed(1), 'med', ts[ts.length >> 1]?.toFixed(1), 'p90', ts[Math.floor(ts.length * 0.9)]?.toFixed(1));
  if (!out.ok) break;
}
await w.close();
