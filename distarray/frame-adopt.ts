/**
 * @internal Arrow tables from anyone, as DistFrame columns: this package's apache-arrow Table,
 * a Table of another apache-arrow version (rebuilt from its buffers, no copy), arquero's
 * `toArrow()` (a flechette Table, through its own IPC encoder), or IPC bytes (stream or
 * file, compressed or not). String and binary columns in the view and large layouts that
 * polars and pyarrow write (Utf8View, BinaryView, LargeUtf8, LargeBinary) become Utf8 and
 * Binary, the layouts DistFrame's kernels work on.
 */
import { createRequire } from 'node:module';
import type { Data, Vector } from 'apache-arrow';
import {
  Binary, Bool, DataType, Date_, Dictionary, Duration, Field, Float, Int, LargeBinary, LargeUtf8, Schema, Table, Time, Timestamp, Type, Utf8, makeData, makeVector, tableFromIPC, loadArrow,
} from '../util/arrow.js';
import { ensureCodecs } from '../util/arrow-codecs.js';
import { ArgumentError } from '../util/errors.js';
import { toTable } from './frame-ipc.js';

// Made on first use: apache-arrow loads with the first frame (util/arrow.ts).
let views: Set<Type> | undefined;
let large: Set<Type> | undefined;
const kViews = () => (views ??= new Set<Type>([Type.Utf8View, Type.BinaryView]));
const kLarge = () => (large ??= new Set<Type>([Type.LargeUtf8, Type.LargeBinary]));

/** Whether a type is (or holds, as dictionary values) a view or large string/binary layout. */
export function needsPlain(t: DataType): boolean {
  if (kViews().has(t.typeId) || kLarge().has(t.typeId)) return true;
  return t.typeId === Type.Dictionary && needsPlain((t as Dictionary).dictionary);
}

/** The type DistFrame keeps for `t`: Utf8 for Utf8View/LargeUtf8, Binary for BinaryView/LargeBinary. */
export function plainType(t: DataType): DataType {
  if (t.typeId === Type.Utf8View || t.typeId === Type.LargeUtf8) return new Utf8();
  if (t.typeId === Type.BinaryView || t.typeId === Type.LargeBinary) return new Binary();
  if (t.typeId === Type.Dictionary && needsPlain(t)) {
    const d = t as Dictionary;
    return new Dictionary(plainType(d.dictionary), d.indices, d.id, d.isOrdered);
  }
  return t;
}

/** A schema with every view/large column as Utf8/Binary (the same schema object if none is). */
export function plainSchema(schema: Schema): Schema {
  if (!schema.fields.some((f) => needsPlain(f.type))) return schema;
  return new Schema(schema.fields.map((f) => (needsPlain(f.type) ? new Field(f.name, plainType(f.type), f.nullable, f.metadata) : f)), schema.metadata);
}

const bitAt = (bm: Uint8Array | null | undefined, i: number): boolean => !bm || ((bm[i >> 3]! >> (i & 7)) & 1) === 1;

/** One column in DistFrame's layouts (a view/large column is copied once into Utf8/Binary). */
export function plainData(d: Data): Data {
  const t = d.type as DataType;
  if (!needsPlain(t)) return d;
  if (t.typeId === Type.Dictionary) {
    const dict = (d.dictionary as Vector).data.map((c) => plainData(c as Data));
    return makeData({ type: plainType(t) as Dictionary, offset: d.offset, length: d.length, nullCount: d.nullCount, nullBitmap: d.nullBitmap, data: d.values as never, dictionary: makeVector(dict) as never });
  }
  const n = d.length;
  const off = d.offset;
  const valid = (i: number) => d.nullCount === 0 || bitAt(d.nullBitmap, off + i);
  // Row i's bytes as (buffer, start, end).
  let piece: (i: number) => [Uint8Array, number, number];
  if (kViews().has(t.typeId)) {
    const views = d.values as unknown as Uint8Array;
    const vb = new Uint8Array(views.buffer, views.byteOffset, views.byteLength);
    const dv = new DataView(vb.buffer, vb.byteOffset, vb.byteLength);
    const extra = (d as unknown as { variadicBuffers: readonly Uint8Array[] }).variadicBuffers ?? [];
    piece = (i) => {
      const at = (off + i) * 16;
      const len = dv.getInt32(at, true);
      if (len <= 12) return [vb, at + 4, at + 4 + len];
      const buf = extra[dv.getInt32(at + 8, true)]!;
      const s = dv.getInt32(at + 12, true);
      return [buf, s, s + len];
    };
  } else {
    const o = d.valueOffsets as unknown as BigInt64Array;
    const b = d.values as unknown as Uint8Array;
    piece = (i) => [b, Number(o[off + i]!), Number(o[off + i + 1]!)];
  }
  let total = 0;
  for (let i = 0; i < n; i++) if (valid(i)) { const [, a, e] = piece(i); total += e - a; }
  if (total > 0x7fffffff) throw new ArgumentError('table', `a ${String(t)} column of at most 2 GiB of bytes per rank (DistFrame keeps strings as Utf8 with 32-bit offsets)`, `${total} bytes`);
  const offs = new Int32Array(n + 1);
  const bytes = new Uint8Array(total);
  let nulls: Uint8Array | undefined;
  let nullCount = 0;
  if (d.nullCount > 0) nulls = new Uint8Array(((n + 63) >> 6) << 3);
  let at = 0;
  for (let i = 0; i < n; i++) {
    if (valid(i)) {
      const [buf, a, e] = piece(i);
      bytes.set(buf.subarray(a, e), at);
      at += e - a;
      if (nulls) nulls[i >> 3]! |= 1 << (i & 7);
    } else nullCount++;
    offs[i + 1] = at;
  }
  return makeData({ type: plainType(t) as Utf8, length: n, nullCount, nullBitmap: nulls, valueOffsets: offs, data: bytes });
}

/** A table whose columns are all in DistFrame's layouts (the same table if they already are). */
export function plainTable(table: Table): Table {
  const schema = plainSchema(table.schema);
  if (schema === table.schema) return table;
  // Batch by batch: DistFrame's concat knows only the plain layouts.
  const batches = table.batches.flatMap((b) => toTable(schema, b.data.children.map((c) => plainData(c as Data))).batches);
  return batches.length > 0 ? new Table(batches) : new Table(schema);
}

/** IPC bytes (stream or file, any compression) as a table of DistFrame's layouts. */
export async function tableFromBytes(bytes: Uint8Array): Promise<Table> {
  await ensureCodecs();
  return plainTable(tableFromIPC(bytes));
}

const require = createRequire(import.meta.url);

/** What fromArrow/fromLocal accept: an Arrow table from any library or version, or IPC bytes. */
export type ArrowLike = Table | Uint8Array | ArrayBuffer | { readonly schema: unknown };

/**
 * Any Arrow table as this package's apache-arrow Table of DistFrame's layouts: this version's
 * Table, another apache-arrow version's Table (duck-typed: `schema.fields` and
 * `batches[].data.children`), a flechette Table (arquero's `toArrow()`), or IPC bytes.
 * @throws {ArgumentError} for anything else, naming what is accepted
 */
export async function adoptTable(x: unknown, name = 'table', rank?: number): Promise<Table> {
  await loadArrow();
  if (x instanceof Table) return plainTable(x);
  if (x instanceof Uint8Array || x instanceof ArrayBuffer) return tableFromBytes(x instanceof ArrayBuffer ? new Uint8Array(x) : x);
  const o = x as { schema?: { fields?: unknown[] }; batches?: unknown[]; children?: unknown[]; toColumns?: unknown } | null;
  if (o && Array.isArray(o.schema?.fields) && Array.isArray(o.batches)) return plainTable(foreignArrowTable(o as ForeignTable, name, rank));
  if (o && Array.isArray(o.schema?.fields) && Array.isArray(o.children) && typeof o.toColumns === 'function') {
    // flechette (arquero's Arrow): its own encoder makes IPC bytes, which we decode.
    let flechette: { tableToIPC(t: unknown, o: { format: string }): Uint8Array };
    try {
      flechette = require('@uwdata/flechette') as typeof flechette;
    } catch {
      throw new ArgumentError(name, 'a flechette Table with @uwdata/flechette installed (or pass IPC bytes: toArrowIPC(table))', x, rank);
    }
    return tableFromBytes(flechette.tableToIPC(x, { format: 'stream' }));
  }
  throw new ArgumentError(name, 'an apache-arrow Table (any version), an arquero/flechette Table, or Arrow IPC bytes (Uint8Array)', x, rank);
}

interface ForeignType { typeId: number; bitWidth?: number; isSigned?: boolean; precision?: number; unit?: number; timezone?: string | null; dictionary?: ForeignType; indices?: ForeignType; id?: number; isOrdered?: boolean }
interface ForeignData { type: ForeignType; offset: number; length: number; nullCount: number; nullBitmap?: Uint8Array; values?: unknown; valueOffsets?: unknown; dictionary?: { data: ForeignData[] }; variadicBuffers?: Uint8Array[] }
interface ForeignTable { schema: { fields: { name: string; type: ForeignType; nullable: boolean }[] }; batches: { data: { children: ForeignData[] } }[] }

/** This version's type for another version's type object (the Arrow type ids are the format's). */
function typeFrom(t: ForeignType, name: string, rank?: number): DataType {
  switch (t.typeId) {
    case Type.Int: return new Int(Boolean(t.isSigned), t.bitWidth as 8 | 16 | 32 | 64);
    case Type.Float: return new Float(t.precision as 0 | 1 | 2);
    case Type.Bool: return new Bool();
    case Type.Utf8: return new Utf8();
    case Type.Binary: return new Binary();
    case Type.LargeUtf8: return new LargeUtf8();
    case Type.LargeBinary: return new LargeBinary();
    case Type.Timestamp: return new Timestamp(t.unit as never, t.timezone ?? null);
    case Type.Date: return new Date_(t.unit as never);
    case Type.Time: return new Time(t.unit as never, t.bitWidth as never);
    case Type.Duration: return new Duration(t.unit as never);
    case Type.Dictionary: return new Dictionary(typeFrom(t.dictionary!, name, rank), typeFrom(t.indices!, name, rank) as never, t.id, t.isOrdered);
    default: {
      const known = Type[t.typeId as Type] as string | undefined;
      throw new ArgumentError(name, `columns of int, float, bool, utf8, binary, dictionary, timestamp, date, time or duration type (this Table of another apache-arrow version has ${known ?? `type id ${t.typeId}`}; pass tableToIPC(table) bytes instead)`, String(t), rank);
    }
  }
}

function dataFrom(d: ForeignData, type: DataType, name: string, rank?: number): Data {
  if (type.typeId === Type.Dictionary) {
    const dt = type as Dictionary;
    const dict = makeVector((d.dictionary?.data ?? []).map((c) => dataFrom(c, dt.dictionary, name, rank)));
    return makeData({ type: dt, offset: d.offset, length: d.length, nullCount: d.nullCount, nullBitmap: d.nullBitmap, data: d.values as never, dictionary: dict as never });
  }
  return makeData({ type: type as never, offset: d.offset, length: d.length, nullCount: d.nullCount, nullBitmap: d.nullBitmap, data: d.values as never, valueOffsets: d.valueOffsets as never } as never) as Data;
}

/** Another apache-arrow version's Table rebuilt over the same buffers. */
function foreignArrowTable(t: ForeignTable, name: string, rank?: number): Table {
  const types = t.schema.fields.map((f) => typeFrom(f.type, name, rank));
  const schema = new Schema(t.schema.fields.map((f, k) => new Field(f.name, types[k]!, f.nullable)));
  const batches = t.batches.map((b) => toTable(schema, b.data.children.map((c, k) => dataFrom(c, types[k]!, name, rank))));
  if (batches.length === 0) return new Table(schema);
  return new Table(batches.flatMap((b) => b.batches));
}
