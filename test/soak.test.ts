// A 30-run sample of the fault soak (scripts/soak.sh runs 1000): every fault kind, sab and tcp,
// P = 2 and 4. No hang, the right exit code, the failing rank named, no process left 5 s after.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';

const root = fileURLToPath(new URL('../', import.meta.url));

it('30 seeded fault runs: no hang, no wrong exit code, the rank named, no orphan', () => {
  const kinds = 'throw,reject,unhandled,asyncthrow,exit,loop,sigkill,sigstop,sigkill-launcher,sigstop-launcher,skip,mismatch';
  const r = spawnSync('sh', ['scripts/soak.sh', '--runs', '30', '--seed', String(13), '--procs', '2,4', '--kinds', kinds, '--parallel', '3'], { cwd: root, encoding: 'utf8', timeout: 900_000 });
  console.log(r.stdout);
  expect(r.stderr).not.toMatch(/BAD /);
  expect(r.stdout).toMatch(/\| total +\| 30 \| 0 \| 0 \| 0 \| 0 \|/);
  expect(r.status).toBe(0);
}, 900_000);
