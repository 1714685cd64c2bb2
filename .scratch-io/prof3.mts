import { tableFromIPC, Table } from 'apache-arrow';
import { readFileSync } from 'node:fs';
import { concat } from '../distarray/frame-kernels.js';
const t = tableFromIPC(readFileSync('/tmp/p2.arrow'));
for (let k = 0; k < 2; k++) {
  const parts = t.batches.map((b) => b.data.children[0]!);
  let t0 = performance.now(); const d = concat(t.schema.fields[0]!.type, parts); console.log('concat f64', performance.now() - t0, parts.length, parts[0]!.values.constructor.name, parts[0]!.nullCount, parts[0]!.offset);
}
