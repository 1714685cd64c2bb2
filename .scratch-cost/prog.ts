import { bsp } from 'superstep';
const p = bsp.procCount(), me = bsp.myProcID();
const x = new Float64Array(1000 * (me + 1));
for (let s = 0; s < 4; s++) {
  let acc = 0;
  for (let k = 0; k < 200000 * (s + 1); k++) acc += Math.sqrt(k);
  bsp.fromArray(x, 'x');
  for (let d = 0; d < p; d++) if (d !== me) bsp.toProc(d, 'x');
  await bsp.sync(`step ${s}`);
  if (acc < 0) console.log(acc);
}
if (me === 0) console.log(JSON.stringify(bsp.profile()));
