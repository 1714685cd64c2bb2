/**
 * Parallel Parquet I/O for DistFrames, through parquet-wasm (arrow-rs compiled to
 * WebAssembly: every codec, Arrow in and out) for the pages and this module for the rest.
 *
 * readParquet: every rank reads the footer (two positioned reads at the end of each file),
 * decodes it (io/thrift.ts), drops the row groups whose min/max statistics rule the filter
 * out, takes a contiguous share of the rest (balanced by the compressed bytes of the asked
 * columns) and decodes only those row groups and columns; parquet-wasm asks for their byte
 * ranges through a Blob-like view of the file that does positioned reads.
 *
 * writeParquet: every rank encodes its rows as a Parquet file in memory (row groups of at
 * most rowGroupRows rows), keeps its row groups' bytes, and the ranks lay them end to end in
 * ONE file: an exchange of sizes gives each rank its offset, each shifts the offsets in its
 * row groups' metadata by it, rank 0 writes the magic and the footer listing every rank's row
 * groups. Written through writeCollective: the file lands whole or not at all.
 */
import { open, readdir, stat, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { Data, Schema, Table, tableFromIPC, tableToIPC, loadArrow } from '../util/arrow.js';
import { world } from '../comm/comm.js';
import { DistFrame, checkSchemas } from '../distarray/frame.js';
import { columnsOf } from '../distarray/frame-ipc.js';
import { concat, emptyData, familyOf, take } from '../distarray/frame-kernels.js';
import { Expr, canMatch, maskIndices, type ColumnStats } from '../distarray/frame-expr.js';
import { ArgumentError, FileFormatError } from '../util/errors.js';
import { agree, checkSamePath } from './collective.js';
import { maybeFault, readExactlyAt, writeAllAt, writeCollective } from './atomic.js';
import { TType, decodeStruct, encodeStruct, field, removeField, setField, type TList, type TStruct } from './thrift.js';

type ParquetWasm = typeof import('parquet-wasm');
let wasm: ParquetWasm | undefined;
/** parquet-wasm, loaded on first use (its module is 5 MB of WebAssembly per rank). */
async function parquetWasm(): Promise<ParquetWasm> {
  return (wasm ??= await import('parquet-wasm'));
}

const kMagic = new Uint8Array([0x50, 0x41, 0x52, 0x31]); // "PAR1"

/** Codecs writeParquet offers. */
export type ParquetCompression = 'uncompressed' | 'snappy' | 'gzip' | 'zstd' | 'brotli' | 'lz4';

/** Options of writeParquet. */
export interface WriteParquetOptions {
  /** Codec of every column. Default 'snappy'. */
  compression?: ParquetCompression;
  /** Rows per row group at most (readers split work by whole row groups). Default 1 << 20. */
  rowGroupRows?: number;
}

/** Options of readParquet. */
export interface ReadParquetOptions {
  /** Columns to read (default all): the others' bytes are not read. */
  columns?: string[];
  /**
   * Rows to keep: a boolean expression (`col('x').gt(3)`). Row groups whose min/max statistics
   * show that no row can match are not read; the rest are filtered exactly.
   */
  filter?: Expr;
  /** Redistribute rows into equal row blocks after reading (row groups may be uneven). */
  balance?: boolean;
}

// Parquet's thrift field ids (parquet.thrift).
const FMD = { schema: 2, numRows: 3, rowGroups: 4, kv: 5 } as const;
const RG = { columns: 1, numRows: 3, fileOffset: 5, totalCompressed: 6, ordinal: 7 } as const;
const CC = { filePath: 1, fileOffset: 2, meta: 3, offsetIndexOffset: 4, columnIndexOffset: 6 } as const;
const CMD = { type: 1, path: 3, codec: 4, compressed: 7, dataPageOffset: 9, indexPageOffset: 10, dictPageOffset: 11, stats: 12, bloomOffset: 14 } as const;
const SE = { type: 1, name: 4, numChildren: 5, convertedType: 6, logicalType: 10 } as const;
const kCodecNames = ['UNCOMPRESSED', 'SNAPPY', 'GZIP', 'LZO', 'BROTLI', 'LZ4', 'ZSTD', 'LZ4_RAW'];
const kReadableCodecs = new Set([0, 1, 2, 4, 5, 6, 7]);

const utf8 = new TextDecoder();
const num = (v: unknown): number => (typeof v === 'bigint' ? Number(v) : typeof v === 'number' ? v : NaN);
const str = (v: unknown): string => (v instanceof Uint8Array ? utf8.decode(v) : '');
const structs = (v: unknown): TStruct[] => ((v as TList | undefined)?.items ?? []) as TStruct[];

/** A Parquet file's footer, decoded. */
interface ParquetInfo {
  path: string;
  size: number;
  /** Where the footer starts (data and indexes lie before it). */
  dataEnd: number;
  meta: TStruct;
  /** The bytes readers see after dataEnd: footer, length, magic (rewritten if the Arrow schema hint is dropped). */
  tail: Uint8Array;
  /** Top-level leaf columns: name -> its index in each row group's column list and schema element. */
  leaves: Map<string, { index: number; element: TStruct }>;
}

async function readFooter(fh: FileHandle, path: string): Promise<ParquetInfo> {
  const { size } = await fh.stat();
  if (size < 12) throw new FileFormatError(path, `not a Parquet file: ${size} bytes is too short (truncated?)`, world.rank);
  const head = new Uint8Array(4);
  await readExactlyAt(fh, head, 0, path);
  if (!head.every((b, i) => b === kMagic[i])) throw new FileFormatError(path, 'not a Parquet file: the leading magic PAR1 is missing at byte 0', world.rank);
  const end = new Uint8Array(8);
  await readExactlyAt(fh, end, size - 8, path);
  if (!end.subarray(4).every((b, i) => b === kMagic[i])) throw new FileFormatError(path, `not a complete Parquet file: the trailing magic PAR1 is missing at byte ${size - 4} (truncated or still being written?)`, world.rank);
  const flen = new DataView(end.buffer).getInt32(0, true);
  if (flen <= 0 || flen > size - 12) throw new FileFormatError(path, `corrupt Parquet footer length ${flen} at byte ${size - 8} in a file of ${size} bytes`, world.rank);
  const dataEnd = size - 8 - flen;
  const fb = new Uint8Array(flen);
  await readExactlyAt(fh, fb, dataEnd, path);
  let meta: TStruct;
  try {
    meta = decodeStruct(fb, path).value;
  } catch (err) {
    throw new FileFormatError(path, `corrupt Parquet footer (${flen} bytes at byte ${dataEnd}): ${(err as Error).message.replace(/^.*?: /, '')}`, world.rank);
  }
  const schema = structs(field(meta, FMD.schema));
  if (schema.length === 0 || field(meta, FMD.rowGroups) === undefined) throw new FileFormatError(path, `corrupt Parquet footer at byte ${dataEnd}: no schema or no row group list`, world.rank);
  // Flat leaves under the root (nested columns are not DistFrame columns; the Arrow check names them).
  const leaves = new Map<string, { index: number; element: TStruct }>();
  let leaf = 0;
  for (const el of schema.slice(1)) {
    const children = num(field(el, SE.numChildren));
    if (children > 0) {
      leaf = -1;
      break; // nested: leaf indices past here are not top-level columns; stats are skipped
    }
    leaves.set(str(field(el, SE.name)), { index: leaf++, element: el });
  }
  if (leaf < 0) leaves.clear();
  const tail = withoutUnreadableHint(meta, end, fb);
  for (const rg of structs(field(meta, FMD.rowGroups))) {
    for (const cc of structs(field(rg, RG.columns))) {
      const m = field(cc, CC.meta) as TStruct | undefined;
      const off = num(m && field(m, CMD.dictPageOffset)) || num(m && field(m, CMD.dataPageOffset));
      const len = num(m && field(m, CMD.compressed));
      if (!m || !(off >= 4) || !(len >= 0) || off + len > dataEnd) {
        throw new FileFormatError(path, `corrupt Parquet footer: a column chunk at byte ${off} (${len} bytes) runs past the data (which ends at byte ${dataEnd})`, world.rank);
      }
    }
  }
  return { path, size, dataEnd, meta, tail, leaves };
}

/**
 * The footer's bytes as readers should see them: unchanged, or without the ARROW:schema key
 * when apache-arrow cannot decode that schema or it has types DistFrame does not hold (e.g.
 * polars' string views): the reader then maps the Parquet types itself.
 */
function withoutUnreadableHint(meta: TStruct, end: Uint8Array, footer: Uint8Array): Uint8Array {
  const kv = field(meta, FMD.kv) as TList | undefined;
  const items = (kv?.items ?? []) as TStruct[];
  const k = items.findIndex((s) => str(field(s, 1)) === 'ARROW:schema');
  const unchanged = () => {
    const t = new Uint8Array(footer.length + 8);
    t.set(footer);
    t.set(end, footer.length);
    return t;
  };
  if (k < 0) return unchanged();
  try {
    const b64 = str(field(items[k]!, 2));
    const bytes = Buffer.from(b64, 'base64');
    const eos = new Uint8Array([0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0]);
    const t = tableFromIPC(Buffer.concat([bytes, eos]));
    t.schema.fields.forEach((f) => familyOf(f.type, f.name));
    return unchanged();
  } catch {
    const copy: TStruct = { fields: meta.fields.map((f) => (f.id === FMD.kv ? { ...f, v: { et: TType.Struct, items: items.filter((_, j) => j !== k) } } : f)) };
    const enc = encodeStruct(copy);
    const t = new Uint8Array(enc.length + 8);
    t.set(enc);
    new DataView(t.buffer).setInt32(enc.length, enc.length, true);
    t.set(kMagic, enc.length + 4);
    return t;
  }
}

/**
 * Collective: the schema and row count of a Parquet file or directory from its footers alone
 * (no data page is read): what a lazy scan plans with (io/scan.ts).
 */
export async function parquetMeta(path: string): Promise<{ schema: Schema; rows: number }> {
  await loadArrow();
  await checkSamePath(path);
  const infos = await agree(path, async () => Promise.all((await filesOf(path)).map(async (f) => {
    const fh = await open(f, 'r');
    try {
      return await readFooter(fh, f);
    } finally {
      await fh.close();
    }
  })));
  const schema = (await agree(path, () => readRowGroups(infos[0]!, [], undefined))).schema;
  return { schema, rows: infos.reduce((s, info) => s + num(field(info.meta, FMD.numRows)), 0) };
}

/** Bytes read from Parquet files by this rank (data pages; footers not counted). @internal for tests */
export let parquetBytesRead = 0;

/** A Blob-like view of a Parquet file (with its possibly rewritten footer) that parquet-wasm reads by ranges. */
function fileBlob(fh: FileHandle, info: ParquetInfo): unknown {
  const vsize = info.dataEnd + info.tail.length;
  const make = (a: number, b: number): unknown => ({
    size: b - a,
    type: '',
    slice: (x = 0, y = b - a) => make(a + Math.max(0, x), a + Math.min(b - a, y)),
    arrayBuffer: async () => {
      const out = new Uint8Array(b - a);
      const fileEnd = Math.min(b, info.dataEnd);
      if (fileEnd > a) {
        await readExactlyAt(fh, out.subarray(0, fileEnd - a), a, info.path);
        parquetBytesRead += fileEnd - a;
      }
      if (b > info.dataEnd) out.set(info.tail.subarray(Math.max(0, a - info.dataEnd), b - info.dataEnd), Math.max(0, info.dataEnd - a));
      return out.buffer;
    },
  });
  return make(0, vsize);
}

/** Decodes a statistics value of a column chunk, or undefined when it cannot be compared safely. */
function statValue(bytes: unknown, physical: number, el: TStruct): number | string | undefined {
  if (!(bytes instanceof Uint8Array)) return undefined;
  const conv = field(el, SE.convertedType);
  const logical = field(el, SE.logicalType) as TStruct | undefined;
  const intType = logical && (field(logical, 10) as TStruct | undefined); // LogicalType.INTEGER
  const unsigned = (typeof conv === 'number' && conv >= 11 && conv <= 14) || (intType && field(intType, 2) === false);
  if (unsigned) return undefined; // unsigned order differs from the signed bytes
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  switch (physical) {
    case 1: return bytes.length === 4 ? dv.getInt32(0, true) : undefined;
    case 2: return bytes.length === 8 ? Number(dv.getBigInt64(0, true)) : undefined;
    case 4: return bytes.length === 4 ? dv.getFloat32(0, true) : undefined;
    case 5: return bytes.length === 8 ? dv.getFloat64(0, true) : undefined;
    case 6: {
      const isString = conv === 0 || (logical && field(logical, 1) !== undefined) || (logical && field(logical, 4) !== undefined); // UTF8, STRING, ENUM
      return isString ? utf8.decode(bytes) : undefined;
    }
    default: return undefined;
  }
}

/** What the statistics of row group `rg` say of each top-level column. */
function rowGroupStats(info: ParquetInfo, rg: TStruct): (name: string) => ColumnStats | undefined {
  const rows = num(field(rg, RG.numRows));
  const chunks = structs(field(rg, RG.columns));
  return (name) => {
    const leaf = info.leaves.get(name);
    const m = leaf && (field(chunks[leaf.index]!, CC.meta) as TStruct | undefined);
    if (!leaf || !m) return undefined;
    const s = field(m, CMD.stats) as TStruct | undefined;
    if (!s) return { rows };
    const physical = num(field(m, CMD.type));
    const nulls = field(s, 3);
    // min_value/max_value (5, 6); the deprecated min/max (2, 1) only where signed order is right.
    const legacy = physical === 1 || physical === 2 || physical === 4 || physical === 5;
    const min = statValue(field(s, 6) ?? (legacy ? field(s, 2) : undefined), physical, leaf.element);
    const max = statValue(field(s, 5) ?? (legacy ? field(s, 1) : undefined), physical, leaf.element);
    return { rows, nulls: nulls === undefined ? undefined : num(nulls), min: min === undefined || max === undefined ? undefined : min, max: min === undefined || max === undefined ? undefined : max };
  };
}

/** The Parquet files of `path`: itself, or a directory's *.parquet files (recursively, sorted by path). */
async function filesOf(path: string): Promise<string[]> {
  const st = await stat(path);
  if (!st.isDirectory()) return [path];
  const out: string[] = [];
  const walk = async (dir: string): Promise<void> => {
    const entries = (await readdir(dir, { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const e of entries) {
      if (e.name.startsWith('.') || e.name.startsWith('_')) continue;
      if (e.isDirectory()) await walk(join(dir, e.name));
      else if (e.name.endsWith('.parquet')) out.push(join(dir, e.name));
    }
  };
  await walk(path);
  if (out.length === 0) throw new FileFormatError(path, 'a directory without .parquet files', world.rank);
  return out;
}

/** Arrow schema of what parquet-wasm returns for `columns` of a file, with DistFrame's type check. */
function checkTypes(schema: Schema, path: string): void {
  for (const f of schema.fields) {
    try {
      familyOf(f.type, f.name);
    } catch {
      throw new FileFormatError(path, `column '${f.name}' has type ${String(f.type)}, which DistFrame does not hold (ints, floats, bool, utf8, dictionary<utf8>, timestamps, dates)`, world.rank);
    }
  }
}

/** Reads row groups `rgs` (all when undefined: schema only if empty) of one file as Arrow columns. */
async function readRowGroups(info: ParquetInfo, rgs: number[], columns: string[] | undefined): Promise<Table> {
  const pw = await parquetWasm();
  const fh = await open(info.path, 'r');
  try {
    const pf = await pw.ParquetFile.fromFile(fileBlob(fh, info) as Blob);
    try {
      const rows = rgs.reduce((s, i) => s + num(field(structs(field(info.meta, FMD.rowGroups))[i]!, RG.numRows)), 0);
      const t = await pf.read({ rowGroups: rgs, columns, batchSize: Math.max(1024, Math.min(rows, 1 << 22)) });
      return tableFromIPC(t.intoIPCStream());
    } finally {
      pf.free();
    }
  } catch (err) {
    if (err instanceof FileFormatError) throw err;
    const rg = structs(field(info.meta, FMD.rowGroups))[rgs[0] ?? 0];
    const at = rg ? num(field(rg, RG.fileOffset)) || num(field(field(structs(field(rg, RG.columns))[0]!, CC.meta) as TStruct, CMD.dataPageOffset)) : info.dataEnd;
    throw new FileFormatError(info.path, `cannot decode row group${rgs.length === 1 ? '' : 's'} ${rgs.join(', ')} (from byte ${at}): ${(err as Error).message}`, world.rank);
  } finally {
    await fh.close();
  }
}

/**
 * Collective: reads a Parquet file, or a directory of them, as a DistFrame. Each rank reads
 * the footers, then only its own share of the row groups (whole row groups, contiguous,
 * balanced by compressed bytes), only the asked `columns`, and skips row groups whose
 * statistics rule the `filter` out; the filter is then applied to the rows read.
 * @throws {FileFormatError} on every rank: wrong magic, truncated file, corrupt footer, a codec
 *   or type that cannot be read (naming the column, type or byte offset)
 * @throws {ArgumentError} on every rank: a column that the file does not have
 * @example const f = await readParquet('sales.parquet', { columns: ['region', 'amount'], filter: col('amount').gt(100) });
 */
export async function readParquet(path: string, options: ReadParquetOptions = {}): Promise<DistFrame> {
  await loadArrow();
  const { columns, filter } = options;
  if (columns !== undefined && (!Array.isArray(columns) || columns.some((c) => typeof c !== 'string'))) throw new ArgumentError('options.columns', 'a list of column names', columns, world.rank);
  if (filter !== undefined && !(filter instanceof Expr)) throw new ArgumentError('options.filter', "an expression such as col('x').gt(3)", filter, world.rank);
  await checkSamePath(path);
  const infos = await agree(path, async () => {
    const files = await filesOf(path);
    return Promise.all(files.map(async (f) => {
      const fh = await open(f, 'r');
      try {
        return await readFooter(fh, f);
      } finally {
        await fh.close();
      }
    }));
  });
  // The schema, from the first file (every rank sees the same footers: same outcome everywhere).
  const schemaTable = await agree(path, () => readRowGroups(infos[0]!, [], undefined));
  const all = schemaTable.schema;
  const names = all.fields.map((f) => f.name);
  for (const c of [...(columns ?? []), ...(filter?.columns() ?? [])]) {
    if (!names.includes(c)) throw new ArgumentError(`column '${c}' of ${path}`, `one of ${names.join(', ')}`, c, world.rank);
  }
  const want = columns ?? names;
  const read = filter ? [...new Set([...want, ...filter.columns()])] : want;
  checkTypes(new Schema(all.fields.filter((f) => read.includes(f.name))), infos[0]!.path);
  // Row groups that may hold matching rows, with their bytes (the asked columns only).
  const list: { f: number; i: number; bytes: number }[] = [];
  let pruned = 0;
  infos.forEach((info, f) => {
    structs(field(info.meta, FMD.rowGroups)).forEach((rg, i) => {
      if (num(field(rg, RG.numRows)) === 0) return;
      if (filter && !canMatch(filter, rowGroupStats(info, rg))) {
        pruned++;
        return;
      }
      const chunks = structs(field(rg, RG.columns));
      let bytes = 0;
      for (const c of read) {
        const leaf = info.leaves.get(c);
        const m = leaf ? (field(chunks[leaf.index]!, CC.meta) as TStruct) : undefined;
        bytes += m ? num(field(m, CMD.compressed)) : 0;
        const codec = m ? num(field(m, CMD.codec)) : 0;
        if (m && !kReadableCodecs.has(codec)) {
          throw new FileFormatError(info.path, `column '${c}' of row group ${i} (at byte ${num(field(m, CMD.dataPageOffset))}) uses codec ${kCodecNames[codec] ?? codec}, which cannot be read (readable: ${[...kReadableCodecs].map((k) => kCodecNames[k]).join(', ')})`, world.rank);
        }
      }
      list.push({ f, i, bytes: Math.max(bytes, 1) });
    });
  });
  lastPruned = pruned;
  const total = list.reduce((s, x) => s + x.bytes, 0);
  const mine: typeof list = [];
  let acc = 0;
  for (const x of list) {
    const owner = total === 0 ? 0 : Math.min(world.size - 1, Math.floor(((acc + x.bytes / 2) / total) * world.size));
    acc += x.bytes;
    if (owner === world.rank) mine.push(x);
  }
  const readSchema = new Schema(read.map((c) => all.fields[names.indexOf(c)]!));
  const cols = await agree(path, async () => {
    const parts: Data[][] = [];
    for (let f = 0; f < infos.length; f++) {
      const rgs = mine.filter((x) => x.f === f).map((x) => x.i);
      if (rgs.length === 0) continue;
      const t = await readRowGroups(infos[f]!, rgs, read);
      checkTypes(t.schema, infos[f]!.path);
      const got = columnsOf(t);
      parts.push(read.map((c) => {
        const k = t.schema.fields.findIndex((x) => x.name === c);
        const want = readSchema.fields[read.indexOf(c)]!.type;
        if (k < 0 || String(t.schema.fields[k]!.type) !== String(want)) {
          throw new FileFormatError(infos[f]!.path, `column '${c}' is ${k < 0 ? 'missing' : String(t.schema.fields[k]!.type)} where ${infos[0]!.path} has ${String(want)}`, world.rank);
        }
        return got[k]!;
      }));
    }
    return readSchema.fields.map((fld, k) => (parts.length === 0 ? emptyData(fld.type) : concat(fld.type, parts.map((p) => p[k]!))));
  });
  let frame = new DistFrame(readSchema, cols);
  if (filter) {
    const idx = maskIndices(filter, { schema: readSchema, columns: frame.columns, rows: frame.localRows });
    frame = new DistFrame(readSchema, frame.columns.map((c) => take(c, idx)));
  }
  if (read.length !== want.length) frame = frame.select(want);
  return options.balance ? frame.rebalance() : frame;
}

/** Row groups the last readParquet on this rank skipped by their statistics. @internal for tests */
export let lastPruned = 0;

const kCodecs: Record<ParquetCompression, keyof ParquetWasm['Compression']> = {
  uncompressed: 'UNCOMPRESSED', snappy: 'SNAPPY', gzip: 'GZIP', zstd: 'ZSTD', brotli: 'BROTLI', lz4: 'LZ4_RAW',
};

/** Shifts every file offset in a row group's metadata by `delta` bytes. */
function shiftRowGroup(rg: TStruct, delta: bigint, ordinal: number): void {
  const shift = (s: TStruct, id: number) => {
    const f = s.fields.find((x) => x.id === id);
    if (f && typeof f.v === 'bigint') f.v += delta;
  };
  shift(rg, RG.fileOffset);
  if (rg.fields.some((f) => f.id === RG.ordinal)) setField(rg, RG.ordinal, TType.I16, ordinal);
  for (const cc of structs(field(rg, RG.columns))) {
    shift(cc, CC.fileOffset);
    // Page indexes hold absolute page offsets inside their own bytes: rather than rewrite
    // them, the merged footer does not reference them (readers then read pages in order).
    for (const id of [CC.offsetIndexOffset, CC.offsetIndexOffset + 1, CC.columnIndexOffset, CC.columnIndexOffset + 1]) removeField(cc, id);
    const m = field(cc, CC.meta) as TStruct | undefined;
    if (m) for (const id of [CMD.dataPageOffset, CMD.indexPageOffset, CMD.dictPageOffset, CMD.bloomOffset]) shift(m, id);
  }
}

/**
 * Collective: writes every rank's rows of `frame` into ONE Parquet file at `path` (rank order
 * is row order), atomically: the file is complete or the previous one is untouched. Each
 * rank's rows become row groups of at most `rowGroupRows` rows, compressed with `compression`,
 * with min/max statistics per column chunk.
 * @throws {SchemaMismatchError} on every rank if the ranks' schemas differ
 * @example await writeParquet('sales.parquet', frame, { compression: 'zstd' });
 */
export async function writeParquet(path: string, frame: DistFrame | Table, options: WriteParquetOptions = {}): Promise<void> {
  await loadArrow();
  // Checked together: a rank's invalid argument is an error on every rank, not a hang.
  const { compression, rowGroupRows, local } = await agree(path, async () => {
    const compression = options.compression ?? 'snappy';
    const rowGroupRows = options.rowGroupRows ?? 1 << 20;
    if (!(compression in kCodecs)) throw new ArgumentError('options.compression', `one of ${Object.keys(kCodecs).join(', ')}`, compression, world.rank);
    if (!Number.isSafeInteger(rowGroupRows) || rowGroupRows < 1) throw new ArgumentError('options.rowGroupRows', 'a positive integer', rowGroupRows, world.rank);
    const local = frame instanceof DistFrame ? frame.localTable() : frame;
    if (!(local instanceof Table)) throw new ArgumentError('frame', 'a DistFrame or an apache-arrow Table', frame, world.rank);
    return { compression, rowGroupRows, local };
  });
  await checkSamePath(path);
  await checkSchemas(local.schema);
  // This rank's rows as a Parquet file in memory; its row groups are what it contributes.
  const { region, meta, groups } = await agree(path, async () => {
    const pw = await parquetWasm();
    const props = new pw.WriterPropertiesBuilder().setCompression(pw.Compression[kCodecs[compression]]).setMaxRowGroupSize(rowGroupRows).setStatisticsEnabled(pw.EnabledStatistics.Chunk).setCreatedBy('superstep (parquet-wasm)').build();
    const bytes = pw.writeParquet(pw.Table.fromIPCStream(tableToIPC(local, 'stream')), props);
    const flen = new DataView(bytes.buffer, bytes.byteOffset + bytes.length - 8, 4).getInt32(0, true);
    const dataEnd = bytes.length - 8 - flen;
    const meta = decodeStruct(bytes.subarray(dataEnd, dataEnd + flen), path).value;
    return { region: bytes.subarray(4, dataEnd), meta, groups: structs(field(meta, FMD.rowGroups)) };
  });
  const sizes = world.size > 1 ? await world.allgather(Float64Array.of(region.length, groups.length)) : Float64Array.of(region.length, groups.length);
  let offset = 4;
  let ordinal = 0;
  for (let r = 0; r < world.rank; r++) {
    offset += sizes[2 * r]!;
    ordinal += sizes[2 * r + 1]!;
  }
  groups.forEach((rg, j) => shiftRowGroup(rg, BigInt(offset - 4), ordinal + j));
  const encoded = groups.map((rg) => encodeStruct({ fields: [{ id: 1, t: TType.Struct, v: rg }] }));
  const gathered = world.size > 1 ? await world.gatherObject(encoded, 0) : [encoded];
  let tail: Uint8Array | undefined;
  let tailAt = 0;
  if (world.rank === 0) {
    const all = gathered!.flat().map((b) => field(decodeStruct(b, path).value, 1) as TStruct);
    const rows = all.reduce((s, rg) => s + BigInt(field(rg, RG.numRows) as bigint), 0n);
    setField(meta, FMD.numRows, TType.I64, rows);
    setField(meta, FMD.rowGroups, TType.List, { et: TType.Struct, items: all });
    removeField(meta, 8); // encryption_algorithm, footer_signing_key_metadata: never written here
    const footer = encodeStruct(meta);
    tail = new Uint8Array(footer.length + 8);
    tail.set(footer);
    new DataView(tail.buffer).setInt32(footer.length, footer.length, true);
    tail.set(kMagic, footer.length + 4);
    for (let r = 0; r < world.size; r++) tailAt += sizes[2 * r]!;
    tailAt += 4;
  }
  await writeCollective(path, async (fh) => {
    if (world.rank === 0) await writeAllAt(fh, [kMagic], 0);
    const half = region.length >> 1;
    await writeAllAt(fh, [region.subarray(0, half)], offset);
    await maybeFault(path);
    await writeAllAt(fh, [region.subarray(half)], offset + half);
    if (tail) await writeAllAt(fh, [tail], tailAt);
  });
}
