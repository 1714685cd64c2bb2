/**
 * @internal Arrow IPC body compression codecs (LZ4_FRAME and ZSTD), registered into
 * apache-arrow's compression registry when first needed, so tables written compressed by
 * pyarrow, polars or arrow-rs read, and writeArrow can compress.
 *
 * LZ4_FRAME: lz4-napi (lz4_flex through N-API; prebuilt binaries come as npm packages, no
 * download at install). ZSTD: @bokuweb/zstd-wasm (the reference zstd compiled to WASM; encodes
 * and decodes). Why these: docs/io.md ("Compressed files"). Both are loaded on first use only,
 * so a job that never meets a compressed batch pays nothing.
 */
import { createRequire } from 'node:module';
import type { CompressionType } from 'apache-arrow';
import { compressionRegistry, loadArrow } from './arrow.js';
import { ArgumentError } from './errors.js';

/** Compression names writeArrow accepts, and their Arrow codes (the IPC format's CompressionType numbers; apache-arrow loads later, util/arrow.ts). */
export const kCompression = { lz4: 0 as CompressionType.LZ4_FRAME, zstd: 1 as CompressionType.ZSTD } as const;
export type CompressionName = keyof typeof kCompression;

const require = createRequire(import.meta.url);
let ready: Promise<void> | undefined;

const asBuffer = (u: Uint8Array): Buffer => Buffer.from(u.buffer, u.byteOffset, u.byteLength);

/** Registers both codecs with apache-arrow (once per process); resolves when usable. */
export function ensureCodecs(): Promise<void> {
  ready ??= (async () => {
    await loadArrow();
    let lz4: typeof import('lz4-napi');
    let zstd: typeof import('@bokuweb/zstd-wasm');
    try {
      lz4 = require('lz4-napi') as typeof import('lz4-napi');
    } catch (err) {
      throw new ArgumentError('compression', `the lz4-napi package (npm i lz4-napi) for LZ4_FRAME Arrow batches; loading it failed: ${(err as Error).message}`, 'lz4');
    }
    try {
      zstd = require('@bokuweb/zstd-wasm') as typeof import('@bokuweb/zstd-wasm');
      await zstd.init();
    } catch (err) {
      throw new ArgumentError('compression', `the @bokuweb/zstd-wasm package (npm i @bokuweb/zstd-wasm) for ZSTD Arrow batches; loading it failed: ${(err as Error).message}`, 'zstd');
    }
    compressionRegistry.set(kCompression.lz4, {
      encode: (data) => logged(data, lz4.compressFrameSync(asBuffer(data))),
      decode: (data) => lz4.decompressFrameSync(asBuffer(data)),
    });
    compressionRegistry.set(kCompression.zstd, {
      encode: (data) => logged(data, zstd.compress(data, 3)),
      decode: (data) => zstd.decompress(data),
    });
  })();
  return ready;
}

/** The Arrow code of a compression name ('lz4' or 'zstd'), or a typed error. */
export function compressionOf(name: unknown): CompressionType {
  if (typeof name === 'string' && name in kCompression) return kCompression[name as CompressionName];
  throw new ArgumentError('options.compression', `one of ${Object.keys(kCompression).map((k) => `'${k}'`).join(', ')}`, name);
}

// apache-arrow 21's writer puts the COMPRESSED length in each buffer's 8-byte prefix, where the
// format wants the uncompressed length (its own reader ignores it; polars, pyarrow and arrow-rs
// rely on it and reject the file). The encoders log (compressed, uncompressed) lengths of the
// buffers they shrank, in order, and `fixPrefixes` rewrites those prefixes in the writer's chunks.
let sizeLog: [number, number][] | null = null;

function logged(data: Uint8Array, out: Uint8Array): Uint8Array {
  if (sizeLog && out.length < data.length) sizeLog.push([out.length, data.length]);
  return out;
}

/**
 * Runs `write` (which drives an apache-arrow IPC writer with a compressionType) and returns
 * its result with the lengths the codecs saw; pass them to `fixPrefixes` with the chunks.
 */
export function loggingSizes<T>(write: () => T): [T, [number, number][]] {
  const log: [number, number][] = [];
  sizeLog = log;
  try {
    return [write(), log];
  } finally {
    sizeLog = null;
  }
}

/**
 * Rewrites the length prefixes of compressed buffers in an IPC writer's output chunks (each
 * prefix is its own 8-byte chunk, right before the compressed bytes) to the uncompressed
 * lengths the format asks for. Throws if the chunks do not match the log.
 */
export function fixPrefixes(parts: readonly Uint8Array[], log: readonly [number, number][]): void {
  let k = 0;
  for (let i = 0; i + 1 < parts.length && k < log.length; i++) {
    const p = parts[i]!;
    if (p.byteLength !== 8) continue;
    const dv = new DataView(p.buffer, p.byteOffset, 8);
    const [compressed, uncompressed] = log[k]!;
    if (Number(dv.getBigInt64(0, true)) === compressed && parts[i + 1]!.byteLength === compressed) {
      dv.setBigInt64(0, BigInt(uncompressed), true);
      k++;
      i++;
    }
  }
  if (k !== log.length) throw new Error(`internal: ${log.length - k} of ${log.length} compressed buffer prefixes not found in the IPC writer's output`);
}
