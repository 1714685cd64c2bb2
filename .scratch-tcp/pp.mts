import { startWorld } from '../core/launch/world.ts';
const url = new URL('../bench/sab-ranks.ts', import.meta.url).href;
const w = await startWorld({ procs: 2, backend: 'tcp' });
for (const [bytes, reps] of [[8, 5000], [65536, 500], [1 << 20, 100], [4 << 20, 30], [16 << 20, 10]]) {
  const xs = [];
  for (let i = 0; i < 3; i++) {
    const out = await w.job<number>({ kind: 'call', url, fn: 'pingpong', args: [bytes, reps, 5] }, { timeoutMs: 60000 });
    xs.push(out.results[0]!);
  }
  xs.sort((a, b) => a - b);
  console.log(bytes, xs.map((x) => x.toFixed(1)).join(' '), 'us', (bytes / (xs[1]! * 1e-6) / 1e9).toFixed(3), 'GB/s');
}
await w.close();
