/**
 * numpy's .npy format (versions 1.0, 2.0 and 3.0 headers; C order), for DistArrays.
 *
 * `saveNpy(path, a)` is collective: rank 0 writes the header, every rank writes its own rows
 * at their byte offset (an array not split in row blocks is first redistributed so that it
 * is), and the file appears atomically. `loadNpy(path)` is collective: every rank parses the
 * header and reads only its own rows. `encodeNpy`/`decodeNpy` do the same for one process.
 */
import { fstatSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { world } from '../comm/comm.js';
import { DistArray } from '../distarray/distarray.js';
import { block, type Distribution } from '../distarray/distribution.js';
import { ArgumentError, FileFormatError } from '../util/errors.js';
import { bytesOf, dtypeOf, kDTypes, shapeSize, type DType, type TypedArray } from '../util/dtype.js';
import { agree } from './collective.js';
import { maybeFault, readExactlyAt, writeAllAt, writeCollective } from './atomic.js';
import { readAllAt, readSmallAt } from './read.js';

const kMagic = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY

/** A parsed .npy header. */
export interface NpyHeader {
  dtype: DType;
  shape: number[];
  fortranOrder: boolean;
  /** Data is big-endian in the file ('>' descr). */
  bigEndian: boolean;
  /** Byte offset of the first element. */
  dataOffset: number;
  version: [number, number];
}

const kDescr: Record<string, DType> = {
  f8: 'float64', f4: 'float32', i1: 'int8', i2: 'int16', i4: 'int32', i8: 'int64',
  u1: 'uint8', u2: 'uint16', u4: 'uint32', u8: 'uint64', b1: 'bool',
};

/** The header bytes for an array of `dtype` and `shape` (v1.0, or v2.0 when it needs more room). */
export function npyHeader(dtype: DType, shape: readonly number[]): Uint8Array {
  const descr = kDTypes[dtype].npy;
  const shp = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  const dict = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shp}, }`;
  // Total header length is a multiple of 64 (numpy's alignment), ending in '\n'.
  for (const [major, lenBytes] of [[1, 2], [2, 4]] as const) {
    const pre = 6 + 2 + lenBytes;
    const total = Math.ceil((pre + dict.length + 1) / 64) * 64;
    const hlen = total - pre;
    if (lenBytes === 2 && hlen > 0xffff) continue;
    const out = new Uint8Array(total);
    out.set(kMagic, 0);
    out[6] = major;
    out[7] = 0;
    const dv = new DataView(out.buffer);
    if (lenBytes === 2) dv.setUint16(8, hlen, true);
    else dv.setUint32(8, hlen, true);
    const text = dict + ' '.repeat(hlen - dict.length - 1) + '\n';
    for (let i = 0; i < text.length; i++) out[pre + i] = text.charCodeAt(i);
    return out;
  }
  throw new ArgumentError('shape', 'a shape whose .npy header fits in 4 GiB', shape);
}

/**
 * Parses a .npy header from the first bytes of a file (at least 12; the full header if
 * available, else the needed length is reported through `dataOffset`).
 * @throws {FileFormatError} wrong magic, unsupported version or dtype, unparsable header
 */
export function parseNpyHeader(bytes: Uint8Array, path = '<npy>'): NpyHeader {
  if (bytes.byteLength < 10 || kMagic.some((b, i) => bytes[i] !== b)) throw new FileFormatError(path, 'not a .npy file: the magic string \\x93NUMPY is missing');
  const major = bytes[6]!;
  const minor = bytes[7]!;
  if (major < 1 || major > 3) throw new FileFormatError(path, `unsupported .npy version ${major}.${minor} (expected 1.0, 2.0 or 3.0)`);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const pre = major === 1 ? 10 : 12;
  if (bytes.byteLength < pre) throw new FileFormatError(path, 'truncated .npy header');
  const hlen = major === 1 ? dv.getUint16(8, true) : dv.getUint32(8, true);
  if (bytes.byteLength < pre + hlen) throw new FileFormatError(path, `truncated .npy header: ${pre + hlen} bytes expected, ${bytes.byteLength} present`);
  const text = new TextDecoder(major === 3 ? 'utf-8' : 'latin1').decode(bytes.subarray(pre, pre + hlen));
  const descr = /'descr'\s*:\s*'([^']*)'/.exec(text)?.[1];
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(text)?.[1];
  const shapeText = /'shape'\s*:\s*\(([^)]*)\)/.exec(text)?.[1];
  if (descr === undefined || fortran === undefined || shapeText === undefined) throw new FileFormatError(path, `unparsable .npy header: ${JSON.stringify(text.trim())}`);
  const m = /^([<>|=]?)([a-z]\d+)$/.exec(descr);
  const dtype = m ? kDescr[m[2]!] : undefined;
  if (!m || !dtype) throw new FileFormatError(path, `unsupported dtype '${descr}' (supported: ${Object.keys(kDescr).join(', ')}, little- or big-endian)`);
  const shape = shapeText.split(',').map((s) => s.trim()).filter((s) => s.length > 0).map(Number);
  if (shape.some((d) => !Number.isSafeInteger(d) || d < 0)) throw new FileFormatError(path, `bad shape (${shapeText}) in .npy header`);
  return { dtype, shape, fortranOrder: fortran === 'True', bigEndian: m[1] === '>' && kDTypes[dtype].bytes > 1, dataOffset: pre + hlen, version: [major, minor] };
}

/** One process: the bytes of a .npy file holding `data` (row-major) with `shape`. */
export function encodeNpy(data: TypedArray, shape: readonly number[] = [data.length]): Uint8Array {
  const dtype = dtypeOf(data);
  if (!dtype) throw new ArgumentError('data', 'a typed array', data);
  if (shapeSize(shape) !== data.length) throw new ArgumentError('shape', `a shape of ${data.length} elements`, shape);
  const h = npyHeader(dtype === 'uint8c' ? 'uint8' : dtype, shape);
  const out = new Uint8Array(h.byteLength + data.byteLength);
  out.set(h, 0);
  out.set(bytesOf(data), h.byteLength);
  return out;
}

/** One process: parses a whole .npy file (C or Fortran order; the result is row-major). */
export function decodeNpy(bytes: Uint8Array, path = '<npy>'): { data: TypedArray; shape: number[]; dtype: DType } {
  const h = parseNpyHeader(bytes, path);
  const n = shapeSize(h.shape);
  const bpe = kDTypes[h.dtype].bytes;
  if (bytes.byteLength < h.dataOffset + n * bpe) throw new FileFormatError(path, `truncated: ${n} elements of ${bpe} bytes expected after the header, the file holds ${bytes.byteLength - h.dataOffset} bytes`);
  const copy = bytes.slice(h.dataOffset, h.dataOffset + n * bpe);
  if (h.bigEndian) swapBytes(copy, bpe);
  let data = new kDTypes[h.dtype].ctor(copy.buffer, 0, n);
  if (h.fortranOrder && h.shape.length > 1) data = fortranToC(data, h.shape);
  return { data, shape: h.shape, dtype: h.dtype };
}

function swapBytes(b: Uint8Array, bpe: number): void {
  for (let i = 0; i < b.byteLength; i += bpe) b.subarray(i, i + bpe).reverse();
}

function fortranToC(f: TypedArray, shape: number[]): TypedArray {
  const out = new (f.constructor as new (n: number) => TypedArray)(f.length) as unknown as { [i: number]: unknown };
  const src = f as unknown as { [i: number]: unknown };
  const nd = shape.length;
  const idx = new Array<number>(nd).fill(0);
  for (let c = 0; c < f.length; c++) {
    let fi = 0;
    for (let k = nd - 1; k >= 0; k--) fi = fi * shape[k]! + idx[k]!;
    out[c] = src[fi];
    for (let k = nd - 1; k >= 0; k--) {
      if (++idx[k]! < shape[k]!) break;
      idx[k] = 0;
    }
  }
  return out as unknown as TypedArray;
}

/** True when rank r's block is a contiguous run of whole rows of the C-order file. */
function rowBlocked(a: DistArray): boolean {
  const d = a.dist;
  if (a.halo !== 0) return false;
  if (d.size === 1) return true;
  return d.grid[0] === d.size && d.grid.slice(1).every((g) => g === 1) && d.axes[0]!.contiguous;
}

/**
 * Collective: writes DistArray `a` to `path` as a .npy file numpy can `np.load`. Rank 0
 * writes the header; every rank writes its own rows at their offset; the file appears whole
 * or not at all. Arrays not laid out in row blocks (cyclic, 2-D grids, halos) are first
 * redistributed into row blocks.
 * @example await saveNpy('u.npy', u);   // then in Python: np.load('u.npy')
 */
export async function saveNpy(path: string, a: DistArray): Promise<void> {
  // Checked together: a rank's invalid argument is an error on every rank, not a hang.
  await agree(path, async () => {
    if (!(a instanceof DistArray)) throw new ArgumentError('a', 'a DistArray', a, world.rank);
    if (a.shape.length === 0) throw new ArgumentError('a', 'an array with at least one axis', a.shape, world.rank);
  });
  const rows = rowBlocked(a) ? a : await a.redistribute(block([...a.shape], a.size, 0), { halo: 0 });
  const dtype = rows.dtype === 'uint8c' ? 'uint8' : rows.dtype;
  const header = npyHeader(dtype, rows.shape);
  const rowBytes = (shapeSize(rows.shape) / Math.max(1, rows.shape[0]!)) * kDTypes[dtype].bytes;
  const firstRow = rows.localShape[0]! === 0 ? 0 : rows.dist.toGlobal(rows.rank, rows.localShape.map(() => 0))[0]!;
  const body = bytesOf(rows.data);
  await writeCollective(path, async (fh) => {
    if (rows.rank === 0) await writeAllAt(fh, [header], 0);
    const half = Math.floor(body.byteLength / 2);
    const at = header.byteLength + firstRow * rowBytes;
    await writeAllAt(fh, [body.subarray(0, half)], at);
    await maybeFault(path);
    await writeAllAt(fh, [body.subarray(half)], at + half);
  });
}

/**
 * Collective: loads a .npy file as a DistArray (row blocks over every rank, or `dist`).
 * Every rank reads the header and only its own rows. Fortran-order files are read whole on
 * every rank and transposed (numpy writes C order unless asked otherwise).
 * @throws {FileFormatError} on every rank: wrong magic, truncated file, unsupported dtype
 */
export async function loadNpy(path: string, options: { dist?: Distribution } = {}): Promise<DistArray> {
  // Opened once, for the header and then this rank's rows; one exchange agrees on the path
  // and on success (every rank reads the same header, so all make the same layout).
  let fh: FileHandle | undefined;
  let got: { h: NpyHeader; a: DistArray } | { h: NpyHeader; whole: TypedArray };
  try {
    got = await agree(path, async () => {
      fh = await open(path, 'r');
      const h = npyHeaderOf(fh, path);
      return h.fortranOrder && h.shape.length > 1 ? { h, whole: await readWhole(fh, path) } : { h, a: await readRows(fh, path, h) };
    }, { samePath: true });
  } finally {
    await fh?.close();
  }
  const { h } = got;
  if ('whole' in got) {
    // Fortran order: every rank holds the whole array and takes its elements.
    const whole = got.whole as unknown as { [i: number]: number | bigint };
    return DistArray.fromFunction(h.shape, (...g) => whole[g.reduce((s, v, k) => s * h.shape[k]! + v, 0)]!, { dist: options.dist ?? block(h.shape, world.size, 0), dtype: h.dtype });
  }
  return options.dist && !options.dist.equals(got.a.dist) ? got.a.redistribute(options.dist) : got.a;
}

/** The header of the .npy file open as `fh`, checked against the file's size (small synchronous reads). */
function npyHeaderOf(fh: FileHandle, path: string): NpyHeader {
  const { size } = fstatSync(fh.fd);
  const head = new Uint8Array(Math.min(size, 4096));
  readSmallAt(fh, head, 0, path);
  let hdr: NpyHeader;
  try {
    hdr = parseNpyHeader(head, path);
  } catch (err) {
    // A header longer than 4 KiB: read exactly as much as it says.
    if (!(err instanceof FileFormatError) || head.byteLength < 12 || !/truncated .npy header/.test(err.message) || size <= head.byteLength) throw err;
    const big = new Uint8Array(Math.min(size, 12 + new DataView(head.buffer).getUint32(8, true)));
    readSmallAt(fh, big, 0, path);
    hdr = parseNpyHeader(big, path);
  }
  if (hdr.shape.length === 0) throw new FileFormatError(path, 'a 0-d (scalar) array cannot be a DistArray');
  const need = hdr.dataOffset + shapeSize(hdr.shape) * kDTypes[hdr.dtype].bytes;
  if (size < need) throw new FileFormatError(path, `truncated: the header promises ${need} bytes, the file has ${size}`);
  return hdr;
}

/** Local: the whole array of the .npy file open as `fh`, row-major. */
async function readWhole(fh: FileHandle, path: string): Promise<TypedArray> {
  const b = new Uint8Array(fstatSync(fh.fd).size);
  await readExactlyAt(fh, b, 0, path);
  return decodeNpy(b, path).data;
}

/** Local: this rank's row block of the C-order .npy file open as `fh`, read straight into the DistArray's block. */
async function readRows(fh: FileHandle, path: string, h: NpyHeader): Promise<DistArray> {
  const a = await DistArray.zeros(h.shape, { dtype: h.dtype, dist: block(h.shape, world.size, 0) });
  const body = bytesOf(a.data);
  if (body.byteLength === 0) return a;
  const rowBytes = (shapeSize(h.shape) / h.shape[0]!) * kDTypes[h.dtype].bytes;
  const firstRow = a.dist.toGlobal(a.rank, a.localShape.map(() => 0))[0]!;
  await readAllAt(fh, [[body, h.dataOffset + firstRow * rowBytes]], path);
  if (h.bigEndian) swapBytes(body, kDTypes[h.dtype].bytes);
  return a;
}
