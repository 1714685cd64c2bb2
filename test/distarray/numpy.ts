// numpy as a second reference: rank-side code writes .npy files into a fresh directory, a
// python3 script (argv[1] = the directory) prints JSON, which the caller checks.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const python = '/usr/bin/python3';

/** `script`'s JSON output after `write(dir)`; undefined (and a note) when python3 has no numpy. */
export async function numpyJudges<T>(write: (dir: string) => Promise<unknown>, script: string): Promise<T | undefined> {
  try {
    execFileSync(python, ['-c', 'import numpy'], { stdio: 'ignore' });
  } catch {
    console.log('numpy sample skipped: python3 with numpy is not available');
    return undefined;
  }
  const dir = mkdtempSync(join(tmpdir(), 'superstep-npy-'));
  try {
    await write(dir);
    return JSON.parse(execFileSync(python, ['-c', script, dir]).toString()) as T;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
