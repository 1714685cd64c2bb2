/** The sab backend: ranks are worker threads of one process, talking through shared memory. */
import { moduleUrl } from '../../../util/module-url.js';
import type { BackendDescriptor } from '../types.js';

export const sab: BackendDescriptor = {
  name: 'sab',
  summary: 'worker threads of one process over SharedArrayBuffer (one machine; the default)',
  capabilities: { sharedMemory: true, processes: false, multiHost: false },
  unavailable: () => undefined,
  startWorld: async (options) => (await import('./launcher.js')).startSabWorld(options),
  rankModule: moduleUrl('./rank', import.meta.url),
  benchPeer: 'mpi4py',
};
