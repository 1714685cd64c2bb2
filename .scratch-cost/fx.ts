import { context } from '../core/context.js';
import { bsp } from '../core/bsp.js';
export async function xchg(bytes: number, reps: number): Promise<string> {
  const t = context().transport;
  const buf = new Uint8Array(bytes);
  for (let i = 0; i < reps; i++) {
    const s = t.send(1 - t.rank, 9, i, buf);
    const m = await t.recv(1 - t.rank, 9, i);
    await s;
    if (m.data.byteLength !== bytes) throw new Error('len');
  }
  return 'ok';
}
export async function bspx(words: number, reps: number, shared: boolean): Promise<string> {
  const me = bsp.myProcID();
  if (shared) bsp.createArray('a', 'f8', words); else bsp.fromArray(new Float64Array(words), 'a');
  for (let i = 0; i < reps; i++) { bsp.toProc(1 - me, 'a'); await bsp.sync(); }
  return 'ok';
}
