// A service rank, after the pyMPI paper: ranks 0 .. P-2 compute on a sub-communicator of
// their own and write a dump file per step; the last rank archives each dump (gzip) when a
// worker asks, and stops once every worker has said "done".
// Run: npx superstep run -n 4 examples/service-rank.ts [steps] [dir]
import { mkdtemp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { world, ANY_SOURCE, Status, UNDEFINED } from 'superstep';

type Request = { cmd: 'archive'; file: string } | { cmd: 'done' };

const steps = Number(process.argv[2] ?? 3);
const server = world.size - 1;
if (world.size < 2) throw new Error('service-rank needs at least 2 ranks (workers and one archiver)');

// Every rank agrees on one directory: rank 0 makes it (unless given) and broadcasts it.
const dir = await world.bcastObject<string>(world.rank === 0 ? (process.argv[3] ?? (await mkdtemp(join(tmpdir(), 'superstep-dumps-')))) : '', 0);

// The workers' own communicator: the archiver passes UNDEFINED and gets null.
const workers = await world.split(world.rank < server ? 0 : UNDEFINED, world.rank);

if (workers) {
  let state = new Float64Array([workers.rank + 1]);
  for (let step = 0; step < steps; step++) {
    // Some computation that needs the workers only.
    const total = await workers.allreduce(state);
    state = new Float64Array([state[0]! + total[0]!]);
    const file = join(dir, `dump-${step}-${workers.rank}.json`);
    await writeFile(file, JSON.stringify({ step, rank: workers.rank, value: state[0] }));
    await world.sendObject({ cmd: 'archive', file } satisfies Request, server);
  }
  await world.sendObject({ cmd: 'done' } satisfies Request, server);
} else {
  const archive = join(dir, 'archive');
  await mkdir(archive, { recursive: true });
  let done = 0;
  let archived = 0;
  const status = new Status();
  while (done < server) {
    const msg = await world.recvObject<Request>(ANY_SOURCE, 0, { status });
    if (msg.cmd === 'done') {
      done++;
      continue;
    }
    await writeFile(join(archive, basename(msg.file) + '.gz'), gzipSync(await readFile(msg.file)));
    await rm(msg.file);
    archived++;
  }
  console.log(`archived ${archived} dumps from ${server} workers into ${archive}`);
}
