// The BSP cost model in a program: predict, run, compare. Run it with
//   npx superstep run -n 2 --profile examples/cost-profile.ts
import { bsp } from 'superstep';

const p = bsp.procCount();
const me = bsp.myProcID();
const n = 1 << 16; // words per rank

// Before running: two ways to sum a distributed vector of p·n doubles on every rank.
//  (a) gather everything everywhere, then add: 1 superstep, h = (p-1)·n, w = p·n flops
//  (b) add locally, exchange one partial sum:   1 superstep, h = p-1,     w = n flops
const params = { g: 1.4e-9, l: 1.5e-6, r: 1e9 }; // or leave out to use `superstep probe`'s file
const a = bsp.predict({ w: p * n, h: (p - 1) * n, supersteps: 1, params });
const b = bsp.predict({ w: n, h: p - 1, supersteps: 1, params });
if (me === 0) console.log(`predicted: gather-all ${(a.seconds * 1e6).toFixed(1)} µs, partial sums ${(b.seconds * 1e6).toFixed(1)} µs`);

// Run (b).
const x = new Float64Array(n).fill(me + 1);
let partial = 0;
for (let i = 0; i < n; i++) partial += x[i]!;
bsp.fromObject(partial, 'partial');
for (let d = 0; d < p; d++) bsp.toProc(d, 'partial');
await bsp.sync('partial sums');
let total = 0;
for (let s = 0; s < p; s++) total += bsp.toObject<number>(bsp.fromProc(s)['partial']!);
if (me === 0) console.log(`total ${total}`);

// With --profile (or SUPERSTEP_PROFILE=1), every superstep was recorded.
if (process.env.SUPERSTEP_PROFILE === '1' && me === 0) {
  for (const row of bsp.profile({ params })) {
    console.log(`superstep ${row.superstep} '${row.passPhrase}': w ${(row.w * 1e6).toFixed(1)} µs, h ${row.h} words, measured ${(row.t * 1e6).toFixed(1)} µs, predicted ${(row.predicted! * 1e6).toFixed(1)} µs`);
  }
}
