// Helpers for tests that start plain processes (as mpirun, srun or Kubernetes would).
import { spawn } from 'node:child_process';
import net from 'node:net';

export interface ProcResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
  /** When the process ended (Date.now()). */
  endedAt: number;
}

/** A TCP port that was free a moment ago. */
export async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

/**
 * Starts `node ...argv` once per entry, in parallel; resolves when all have exited. Any still
 * running after `timeoutMs` gets SIGTERM (SIGKILL 3 s later) and is marked timedOut, so a test never hangs
 * and never leaves a process behind.
 */
export function runProcs(procs: { argv: string[]; env?: Record<string, string>; command?: string }[], timeoutMs: number, cwd: string): Promise<ProcResult[]> {
  return Promise.all(
    procs.map(
      (p) =>
        new Promise<ProcResult>((resolve) => {
          const child = spawn(p.command ?? process.execPath, p.argv, { cwd, env: { ...process.env, ...p.env }, stdio: ['ignore', 'pipe', 'pipe'] });
          let stdout = '';
          let stderr = '';
          let timedOut = false;
          child.stdout.on('data', (d) => (stdout += d));
          child.stderr.on('data', (d) => (stderr += d));
          // SIGTERM first, so that a script can clean up (netns-test.sh removes its namespaces).
          let hard: NodeJS.Timeout | undefined;
          const t = setTimeout(() => {
            timedOut = true;
            child.kill('SIGTERM');
            hard = setTimeout(() => child.kill('SIGKILL'), 3000);
          }, timeoutMs);
          child.on('close', (code, signal) => {
            clearTimeout(t);
            clearTimeout(hard);
            resolve({ code, signal, stdout, stderr, timedOut, endedAt: Date.now() });
          });
        }),
    ),
  );
}
