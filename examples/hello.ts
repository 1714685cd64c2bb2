// Hello from every rank, then a ring: each rank sends its greeting to the next one.
// Run: npx superstep run -n 4 examples/hello.ts
import { bsp } from 'superstep';

const p = bsp.procCount();
const me = bsp.myProcID();
console.log(`hello from rank ${me} of ${p}`);

bsp.fromObject({ from: me, text: `greetings from ${me}` }, 'greeting');
bsp.toProc((me + 1) % p, 'greeting');
await bsp.sync('ring');

const left = (me + p - 1) % p;
const got = bsp.toObject<{ from: number; text: string }>(bsp.fromProc(left)['greeting']!);
console.log(`rank ${me} got "${got.text}" from rank ${got.from}`);
if (got.from !== left) throw new Error(`rank ${me} expected a greeting from ${left}, got one from ${got.from}`);
