import { tableFromIPC } from 'apache-arrow';
import { readFileSync } from 'node:fs';
const t = tableFromIPC(readFileSync('/tmp/p2.arrow'));
const parts = t.batches.map((b) => b.data.children[0]!);
const n = parts.reduce((s, p) => s + p.length, 0);
for (let k = 0; k < 3; k++) {
  let t0 = performance.now(); const out = new Float64Array(n); const t1 = performance.now();
  let at = 0; for (const p of parts) { out.set((p.values as Float64Array).subarray(0, p.length), at); at += p.length; }
  const t2 = performance.now();
  const out2 = new Float64Array(n); out2.set(out); const t3 = performance.now();
  console.log('alloc', (t1 - t0).toFixed(0), 'set', (t2 - t1).toFixed(0), 'plain copy', (t3 - t2).toFixed(0), parts.length, (parts[0]!.values as Float64Array).byteOffset % 8);
}
