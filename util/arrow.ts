/**
 * @internal apache-arrow, loaded when a frame or an Arrow/Parquet file first needs it.
 * Importing it costs every thread that imports superstep ~0.25 s of CPU (146 modules), and a
 * script that never touches a frame should not pay that. So the frame and I/O modules take
 * arrow's values from here: live bindings, set by loadArrow(). Every public way to a frame or a
 * file is async and awaits loadArrow() first (DistFrame.fromLocal/fromArrow/fromDistArrays/
 * concat, readArrow, writeArrow, readParquet, writeParquet, ensureCodecs); the synchronous
 * operations work on a frame, which exists only after one of those. Each name is also arrow's
 * type of that name, so importers write `Data` for both as before.
 */
import type * as A from 'apache-arrow';
import type * as F from 'apache-arrow/ipc/metadata/file';

export let Binary: typeof A.Binary;
export type Binary = A.Binary;
export let Bool: typeof A.Bool;
export type Bool = A.Bool;
export let Data: typeof A.Data;
export type Data = A.Data;
export let DataType: typeof A.DataType;
export type DataType = A.DataType;
export let Date_: typeof A.Date_;
export type Date_ = A.Date_;
export let Dictionary: typeof A.Dictionary;
export type Dictionary = A.Dictionary;
export let Duration: typeof A.Duration;
export type Duration = A.Duration;
export let Field: typeof A.Field;
export type Field = A.Field;
export let Float: typeof A.Float;
export type Float = A.Float;
export let Float32: typeof A.Float32;
export type Float32 = A.Float32;
export let Float64: typeof A.Float64;
export type Float64 = A.Float64;
export let Int: typeof A.Int;
export type Int = A.Int;
export let Int8: typeof A.Int8;
export type Int8 = A.Int8;
export let Int16: typeof A.Int16;
export type Int16 = A.Int16;
export let Int32: typeof A.Int32;
export type Int32 = A.Int32;
export let Int64: typeof A.Int64;
export type Int64 = A.Int64;
export let LargeBinary: typeof A.LargeBinary;
export type LargeBinary = A.LargeBinary;
export let LargeUtf8: typeof A.LargeUtf8;
export type LargeUtf8 = A.LargeUtf8;
export let List: typeof A.List;
export type List = A.List;
export let Message: typeof A.Message;
export type Message = A.Message;
export let RecordBatch: typeof A.RecordBatch;
export type RecordBatch = A.RecordBatch;
export let RecordBatchFileWriter: typeof A.RecordBatchFileWriter;
export type RecordBatchFileWriter = A.RecordBatchFileWriter;
export let RecordBatchStreamWriter: typeof A.RecordBatchStreamWriter;
export type RecordBatchStreamWriter = A.RecordBatchStreamWriter;
export let Schema: typeof A.Schema;
export type Schema = A.Schema;
export let Struct: typeof A.Struct;
export type Struct = A.Struct;
export let Table: typeof A.Table;
export type Table = A.Table;
export let Time: typeof A.Time;
export type Time = A.Time;
export let Timestamp: typeof A.Timestamp;
export type Timestamp = A.Timestamp;
export let Uint8: typeof A.Uint8;
export type Uint8 = A.Uint8;
export let Uint16: typeof A.Uint16;
export type Uint16 = A.Uint16;
export let Uint32: typeof A.Uint32;
export type Uint32 = A.Uint32;
export let Uint64: typeof A.Uint64;
export type Uint64 = A.Uint64;
export let Utf8: typeof A.Utf8;
export type Utf8 = A.Utf8;
export let Type: typeof A.Type;
export type Type = A.Type;
export let MessageHeader: typeof A.MessageHeader;
export type MessageHeader = A.MessageHeader;
export let MetadataVersion: typeof A.MetadataVersion;
export type MetadataVersion = A.MetadataVersion;
export let compressionRegistry: typeof A.compressionRegistry;
export let makeData: typeof A.makeData;
export let makeVector: typeof A.makeVector;
export let tableFromIPC: typeof A.tableFromIPC;
export let tableToIPC: typeof A.tableToIPC;
export let vectorFromArray: typeof A.vectorFromArray;
// The IPC file footer's classes (io/arrow.ts reads and writes footers itself).
export let FileBlock: typeof F.FileBlock;
export type FileBlock = F.FileBlock;
export let Footer: typeof F.Footer;
export type Footer = F.Footer;

let loading: Promise<void> | undefined;

/** Loads apache-arrow (once per thread) and binds the names above; resolves when they are usable. */
export function loadArrow(): Promise<void> {
  loading ??= Promise.all([import('apache-arrow'), import('apache-arrow/ipc/metadata/file')]).then(([a, f]) => {
    ({ FileBlock, Footer } = f);
    ({
      Binary, Bool, Data, DataType, Date_, Dictionary, Duration, Field, Float, Float32, Float64, Int, Int8,
      Int16, Int32, Int64, LargeBinary, LargeUtf8, List, Message, RecordBatch, RecordBatchFileWriter,
      RecordBatchStreamWriter, Schema, Struct, Table, Time, Timestamp, Uint8, Uint16, Uint32, Uint64, Utf8,
      Type, MessageHeader, MetadataVersion, compressionRegistry, makeData, makeVector, tableFromIPC,
      tableToIPC, vectorFromArray,
    } = a);
  });
  return loading;
}
