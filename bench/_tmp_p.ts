import { startWorld } from '../core/launch/world.js';
for (const p of [1, 2]) {
  const w = await startWorld({ procs: p, backend: 'sab' });
  const r = await w.job<string>({ kind: 'call', url: new URL('./_tmp_probe.ts', import.meta.url).href, fn: 'probe', args: [4096] });
  console.log(p, r.results ?? r.failure);
  await w.close();
}
