// Launch a script on 4 local processes over the tcp backend from code, and check every rank.
// Run: node --import tsx examples/run-tcp.ts
import { run } from 'superstep';

const statuses = await run({ procs: 4, backend: 'tcp', timeoutMs: 60_000 }, new URL('./hello.ts', import.meta.url));
for (const s of statuses) console.log(`rank ${s.rank}: ${s.state} (exit ${s.exitCode})`);
if (statuses.some((s) => s.exitCode !== 0)) process.exitCode = 1;
