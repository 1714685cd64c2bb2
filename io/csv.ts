/**
 * CSV files in parallel. readCsv splits the file into P byte ranges at line ends and each rank
 * parses its own; the column types are inferred from every rank's values and agreed (one
 * allgather), so the frame has one schema. writeCsv writes ONE file: each rank formats its
 * rows, an allgather of the byte sizes gives each its offset, and the file lands whole or not
 * at all (writeCollective: a temporary file renamed over the target).
 *
 * Parallel mode's rule: a line end always ends a record, so a quoted field may hold the
 * delimiter and doubled quotes but not a newline (such a file is a FileFormatError naming the
 * byte offset of the line).
 */
import { open, type FileHandle } from 'node:fs/promises';
import { Bool, Float64, Int32, Int64, Table, Type, Utf8, loadArrow, vectorFromArray } from '../util/arrow.js';
import type { DataType } from 'apache-arrow';
import { world } from '../comm/comm.js';
import { DistFrame } from '../distarray/frame.js';
import { familyOf, valueGetter } from '../distarray/frame-kernels.js';
import { ArgumentError, FileFormatError } from '../util/errors.js';
import { agree, checkSamePath } from './collective.js';
import { maybeFault, writeAllAt, writeCollective } from './atomic.js';
import { readAllAt } from './read.js';

/** A column type readCsv can give. */
export type CsvType = 'int32' | 'int64' | 'float64' | 'bool' | 'utf8';

export interface ReadCsvOptions {
  /** Only these columns, in this order (default: every column). */
  columns?: string[];
  /** Column types instead of inferred ones, by name. */
  types?: Record<string, CsvType>;
  /** The first line names the columns (default true); without it columns are column0, column1, ... */
  header?: boolean;
  /** One character (default ','). */
  delimiter?: string;
}

export interface WriteCsvOptions {
  /** Write a line of column names first (default true). */
  header?: boolean;
  /** One character (default ','). */
  delimiter?: string;
}

const kQuote = '"';
const kChunk = 1 << 16;
const kCsvTypes: readonly CsvType[] = ['int32', 'int64', 'float64', 'bool', 'utf8'];
// Kinds a value can be, as bits: a column is the first kind every non-null value of it allows.
const kBool = 1;
const kInt = 2;
const kFloat = 4;
const kFloatText = /^[+-]?(\d+\.?\d*([eE][+-]?\d+)?|\.\d+([eE][+-]?\d+)?|inf|infinity|nan)$/i;

/**
 * Collective: a CSV file as a DistFrame, each rank parsing its own byte range (rank r's rows
 * are the lines that start in [r·size/P, (r+1)·size/P), so rank order is file order).
 * Unquoted empty fields are null, `""` is the empty string. Types: bool (true/false), int32
 * (int64 beyond 32 bits; integers beyond 2^53 are float64), float64 (also inf, nan), else
 * utf8; a column of only nulls is utf8; agreed over every rank's values.
 * @throws {FileFormatError} on every rank: a line with the wrong number of fields, a quote
 *   left open at a line end, a value that is not of a type given in `types`
 */
export async function readCsv(path: string, options: ReadCsvOptions = {}): Promise<DistFrame> {
  await loadArrow();
  const header = options.header ?? true;
  const delim = delimiterOf(options.delimiter);
  const { names, rows } = await agree(path, async () => {
    checkTypes(options.types);
    const fh = await open(path, 'r');
    try {
      const size = (await fh.stat()).size;
      // Every rank reads the first line itself: the column count (and names), and where data starts.
      const firstEnd = await lineEnd(fh, 0, size);
      const bom = await startsWithBom(fh, size);
      const first = splitLine(await text(fh, bom, firstEnd), delim, path, () => bom);
      const names = header ? first.map((v, j) => v ?? `column${j}`) : first.map((_, j) => `column${j}`);
      const dataStart = header ? Math.min(size, firstEnd + 1) : bom;
      const startOf = async (r: number): Promise<number> => {
        if (r === 0) return dataStart;
        if (r >= world.size) return size;
        const off = Math.floor((r * size) / world.size);
        return Math.max(dataStart, Math.min(size, (await lineEnd(fh, Math.max(0, off - 1), size)) + 1));
      };
      const a = await startOf(world.rank);
      const b = Math.max(a, await startOf(world.rank + 1));
      const chunk = await text(fh, a, b);
      return { names, rows: parseLines(chunk, names.length, delim, path, a) };
    } finally {
      await fh.close();
    }
  }, { samePath: true });
  const keep = (options.columns ?? names).map((c) => {
    const j = names.indexOf(c);
    if (j < 0) throw new ArgumentError('options.columns', `names of the file's columns (${names.join(', ')})`, c, world.rank);
    return j;
  });
  for (const c of Object.keys(options.types ?? {})) if (!names.includes(c)) throw new ArgumentError('options.types', `keyed by the file's columns (${names.join(', ')})`, c, world.rank);
  // Types: every rank's kinds and integer ranges, agreed.
  const mine = keep.map((j) => kindsOf(rows, j));
  const all = world.size > 1 ? await world.allgatherObject(mine) : [mine];
  const types = keep.map((j, c) => options.types?.[names[j]!] ?? typeOf(all.map((s) => s[c]!)));
  const table = await agree(path, async () => new Table(Object.fromEntries(keep.map((j, c) => [names[j]!, vectorFromArray(valuesOf(rows, j, types[c]!, names[j]!, path), arrowType(types[c]!))]))));
  return DistFrame.fromLocal(table);
}

/**
 * Collective: `frame` as ONE CSV file (a header line, then every rank's rows in rank order).
 * Nulls are empty fields, empty strings `""`; a field holding the delimiter, a quote or a line
 * end is quoted (quotes doubled). Numbers as JavaScript prints them (shortest round trip; inf,
 * -inf, nan), bool as true/false, timestamps as ISO 8601. The file lands whole or not at all.
 */
export async function writeCsv(path: string, frame: DistFrame, options: WriteCsvOptions = {}): Promise<void> {
  await loadArrow();
  const { bytes } = await agree(path, async () => {
    if (!(frame instanceof DistFrame)) throw new ArgumentError('frame', 'a DistFrame', frame, world.rank);
    const delim = delimiterOf(options.delimiter);
    const head = (options.header ?? true) && world.rank === 0 ? `${frame.names.map((n) => field(n, delim)).join(delim)}\n` : '';
    return { bytes: new TextEncoder().encode(head + formatRows(frame, delim)) };
  });
  await checkSamePath(path);
  const sizes = world.size > 1 ? await world.allgather(Float64Array.of(bytes.byteLength)) : Float64Array.of(bytes.byteLength);
  let at = 0;
  for (let r = 0; r < world.rank; r++) at += sizes[r]!;
  await writeCollective(path, async (fh) => {
    await maybeFault(path);
    await writeAllAt(fh, [bytes], at);
  });
}

// Reading
// -------

function delimiterOf(d: unknown): string {
  const delim = d ?? ',';
  if (typeof delim !== 'string' || delim.length !== 1 || delim === kQuote || delim === '\n' || delim === '\r') throw new ArgumentError('options.delimiter', 'one character other than a quote or a line end', d, world.rank);
  return delim;
}

function checkTypes(types: unknown): void {
  if (types === undefined) return;
  if (typeof types !== 'object' || types === null) throw new ArgumentError('options.types', `an object of column name -> ${kCsvTypes.join(' | ')}`, types, world.rank);
  for (const [c, t] of Object.entries(types)) if (!kCsvTypes.includes(t as CsvType)) throw new ArgumentError(`options.types.${c}`, `one of ${kCsvTypes.join(', ')}`, t, world.rank);
}

/** Position of the first '\n' at or after `from` (`size` if none). */
async function lineEnd(fh: FileHandle, from: number, size: number): Promise<number> {
  const buf = new Uint8Array(kChunk);
  for (let at = from; at < size; at += kChunk) {
    const { bytesRead } = await fh.read(buf, 0, Math.min(kChunk, size - at), at);
    const i = buf.subarray(0, bytesRead).indexOf(10);
    if (i >= 0) return at + i;
    if (bytesRead === 0) break;
  }
  return size;
}

/** 3 if the file starts with a UTF-8 byte order mark, else 0. */
async function startsWithBom(fh: FileHandle, size: number): Promise<number> {
  if (size < 3) return 0;
  const b = new Uint8Array(3);
  await fh.read(b, 0, 3, 0);
  return b[0] === 0xef && b[1] === 0xbb && b[2] === 0xbf ? 3 : 0;
}

async function text(fh: FileHandle, a: number, b: number): Promise<string> {
  if (b <= a) return '';
  const buf = new Uint8Array(b - a);
  await readAllAt(fh, [[buf, a]], '');
  return new TextDecoder().decode(buf);
}

/** The records of `chunk` (whole lines), each `n` fields. `at`: chunk's byte offset, for errors. */
function parseLines(chunk: string, n: number, delim: string, path: string, at: number): (string | null)[][] {
  const rows: (string | null)[][] = [];
  let pos = 0;
  while (pos < chunk.length) {
    let end = chunk.indexOf('\n', pos);
    if (end < 0) end = chunk.length;
    const line = chunk.slice(pos, end);
    if (line.length > 0 && line !== '\r') {
      // The line's byte offset only for an error message (counting bytes per line costs more than parsing).
      const byte = () => at + new TextEncoder().encode(chunk.slice(0, pos)).byteLength;
      const fields = splitLine(line, delim, path, byte);
      if (fields.length !== n) throw new FileFormatError(path, `the line at byte ${byte()} has ${fields.length} fields, the first line ${n}`, world.rank);
      rows.push(fields);
    } else if (n === 1) rows.push([null]); // a one-column file's null
    pos = end + 1;
  }
  return rows;
}

/** The fields of one line (unquoted empty: null; quoted: the text, `""` inside for a quote). */
function splitLine(raw: string, delim: string, path: string, byte: () => number): (string | null)[] {
  const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
  const out: (string | null)[] = [];
  let i = 0;
  for (;;) {
    if (line[i] === kQuote) {
      let v = '';
      let j = i + 1;
      for (;;) {
        const k = line.indexOf(kQuote, j);
        if (k < 0) throw new FileFormatError(path, `the line at byte ${byte()} opens a quote (at its character ${i}) that it does not close (in parallel mode a quoted field cannot hold a line end)`, world.rank);
        v += line.slice(j, k);
        if (line[k + 1] === kQuote) {
          v += kQuote;
          j = k + 2;
          continue;
        }
        i = k + 1;
        break;
      }
      if (i < line.length && line[i] !== delim) throw new FileFormatError(path, `the line at byte ${byte()} has text after a closing quote (line offset ${i})`, world.rank);
      out.push(v);
    } else {
      let k = line.indexOf(delim, i);
      if (k < 0) k = line.length;
      const v = line.slice(i, k);
      out.push(v === '' ? null : v);
      i = k;
    }
    if (i >= line.length) return out;
    i++; // the delimiter
    if (i === line.length) {
      out.push(null);
      return out;
    }
  }
}

/** Column j's kinds (bits every non-null value allows), non-null count, integer range. */
function kindsOf(rows: (string | null)[][], j: number): [number, number, number, number] {
  let kinds = kBool | kInt | kFloat;
  let count = 0;
  let lo = Infinity;
  let hi = -Infinity;
  for (const r of rows) {
    const v = r[j]!;
    if (v === null) continue;
    count++;
    const k = kindOf(v);
    if (k & kInt) {
      lo = Math.min(lo, Number(v));
      hi = Math.max(hi, Number(v));
    }
    kinds &= k;
  }
  return [kinds, count, lo, hi];
}

/** The kinds one non-null value allows: bool, int (and float), float, or none (utf8). */
function kindOf(v: string): number {
  const c = v.charCodeAt(0);
  if (c === 116 || c === 102 || c === 84 || c === 70) return /^(true|false)$/i.test(v) ? kBool : 0; // t f T F
  let i = c === 43 || c === 45 ? 1 : 0; // + -
  if (i === v.length) return 0;
  for (; i < v.length; i++) {
    const d = v.charCodeAt(i);
    if (d < 48 || d > 57) return kFloatText.test(v) ? kFloat : 0;
  }
  return Number.isSafeInteger(Number(v)) ? kInt | kFloat : kFloat;
}

function typeOf(stats: [number, number, number, number][]): CsvType {
  let kinds = -1;
  let count = 0;
  let lo = Infinity;
  let hi = -Infinity;
  for (const [k, c, l, h] of stats) {
    if (c === 0) continue;
    kinds &= k;
    count += c;
    lo = Math.min(lo, l);
    hi = Math.max(hi, h);
  }
  if (count === 0) return 'utf8';
  if (kinds & kBool) return 'bool';
  if (kinds & kInt) return lo >= -(2 ** 31) && hi < 2 ** 31 ? 'int32' : 'int64';
  if (kinds & kFloat) return 'float64';
  return 'utf8';
}

function arrowType(t: CsvType): DataType {
  switch (t) {
    case 'int32': return new Int32();
    case 'int64': return new Int64();
    case 'float64': return new Float64();
    case 'bool': return new Bool();
    case 'utf8': return new Utf8();
  }
}

/** Column j's values in type t. */
function valuesOf(rows: (string | null)[][], j: number, t: CsvType, name: string, path: string): unknown[] {
  const bad = (v: string) => new FileFormatError(path, `column '${name}' is ${t} but holds '${v}'`, world.rank);
  return rows.map((r) => {
    const v = r[j]!;
    if (v === null) return null;
    switch (t) {
      case 'utf8': return v;
      case 'bool': {
        if (!/^(true|false)$/i.test(v)) throw bad(v);
        return v.toLowerCase() === 'true';
      }
      case 'int32':
      case 'int64': {
        if (!/^[+-]?\d+$/.test(v)) throw bad(v);
        if (t === 'int64') return BigInt(v);
        const x = Number(v);
        if (x < -(2 ** 31) || x >= 2 ** 31) throw bad(v);
        return x;
      }
      case 'float64': {
        if (!kFloatText.test(v)) throw bad(v);
        const s = v.toLowerCase().replace(/^\+/, '');
        return s.endsWith('nan') ? NaN : s === 'inf' || s === 'infinity' ? Infinity : s === '-inf' || s === '-infinity' ? -Infinity : Number(v);
      }
    }
  });
}

// Writing
// -------

function formatRows(frame: DistFrame, delim: string): string {
  const cols = frame.names.map((name) => {
    const d = frame.column(name).data;
    const get = valueGetter(d);
    const fam = familyOf(d.type);
    // Timestamps (s, ms, us, ns) as ISO 8601 in UTC; other types as their numbers.
    const perMs = d.type.typeId === Type.Timestamp ? [1e-3, 1, 1e3, 1e6][(d.type as unknown as { unit: number }).unit]! : 0;
    return (i: number): string => {
      const v = get(i);
      if (v === null) return '';
      if (fam === 'bool') return v ? 'true' : 'false';
      if (perMs) return new Date(Number(v) / perMs).toISOString();
      if (typeof v === 'number') return Number.isNaN(v) ? 'nan' : v === Infinity ? 'inf' : v === -Infinity ? '-inf' : String(v);
      if (typeof v === 'bigint') return v.toString();
      return field(v, delim);
    };
  });
  const lines: string[] = [];
  for (let i = 0; i < frame.localRows; i++) lines.push(cols.map((c) => c(i)).join(delim));
  return lines.length > 0 ? `${lines.join('\n')}\n` : '';
}

/** A string as a field: quoted if empty (not null) or holding the delimiter, a quote or a line end. */
function field(s: string, delim: string): string {
  if (s !== '' && !s.includes(delim) && !s.includes(kQuote) && !s.includes('\n') && !s.includes('\r')) return s;
  return `"${s.replaceAll(kQuote, '""')}"`;
}
