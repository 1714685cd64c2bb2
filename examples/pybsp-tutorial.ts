// PyBSP's README walkthrough, step by step, in superstep.
// Run: npx superstep run -n 4 examples/pybsp-tutorial.ts
import { bsp } from 'superstep';

// >>> p = bsp.procCount(); q = bsp.myProcID()
const p = bsp.procCount();
const q = bsp.myProcID();
const say = (msg: string) => console.log(`[${q}/${p}] ${msg}`);

// >>> bsp.fromObject(somePythonObject, 'name1')
// Pack an object into a package named 'name1' (any msgpack-able value, typed arrays included).
bsp.fromObject({ greeting: 'hello', from: q, primes: [2, 3, 5, 7] }, 'name1');

// >>> bsp.fromNumpy(someNumpyArray, 'name2')   (superstep: fromArray; fromNumpy is an alias)
// Pack a copy of a typed array (or an @stdlib ndarray), with an optional shape.
const someArray = Float64Array.from({ length: 6 }, (_, i) => q * 10 + i);
bsp.fromArray(someArray, 'name2', [2, 3]);

// >>> bsp.toProc(someProcID, 'name1'); bsp.toProc(anotherProcID, 'name2')
// Queue 'name1' for the next rank and 'name2' for the previous one.
const next = (q + 1) % p;
const prev = (q + p - 1) % p;
bsp.toProc(next, 'name1');
bsp.toProc(prev, 'name2');

// >>> bsp.sync('some pass phrase')
// The superstep boundary: the exchange happens here, and every rank must use the same phrase.
await bsp.sync('some pass phrase');

// >>> obj1 = bsp.toObject(bsp.fromProc(senderProcID)['name1'])
const obj1 = bsp.toObject<{ greeting: string; from: number; primes: number[] }>(bsp.fromProc(prev)['name1']!);
say(`name1 from rank ${prev}: ${JSON.stringify(obj1)}`);

// >>> numpyArray2 = bsp.toNumpy(bsp.fromProc(senderProcID)['name2'])
// toArray gives a typed-array view (no copy); toNdarray (alias toNumpy) an @stdlib ndarray view.
const pkg2 = bsp.fromProc(next)['name2']!;
const arr2 = bsp.toNdarray(pkg2);
say(`name2 from rank ${next}: shape [${arr2.shape}], arr2[1][2] = ${arr2.get(1, 2)}, as typed array: ${bsp.toArray(pkg2).join(' ')}`);

// >>> bsp.createArray('arr.a1', 'f8', [10, 10])
// A zeroed package in shared memory, with dtypes by name or numpy code.
bsp.createArray('arr.a1', 'f8', [10, 10]);
bsp.createArray('arr.a2', 'int32', [4]);
bsp.createArray('arr.b', 'u1', [3]);

// >>> arrayView = bsp.asNumpy('name3')   (superstep: asNdarray; asNumpy is an alias)
// A live view: writes go straight into the package, and a later toProc sends them.
const view = bsp.asNdarray('arr.a1');
for (let i = 0; i < 10; i++) view.set(i, i, q + 1); // (q + 1) * identity
bsp.toProc(next, 'arr.a1');
await bsp.sync('after createArray');
const a1 = bsp.toNdarray(bsp.fromProc(prev)['arr.a1']!);
let trace = 0;
for (let i = 0; i < 10; i++) trace += a1.get(i, i);
say(`trace of arr.a1 from rank ${prev}: ${trace}`);
if (trace !== (prev + 1) * 10) throw new Error(`expected trace ${(prev + 1) * 10}, got ${trace}`);

// >>> bsp.delete('packageName'); bsp.delete('arr')   (a dotted prefix deletes arr.a1, arr.a2 and arr.b)
bsp.delete('name1');
bsp.delete('arr');
say(`packages left: ${bsp.packageNames().join(', ')}`);
