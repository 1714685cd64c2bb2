// Number arguments of the cost commands (`superstep probe`, `predict`, `scaling`).

/** `v` as a positive integer; `fallback` when absent; undefined when it is not one. */
export function positiveInt(v: string | undefined, fallback: number): number | undefined {
  if (v === undefined) return fallback;
  const n = Number(v);
  return Number.isInteger(n) && n >= 1 ? n : undefined;
}

/** `v` as a comma-separated list of positive integers (repeats dropped); `fallback` when absent; undefined when malformed. */
export function positiveIntList(v: string | undefined, fallback: readonly number[]): number[] | undefined {
  if (v === undefined) return [...fallback];
  const xs = v.split(',').map((s) => positiveInt(s.trim(), 0));
  if (xs.some((x) => x === undefined || x === 0)) return undefined;
  return [...new Set(xs as number[])];
}
