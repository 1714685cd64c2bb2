/**
 * The table of backends: the one place that lists them. world.ts, both CLIs, the test
 * harness and the benches read it; adding a backend is a folder under comm/backends/ and a
 * line here (docs/backends.md).
 */
import { ArgumentError } from '../../util/errors.js';
import { mpi } from './mpi/index.js';
import { sab } from './sab/index.js';
import { tcp } from './tcp/index.js';
import type { Backend, BackendDescriptor } from './types.js';

// Engine-started scripts try joinFromEnv in this order: mpi only claims SUPERSTEP_BACKEND=mpi.
export const kBackends: readonly BackendDescriptor[] = [sab, tcp, mpi];

/** Every backend's name, in table order. */
export const backendNames = (): Backend[] => kBackends.map((b) => b.name);

/** "'sab', 'tcp' or 'mpi'": the names for an error message. */
export function backendList(): string {
  const q = backendNames().map((n) => `'${n}'`);
  return q.length > 1 ? `${q.slice(0, -1).join(', ')} or ${q[q.length - 1]}` : q.join('');
}

/** The descriptor named `name`; an ArgumentError naming the known ones otherwise. */
export function backendNamed(name: unknown, argument = 'backend'): BackendDescriptor {
  const b = kBackends.find((d) => d.name === name);
  if (!b) throw new ArgumentError(argument, backendList(), name);
  return b;
}
