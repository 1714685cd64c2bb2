/**
 * The tcp backend: ranks are processes on one or many hosts, joined by a mesh of TCP (or,
 * on one host, Unix-domain) connections. Needs nothing beyond Node.
 */
import { moduleUrl } from '../../../util/module-url.js';
import type { BackendDescriptor } from '../types.js';
import { engineJoin } from './env.js';

export const tcp: BackendDescriptor = {
  name: 'tcp',
  summary: 'processes over a TCP/Unix-socket mesh (many hosts, no dependencies; also under mpirun/srun/Kubernetes)',
  capabilities: { sharedMemory: false, processes: true, multiHost: true },
  unavailable: () => undefined,
  startWorld: async (options) => (await import('./launcher.js')).startTcpWorld(options),
  rankModule: moduleUrl('./rank', import.meta.url),
  joinFromEnv: engineJoin,
  runOnHosts: async (run) => {
    const { parseHostfile, runOnHosts } = await import('./hosts.js');
    const { readFileSync } = await import('node:fs');
    return runOnHosts({ hosts: parseHostfile(readFileSync(run.hostsFile, 'utf8')), procs: run.procs, script: run.script, args: run.args, timeoutMs: run.timeoutMs });
  },
  benchPeer: 'mpi4py_tcp',
};
