// Global arrays from per-rank blocks: PyBSP's merge, one-sided get/put/acc, locks and DRMA.
// Run: npx superstep run -n 3 examples/global-array.ts   (any number of ranks; --backend tcp too)
import { bsp } from 'superstep';

const p = bsp.procCount();
const me = bsp.myProcID();

// Each rank owns a block of rows; blocks may differ in length (rank r has r + 1 rows).
bsp.createArray('grid', 'float64', [me + 1, 4]);
bsp.asArray<Float64Array>('grid').fill(me);

// Collective: the blocks become one (sum of rows) x 4 array, in place. No data moves.
const ga = await bsp.merge<Float64Array>('grid', { axis: 0 });
const rows = ga.shape[0]!;
console.log(`rank ${me}: ${ga}, my rows ${JSON.stringify(ga.localRegion()[0])}`);

// Any rank reads any region, across owners: one request per owner.
const col = await ga.get([[0, rows], [1, 2]]);
const expected = Array.from({ length: p }, (_, r) => new Array(r + 1).fill(r)).flat();
if (Array.from(col).join() !== expected.join()) throw new Error(`rank ${me}: column 1 is ${Array.from(col)}`);

// Everyone accumulates into the last column concurrently: acc never loses an update.
await ga.acc([[0, rows], [3, 4]], 1);
// A read-modify-write of one element under its lock.
await ga.lock([0, 0]);
const [v] = await ga.get([[0, 1], [0, 1]]);
await ga.put([[0, 1], [0, 1]], [v! + 10]);
await ga.unlock([0, 0]);
await ga.sync(); // fence + barrier: every rank now sees every write

const last = await ga.get([[0, rows], [3, 4]]);
if (!Array.from(last).every((x, i) => x === expected[i]! + p)) throw new Error(`rank ${me}: last column ${Array.from(last)}`);
const corner = (await ga.get([[0, 1], [0, 1]]))[0];
if (corner !== 10 * p) throw new Error(`rank ${me}: corner ${corner}, expected ${10 * p}`);

// BSPlib-style DRMA on a shared package: applied at the next sync, not before.
bsp.createArray('inbox', 'int32', [p]);
await bsp.share('inbox');
for (let d = 0; d < p; d++) bsp.put(d, [me + 100], 'inbox', me);
const peek = bsp.get<Int32Array>((me + 1) % p, 'inbox'); // filled at the sync, with values from before its puts
await bsp.sync('drma');
const inbox = Array.from(bsp.asArray<Int32Array>('inbox'));
if (inbox.join() !== Array.from({ length: p }, (_, r) => r + 100).join()) throw new Error(`rank ${me}: inbox ${inbox}`);
if (Array.from(peek).some((x) => x !== 0)) throw new Error(`rank ${me}: get saw ${Array.from(peek)}`);
if (me === 0) console.log(`ok: ${p} ranks, ${rows} rows; corner ${corner}; inbox ${inbox.join(', ')}`);
