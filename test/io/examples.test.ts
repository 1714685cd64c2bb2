// examples/groupby.ts run as a user runs it (`superstep run -n P ...`), at a small size; it
// checks itself against a sequential computation and exits non-zero if it differs.
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { backends } from '../harness.js';

const run = promisify(execFile);
const root = fileURLToPath(new URL('../../', import.meta.url));

describe.each(backends())('io examples on %s', (backend) => {
  it('examples/groupby.ts', async () => {
    const p = 2;
    const { stdout } = await run(process.execPath, ['bin/superstep.mjs', 'run', '-n', String(p), '--backend', backend, 'examples/groupby.ts', '30000'], { cwd: root, timeout: 120_000 });
    expect(stdout).toMatch(new RegExp(`groupby 30000 rows on ${p} ranks: write \\d+ ms, read \\d+ ms .* groupBy \\d+ ms .*matches the sequential result`));
    expect(stdout.match(/^(north|south|east|west|centre|islands|overseas|online) +rows/gm)?.length).toBe(8);
  }, 150_000);
});
