/**
 * Global arrays: `bsp.share`, `bsp.merge` -> GlobalArray (one-sided get/put/acc, owner and
 * locate, local views, fence, locks) and BSPlib-style DRMA (`bsp.put` / `bsp.get` at sync).
 * The pieces live in core/global/; this module is their public face.
 */
export { GlobalArray } from './global/array.js';
export type { AccessPath, Location } from './global/array.js';
export { BlockLayout } from './global/layout.js';
export type { Piece } from './global/layout.js';
export { mergeArray, sharePackages } from './global/merge.js';
export type { MergeOptions } from './global/merge.js';
export { drmaGet, drmaPut } from './global/drma.js';
export { kAccOps } from './global/accops.js';
export type { AccOp, AccOpName } from './global/accops.js';
export type { RegionSpec, Index, Box } from './global/region.js';
