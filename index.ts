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
export type { RankStatus, JobSpec } from './comm/backends/protocol.js';

// Communicators and collectives (mpi4py's API)
export { world, Communicator } from './comm/comm.js';
export type { VResult, OutOption, RecvOptions } from './comm/comm.js';
export { CartComm, computeDims } from './comm/cart.js';
export { Group } from './comm/group.js';
export { Request, Status, waitAll, waitAny, testAll, PROC_NULL, UNDEFINED } from './comm/request.js';
export { Op, ops, SUM, PROD, MIN, MAX, LAND, LOR, LXOR, BAND, BOR, BXOR, MINLOC, MAXLOC } from './comm/ops.js';
export { PoolExecutor, registerTask } from './comm/pool.js';
export type { TaskRef, MapOptions } from './comm/pool.js';
// Which algorithm a collective on messages runs: chosen by the cost model (docs/comm.md)
export { choose, algorithmCost, predictCollective, setCollectiveModel, collectiveModel, forceCollectiveAlgorithms, kAlgorithms } from './comm/collectives/choose.js';
export type { ChoosableCollective, Algorithm, CollectiveModel, ModelParams, CollectiveCall } from './comm/collectives/choose.js';

// Distributed arrays (distarray/)
export { DistArray, Distribution, AxisMap, distributions, block, irregularBlock, cyclic, blockCyclic, grid, dimsCreate, fromSpec, matvec, jacobiStep, jacobi7, jacobi9, mapOverlap, gemv, jacobi5 } from './distarray/index.js';
export type { AxisKind, AxisRule, DistributionSpec, Region, DistArrayOptions, HaloOptions, Boundary, BoundaryRule, HaloWidth, OverlapContext, OverlapKernel, OverlapOptions } from './distarray/index.js';
export { add, sub, mul, div, pow, neg, abs, sqrt, exp, log, sin, cos, minimum, maximum, where, clip, astype, promoteTypes } from './distarray/index.js';
export type { Operand, UfuncOptions, SliceArg } from './distarray/index.js';
export { sum, prod, min, max, mean, variance, std, argmin, argmax, any, all, nanSum, nanProd, nanMin, nanMax, nanMean, nanVar, nanStd, cumsum } from './distarray/index.js';
export type { ReduceOptions } from './distarray/index.js';
export { transpose, swapAxes, reshape, flatten, concatenate, stack } from './distarray/index.js';
export type { ShapeOptions } from './distarray/index.js';
export { norm, outer, cg, matmul, sort, argsort, unique, searchsorted } from './distarray/index.js';
export type { CgOptions, CgResult, MatmulOptions, SortOptions, SearchOptions } from './distarray/index.js';

// Distributed data frames and parallel I/O (distarray/frame.ts, io/; docs/io.md)
export { DistFrame, GroupedFrame } from './distarray/frame.js';
export type { AggOp, AggSpec, ColumnValues, ColumnResult, FrameColumn } from './distarray/frame.js';
export { readArrow, writeArrow } from './io/arrow.js';
export { readParquet, writeParquet } from './io/parquet.js';
export { readCsv, writeCsv } from './io/csv.js';
export type { ReadCsvOptions, WriteCsvOptions, CsvType } from './io/csv.js';
export type { ReadParquetOptions, WriteParquetOptions, ParquetCompression } from './io/parquet.js';
export { Expr, col, lit, when } from './distarray/frame-expr.js';
export type { CastType, Scalar } from './distarray/frame-expr.js';
export type { JoinHow, JoinOptions, JoinPlan, JoinStrategy } from './distarray/frame-join.js';
export type { AsofOptions, AsofPlan } from './distarray/frame-asof.js';
export { LazyFrame, LazyGroupBy } from './distarray/frame-lazy.js';
export type { PlanNode, ScanSource, StepPrediction } from './distarray/frame-lazy.js';
export { scanArrow, scanParquet } from './io/scan.js';
export type { HolisticOp } from './distarray/frame-agg.js';
export { WindowSpec, WindowFn, partitionBy, orderBy, rowNumber, rank, denseRank, lag, lead, cumSum, cumMax, rollingSum, rollingMean } from './distarray/frame-window.js';
export type { WindowKind } from './distarray/frame-window.js';
export type { ReadArrowOptions, WriteArrowOptions } from './io/arrow.js';
export { saveNpy, loadNpy, encodeNpy, decodeNpy, npyHeader, parseNpyHeader } from './io/npy.js';
export type { NpyHeader } from './io/npy.js';
export { writeAtAll, readAtAll, fileView, viewCount } from './io/raw.js';
export type { FileView } from './io/raw.js';
export { writeCollective } from './io/atomic.js';

// Global arrays (PyBSP's share/merge, one-sided get/put/acc, DRMA) and Pydsm's Cluster
export { GlobalArray, BlockLayout, kAccOps } from './core/global.js';
export type { AccessPath, Location, Piece, MergeOptions, AccOp, AccOpName, RegionSpec, Index, Box } from './core/global.js';
export { Cluster } from './core/cluster.js';
export type { ClusterOptions, ClusterResources, ClusterLock } from './core/cluster.js';

// BSP cost model: probe g, l, r; per-superstep profile; prediction (docs/cost.md)
export { probe } from './core/cost/probe.js';
export type { ProbeOptions, ProbeResult } from './core/cost/probe.js';
export { fitLinear } from './core/cost/fit.js';
export type { FitSample, FitResidual, LinearFit } from './core/cost/fit.js';
export { paramsPath, readParamsFile, saveParams, resolveParams, collectiveModelFor } from './core/cost/params.js';
export type { BspParams, ParamsEntry, ResolvedParams } from './core/cost/params.js';
export { predictWith } from './core/cost/predict.js';
export type { PredictInput, Prediction, SuperstepCounts } from './core/cost/predict.js';
export { allreduceCounts, groupByCounts, rowJacobiCounts, rowMatvecCounts } from './core/cost/counts.js';
export type { GroupByShape } from './core/cost/counts.js';
export { evalLog, fitLog, leaveOneOut } from './core/cost/extrapolate.js';
export type { HeldOut, LogModel, PPoint } from './core/cost/extrapolate.js';
export { scaling, scalingProblem } from './core/cost/scaling.js';
export type { ScalingOptions, ScalingPoint, ScalingReport } from './core/cost/scaling.js';
export { scalingMarkdown, scalingSvg, writeScalingReport } from './core/cost/scaling-report.js';
export { mergeRecords, mergeCollectiveRecords } from './core/cost/profile.js';
export type { ProfileRow, SuperstepRecord, CollectiveRow, CollectiveRecord, ProfileRecords } from './core/cost/profile.js';
export { profileMarkdown, profileSvg, writeProfileReport, collectivesMarkdown } from './core/cost/report.js';

// Transport (for backends and advanced use)
export { ANY_SOURCE, ANY_TAG } from './comm/transport.js';
export type { Transport, Message, MessageInfo, Payload, TransportCapabilities } from './comm/transport.js';

// Backends: the table (comm/backends/index.ts) and its descriptor type (docs/backends.md).
export { kBackends, backendNamed } from './comm/backends/index.js';
export type { BackendDescriptor, BackendCapabilities } from './comm/backends/types.js';

// tcp backend: a script started by mpirun, srun or a Kubernetes Indexed Job joins its job
// over tcp with no superstep launcher (the descriptor's joinFromEnv).
export { detectEngine, coordinatorAddress, kDefaultCoordPort } from './comm/backends/tcp/env.js';
export type { EngineInfo, Engine } from './comm/backends/tcp/env.js';
export { createTcpTransport } from './comm/backends/tcp/transport.js';
export type { TcpTransportOptions, PeerAddress } from './comm/backends/tcp/transport.js';

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
  BackendUnavailableError,
  TaskError,
  CollectiveArgumentError,
  IOError,
  FileFormatError,
  SchemaMismatchError,
  MissingDependencyError,
} from './util/errors.js';
export type { ErrorCode } from './util/errors.js';
