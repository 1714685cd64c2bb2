import { tableFromIPC } from 'apache-arrow';
import { readFileSync } from 'node:fs';
import { Footer } from 'apache-arrow/ipc/metadata/file';
const b = readFileSync('/tmp/xds/part-00000.arrow');
const t = tableFromIPC(b); console.log(t.numRows, t.batches.length);
const flen = b.readInt32LE(b.length - 10);
const f = Footer.decode(b.subarray(b.length - 10 - flen, b.length - 10));
console.log([...f.recordBatches()], [...f.dictionaryBatches()]);
