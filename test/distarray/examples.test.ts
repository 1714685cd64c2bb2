// The README's distarray examples, run as a user runs them (`superstep run -n P ...`), at
// small sizes; each example checks itself against a sequential computation and throws
// (non-zero exit) if it differs.
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { backends } from '../harness.js';

const run = promisify(execFile);
const root = fileURLToPath(new URL('../../', import.meta.url));

async function superstep(args: string[]): Promise<string> {
  const { stdout } = await run(process.execPath, ['bin/superstep.mjs', 'run', ...args], { cwd: root, timeout: 120_000 });
  return stdout;
}

describe.each(backends())('distarray examples on %s', (backend) => {
  // One run per example and backend (each start costs a few seconds): sab on a 2-D grid,
  // tcp on row blocks; both layouts are covered on both backends by distarray.test.ts.
  const twoD = backend === 'sab';

  it('examples/matvec.ts', async () => {
    const out = await superstep(twoD ? ['-n', '4', '--backend', backend, 'examples/matvec.ts', '70', '2', '2d'] : ['-n', '2', '--backend', backend, 'examples/matvec.ts', '96', '2']);
    expect(out).toMatch(twoD ? /matvec 70 x 70 float64 on 4 ranks \(2 x 2 grid\): [\d.]+ ms per product.*relative error/ : /matvec 96 x 96 float64 on 2 ranks \(2 x 1 grid\): [\d.]+ ms per product.*relative error/);
  }, 150_000);

  it('examples/jacobi.ts', async () => {
    const out = await superstep(twoD ? ['-n', '4', '--backend', backend, 'examples/jacobi.ts', '33', '9', '2d'] : ['-n', '3', '--backend', backend, 'examples/jacobi.ts', '40', '15']);
    expect(out).toMatch(twoD ? /jacobi 33 x 33, 9 sweeps on 4 ranks \(2 x 2 grid\): .*identical to the sequential sweeps/ : /jacobi 40 x 40, 15 sweeps on 3 ranks \(3 x 1 grid\): .*identical to the sequential sweeps/);
  }, 150_000);
});
