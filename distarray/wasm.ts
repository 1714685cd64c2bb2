/**
 * @internal WebAssembly SIMD kernels (distarray/wasm/kernels.wat) and the memories they run
 * in. A WebAssembly function can only read its own memory, so large 2-D float64 DistArray
 * blocks are allocated in a shared WebAssembly.Memory of their own (its buffer is a
 * SharedArrayBuffer like any other block's, so halos and shareBuffers work unchanged), with
 * a scratch area after the block for the kernels' vector operands.
 *
 * SUPERSTEP_DISTARRAY_WASM=0 turns them off (plain typed-array loops everywhere); so does a
 * runtime without WebAssembly SIMD or shared memories.
 */
import { gemv } from './kernels.js';
import { kKernelsWasmBase64 } from './wasm/kernels.wasm.js';

// The WebAssembly globals this module uses (the project's lib settings have no WebAssembly types).
interface WasmMemory {
  readonly buffer: ArrayBufferLike;
}
interface WasmInstance {
  readonly exports: Record<string, unknown>;
}
type WasmModule = object;
const WA = (globalThis as unknown as {
  WebAssembly: {
    validate(bytes: Uint8Array): boolean;
    Module: new (bytes: Uint8Array) => WasmModule;
    Instance: new (module: WasmModule, imports: object) => WasmInstance;
    Memory: new (descriptor: { initial: number; maximum: number; shared: boolean }) => WasmMemory;
  };
}).WebAssembly;

/** Blocks smaller than this (elements) stay in plain SharedArrayBuffers. */
export const kWasmMinElements = 1 << 15;
/** Largest memory used: 2 GiB (wasm32 addresses; V8 caps memories at 4 GiB). */
const kMaxPages = 32768;

let module: WasmModule | null | undefined;

function wasmModule(): WasmModule | null {
  if (module === undefined) {
    try {
      const bytes = Buffer.from(kKernelsWasmBase64, 'base64');
      module = WA.validate(bytes) ? new WA.Module(bytes) : null;
    } catch {
      module = null;
    }
  }
  return module;
}

/** True when the WebAssembly kernels can be used (and are not turned off). */
export function wasmEnabled(): boolean {
  return process.env.SUPERSTEP_DISTARRAY_WASM !== '0' && wasmModule() !== null;
}

/** A block's memory and the scratch area after it. */
export interface WasmBlock {
  readonly memory: WasmMemory;
  /** Byte offset of the scratch area (16-byte aligned). */
  readonly scratch: number;
  readonly scratchBytes: number;
  instance?: WasmInstance;
}

/** A shared memory for `dataBytes` of block plus `scratchBytes`; undefined if it cannot be had. */
export function allocWasmBlock(dataBytes: number, scratchBytes: number): WasmBlock | undefined {
  const scratch = (dataBytes + 15) & ~15;
  const pages = Math.ceil((scratch + scratchBytes) / 65536);
  if (pages > kMaxPages || !wasmEnabled()) return undefined;
  try {
    const memory = new WA.Memory({ initial: Math.max(1, pages), maximum: Math.max(1, pages), shared: true });
    return { memory, scratch, scratchBytes };
  } catch {
    return undefined;
  }
}

type Gemv2 = (a: number, lda: number, m2: number, n4: number, x: number, y: number) => void;

/**
 * y[yOff + i] = sum_j A[aOff + i*lda + j] * xs[j] for i < m, j < n, where A is the float64
 * block living in `block`'s memory (element offsets). SIMD for the even rows and the
 * columns up to a multiple of 4; plain loops for the rest.
 */
export function gemvWasm(block: WasmBlock, aOff: number, lda: number, m: number, n: number, xs: Float64Array, y: Float64Array, yOff: number): void {
  const need = (n + m + 4) * 8;
  if (need > block.scratchBytes) throw new RangeError(`gemvWasm: scratch of ${block.scratchBytes} bytes < ${need}`);
  block.instance ??= new WA.Instance(wasmModule()!, { env: { mem: block.memory } });
  const mem = new Float64Array(block.memory.buffer);
  const xe = block.scratch >> 3;
  const ye = xe + ((n + 1) & ~1);
  mem.set(xs.subarray(0, n), xe);
  const m2 = m & ~1;
  const n4 = n & ~3;
  (block.instance.exports.gemv2 as Gemv2)(aOff * 8, lda, m2, n4, xe * 8, ye * 8);
  for (let i = 0; i < m2; i++) {
    let s = mem[ye + i]!;
    const o = aOff + i * lda;
    for (let j = n4; j < n; j++) s += mem[o + j]! * xs[j]!;
    y[yOff + i] = s;
  }
  if (m2 < m) gemv(mem, aOff + m2 * lda, lda, 1, n, xs, 0, y, yOff + m2);
}

/**
 * Where matmul's WebAssembly kernel works: C (m2 x n2), an A panel (m2 x up to k4 columns)
 * and a B panel (up to k4 x n2 rows) in one memory, m2 and n2 even and k4 a multiple of 4;
 * the padding rows and columns hold zeros (or, in C, values nobody reads).
 */
export interface GemmSpace {
  readonly block: WasmBlock;
  readonly m2: number;
  readonly n2: number;
  readonly c: Float64Array;
  readonly a: Float64Array;
  readonly b: Float64Array;
}

/** A zeroed workspace for an m x n block of C and panels up to kMax wide; undefined without WebAssembly. */
export function gemmSpace(m: number, n: number, kMax: number): GemmSpace | undefined {
  const m2 = m + (m & 1);
  const n2 = n + (n & 1);
  const k4 = (kMax + 3) & ~3;
  const sizes = [m2 * n2, m2 * k4, k4 * n2];
  const block = allocWasmBlock(sizes.reduce((s, x) => s + x, 0) * 8, 0);
  if (!block) return undefined;
  const buf = block.memory.buffer;
  return { block, m2, n2, c: new Float64Array(buf, 0, sizes[0]), a: new Float64Array(buf, sizes[0]! * 8, sizes[1]), b: new Float64Array(buf, (sizes[0]! + sizes[1]!) * 8, sizes[2]) };
}

type Gemm2 = (a: number, lda: number, b: number, ldb: number, c: number, ldc: number, m2: number, k4: number, n2: number) => void;

/** Columns per strip: a strip of the B panel (256 x 256 float64, 512 KiB) stays in L2 across C's rows. */
const kStrip = 256;

/** C += A B over the workspace: A its panel (m2 x k4, row stride k4), B its panel (k4 x n2); k4 a multiple of 4. */
export function gemmWasm(s: GemmSpace, k4: number): void {
  s.block.instance ??= new WA.Instance(wasmModule()!, { env: { mem: s.block.memory } });
  const gemm2 = s.block.instance.exports.gemm2 as Gemm2;
  for (let j0 = 0; j0 < s.n2; j0 += kStrip) {
    const w = Math.min(kStrip, s.n2 - j0);
    gemm2(s.a.byteOffset, k4, s.b.byteOffset + j0 * 8, s.n2, s.c.byteOffset + j0 * 8, s.n2, s.m2, k4, w);
  }
}
