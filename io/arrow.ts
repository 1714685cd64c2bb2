/**
 * Parallel Arrow IPC file I/O for DistFrames.
 *
 * writeArrow: every rank serialises its rows as record batches; an exscan of the byte sizes
 * gives each rank its offset in ONE Arrow IPC file; every rank writes its batches there with
 * positioned writes, rank 0 adds the magic, schema and dictionaries in front and the footer
 * (every rank's batch blocks) at the end. The result is an ordinary Arrow file that
 * apache-arrow and pyarrow read unchanged, and it appears atomically.
 *
 * readArrow: every rank reads the footer, takes a contiguous share of the record batches
 * (balanced by bytes) and reads only those, plus the schema and dictionaries, with positioned
 * reads. Any number of ranks can read a file written by any number of ranks.
 *
 * Dataset form: a directory of part files (one per writing rank) plus `_manifest.json`.
 */
import { fstatSync } from 'node:fs';
import { mkdir, open, readFile, rename, rm, stat, writeFile, type FileHandle } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { basename, dirname, join } from 'node:path';
import type { CompressionType } from 'apache-arrow';
import {
  Data, Dictionary, Message, MessageHeader, MetadataVersion, RecordBatchFileWriter, RecordBatchStreamWriter, Schema, Table, Utf8, makeData, tableFromIPC, tableToIPC, vectorFromArray, FileBlock, Footer, loadArrow,
} from '../util/arrow.js';
import { world } from '../comm/comm.js';
import { DistFrame, checkSchemas, schemaKey } from '../distarray/frame.js';
import { columnsOf, toTable } from '../distarray/frame-ipc.js';
import { concat, dictStrings, emptyData, familyOf } from '../distarray/frame-kernels.js';
import { ArgumentError, FileFormatError, SuperstepError } from '../util/errors.js';
import { compressionOf, ensureCodecs, fixPrefixes, loggingSizes, type CompressionName } from '../util/arrow-codecs.js';
import { needsPlain, plainSchema, plainTable, plainType } from '../distarray/frame-adopt.js';
import { agree, checkSamePath } from './collective.js';
import { maybeFault, writeAllAt, writeCollective } from './atomic.js';
import { readAllAt, readSmallAt, uninitialized } from './read.js';

const kMagic = new Uint8Array([0x41, 0x52, 0x52, 0x4f, 0x57, 0x31, 0, 0]); // "ARROW1" + 2 bytes padding
const kEOS = new Uint8Array([0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0]);
const kManifest = '_manifest.json';

/** Options of writeArrow. */
export interface WriteArrowOptions {
  /** Rows per record batch (readers split work by whole batches). Default 1 << 20. */
  batchRows?: number;
  /** Write a dataset: a directory of one part file per rank plus `_manifest.json`. */
  dataset?: boolean;
  /**
   * Compress record batch bodies: 'lz4' (LZ4_FRAME) or 'zstd' (ZSTD, level 3), the two codecs
   * of the Arrow format, which pyarrow, polars and arrow-rs read. Default: none.
   */
  compression?: CompressionName;
}

/** Options of readArrow. */
export interface ReadArrowOptions {
  /** Redistribute rows into equal row blocks after reading (batches may be uneven). */
  balance?: boolean;
}

/** One IPC message inside a serialised stream. */
interface Msg {
  start: number;
  metaLength: number;
  bodyLength: number;
  type: MessageHeader;
}

/**
 * An IPC stream as the list of chunks the Arrow writer produced: metadata pieces and the
 * column buffers themselves (views, not copies), so a rank writes its batches straight from
 * its columns with one vectored write.
 */
class Chunks {
  readonly starts: number[] = [];
  readonly total: number;
  constructor(readonly parts: readonly Uint8Array[]) {
    let at = 0;
    for (const p of parts) {
      this.starts.push(at);
      at += p.byteLength;
    }
    this.total = at;
  }

  /** Views of bytes [a, b). */
  range(a: number, b: number): Uint8Array[] {
    const out: Uint8Array[] = [];
    let i = this.find(a);
    while (a < b && i < this.parts.length) {
      const p = this.parts[i]!;
      const s = this.starts[i]!;
      const lo = a - s;
      const hi = Math.min(p.byteLength, b - s);
      if (hi > lo) out.push(p.subarray(lo, hi));
      a = s + hi;
      i++;
    }
    return out;
  }

  /** A copy of bytes [a, a + n) (small reads: message prefixes and metadata). */
  bytes(a: number, n: number): Uint8Array {
    const out = new Uint8Array(n);
    let at = 0;
    for (const p of this.range(a, a + n)) {
      out.set(p, at);
      at += p.byteLength;
    }
    return out;
  }

  private find(pos: number): number {
    let lo = 0;
    let hi = this.starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.starts[mid]! <= pos) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }
}

/** Splits an IPC stream into its messages (positions, lengths, kinds). */
function messagesOf(input: Uint8Array | Chunks, path: string): { msgs: Msg[]; end: number } {
  const c = input instanceof Chunks ? input : new Chunks([input]);
  const msgs: Msg[] = [];
  let pos = 0;
  while (pos + 4 <= c.total) {
    const pre8 = c.bytes(pos, Math.min(8, c.total - pos));
    const dv = new DataView(pre8.buffer);
    let len = dv.getInt32(0, true);
    let pre = 4;
    if (len === -1) {
      len = pre8.byteLength >= 8 ? dv.getInt32(4, true) : 0;
      pre = 8;
    }
    if (len === 0) return { msgs, end: pos };
    if (len < 0 || pos + pre + len > c.total) throw new FileFormatError(path, `corrupt IPC message at byte ${pos}`);
    const m = Message.decode(c.bytes(pos + pre, len));
    msgs.push({ start: pos, metaLength: pre + len, bodyLength: m.bodyLength, type: m.headerType });
    pos += pre + len + m.bodyLength;
  }
  return { msgs, end: pos };
}

/** Local table with every dictionary column re-encoded against one union dictionary (collective). */
async function unifyDictionaries(table: Table): Promise<Table> {
  const schema = table.schema;
  const cols = columnsOf(table);
  const dictCols = schema.fields.map((f, k) => (familyOf(f.type, f.name) === 'dict' ? k : -1)).filter((k) => k >= 0);
  if (dictCols.length === 0) return toTable(schema, cols);
  const mine = dictCols.map((k) => dictStrings(cols[k]!).map((s) => s ?? ''));
  const all = world.size > 1 ? await world.allgatherObject(mine) : [mine];
  dictCols.forEach((k, j) => {
    const union: string[] = [];
    const pos = new Map<string, number>();
    for (const r of all) for (const s of r[j]!) if (!pos.has(s)) { pos.set(s, union.length); union.push(s); }
    const d = cols[k]!;
    const remap = mine[j]!.map((s) => pos.get(s)!);
    const idx = d.values as unknown as { [i: number]: number; constructor: new (n: number) => { [i: number]: number } };
    const out = new idx.constructor(d.length);
    for (let i = 0; i < d.length; i++) out[i] = remap[idx[i]!] ?? 0;
    cols[k] = makeData({ type: d.type as Dictionary, length: d.length, nullCount: d.nullCount, nullBitmap: d.nullBitmap, data: out as never, dictionary: vectorFromArray(union, new Utf8()) as never });
  });
  return toTable(schema, cols);
}

/** The local table in record batches of at most `rows` rows, as IPC stream chunks (no copy of the columns). */
function streamOf(table: Table, rows: number, compressionType: CompressionType | null): Chunks {
  const n = table.numRows;
  let t = table;
  if (n > rows) {
    const cols = columnsOf(table);
    const batches: Table[] = [];
    for (let a = 0; a < n; a += rows) batches.push(toTable(table.schema, cols.map((c) => c.slice(a, Math.min(rows, n - a)) as Data)));
    t = new Table(batches.flatMap((b) => b.batches));
  }
  const w = new RecordBatchStreamWriter({ compressionType });
  const [, log] = loggingSizes(() => {
    w.write(t);
    w.finish();
  });
  // The writer's queue holds the chunks it wrote, in order, views of the column buffers.
  const q = writerChunks(w);
  if (!q) {
    if (compressionType !== null) throw new Error('internal: apache-arrow IPC writer internals changed (no _sink._values); cannot fix compressed buffer prefixes');
    return new Chunks([w.toUint8Array(true)]);
  }
  fixPrefixes(q, log);
  return new Chunks([...q]);
}

/** The chunks an apache-arrow IPC writer queued (undefined if its internals changed). */
function writerChunks(w: object): Uint8Array[] | undefined {
  const q = (w as { _sink?: { _values?: Uint8Array[] } })._sink?._values;
  return Array.isArray(q) ? q : undefined;
}

/** A table as one IPC file, compressed or not (prefixes of compressed buffers fixed). */
function fileBytes(table: Table, compressionType: CompressionType | null): Uint8Array {
  if (compressionType === null) return tableToIPC(table, 'file');
  const w = new RecordBatchFileWriter({ compressionType });
  const [, log] = loggingSizes(() => {
    w.write(table);
    w.finish();
  });
  const q = writerChunks(w);
  if (!q) throw new Error('internal: apache-arrow IPC writer internals changed (no _sink._values); cannot fix compressed buffer prefixes');
  fixPrefixes(q, log);
  return w.toUint8Array(true);
}

/**
 * Collective: writes every rank's rows of `frame` into ONE Arrow IPC file at `path` (rank
 * order is row order), atomically: the file is complete or the previous one is untouched.
 * `frame` may also be each rank's own apache-arrow Table. With `{ dataset: true }`, `path`
 * is a directory of part files plus a manifest.
 * @throws {SchemaMismatchError} on every rank if the ranks' schemas differ
 * @example await writeArrow('sales.arrow', frame);
 */
export async function writeArrow(path: string, frame: DistFrame | Table, options: WriteArrowOptions = {}): Promise<void> {
  await loadArrow();
  // Checked together: a rank's invalid argument is an error on every rank, not a hang.
  const { batchRows, local, compression } = await agree(path, async () => {
    const batchRows = options.batchRows ?? 1 << 20;
    if (!Number.isSafeInteger(batchRows) || batchRows < 1) throw new ArgumentError('options.batchRows', 'a positive integer', batchRows, world.rank);
    const local = frame instanceof DistFrame ? frame.localTable() : frame;
    if (!(local instanceof Table)) throw new ArgumentError('frame', 'a DistFrame or an apache-arrow Table', frame, world.rank);
    return { batchRows, local, compression: options.compression === undefined ? null : compressionOf(options.compression) };
  });
  await checkSamePath(path);
  await checkSchemas(local.schema);
  if (compression !== null) await ensureCodecs();
  if (options.dataset) return writeDataset(path, local, batchRows, compression);
  const table = await unifyDictionaries(local);
  const bytes = streamOf(table, batchRows, compression);
  const { msgs, end } = messagesOf(bytes, path);
  const batches = msgs.filter((m) => m.type === MessageHeader.RecordBatch);
  const dicts = msgs.filter((m) => m.type === MessageHeader.DictionaryBatch);
  // Rank 0's region: magic + schema + dictionaries + its batches; others: their batches.
  const first = batches[0]?.start ?? end;
  const parts = world.rank === 0 ? [kMagic, ...bytes.range(0, end)] : bytes.range(first, end);
  const size = parts.reduce((s, p) => s + p.byteLength, 0);
  const sizes = world.size > 1 ? await world.allgather(new Float64Array([size])) : new Float64Array([size]);
  let offset = 0;
  for (let r = 0; r < world.rank; r++) offset += sizes[r]!;
  const base = world.rank === 0 ? offset + kMagic.byteLength : offset - first;
  const blocks = batches.map((m) => [m.metaLength, m.bodyLength, base + m.start] as const);
  const allBlocks = world.size > 1 ? await world.gatherObject(blocks, 0) : [blocks];
  let tail: Uint8Array[] = [];
  let tailAt = 0;
  if (world.rank === 0) {
    const rb = allBlocks!.flat().map(([meta, body, off]) => new FileBlock(meta, body, off));
    const db = dicts.map((m) => new FileBlock(m.metaLength, m.bodyLength, kMagic.byteLength + m.start));
    const footer = Footer.encode(new Footer(table.schema, MetadataVersion.V5, rb, db));
    const len = new Uint8Array(4);
    new DataView(len.buffer).setInt32(0, footer.byteLength, true);
    tail = [kEOS, footer, len, kMagic.subarray(0, 6)];
    tailAt = sizes.reduce((a, b) => a + b, 0);
  }
  await writeCollective(path, async (fh) => {
    if (size > 0) {
      // Two halves, so tests can fail a rank between them (maybeFault).
      const whole = new Chunks(parts);
      const half = Math.floor(size / 2);
      await writeAllAt(fh, whole.range(0, half), offset);
      await maybeFault(path);
      await writeAllAt(fh, whole.range(half, size), offset + half);
    } else await maybeFault(path);
    if (tail.length > 0) await writeAllAt(fh, tail, tailAt);
  });
}

/** Dataset form: part-<rank>.arrow files and a manifest in a directory that appears atomically. */
async function writeDataset(path: string, local: Table, batchRows: number, compressionType: CompressionType | null): Promise<void> {
  const tmp = await agree(path, async () => (world.rank === 0 ? join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`) : ''));
  const dir = world.size > 1 ? await world.bcastObject(tmp, 0) : tmp;
  let committed = false;
  try {
    await agree(path, async () => {
      if (world.rank === 0) await mkdir(dir);
    });
    const file = `part-${String(world.rank).padStart(5, '0')}.arrow`;
    const info = await agree(path, async () => {
      const bytes = fileBytes(batchesOf(local, batchRows), compressionType);
      const fh = await open(join(dir, file), 'wx');
      try {
        await writeAllAt(fh, [bytes.subarray(0, bytes.byteLength >> 1)], 0);
        await maybeFault(path);
        await writeAllAt(fh, [bytes.subarray(bytes.byteLength >> 1)], bytes.byteLength >> 1);
        await fh.sync();
      } finally {
        await fh.close();
      }
      return { file, rows: local.numRows, bytes: bytes.byteLength };
    });
    const parts = world.size > 1 ? await world.gatherObject(info, 0) : [info];
    await agree(path, async () => {
      if (world.rank !== 0) return;
      const manifest = { format: 'superstep-arrow-dataset', version: 1, schema: schemaKey(local.schema), rows: parts!.reduce((s, p) => s + p.rows, 0), parts: parts! };
      await writeFile(join(dir, kManifest), JSON.stringify(manifest, null, 2) + '\n', { flush: true });
      const old = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.old`);
      const exists = await stat(path).then(() => true, () => false);
      if (exists) await rename(path, old);
      await rename(dir, path);
      committed = true;
      if (exists) await rm(old, { recursive: true, force: true });
    });
  } finally {
    if (world.rank === 0 && !committed) await rm(dir, { recursive: true, force: true }).catch(() => undefined);
  }
}

function batchesOf(table: Table, rows: number): Table {
  if (table.numRows <= rows) return table;
  const cols = columnsOf(table);
  const out: Table[] = [];
  for (let a = 0; a < table.numRows; a += rows) out.push(toTable(table.schema, cols.map((c) => c.slice(a, Math.min(rows, table.numRows - a)) as Data)));
  return new Table(out.flatMap((t) => t.batches));
}

/** What a reader knows about one Arrow file from its footer. */
interface FileInfo {
  path: string;
  size: number;
  schemaMsg: Uint8Array;
  schema: Schema;
  dicts: FileBlock[];
  batches: FileBlock[];
}

/** The footer of the Arrow file open as `fh` (small synchronous reads: magic, length, footer). */
function fileInfo(fh: FileHandle, path: string): FileInfo {
  const { size } = fstatSync(fh.fd);
  if (size < kMagic.byteLength + 10) throw new FileFormatError(path, `not an Arrow IPC file: it ends at byte ${size}, too short for one (truncated?)`, world.rank);
  const head = new Uint8Array(16);
  readSmallAt(fh, head, 0, path);
  for (let i = 0; i < 6; i++) if (head[i] !== kMagic[i]) throw new FileFormatError(path, 'not an Arrow IPC file: the leading magic ARROW1 is missing at byte 0', world.rank);
  const end = new Uint8Array(10);
  readSmallAt(fh, end, size - 10, path);
  for (let i = 0; i < 6; i++) if (end[4 + i] !== kMagic[i]) throw new FileFormatError(path, `not a complete Arrow IPC file: the trailing magic ARROW1 is missing at byte ${size - 6} (truncated or still being written?)`, world.rank);
  const flen = new DataView(end.buffer).getInt32(0, true);
  if (flen <= 0 || flen > size - 18) throw new FileFormatError(path, `corrupt Arrow footer length ${flen} at byte ${size - 10}: the footer would start outside the file of ${size} bytes`, world.rank);
  const fb = new Uint8Array(flen);
  const at = size - 10 - flen;
  readSmallAt(fh, fb, at, path);
  let footer: Footer;
  let schemaMsg: Uint8Array;
  let batches: FileBlock[];
  let dicts: FileBlock[];
  try {
    footer = Footer.decode(fb);
    // Every column must be one DistFrame reads: a flipped byte in the footer turns a type
    // into another (a Null column, say), which is the file's fault, not an argument's.
    footer.schema.fields.forEach((f) => familyOf(plainType(f.type), f.name));
    // The schema comes from the footer (writers need not put a schema message after the magic).
    schemaMsg = schemaMessage(footer.schema, path);
    batches = [...footer.recordBatches()];
    dicts = [...footer.dictionaryBatches()];
  } catch (err) {
    throw new FileFormatError(path, `corrupt Arrow footer at byte ${at} (or a column type superstep cannot read): ${(err as Error).message.replace(/^\[rank \d+\] /, '')}`, world.rank);
  }
  for (const b of [...batches, ...dicts]) {
    if (!(b.offset >= 8 && b.metaDataLength > 0 && b.bodyLength >= 0)) throw new FileFormatError(path, `corrupt Arrow footer at byte ${at}: a block at byte ${b.offset} of ${b.metaDataLength} + ${b.bodyLength} bytes`, world.rank);
    if (b.offset + b.metaDataLength + b.bodyLength > at) throw new FileFormatError(path, `a record batch at byte ${b.offset} (${b.metaDataLength + b.bodyLength} bytes) runs past the data section (truncated?)`, world.rank);
  }
  checkTiling(fh, path, head, at, [...dicts, ...batches]);
  return { path, size, schemaMsg, schema: footer.schema, dicts, batches };
}

/**
 * The footer's blocks must cover the data section exactly: one after the other from the end of
 * the schema message (or the first block) to the end-of-stream marker before the footer at
 * `footerAt`. Arrow has no checksum; this is what catches a footer whose flipped byte drops or
 * moves batches (it read as a valid file of fewer rows).
 */
function checkTiling(fh: FileHandle, path: string, head: Uint8Array, footerAt: number, blocks: FileBlock[]): void {
  let end = footerAt;
  const eos = new Uint8Array(8);
  if (footerAt >= 16) {
    readSmallAt(fh, eos, footerAt - 8, path);
    const dv = new DataView(eos.buffer);
    if (dv.getInt32(0, true) === -1 && dv.getInt32(4, true) === 0) end -= 8;
    else if (dv.getInt32(4, true) === 0) end -= 4;
  }
  // Where the blocks start: after the stream's schema message, if one follows the magic.
  let start = -1;
  const dv = new DataView(head.buffer);
  const pre = dv.getInt32(8, true) === -1 ? 8 : 4;
  const len = pre === 8 ? dv.getInt32(12, true) : dv.getInt32(8, true);
  if (len > 0 && 8 + pre + len <= footerAt) {
    const meta = new Uint8Array(len);
    readSmallAt(fh, meta, 8 + pre, path);
    try {
      const m = Message.decode(meta);
      // apache-arrow's own writer puts no schema message there: the blocks start at byte 8.
      start = m.headerType === MessageHeader.Schema ? 8 + pre + len + m.bodyLength : 8;
    } catch {
      // Not a message: the blocks say where the data starts.
    }
  }
  const sorted = [...blocks].sort((a, b) => a.offset - b.offset);
  let at = start >= 0 ? start : (sorted[0]?.offset ?? end);
  for (const b of sorted) {
    if (b.offset !== at) throw new FileFormatError(path, `corrupt Arrow footer at byte ${footerAt}: it lists a block at byte ${b.offset}, the data section has one at byte ${at}`, world.rank);
    at += b.metaDataLength + b.bodyLength;
  }
  if (at !== end) throw new FileFormatError(path, `corrupt Arrow footer at byte ${footerAt}: its blocks end at byte ${at}, the data section at byte ${end} (a block missing from it?)`, world.rank);
}

/** The IPC schema message of `schema` (dictionary ids kept, so the file's dictionary batches match). */
function schemaMessage(schema: Schema, path: string): Uint8Array {
  const bytes = tableToIPC(new Table(schema), 'stream');
  const { msgs } = messagesOf(bytes, path);
  return bytes.slice(0, msgs[0]!.metaLength);
}

/**
 * Fast path for tables of fixed-width columns without nulls (ints, floats, timestamps): each
 * batch's metadata says where every column buffer lies, so the rank reads each buffer straight
 * into its place in one array per column (one copy, kernel to final array). Returns undefined
 * when the blocks need the general path (nulls, strings, bool, dictionaries, compression).
 */
async function readFixedBlocks(fh: FileHandle, info: FileInfo, blocks: FileBlock[]): Promise<Data[] | undefined> {
  const fields = info.schema.fields;
  if (fields.some((f) => needsPlain(f.type) || familyOf(f.type, f.name) !== 'fixed')) return undefined;
  const metas: { rows: number; bufs: { offset: number; length: number }[]; body: number }[] = [];
  for (const b of blocks) {
    const meta = new Uint8Array(b.metaDataLength);
    readSmallAt(fh, meta, b.offset, info.path);
    const dv = new DataView(meta.buffer);
    const pre = dv.getInt32(0, true) === -1 ? 8 : 4;
    const len = pre === 8 ? dv.getInt32(4, true) : dv.getInt32(0, true);
    const m = Message.decode(meta.subarray(pre, pre + len));
    if (m.headerType !== MessageHeader.RecordBatch) return undefined;
    const h = m.header() as unknown as { length: number; nodes: { length: number; nullCount: number }[]; buffers: { offset: number; length: number }[]; compression: unknown };
    if (h.compression || h.nodes.length !== fields.length || h.nodes.some((n) => Number(n.nullCount) !== 0)) return undefined;
    metas.push({ rows: Number(h.length), bufs: h.buffers.map((x) => ({ offset: Number(x.offset), length: Number(x.length) })), body: b.offset + b.metaDataLength });
  }
  const total = metas.reduce((a, m) => a + m.rows, 0);
  // Column memory: uninitialised (every byte is read into below), so the allocator hands back
  // memory a previous read freed, already mapped, instead of zeroed pages faulted in anew.
  type Ctor = { new (b: ArrayBuffer, o: number, n: number): ArrayBufferView; BYTES_PER_ELEMENT: number };
  const arrays = fields.map((f) => {
    const C = (f.type as unknown as { ArrayType: Ctor }).ArrayType;
    return new C(uninitialized(total * C.BYTES_PER_ELEMENT), 0, total);
  });
  // Every (column, batch) piece goes straight to its place in its column; a few reads in flight.
  const reads: [Uint8Array, number][] = [];
  let row = 0;
  for (const m of metas) {
    for (let k = 0; k < fields.length; k++) {
      const a = arrays[k]!;
      const bpe = (a as unknown as { BYTES_PER_ELEMENT: number }).BYTES_PER_ELEMENT;
      const buf = m.bufs[2 * k + 1]!; // [validity, data] per fixed-width column
      const n = m.rows * bpe;
      if (buf.length < n) return undefined;
      reads.push([new Uint8Array(a.buffer, row * bpe, n), m.body + buf.offset]);
    }
    row += m.rows;
  }
  await readAllAt(fh, reads, info.path);
  return fields.map((f, k) => makeData({ type: f.type as never, length: total, data: arrays[k] as never } as never) as Data);
}

/** Reads blocks of one file into one buffer laid out as an IPC stream; returns its columns. */
async function readBlocks(fh: FileHandle, info: FileInfo, blocks: FileBlock[]): Promise<Data[]> {
  const len = (b: FileBlock) => b.metaDataLength + b.bodyLength;
  const all = [...info.dicts, ...blocks];
  const total = info.schemaMsg.byteLength + all.reduce((s, b) => s + len(b), 0) + kEOS.byteLength;
  const buf = new Uint8Array(uninitialized(total)); // every byte is written below
  buf.set(info.schemaMsg, 0);
  let at = info.schemaMsg.byteLength;
  // Consecutive blocks are read with one positioned read.
  const reads: [Uint8Array, number][] = [];
  for (let i = 0; i < all.length; ) {
    let j = i + 1;
    let bytes = len(all[i]!);
    while (j < all.length && all[j]!.offset === all[j - 1]!.offset + len(all[j - 1]!)) bytes += len(all[j++]!);
    reads.push([buf.subarray(at, at + bytes), all[i]!.offset]);
    at += bytes;
    i = j;
  }
  await readAllAt(fh, reads, info.path);
  buf.set(kEOS, at);
  await ensureCodecs(); // compressed batches (pyarrow, polars) decode through the registry
  try {
    return columnsOf(plainTable(tableFromIPC(buf)));
  } catch (err) {
    throw new FileFormatError(info.path, `corrupt record batch in bytes ${blocks[0]?.offset ?? 0}..${blocks.reduce((e, b) => Math.max(e, b.offset + b.metaDataLength + b.bodyLength), 0)}: ${(err as Error).message}`, world.rank);
  }
}

/**
 * Collective: reads an Arrow IPC file (or a dataset directory written with
 * `{ dataset: true }`) as a DistFrame. Every rank reads the footer, then only its own share
 * of the record batches (contiguous, balanced by bytes), whatever number of ranks wrote it.
 * @throws {FileFormatError} on every rank: wrong magic, truncated file, corrupt footer
 * @throws {SchemaMismatchError} on every rank: dataset parts with different schemas
 * @example const frame = await readArrow('sales.arrow');
 */
export async function readArrow(path: string, options: ReadArrowOptions = {}): Promise<DistFrame> {
  await loadArrow();
  // Each file is opened once, for its footer and then this rank's batches. One exchange at
  // the end agrees on the path and on success (every rank reads the same footer, so all
  // compute the same shares without asking each other).
  const handles: FileHandle[] = [];
  try {
    const { schema, columns } = await agree(path, () => readShare(path, handles), { samePath: true });
    const frame = new DistFrame(schema, columns);
    return options.balance ? frame.rebalance() : frame;
  } finally {
    await Promise.all(handles.map((fh) => fh.close()));
  }
}

/**
 * Collective: the schema and row count of an Arrow IPC file or dataset from its footers and
 * the record batches' metadata alone (no column buffer is read): what a lazy scan plans with.
 */
export async function arrowMeta(path: string): Promise<{ schema: Schema; rows: number }> {
  await loadArrow();
  const handles: FileHandle[] = [];
  try {
    return await agree(path, async () => {
      const files = await filesOfArrow(path);
      let rows = 0;
      let schema: Schema | undefined;
      for (const f of files) {
        const fh = await open(f, 'r');
        handles.push(fh);
        const info = fileInfo(fh, f);
        schema ??= plainSchema(info.schema);
        for (const b of info.batches) rows += batchRows(fh, b, f);
      }
      return { schema: schema!, rows };
    }, { samePath: true });
  } finally {
    await Promise.all(handles.map((fh) => fh.close()));
  }
}

/** The row count in a record batch's metadata (a small read). */
function batchRows(fh: FileHandle, b: FileBlock, path: string): number {
  const meta = new Uint8Array(b.metaDataLength);
  readSmallAt(fh, meta, b.offset, path);
  const dv = new DataView(meta.buffer);
  const pre = dv.getInt32(0, true) === -1 ? 8 : 4;
  const len = pre === 8 ? dv.getInt32(4, true) : dv.getInt32(0, true);
  return Number((Message.decode(meta.subarray(pre, pre + len)).header() as unknown as { length: number | bigint }).length);
}

/** The files of an Arrow file or dataset directory (its manifest's parts). */
async function filesOfArrow(path: string): Promise<string[]> {
  if (!(await stat(path)).isDirectory()) return [path];
  let manifest: { format?: string; parts?: { file: string }[] };
  try {
    manifest = JSON.parse(await readFile(join(path, kManifest), 'utf8'));
  } catch (err) {
    throw new FileFormatError(path, `not a dataset directory: ${kManifest} is missing or unreadable (${(err as Error).message})`, world.rank);
  }
  if (manifest.format !== 'superstep-arrow-dataset' || !Array.isArray(manifest.parts)) throw new FileFormatError(path, `${kManifest} is not a superstep dataset manifest`, world.rank);
  return manifest.parts.map((p) => join(path, p.file));
}

/** Local: this rank's share of the record batches of the file or dataset at `path`, as columns. */
async function readShare(path: string, handles: FileHandle[]): Promise<{ schema: Schema; columns: Data[] }> {
  const files = await filesOfArrow(path);
  for (const f of files) handles.push(await open(f, 'r'));
  const infos = files.map((f, k) => fileInfo(handles[k]!, f));
  const k0 = schemaKey(infos[0]!.schema);
  const bad = infos.find((i) => schemaKey(i.schema) !== k0);
  if (bad) throw new FileFormatError(path, `dataset parts have different schemas: ${basename(infos[0]!.path)} {${k0}}, ${basename(bad.path)} {${schemaKey(bad.schema)}}`, world.rank);
  // My share: batches whose byte midpoint falls in my 1/P of the total.
  const list = infos.flatMap((info, f) => info.batches.map((b) => ({ f, b })));
  const total = list.reduce((s, x) => s + x.b.metaDataLength + x.b.bodyLength, 0);
  const mine: typeof list = [];
  let acc = 0;
  for (const x of list) {
    const w = x.b.metaDataLength + x.b.bodyLength;
    const owner = total === 0 ? 0 : Math.min(world.size - 1, Math.floor(((acc + w / 2) / total) * world.size));
    acc += w;
    if (owner === world.rank) mine.push(x);
  }
  // Utf8View/LargeUtf8 columns are kept as Utf8, BinaryView/LargeBinary as Binary.
  const schema = plainSchema(infos[0]!.schema);
  const parts: Data[][] = [];
  for (let f = 0; f < infos.length; f++) {
    const blocks = mine.filter((x) => x.f === f).map((x) => x.b);
    if (blocks.length === 0) continue;
    const fh = handles[f]!;
    try {
      parts.push((await readFixedBlocks(fh, infos[f]!, blocks)) ?? (await readBlocks(fh, infos[f]!, blocks)));
    } catch (err) {
      // A batch's metadata that does not decode is the file's fault, wherever it failed.
      if (err instanceof SuperstepError) throw err;
      throw new FileFormatError(infos[f]!.path, `corrupt record batch in bytes ${blocks[0]!.offset}..: ${(err as Error).message}`, world.rank);
    }
  }
  return { schema, columns: schema.fields.map((fld, k) => (parts.length === 0 ? emptyData(fld.type) : concat(fld.type, parts.map((p) => p[k]!)))) };
}
