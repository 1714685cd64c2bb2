/**
 * Accumulate operations for GlobalArray.acc: a run kernel per op, for numbers and bigints.
 * Ops travel by name on the served path, so only named ops exist here; an Op from the
 * collectives (`SUM`, `MAX`, ...) is accepted by its name.
 */
import { ArgumentError } from '../../util/errors.js';
import type { TypedArray } from '../../util/dtype.js';
import { assignRun, type RunKernel } from './region.js';

/** Accumulate operation names; 'replace' is a plain put. */
export type AccOpName = 'sum' | 'prod' | 'min' | 'max' | 'replace';
/** An op name, or an object with one (e.g. the collectives' SUM). */
export type AccOp = AccOpName | { readonly name: string };

export const kAccOps: readonly AccOpName[] = ['sum', 'prod', 'min', 'max', 'replace'];

type Num = number & bigint; // lets one loop serve number and bigint arrays

const kernels: Record<AccOpName, RunKernel> = {
  sum: (dst, d, src, s, n) => {
    const o = dst as unknown as Num[];
    const x = src as unknown as Num[];
    for (let i = 0; i < n; i++) o[d + i] = (o[d + i]! + x[s + i]!) as Num;
  },
  prod: (dst, d, src, s, n) => {
    const o = dst as unknown as Num[];
    const x = src as unknown as Num[];
    for (let i = 0; i < n; i++) o[d + i] = (o[d + i]! * x[s + i]!) as Num;
  },
  min: (dst, d, src, s, n) => {
    const o = dst as unknown as Num[];
    const x = src as unknown as Num[];
    for (let i = 0; i < n; i++) if (x[s + i]! < o[d + i]!) o[d + i] = x[s + i]!;
  },
  max: (dst, d, src, s, n) => {
    const o = dst as unknown as Num[];
    const x = src as unknown as Num[];
    for (let i = 0; i < n; i++) if (x[s + i]! > o[d + i]!) o[d + i] = x[s + i]!;
  },
  replace: assignRun,
};

/** The op's name, checked. */
export function accOpName(op: unknown, rank?: number): AccOpName {
  const name = typeof op === 'string' ? op : typeof op === 'object' && op !== null ? String((op as { name?: unknown }).name).toLowerCase() : undefined;
  if (name && (kAccOps as readonly string[]).includes(name)) return name as AccOpName;
  throw new ArgumentError('op', `one of ${kAccOps.map((o) => `'${o}'`).join(', ')} (or SUM, PROD, MIN, MAX)`, op, rank);
}

export function accKernel(name: AccOpName): RunKernel {
  return kernels[name];
}

/** Op codes on the wire. */
export function accOpCode(name: AccOpName): number {
  return kAccOps.indexOf(name);
}
export function accOpFromCode(code: number): AccOpName | undefined {
  return kAccOps[code];
}

export type { TypedArray };
