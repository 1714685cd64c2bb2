import './tuned.js';
// Parallel Arrow I/O and DistFrame groupBy, against limits and single-process peers measured
// in the same run:
// - the disk's own sequential rate: write + fsync, then read, of a file of the same size
//   (this machine has 24 GiB of RAM, so reads come from the page cache, for us and for it);
// - one process doing the same with apache-arrow (tableToIPC + write + fsync; read +
//   tableFromIPC), and grouping with a plain loop over the Arrow columns and with Arquero.
// Run: node --import tsx bench/io.bench.ts [--quick]
import { execFileSync } from 'node:child_process';
import { closeSync, fsyncSync, openSync, readFileSync, rmSync, statSync, writeSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tableFromIPC, tableToIPC, type Table } from 'apache-arrow';
import * as aq from 'arquero';
import { startWorld } from '../core/launch/world.js';
import { npyHeader } from '../io/npy.js';
import { benchTable, dropCaches } from './io-ranks.js';

const quick = process.argv.includes('--quick');
// --cold: also read once with the page cache dropped (root; disturbs everything else running).
const cold = process.argv.includes('--cold');
const rows = quick ? 1_000_000 : 10_000_000;
const reps = quick ? 1 : 3;
const dir = tmpdir();
const ranks = new URL('./io-ranks.ts', import.meta.url).href;
const emit = (o: Record<string, unknown>) => console.log(JSON.stringify(o));
const log = (s: string) => process.stderr.write(s + '\n');
const best = (f: () => number, n = reps) => Math.min(...Array.from({ length: n }, f));
/** The file the P ranks write and read (kept to the end for the peak-memory reads). */
const rankFile = (p: number) => join(dir, `superstep-io-bench-${process.pid}-p${p}.arrow`);
process.on('exit', () => {
  for (const p of [1, 2]) rmSync(rankFile(p), { force: true });
});

// One process: the table, written and read with apache-arrow.
const table: Table = benchTable(0, rows);
const file = join(dir, `superstep-io-bench-${process.pid}.arrow`);
let bytes = 0;
const arrowWriteMs = best(() => {
  const t0 = performance.now();
  const b = tableToIPC(table, 'file');
  const fd = openSync(file, 'w');
  writeSync(fd, b);
  fsyncSync(fd);
  closeSync(fd);
  bytes = b.byteLength;
  return performance.now() - t0;
});
const arrowReadMs = best(() => {
  const t0 = performance.now();
  const t = tableFromIPC(readFileSync(file));
  if (t.numRows !== rows) throw new Error('apache-arrow read back a different table');
  return performance.now() - t0;
});
const GB = bytes / 1e9;
let arrowColdMs = -1;
if (cold) {
  if (dropCaches()) {
    const t0 = performance.now();
    tableFromIPC(readFileSync(file));
    arrowColdMs = performance.now() - t0;
  } else log('cold cache: not measured, /proc/sys/vm/drop_caches is not writable here (needs root outside a container)');
}

// The disk: sequential write + fsync and read of the same number of bytes, 8 MiB writes.
const raw = join(dir, `superstep-io-bench-${process.pid}.raw`);
const chunk = new Uint8Array(8 << 20).fill(7);
const diskWriteMs = best(() => {
  const t0 = performance.now();
  const fd = openSync(raw, 'w');
  for (let off = 0; off < bytes; off += chunk.byteLength) writeSync(fd, chunk, 0, Math.min(chunk.byteLength, bytes - off));
  fsyncSync(fd);
  closeSync(fd);
  return performance.now() - t0;
});
const diskReadMs = best(() => {
  const t0 = performance.now();
  readFileSync(raw);
  return performance.now() - t0;
});
// The raw read on P worker threads at once (a sab rank is one), each its 1/P of the file
// into memory it already holds: the page cache's copy rate on P cores, the bound for a
// parallel read (the reference of io_arrow_read_over_thread_read_ratio).
const threadReadMs = new Map<number, number>();
for (const p of [1, 2]) threadReadMs.set(p, await threadRead(raw, bytes, p, Math.max(reps, 5)));
rmSync(raw, { force: true });

// One process: group by k with a loop over the Arrow columns, and with Arquero.
const keys = table.getChild('k')!.toArray() as Int32Array;
const vals = table.getChild('v')!.toArray() as Float64Array;
const loopMs = best(() => {
  const t0 = performance.now();
  const m = new Map<number, number>();
  const sum: number[] = [], n: number[] = [], lo: number[] = [], hi: number[] = [];
  for (let i = 0; i < keys.length; i++) {
    let g = m.get(keys[i]!);
    if (g === undefined) {
      g = sum.length;
      m.set(keys[i]!, g);
      sum.push(0); n.push(0); lo.push(Infinity); hi.push(-Infinity);
    }
    const v = vals[i]!;
    sum[g]! += v;
    n[g]!++;
    if (v < lo[g]!) lo[g] = v;
    if (v > hi[g]!) hi[g] = v;
  }
  if (m.size !== 1000) throw new Error('loop: wrong group count');
  return performance.now() - t0;
});
const aqt = aq.fromArrow(table as never);
const arqueroMs = best(() => {
  const t0 = performance.now();
  const g = aqt.groupby('k').rollup({ s: aq.op.sum('v'), m: aq.op.mean('v'), lo: aq.op.min('v'), hi: aq.op.max('v'), n: aq.op.count() });
  if (g.numRows() !== 1000) throw new Error('arquero: wrong group count');
  return performance.now() - t0;
});

const gbps = (ms: number) => +(GB / (ms / 1e3)).toFixed(3);
const mrows = (ms: number) => +(rows / 1e6 / (ms / 1e3)).toFixed(2);
const extra = { rows, bytes, note: 'reads hit the page cache (24 GiB RAM); writes include fsync' };
emit({ name: 'disk_seq_write_fsync_GBps', backend: 'any', p: 1, value: gbps(diskWriteMs), unit: 'GBps', better: 'higher', extra });
emit({ name: 'disk_seq_read_GBps', backend: 'any', p: 1, value: gbps(diskReadMs), unit: 'GBps', better: 'higher', extra });
emit({ name: 'arrow_single_write_GBps', backend: 'any', p: 1, value: gbps(arrowWriteMs), unit: 'GBps', better: 'higher', extra });
emit({ name: 'arrow_single_read_GBps', backend: 'any', p: 1, value: gbps(arrowReadMs), unit: 'GBps', better: 'higher', extra });
emit({ name: 'groupby_arrow_loop_Mrows_per_s', backend: 'any', p: 1, value: mrows(loopMs), unit: 'Mrows_per_s', better: 'higher', extra });
emit({ name: 'groupby_arquero_Mrows_per_s', backend: 'any', p: 1, value: mrows(arqueroMs), unit: 'Mrows_per_s', better: 'higher', extra });
const bestSingle = Math.min(loopMs, arqueroMs);

for (const p of [1, 2]) {
  const w = await startWorld({ procs: p, backend: 'sab', graceMs: 2000 });
  try {
    const out = await w.job<{ writeMs: number; readMs: number; groupMs: number; groups: number; coldMs: number }>(
      { kind: 'call', url: ranks, fn: 'ioBench', args: [rankFile(p), rows, reps, cold && arrowColdMs > 0] }, { timeoutMs: 180_000 });
    if (!out.ok) throw new Error(`ioBench failed: ${out.failure?.error.message}`);
    const r = out.results![0]!;
    if (r.groups !== 1000) throw new Error(`groupBy made ${r.groups} groups, expected 1000`);
    const x = { ...extra };
    emit({ name: 'io_arrow_write_GBps', backend: 'sab', p, value: gbps(r.writeMs), unit: 'GBps', better: 'higher', extra: x });
    emit({ name: 'io_arrow_read_GBps', backend: 'sab', p, value: gbps(r.readMs), unit: 'GBps', better: 'higher', extra: x });
    emit({ name: 'io_arrow_write_over_disk_ratio', backend: 'sab', p, value: +(diskWriteMs / r.writeMs).toFixed(3), unit: 'ratio', better: 'higher', extra: { goal: 0.7 } });
    emit({ name: 'io_arrow_read_over_disk_ratio', backend: 'sab', p, value: +(diskReadMs / r.readMs).toFixed(3), unit: 'ratio', better: 'higher', extra: { goal: 0.7 } });
    const tr = threadReadMs.get(p)!;
    emit({ name: 'disk_seq_read_threads_GBps', backend: 'any', p, value: gbps(tr), unit: 'GBps', better: 'higher', extra: { ...x, what: `${p} worker thread(s) at once, each reading 1/${p} of the file (8 MiB positioned reads) into memory it already holds; reads only in the timed window` } });
    emit({ name: 'io_arrow_read_over_thread_read_ratio', backend: 'sab', p, value: +(tr / r.readMs).toFixed(3), unit: 'ratio', better: 'higher', extra: { goal_at_p2: 0.7, reference: `${p} worker thread(s) reading the file raw` } });
    if (r.coldMs > 0) emit({ name: 'io_arrow_read_cold_over_arrow_single_cold_ratio', backend: 'sab', p, value: +(arrowColdMs / r.coldMs).toFixed(3), unit: 'ratio', better: 'higher', extra: { what: 'page cache dropped before each of the two reads', arrow_single_cold_GBps: gbps(arrowColdMs), cold_GBps: gbps(r.coldMs) } });
    emit({ name: 'io_arrow_write_over_arrow_single_ratio', backend: 'sab', p, value: +(arrowWriteMs / r.writeMs).toFixed(3), unit: 'ratio', better: 'higher' });
    emit({ name: 'io_arrow_read_over_arrow_single_ratio', backend: 'sab', p, value: +(arrowReadMs / r.readMs).toFixed(3), unit: 'ratio', better: 'higher', extra: { goal: p === 1 ? 0.91 : 1.2, reference: 'one process: tableFromIPC(readFileSync(f)), same file, same run, page cache warm' } });
    emit({ name: 'groupby_Mrows_per_s', backend: 'sab', p, value: mrows(r.groupMs), unit: 'Mrows_per_s', better: 'higher', extra: x });
    emit({ name: 'groupby_over_best_single_ratio', backend: 'sab', p, value: +(bestSingle / r.groupMs).toFixed(3), unit: 'ratio', better: 'higher', extra: { goal_at_p2: 1.5, best_single: loopMs <= arqueroMs ? 'arrow_loop' : 'arquero' } });
    log(`p=${p}: write ${r.writeMs.toFixed(0)} ms, read ${r.readMs.toFixed(0)} ms, groupBy ${r.groupMs.toFixed(0)} ms`);
  } finally {
    await w.close();
  }
}
// Peak memory of one read, each in a fresh process (bench/io-peak.ts), of the file the ranks
// wrote at P = 2 (batches to share): apache-arrow in one process, readArrow at P = 1 and 2.
{
  const f = rankFile(2);
  const size = statSync(f).size;
  const peak = (...args: string[]): number => {
    try {
      const out = execFileSync(process.execPath, [...process.execArgv, new URL('./io-peak.ts', import.meta.url).pathname, ...args], { encoding: 'utf8', timeout: 120_000 });
      return (JSON.parse(out.trim().split('\n').pop()!) as { peakBytes: number }).peakBytes;
    } catch (err) {
      log(`peak RSS not measured (${args.join(' ')}): ${(err as Error).message.split('\n')[0]}`);
      return -1;
    }
  };
  const arrowPeak = peak('arrow', f);
  const what = 'peak RSS during one read over the RSS before it, in a fresh process (all ranks: one process on sab), over the file size';
  if (arrowPeak > 0) emit({ name: 'arrow_single_read_peak_rss_over_file_ratio', backend: 'any', p: 1, value: +(arrowPeak / size).toFixed(3), unit: 'ratio', better: 'lower', extra: { bytes: size, what } });
  for (const p of [1, 2]) {
    const b = peak('ranks', f, String(p));
    if (b > 0) emit({ name: 'io_arrow_read_peak_rss_over_file_ratio', backend: 'sab', p, value: +(b / size).toFixed(3), unit: 'ratio', better: 'lower', extra: { goal_at_p2: 1.3, arrow_single_peak_over_file: arrowPeak > 0 ? +(arrowPeak / size).toFixed(3) : null, bytes: size, what } });
  }
  for (const p of [1, 2]) rmSync(rankFile(p), { force: true });
  rmSync(file, { force: true });
}

// .npy: numpy's np.load of a file (1 GiB; --quick 64 MiB) against loadNpy and readAtAll at P = 2.
{
  const n = quick ? 8 << 20 : 128 << 20;
  const npy = join(dir, `superstep-io-bench-${process.pid}.npy`);
  const fd = openSync(npy, 'w');
  writeSync(fd, npyHeader('float64', [n]));
  const block = new Float64Array(1 << 20);
  for (let at = 0; at < n; at += block.length) {
    for (let i = 0; i < block.length; i++) block[i] = at + i;
    writeSync(fd, block, 0, Math.min(block.length, n - at) * 8);
  }
  closeSync(fd);
  try {
    let numpyMs = NaN;
    try {
      numpyMs = Number(execFileSync('/usr/bin/python3', ['-c', `import numpy as np, time
best = 1e9
for _ in range(${reps}):
    t = time.perf_counter(); a = np.load(${JSON.stringify(npy)}); best = min(best, time.perf_counter() - t); assert a.shape == (${n},); del a
print(best * 1e3)`], { encoding: 'utf8' }).trim());
    } catch (err) {
      log(`numpy reference not measured: ${(err as Error).message.split('\n')[0]}`);
    }
    const w = await startWorld({ procs: 2, backend: 'sab', graceMs: 2000 });
    try {
      const out = await w.job<{ loadMs: number; rawMs: number; elements: number }>({ kind: 'call', url: ranks, fn: 'npyBench', args: [npy, reps] }, { timeoutMs: 300_000 });
      if (!out.ok) throw new Error(`npyBench failed: ${out.failure?.error.message}`);
      const r = out.results![0]!;
      if (r.elements !== n) throw new Error(`loadNpy read ${r.elements} elements, expected ${n}`);
      const nb = { bytes: n * 8, reference: "numpy's np.load of the same file, same run, page cache warm" };
      emit({ name: 'numpy_load_GBps', backend: 'any', p: 1, value: +((n * 8) / 1e9 / (numpyMs / 1e3)).toFixed(3), unit: 'GBps', better: 'higher', extra: nb });
      emit({ name: 'npy_load_GBps', backend: 'sab', p: 2, value: +((n * 8) / 1e9 / (r.loadMs / 1e3)).toFixed(3), unit: 'GBps', better: 'higher', extra: nb });
      emit({ name: 'npy_load_over_numpy_ratio', backend: 'sab', p: 2, value: +(numpyMs / r.loadMs).toFixed(3), unit: 'ratio', better: 'higher', extra: { ...nb, goal: 1.0 } });
      emit({ name: 'read_at_all_over_numpy_ratio', backend: 'sab', p: 2, value: +(numpyMs / r.rawMs).toFixed(3), unit: 'ratio', better: 'higher', extra: { ...nb, goal: 1.0, what: 'readAtAll of the body through a block fileView' } });
      log(`npy ${n * 8} bytes: numpy ${numpyMs.toFixed(0)} ms, loadNpy P=2 ${r.loadMs.toFixed(0)} ms, readAtAll P=2 ${r.rawMs.toFixed(0)} ms`);
    } finally {
      await w.close();
    }
  } finally {
    rmSync(npy, { force: true });
  }
}
log(`one process: disk write+fsync ${diskWriteMs.toFixed(0)} ms, disk read ${diskReadMs.toFixed(0)} ms, arrow write ${arrowWriteMs.toFixed(0)} ms, arrow read ${arrowReadMs.toFixed(0)} ms, loop ${loopMs.toFixed(0)} ms, arquero ${arqueroMs.toFixed(0)} ms (${bytes} bytes)`);

/**
 * Best-of-`n` time (ms) for `p` worker threads at once to each read 1/p of `path` raw, the
 * way a rank's own reads go: positioned reads of 8 MiB into a buffer the thread allocated
 * and filled once before (one untimed read), so the timed window holds the reads only: no
 * thread start-up, no allocation, no page faults. The time of one round is from the first
 * thread's start to the last one's end (wall clock, as the ranks' reads are timed from a
 * barrier to the slowest rank's end).
 */
async function threadRead(path: string, size: number, p: number, n: number): Promise<number> {
  const code = `
    const { workerData: { path, start, len }, parentPort } = require('node:worker_threads');
    const { openSync, readSync } = require('node:fs');
    const fd = openSync(path, 'r');
    const buf = Buffer.allocUnsafeSlow(len);
    const read = () => { for (let off = 0; off < len; ) off += readSync(fd, buf, off, Math.min(8 << 20, len - off), start + off); };
    const now = () => performance.timeOrigin + performance.now();
    read();
    parentPort.on('message', () => {
      const t0 = now();
      read();
      parentPort.postMessage([t0, now()]);
    });
    parentPort.postMessage('ready');`;
  const share = (q: number) => Math.floor((size * (q + 1)) / p) - Math.floor((size * q) / p);
  const workers = Array.from({ length: p }, (_, q) => new Worker(code, { eval: true, workerData: { path, start: Math.floor((size * q) / p), len: share(q) } }));
  try {
    await Promise.all(workers.map((w) => new Promise((resolve) => w.once('message', resolve))));
    let best = Infinity;
    for (let r = 0; r < n; r++) {
      const spans = await Promise.all(workers.map((w) => new Promise<[number, number]>((resolve) => { w.once('message', resolve); w.postMessage('go'); })));
      best = Math.min(best, Math.max(...spans.map((s) => s[1])) - Math.min(...spans.map((s) => s[0])));
    }
    return best;
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
}
