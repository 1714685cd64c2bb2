import { startWorld } from '../core/launch/world.ts';
try { const w = await startWorld({ procs: 2, backend: 'sab' }); console.log('ok'); await w.close(); } catch (e) { console.log('ERR', e); }
