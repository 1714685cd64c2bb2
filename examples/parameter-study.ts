// A parameter study, after the pyMPI paper: rank 0 scatters the parameters, every rank runs
// an application once per parameter it got (here `node -e` evaluating a formula, standing in
// for any program), and rank 0 gathers and prints the results.
// Run: npx superstep run -n 4 examples/parameter-study.ts [count] [results.json]
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { world } from 'superstep';

const exec = promisify(execFile);
const count = Number(process.argv[2] ?? 8);
const outFile = process.argv[3];

// The application: reads its parameter from the command line, prints one JSON line.
const app = 'const x = Number(process.argv[1]); console.log(JSON.stringify({ x, y: x * x + 1 }))';

// Rank 0 deals the parameters round-robin, one list per rank.
let lists: number[][] | null = null;
if (world.rank === 0) {
  const params = Array.from({ length: count }, (_, i) => i / 2);
  lists = Array.from({ length: world.size }, (_, r) => params.filter((_, i) => i % world.size === r));
}
const mine = await world.scatterObject(lists, 0);

const results: { x: number; y: number; rank: number }[] = [];
for (const x of mine) {
  const { stdout } = await exec(process.execPath, ['-e', app, String(x)]);
  results.push({ ...(JSON.parse(stdout) as { x: number; y: number }), rank: world.rank });
}

const all = await world.gatherObject(results, 0);
if (world.rank === 0) {
  const flat = all!.flat().sort((a, b) => a.x - b.x);
  for (const r of flat) console.log(`x = ${r.x}  ->  y = ${r.y}   (rank ${r.rank})`);
  if (outFile) await writeFile(outFile, JSON.stringify(flat));
}
