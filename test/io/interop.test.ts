// Arrow from anyone, against an independent reader and writer: polars (nodejs-polars, its
// Rust arrow engine) writes files readArrow reads (strings as Utf8View, categoricals as
// dictionaries of Utf8View, LZ4 and ZSTD compressed), and reads the files writeArrow writes
// (plain and compressed). nodejs-polars cannot make Binary columns, so the BinaryView,
// LargeUtf8 and LargeBinary files are written by apache-arrow 21 instead. DistFrame.fromArrow
// takes a Table of apache-arrow 17, arquero's toArrow() (a flechette Table) and IPC bytes.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  BinaryView, LargeBinary, LargeUtf8, RecordBatchFileWriter, Table, Utf8View, vectorFromArray, type DataType,
} from 'apache-arrow';
import { afterAll, describe, expect, it } from 'vitest';
import { ensureCodecs, kCompression } from '../../util/arrow-codecs.js';
import { backends, callAll, closeWorlds } from '../harness.js';
import { genTable, rowsOf } from '../fixtures/io.js';
import { sourceRows, type AnyRow } from '../fixtures/interop.js';

const dir = mkdtempSync(join(tmpdir(), 'superstep-interop-'));
afterAll(async () => {
  await closeWorlds();
  rmSync(dir, { recursive: true, force: true });
});

type Polars = typeof import('nodejs-polars').default;
const pl = ((): Polars | null => {
  try {
    return (createRequire(import.meta.url)('nodejs-polars') as { default?: Polars }).default ?? (createRequire(import.meta.url)('nodejs-polars') as Polars);
  } catch (err) {
    console.log(`polars checks cannot run: nodejs-polars does not load here (${(err as Error).message.split('\n')[0]}); npm ci installs it with its linux-x64-gnu binary`);
    return null;
  }
})();

const F = 'interop.ts';
const kT = 30_000;
let seq = 0;
const fresh = (ext = '.arrow') => join(dir, `f${seq++}${ext}`);

/** n rows with nulls, short (inline) and long (> 12 bytes: in a variadic buffer) strings. */
function polarsRows(n: number, seed: number): AnyRow[] {
  const rows: AnyRow[] = [];
  for (let i = 0; i < n; i++) {
    const k = (i * 7 + seed) % 11;
    rows.push({
      s: k === 3 ? null : k % 2 === 0 ? `s${k}` : `a longer string, number ${i} of ${n}`,
      i32: k === 5 ? null : i - 20,
      f: k === 7 ? null : i / 4,
      b: k === 9 ? null : i % 3 === 0,
      cat: k === 4 ? null : ['red', 'green', 'a much longer category name'][i % 3]!,
    });
  }
  return rows;
}

function polarsFrame(rows: AnyRow[]) {
  const p = pl!;
  const col = (k: string) => rows.map((r) => r[k]);
  return p.DataFrame({ s: col('s'), i32: col('i32'), f: col('f'), b: col('b'), cat: col('cat') })
    .withColumns(p.col('i32').cast(p.Int32), p.col('f').cast(p.Float64), p.col('cat').cast(p.Categorical));
}

describe.each(backends())('Arrow from anyone on %s', (backend) => {
  // Rank counts: on sab each case runs at another P (1, 2, 3 in turn); tcp (seconds per world) at 2.
  const ps = backend === 'sab' ? [1, 2, 3] : [2];
  const pOf = (i: number) => ps[i % ps.length]!;
  const kLong = 120_000;

  it('readArrow reads polars files: Utf8View strings, dictionaries of Utf8View, uncompressed / LZ4 / ZSTD, several batches', async () => {
    if (!pl) return;
    for (const [c, compression] of (['uncompressed', 'lz4', 'zstd'] as const).entries()) {
      const parts = [polarsRows(37, 1), polarsRows(50, 2), polarsRows(13, 3)];
      // Three chunks, not rechunked: polars writes one record batch per chunk.
      const df = pl.concat(parts.map(polarsFrame), { rechunk: false, how: 'vertical' });
      const path = fresh();
      df.writeIPC(path, { compression });
      const want = parts.flat();
      const res = await callAll<{ local: number; types: string[]; rows: AnyRow[] | null }>(backend, pOf(c), F, 'readAny', [path], kT);
      expect(res[0]!.types).toEqual(['s:Utf8', 'i32:Int32', 'f:Float64', 'b:Bool', 'cat:Dictionary<Uint32, Utf8>']);
      expect(res[0]!.rows).toEqual(want);
      expect(res.reduce((s, r) => s + r.local, 0)).toBe(want.length);
    }
  }, kLong);

  it('readArrow reads BinaryView / LargeUtf8 / LargeBinary / Utf8View columns, plain and ZSTD (files written by apache-arrow 21)', async () => {
    await ensureCodecs();
    const strs = ['a', null, 'a string longer than twelve', '', 'héllo'];
    const bins = strs.map((s) => (s === null ? null : new TextEncoder().encode(s)));
    const table = new Table({
      lu: vectorFromArray(strs, new LargeUtf8() as DataType),
      lb: vectorFromArray(bins, new LargeBinary() as DataType),
      bv: vectorFromArray(bins, new BinaryView() as DataType),
      uv: vectorFromArray(strs, new Utf8View() as DataType),
    });
    const want = strs.map((s, i) => ({ lu: s, lb: bins[i] ? [...bins[i]!] : null, bv: bins[i] ? [...bins[i]!] : null, uv: s }));
    for (const [c, compressionType] of [null, kCompression.zstd].entries()) {
      const path = fresh();
      writeFileSync(path, new RecordBatchFileWriter({ compressionType }).writeAll(table).toUint8Array(true));
      const res = await callAll<{ types: string[]; rows: AnyRow[] | null }>(backend, pOf(c + 1), F, 'readAny', [path], kT);
      expect(res[0]!.types).toEqual(['lu:Utf8', 'lb:Binary', 'bv:Binary', 'uv:Utf8']);
      expect(res[0]!.rows).toEqual(want);
    }
  }, kLong);

  it('polars reads what writeArrow writes: plain, LZ4 and ZSTD, one file and dataset parts', async () => {
    if (!pl) return;
    const want = rowsOf(genTable(11, 300).select(['g', 's', 'i32', 'f64', 'b', 'u16']));
    for (const [c, compression] of ([null, 'lz4', 'zstd'] as const).entries()) {
      const path = fresh();
      await callAll(backend, pOf(c + 2), F, 'writeCompressed', [path, 11, 300, 40, compression], kT);
      const got = pl.readIPC(readFileSync(path)).select('g', 's', 'i32', 'f64', 'b', 'u16').toRecords();
      expect(got.map((r) => ({ ...r })), String(compression)).toEqual(want);
    }
    // A dataset's part files are ordinary Arrow files too.
    const path = fresh('');
    await callAll(backend, 2, F, 'writeCompressed', [path, 11, 300, 40, 'zstd', true], kT);
    const parts = ['part-00000.arrow', 'part-00001.arrow'].map((f) => pl.readIPC(readFileSync(join(path, f))).select('g', 's', 'i32', 'f64', 'b', 'u16').toRecords());
    expect(parts.flat().map((r) => ({ ...r }))).toEqual(want);
  }, kLong);

  it('superstep reads back its own compressed files with any number of ranks', async () => {
    for (const compression of ['lz4', 'zstd'] as const) {
      const path = fresh();
      await callAll(backend, 2, F, 'writeCompressed', [path, 5, 120, 17, compression], kT);
      const res = await callAll<{ rows: AnyRow[] | null }>(backend, ps[ps.length - 1]!, F, 'readAny', [path], kT);
      expect(res[0]!.rows).toEqual((await import('../fixtures/interop.js')).plainRows(genTable(5, 120)));
    }
  }, kLong);

  it('DistFrame.fromArrow takes apache-arrow 17 Tables, arquero toArrow() and IPC bytes (stream, file, compressed, ArrayBuffer)', async () => {
    const src = sourceRows();
    const { genRows } = await import('../fixtures/interop.js');
    for (const kind of ['arrow17', 'arquero', 'ipc-stream-lz4', 'ipc-file-zstd', 'ipc-arraybuffer'] as const) {
      const res = await callAll<{ local: number; types: string[]; rows: AnyRow[] | null }>(backend, 2, F, 'fromAny', [kind], kT);
      const want = kind === 'arrow17' || kind === 'arquero' ? src : genRows();
      expect(res[0]!.rows, kind).toEqual(want);
      expect(res.map((r) => r.local), kind).toEqual([Math.ceil(want.length / 2), Math.floor(want.length / 2)]);
      if (kind === 'arrow17') expect(res[0]!.types).toEqual(['i:Int32', 'f:Float64', 's:Utf8', 'b:Bool']);
    }
  }, kLong);
});

it('writeArrow rejects an unknown compression with a typed error naming the choices', async () => {
  const { compressionOf } = await import('../../util/arrow-codecs.js');
  expect(() => compressionOf('snappy')).toThrow(/'lz4', 'zstd'/);
});
