/** Distributed arrays: distributions, DistArray, halos, matvec, stencils; DistFrame's window functions. */
export { AxisMap, Distribution, block, irregularBlock, cyclic, blockCyclic, grid, dimsCreate, fromSpec, distributions } from './distribution.js';
export type { AxisKind, AxisRule, DistributionSpec, Region } from './distribution.js';
export { DistArray } from './distarray.js';
export type { DistArrayOptions, HaloOptions } from './distarray.js';
export { matvec } from './matvec.js';
export { jacobiStep } from './stencil.js';
export { gemv, jacobi5 } from './kernels.js';
export { add, sub, mul, div, pow, neg, abs, sqrt, exp, log, sin, cos, minimum, maximum, where, clip, astype, promoteTypes } from './ufunc.js';
export type { Operand, UfuncOptions } from './ufunc.js';
export type { SliceArg } from './view.js';
export { sum, prod, min, max, mean, variance, std, argmin, argmax, any, all, nanSum, nanProd, nanMin, nanMax, nanMean, nanVar, nanStd, cumsum, reduceAlong } from './reduce.js';
export type { ReduceOptions, ReduceName } from './reduce.js';
export { transpose, swapAxes, reshape, flatten, concatenate, stack } from './shape.js';
export type { ShapeOptions } from './shape.js';
export { norm, outer, cg } from './linalg.js';
export type { CgOptions, CgResult } from './linalg.js';
export { WindowSpec, WindowFn, partitionBy, orderBy, rowNumber, rank, denseRank, lag, lead, cumSum, cumMax, rollingSum, rollingMean } from './frame-window.js';
export type { WindowKind } from './frame-window.js';
