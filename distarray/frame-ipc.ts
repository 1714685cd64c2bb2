/**
 * @internal Moving DistFrame rows between ranks: a set of columns becomes one Arrow IPC stream
 * (schema + one record batch), and back. Shuffles send one stream per destination through
 * the world communicator's alltoallv.
 */
import { Data, RecordBatch, Schema, Struct, Table, makeData, tableFromIPC, tableToIPC } from '../util/arrow.js';
import { world } from '../comm/comm.js';
import { concat, emptyData, normalize, take } from './frame-kernels.js';

/** Columns (one chunk each) as an Arrow table of one batch (no copy). */
export function toTable(schema: Schema, columns: readonly Data[]): Table {
  const length = columns[0]?.length ?? 0;
  const data = makeData({ type: new Struct(schema.fields), length, nullCount: 0, children: columns as Data[] });
  return new Table([new RecordBatch(schema, data)]);
}

/** Every column of a table as one offset-0 chunk. */
export function columnsOf(table: Table): Data[] {
  return table.schema.fields.map((f, k) => {
    const chunks = table.batches.map((b) => b.data.children[k]!);
    return chunks.length === 0 ? emptyData(f.type) : concat(f.type, chunks);
  });
}

/** Columns -> IPC stream bytes. */
export function encodeColumns(schema: Schema, columns: readonly Data[]): Uint8Array {
  return tableToIPC(toTable(schema, columns), 'stream');
}

/** IPC stream bytes -> columns (in `schema`'s order; views into `bytes`). */
export function decodeColumns(bytes: Uint8Array): Data[] {
  return columnsOf(tableFromIPC(bytes));
}

/**
 * Collective: sends row i of `columns` to rank `dest[i]`; returns the rows this rank received,
 * concatenated in source-rank order (each source's rows keep their order).
 */
export async function shuffle(schema: Schema, columns: readonly Data[], dest: Int32Array): Promise<Data[]> {
  const p = world.size;
  const me = world.rank;
  const n = dest.length;
  const counts = new Int32Array(p);
  for (let i = 0; i < n; i++) counts[dest[i]!]!++;
  const idx = Array.from({ length: p }, (_, d) => new Int32Array(counts[d]!));
  const fill = new Int32Array(p);
  for (let i = 0; i < n; i++) {
    const d = dest[i]!;
    idx[d]![fill[d]!++] = i;
  }
  const parts: Uint8Array[] = [];
  const byteCounts = new Array<number>(p).fill(0);
  for (let d = 0; d < p; d++) {
    if (d === me || counts[d] === 0) continue;
    const bytes = encodeColumns(schema, columns.map((c) => take(c, idx[d]!)));
    parts[d] = bytes;
    byteCounts[d] = bytes.byteLength;
  }
  const total = byteCounts.reduce((a, b) => a + b, 0);
  const send = new Uint8Array(total);
  let at = 0;
  for (let d = 0; d < p; d++) if (parts[d]) {
    send.set(parts[d]!, at);
    at += parts[d]!.byteLength;
  }
  const got = p > 1 ? await world.alltoallv(send, byteCounts) : { data: send, counts: [0], displs: [0] };
  const bySource: Data[][] = [];
  for (let s = 0; s < p; s++) {
    if (s === me) {
      bySource.push(columns.map((c) => take(c, idx[me]!)));
    } else if (got.counts[s]! > 0) {
      bySource.push(decodeColumns(got.data.subarray(got.displs[s]!, got.displs[s]! + got.counts[s]!)));
    }
  }
  return schema.fields.map((f, k) => {
    const chunks = bySource.map((cols) => normalize(cols[k]!)).filter((d) => d.length > 0);
    return chunks.length > 0 ? concat(f.type, chunks) : emptyData(f.type);
  });
}
