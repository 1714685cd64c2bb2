/**
 * superstep: bulk-synchronous parallel and MPI-style computing over typed arrays.
 * The curated public surface; internals are not exported.
 */

// BSP runtime (PyBSP's API)
export { bsp, BspState } from './core/bsp.js';
export type { SyncEvent } from './core/bsp.js';
export { Package } from './core/package.js';
export type { PackageKind } from './core/package.js';
export type { NDArray } from './core/ndarray.js';

// Launch
export { run, runDetailed } from './core/launch/run.js';
export type { RunOptions } from './core/launch/run.js';
export { startWorld } from './core/launch/world.js';
export type { World, WorldOptions, JobOptions, JobOutcome, Backend } from './core/launch/world.js';
export type { RankStatus, JobSpec } from './core/launch/protocol.js';

// Transport (for backends and advanced use)
export { ANY_SOURCE, ANY_TAG } from './comm/transport.js';
export type { Transport, Message, MessageInfo, Payload, TransportCapabilities } from './comm/transport.js';

// Data types and errors
export { DTYPES, resolveDType } from './util/dtype.js';
export type { DType, DTypeMap, TypedArray } from './util/dtype.js';
export {
  SuperstepError,
  ArgumentError,
  UnknownPackageError,
  SyncMismatchError,
  AbortedError,
  PeerGoneError,
  TimeoutError,
  ClosedError,
  ProtocolError,
  RankFailedError,
} from './util/errors.js';
export type { ErrorCode } from './util/errors.js';
