import { vectorFromArray, Dictionary, Utf8, Int32, Table, tableFromIPC, TimestampMillisecond } from 'apache-arrow';
import { readFileSync } from 'node:fs';
import { DistFrame } from '../distarray/frame.js';
import { writeArrow, readArrow } from '../io/arrow.js';
import { saveNpy, loadNpy } from '../io/npy.js';
import { writeAtAll, readAtAll, fileView } from '../io/raw.js';
import { DistArray } from '../distarray/distarray.js';
const t = new Table({
  k: vectorFromArray(['a', 'b', null, 'a', 'b', 'c'], new Dictionary(new Utf8(), new Int32())),
  s: vectorFromArray(['x', 'y', 'z', null, 'y', 'w']),
  x: vectorFromArray([1, 2, 3, null, 5, 6]),
  ts: vectorFromArray([1n, 2n, 3n, 4n, 5n, null], new TimestampMillisecond()),
});
const f = await DistFrame.fromArrow(t);
await writeArrow('/tmp/x.arrow', f, { batchRows: 4 });
const back = tableFromIPC(readFileSync('/tmp/x.arrow'));
console.log(back.batches.length, back.toArray().map((r) => r.toJSON()));
const r = await readArrow('/tmp/x.arrow');
console.log((await r.toArrow())!.toArray().map((r) => r.toJSON()));
await writeArrow('/tmp/xds', f, { dataset: true });
console.log((await (await readArrow('/tmp/xds')).toArrow())!.numRows);
const a = await DistArray.fromFunction([3, 4], (i, j) => i * 10 + j);
await saveNpy('/tmp/a.npy', a);
const b = await loadNpy('/tmp/a.npy');
console.log(await b.gather());
await writeAtAll('/tmp/r.bin', new Float64Array([1, 2, 3]), fileView('cyclic', 3, 'float64'));
console.log(await readAtAll('/tmp/r.bin', fileView('block', 3, 'float64')));
