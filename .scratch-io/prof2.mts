import { readArrow } from '../io/arrow.js';
for (let k = 0; k < 3; k++) { const t0 = performance.now(); const r = await readArrow('/tmp/p2.arrow'); console.log('readArrow', performance.now() - t0, r.localRows); }
