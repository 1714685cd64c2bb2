// Pydsm's vector addition: C = A + B on a cluster of 4 processes sharing A, B and C.
// Each process adds its own chunk, then adds its chunk's sum into a shared total under the
// cluster lock; after a barrier, process 0 checks the total.
// Run: npx tsx examples/pydsm-vector-add.ts [n]
import { isMainThread } from 'node:worker_threads';
import { Cluster, type ClusterResources } from 'superstep';

/** Runs on every process: res = { pid, procs, arrays, lock, barrier }. */
export async function add(res: ClusterResources, n: number): Promise<number> {
  const { pid, procs, arrays, lock, barrier } = res;
  const A = arrays.A as Float64Array;
  const B = arrays.B as Float64Array;
  const C = arrays.C as Float64Array;
  const total = arrays.total as Float64Array;
  const chunk = Math.ceil(n / procs);
  let sum = 0;
  for (let i = pid * chunk; i < Math.min(n, (pid + 1) * chunk); i++) {
    C[i] = A[i]! + B[i]!;
    sum += C[i]!;
  }
  await lock.acquire();
  total[0] = total[0]! + sum; // a read-modify-write: safe only under the lock
  lock.release();
  await barrier();
  return pid === 0 ? total[0]! : sum;
}

async function main(): Promise<void> {
  const n = Number(process.argv[2] ?? 100);
  await using cluster = await Cluster.start(4);
  const A = cluster.createShared('A', [n], 'float64');
  const B = cluster.createShared('B', n); // float64 by default, like Pydsm's shape = n
  const C = cluster.createShared('C', [n]);
  cluster.createShared('total', [1]);
  for (let i = 0; i < n; i++) {
    A[i] = i;
    B[i] = 2 * i;
  }
  const results = await cluster.run<number>(import.meta.url, 'add', n);
  for (let i = 0; i < n; i++) if (C[i] !== 3 * i) throw new Error(`C[${i}] = ${C[i]}, expected ${3 * i}`);
  const expected = (3 * n * (n - 1)) / 2;
  if (results[0] !== expected) throw new Error(`total ${results[0]}, expected ${expected}`);
  console.log(`C = A + B on ${cluster.size} processes: C[0..4] = [${Array.from(C.subarray(0, 5)).join(', ')}], sum ${results[0]} (expected ${expected})`);
}

// Ranks import this module for `add`; only the program that was started runs main.
if (isMainThread) await main();
