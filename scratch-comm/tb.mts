import { startWorld } from '../core/launch/world.ts';
const w = await startWorld({ procs: 2, backend: 'sab' });
const url = new URL('./tb-ranks.ts', import.meta.url).href;
for (let k = 0; k < 2; k++) for (const fn of ['tbarrier', 'cbarrier', 'callreduce', 'tpingpong', 'big8', 'memcpy']) {
  const out = await w.job<number>({ kind: 'call', url, fn, args: [] }, { timeoutMs: 60000 });
  console.log(fn, out.ok ? out.results.map((x) => x!.toFixed(3)).join(' ') : out.failure);
}
await w.close();
