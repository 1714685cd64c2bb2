import { tableFromArrays, vectorFromArray, Dictionary, Utf8, Int32, Table, makeTable } from 'apache-arrow';
import { DistFrame } from '../distarray/frame.js';
const t = new Table({
  k: vectorFromArray(['a', 'b', null, 'a', 'b', 'c'], new Dictionary(new Utf8(), new Int32())),
  s: vectorFromArray(['x', 'y', 'z', null, 'y', 'w']),
  x: vectorFromArray([1, 2, 3, null, 5, 6]),
  i: vectorFromArray(new Int32Array([5, 4, 3, 2, 1, 0])),
});
const f = await DistFrame.fromArrow(t);
const g = await f.groupBy('k').agg({ x: ['sum', 'mean', 'count', 'min', 'max'], n: { op: 'count' } });
console.log((await g.toArrow())!.toArray().map((r) => r.toJSON()));
const s = await f.sortBy(['x'], { descending: true });
console.log((await s.toArrow())!.toArray().map((r) => r.toJSON()));
const j = await f.join(f.select('s', 'i'), 's', { how: 'left' });
console.log((await j.toArrow())!.toArray().map((r) => r.toJSON()));
console.log((await f.head(2)).toArray().map((r) => r.toJSON()), await f.describe());
const w = f.withColumn('z', (c) => Float64Array.from(c.i as Int32Array, (v) => v * 2)).filter((c) => (c.z as Float64Array).map((v) => +(v > 2)));
console.log((await w.toArrow())!.toArray().map((r) => r.toJSON()));
