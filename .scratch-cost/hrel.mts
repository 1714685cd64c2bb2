import { startWorld } from '/work/main/core/launch/world.ts';
const w = await startWorld({ procs: 2 });
for (const h of [0, 0, 8, 256, 512]) {
  const t0 = performance.now();
  const out = await w.job({ kind: 'call', url: new URL('file:///work/main/core/cost/probe-rank.ts').href, fn: 'probeHRelation', args: [h, 10, 2] }, { timeoutMs: 5000 });
  console.log(h, out.ok, out.failure?.error.message, (performance.now() - t0).toFixed(1), JSON.stringify((out.results[0] as number[] | undefined)?.map((x) => +(x * 1e6).toFixed(1))));
  if (!out.ok) break;
}
await w.close();
