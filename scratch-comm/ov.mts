import { world } from '../index.ts';
const a = new Float64Array([1]); const out = new Float64Array(1);
for (let k = 0; k < 3; k++) {
  let t0 = performance.now();
  for (let i = 0; i < 200000; i++) await world.allreduce(a, 'SUM', { out });
  console.log('allreduce P=1 us', ((performance.now() - t0) / 200000 * 1e3).toFixed(3));
  t0 = performance.now();
  for (let i = 0; i < 200000; i++) await world.barrier();
  console.log('barrier P=1 us', ((performance.now() - t0) / 200000 * 1e3).toFixed(3));
}
