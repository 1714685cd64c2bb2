import { RecordBatchStreamWriter, Table, makeVector } from 'apache-arrow';
const a = new Float64Array(1000).fill(1.5);
const t = new Table({ a: makeVector(a) });
const w = new RecordBatchStreamWriter();
w.write(t); w.finish();
let n = 0, same = 0, bytes = 0;
for await (const c of w as AsyncIterable<Uint8Array>) { n++; bytes += c.byteLength; if (c.buffer === a.buffer) same++; }
console.log(n, same, bytes);
