import { callAll, closeWorlds } from '../test/harness.js';
import { execFileSync } from 'node:child_process';
const spec = { shape: [7, 5], grid: [1, 3], axes: [{ kind: 'block' }, { kind: 'cyclic' }] };
execFileSync('python3', ['-c', "import numpy as np; np.save('/tmp/n1.npy', np.arange(24, dtype='<i4').reshape(4, 6))"]);
for (const b of ['sab'] as const) {
  await callAll(b, 3, 'io.ts', 'saveNpyCheck', ['/tmp/n.npy', spec, 'float64']);
  let t0 = performance.now();
  await callAll(b, 3, 'io.ts', 'saveNpyCheck', ['/tmp/n.npy', spec, 'float64']);
  console.log('save', performance.now() - t0);
  t0 = performance.now();
  await callAll(b, 3, 'io.ts', 'loadNpyCheck', ['/tmp/n1.npy', { shape: [4, 6], grid: [1, 3], axes: spec.axes }]);
  console.log('load', performance.now() - t0);
  t0 = performance.now();
  await callAll(b, 2, 'io.ts', 'loadNpyCheck', ['/tmp/n1.npy', null]);
  console.log('load2', performance.now() - t0);
  t0 = performance.now();
  execFileSync('python3', ['-c', "import numpy as np; print(np.load('/tmp/n.npy'))"]);
  console.log('py', performance.now() - t0);
}
await closeWorlds();
