/**
 * The two reference kernels whose rates turn a program's counts into seconds:
 * - r, flop/s of a float64 dot product (2 flops per element) on vectors that stay in cache:
 *   the rate of compute-bound loops (a matvec's rows);
 * - b, bytes/s of a 2-D five-point sweep streaming through grids larger than the caches,
 *   counted as 16 bytes per cell (one float64 read from the old grid, one written to the new):
 *   the rate of memory-bound loops (a stencil, a copy, an elementwise map).
 * The scaling workloads (scaling-rank.ts) run these same loops, so their counts and rates agree.
 */

/** Σ a[i]·b[i]: the kernel of r. */
export function dot(a: Float64Array, b: Float64Array, aOff = 0, n = a.length - aOff): number {
  let acc = 0;
  for (let i = 0; i < n; i++) acc += a[aOff + i]! * b[i]!;
  return acc;
}

/**
 * One sweep of v = 0.25·(north + south + west + east) of u over an m×n interior with a
 * one-cell border (rows and columns of width n + 2): the kernel of b.
 */
export function sweep5(u: Float64Array, v: Float64Array, m: number, n: number): void {
  const w = n + 2;
  for (let i = 1; i <= m; i++) {
    let o = i * w + 1;
    const e = o + n;
    for (; o < e; o++) v[o] = 0.25 * (u[o - w]! + u[o + w]! + u[o - 1]! + u[o + 1]!);
  }
}

/** Bytes a sweep5 of m×n cells counts: 16 per cell (read once, written once). */
export const kSweepBytesPerCell = 16;

/**
 * The rate of repeated calls of `chunk` (which does `work` units and returns its seconds):
 * total work over total time across `minMs`, after a warm-up lasting until two chunks in a
 * row agree within 10% (at most 1 s): on a busy machine V8's compiler thread competes with the
 * ranks for cores, and a fixed short warm-up can measure interpreted code, 30 to 80 times
 * slower. Total over total, not the median chunk: a short chunk dodges the preemptions a
 * program's long loops take when the cores are shared, and then r promised a matvec 2-20x
 * what it got on a loaded machine.
 */
function steadyRate(chunk: () => number, work: number, minMs: number): number {
  const w0 = performance.now();
  let prev = work / chunk();
  while (performance.now() - w0 < 1000) {
    const cur = work / chunk();
    if (performance.now() - w0 > 20 && Math.abs(cur - prev) <= 0.1 * Math.max(cur, prev)) break;
    prev = cur;
  }
  let done = 0, spent = 0;
  while (spent * 1000 < minMs || done < 5 * work) {
    spent += chunk();
    done += work;
  }
  return spent > 0 ? done / spent : 0;
}

let sink = 0;

/** Flop/s of dot on vectors of length n (r). */
export function dotRate(n = 1 << 14, minMs = 60): number {
  const a = new Float64Array(n).map((_, i) => 1 + (i % 7) * 1e-3);
  const b = new Float64Array(n).map((_, i) => 1 - (i % 5) * 1e-3);
  const reps = Math.max(1, Math.ceil((1 << 18) / n));
  const rate = steadyRate(() => {
    const s = performance.now();
    for (let r = 0; r < reps; r++) sink += dot(a, b);
    return (performance.now() - s) / 1000;
  }, 2 * n * reps, minMs);
  if (sink === 42) console.log(''); // keeps the kernel from being optimised away
  return rate;
}

/**
 * Bytes/s of sweep5 over a square grid of `cells` interior cells (b). The default, 2^21 cells
 * (16 MiB per grid, two grids), is larger than the caches a rank has to itself.
 */
export function streamRate(cells = 1 << 21, minMs = 60): number {
  const n = Math.max(1, Math.round(Math.sqrt(cells)));
  const u = new Float64Array((n + 2) * (n + 2)).fill(1);
  const v = new Float64Array((n + 2) * (n + 2));
  return steadyRate(() => {
    const s = performance.now();
    sweep5(u, v, n, n);
    return (performance.now() - s) / 1000;
  }, kSweepBytesPerCell * n * n, minMs);
}
